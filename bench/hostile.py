#!/usr/bin/env python3
"""What one hostile host costs the controller: peak memory, wall time, report sizes.

Run from the repository root:

    python bench/hostile.py            # every case, 3 runs each, writes docs/benchmarks.md
    python bench/hostile.py --runs 1 --cases stock,chronyc-100mb --no-docs

Each case is a throwaway container of the lab image (tsa-lab-chrony:latest) named
tsa-bench-<random>-<case>, started with `--network none`, no added capability and
`sleep infinity` (no systemd: the suite sees no running chronyd). The case's files are
written into it, then the suite is run against it as a user runs it, in a subprocess
whose peak RSS is wait4's ru_maxrss (what /usr/bin/time -v reports). Runs are interleaved
across cases (run 1 of every case, then run 2, ...) and the table shows medians. Every
container this script started is removed by its exact name at the end, also on an error,
Ctrl-C or SIGTERM.

This is a measurement, not a test: nothing here fails when a target is missed; the
table says which case meets it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import docs_section  # bench/docs_section.py: this script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "tsa-lab-chrony:latest"
PREFIX = "tsa-bench-"
TARGET_MB = 300  # controller peak RSS for any single hostile host
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Hostile hosts"
MB = 1_000_000

# Debian's chronyc is /usr/bin/chronyc. The gather script runs its commands with
# PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH, so a wrapper in /usr/local/sbin (first in the
# image's own PATH) is never reached; /usr/sbin is the directory that comes earlier.
WRAPPER = "/usr/sbin/chronyc"

# random bytes, made non-UTF-8 and kept from looking like key material (no ASCII digit can start
# a "key line"; a file the gather script takes for key material is only stat'ed, never sent)
_GARBAGE = "head -c {size} /dev/urandom | tr '0-9' '\\200-\\211' > {path}"


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    title: str
    setup: str  # sh -e script run as root in the container before the first run
    extra: bool = False  # beyond the listed hostile cases: content just under the cap, which is sent


_LINE = "server 192.0.2.1 iburst maxpoll 6"  # 34 bytes with its newline: a valid chrony source


def _lines(count: int, line: str = _LINE) -> str:
    """sh: `count` whole lines (a cut last line would be an "Invalid directive": chronyd stops there)"""
    return f"yes '{line}' | head -n {count}"


#: a valid source line of 2,005 bytes: chronyd reads lines of up to 2,047
_LONG = "server " + "h" * 1980 + " iburst maxpoll 6"


def _rounds(rounds: int, files: int, lines: int, line: str | None = None) -> str:
    """sh: `files` conf.d files of `lines` lines each; the first includes the next directory's
    files, which only the next round trip can fetch, up to `rounds` round trips"""
    out = []
    for r in range(1, rounds + 1):
        directory = "/etc/chrony/conf.d" if r == 1 else f"/etc/chrony/r{r}"
        out.append(f"mkdir -p {directory}")
        for f in range(files):
            include = f"echo 'include /etc/chrony/r{r + 1}/*.conf'; " if f == 0 and r < rounds else ""
            out.append(
                f"{{ {include}{_lines(lines, line or f'server 192.0.2.{r} iburst maxpoll 6')}; }} "
                f"> {directory}/bench-{f}.conf"
            )
    return "; ".join(out)


CASES = (
    Case("stock", "stock host (nothing changed)", ":"),
    Case("conf-50mb", "50 MB /etc/chrony/chrony.conf", f"{_lines(1_470_589)} >> /etc/chrony/chrony.conf"),
    Case(
        "chronyc-100mb",
        f"`chronyc` wrapper ({WRAPPER}) printing 100 MB",
        "printf '#!/bin/sh\\nyes \"^* 192.0.2.1 2 6 377 12 +1ms[+1ms] +/- 20ms\" | head -c 100000000\\n' "
        f"> {WRAPPER}; chmod 755 {WRAPPER}",
    ),
    Case(
        "include-usr-glob",
        "`include /usr/*/*/*` added to chrony.conf",
        "echo 'include /usr/*/*/*' >> /etc/chrony/chrony.conf",
    ),
    Case(
        "include-300mb",
        "300 MB in one file reached by an include",
        f"{_lines(8_823_530)} > /etc/chrony/big.conf; echo 'include /etc/chrony/big.conf' >> /etc/chrony/chrony.conf",
    ),
    Case(
        "line-20mb",
        "a file with a single 20 MB line (conf.d)",
        "{ printf 'server '; head -c 20000000 /dev/zero | tr '\\0' a; echo; } > /etc/chrony/conf.d/line.conf",
    ),
    Case(
        "binary-garbage",
        "non-UTF-8 garbage: 2 conf.d files and chronyc's output, 2 MiB each",
        _GARBAGE.format(size=2 * 1024 * 1024, path="/etc/chrony/conf.d/garbage-1.conf")
        + "; "
        + _GARBAGE.format(size=2 * 1024 * 1024, path="/etc/chrony/conf.d/garbage-2.conf")
        + "; "
        + _GARBAGE.format(size=2 * 1024 * 1024, path="/var/tmp/garbage.bin")
        + "; "
        f"printf '#!/bin/sh\\ncat /var/tmp/garbage.bin\\n' > {WRAPPER}; chmod 755 {WRAPPER}",
    ),
    # beyond the listed cases: what passes every cap, so it is sent and parsed
    Case(
        "line-4mb",
        "a single 4 MB line in conf.d (under every cap: sent)",
        "{ printf 'server '; head -c 4000000 /dev/zero | tr '\\0' a; echo; } > /etc/chrony/conf.d/line.conf",
        extra=True,
    ),
    Case(
        "lines-15mb",
        "15 MB of valid directives: 4 conf.d files of 3.7 MB, 440,000 lines (one round trip)",
        _rounds(1, 4, 110_000),
        extra=True,
    ),
    Case(
        "rounds-60mb",
        "60 MB of valid directives: 15 MB per round trip, each round's files including the next's (4 round trips)",
        _rounds(4, 4, 110_000),
        extra=True,
    ),
    Case(
        "long-lines-60mb",
        "60 MB in 31,200 valid lines of 2,005 bytes (chronyd reads up to 2,047), over 4 round trips as in rounds-60mb",
        _rounds(4, 4, 1950, _LONG),
        extra=True,
    ),
)


@dataclasses.dataclass
class Run:
    wall: float  # seconds
    rss_mb: float  # ru_maxrss of the run: its largest process
    pytest_mb: float  # the pytest process's own high-water mark
    junit: int  # bytes
    html: int  # bytes
    rc: int
    counts: str  # passed/failed/skipped/error
    rounds: str  # gather round trips (JUnit property gather_round_trips)
    said: str


def sh(*argv: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout)


class Containers:
    """The containers this script started, removed by exact name, whatever happens."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.tag = secrets.token_hex(3)

    def start(self, case: Case) -> str:
        name = f"{PREFIX}{self.tag}-{case.name}"
        self.names.append(name)  # before `docker run`: a half-started container is removed too
        sh("docker", "run", "-d", "--name", name, "--network", "none", IMAGE, "sleep", "infinity")
        sh("docker", "exec", name, "/bin/sh", "-ec", case.setup)
        return name

    def remove_all(self) -> None:
        for name in self.names:
            if name.startswith(PREFIX):
                subprocess.run(["docker", "rm", "-f", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.names.clear()


def junit_summary(path: Path) -> tuple[str, str, str]:
    """Outcome counts, round trips, and what the host's rules said: the first could-not-check
    message, else the first non-compliant one."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as exc:
        return "-", "-", f"(no junit.xml: {type(exc).__name__})"
    counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    first = {"error": "", "failure": ""}
    rounds = set()
    for case in tree.iter("testcase"):
        kinds = [child.tag for child in case]
        kind = next((k for k in ("error", "failure", "skipped") if k in kinds), "passed")
        counts["failed" if kind == "failure" else kind] += 1
        for child in case:
            if child.tag in first and not first[child.tag]:
                first[child.tag] = child.get("message") or (child.text or "").strip()
        rounds |= {p.get("value") for p in case.iter("property") if p.get("name") == "gather_round_trips"}
    said = " ".join((first["error"] or first["failure"] or "(no error, no failure)").split())
    wrapped = re.fullmatch(r'failed on (?:setup|call) with "(.*)"', said)
    if wrapped:
        said = wrapped.group(1)
    said = re.sub(rf"docker://{PREFIX}[0-9a-f]+-", "docker://…-", said)
    return "/".join(str(counts[k]) for k in counts), "/".join(sorted(rounds)) or "-", said


def _hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_suite(host: str, python: str) -> Run:
    """One run of the suite, as a user runs it. Peak RSS: wait4's ru_maxrss, the largest process
    of the run (what `/usr/bin/time -v` prints as "Maximum resident set size"); the pytest
    process's own high-water mark (VmHWM) is read while it runs, to tell it from docker's."""
    with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
        out = Path(tmp)
        argv = [
            python,
            "-m",
            "pytest",
            f"--hosts=docker://{host}",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={out / 'junit.xml'}",
            f"--html={out / 'report.html'}",
            f"--results-json={out / 'results.json'}",
            f"--hdf-dir={out / 'hdf'}",
            f"--fleet-html={out / 'fleet.html'}",
        ]
        start = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        hwm = 0
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                hwm = max(hwm, _hwm_kb(proc.pid))
                time.sleep(0.02)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        counts, rounds, said = junit_summary(out / "junit.xml")
        size = lambda p: p.stat().st_size if p.exists() else 0  # noqa: E731
        return Run(
            wall,
            usage.ru_maxrss * 1024 / MB,
            hwm * 1024 / MB,
            size(out / "junit.xml"),
            size(out / "report.html"),
            proc.returncode,
            counts,
            rounds,
            said,
        )


def code_hash() -> str:
    """A digest of the suite's code (the library, the rule tests, the entry point): results of
    runs made with different code are not comparable."""
    digest = hashlib.sha256()
    files = sorted(p for d in ("timesync_audit", "tests") for p in (ROOT / d).rglob("*.py"))
    for path in files + [ROOT / "conftest.py", ROOT / "pytest.ini"]:
        try:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            pass
    return digest.hexdigest()[:12]


def machine() -> dict[str, str]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    cpu = next(
        (
            l.split(":", 1)[1].strip()
            for l in Path("/proc/cpuinfo").read_text().splitlines()
            if l.startswith("model name")
        ),
        platform.machine(),
    )
    docker = sh("docker", "version", "--format", "{{.Server.Version}}", check=False).stdout.strip() or "?"
    commit = sh("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD", check=False).stdout.strip() or "?"
    dirty = sh(
        "git",
        "-C",
        str(ROOT),
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        "timesync_audit",
        "tests",
        "conftest.py",
        "pytest.ini",
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "docker": docker,
        "python": platform.python_version(),
        "code": commit + (" with uncommitted changes to the suite" if dirty else "") + f" (digest {code_hash()})",
    }


def summarize(case: Case, runs: list[Run]) -> dict:
    rss = statistics.median(r.rss_mb for r in runs)
    return {
        "case": case.name,
        "title": case.title,
        "extra": case.extra,
        "wall": f"{statistics.median(r.wall for r in runs):.1f}",
        "rss": f"{rss:.0f}",
        "pytest": f"{statistics.median(r.pytest_mb for r in runs):.0f}",
        "target": "yes" if rss < TARGET_MB else "**no**",
        "junit": f"{statistics.median(r.junit for r in runs) / 1000:.0f}",
        "html": f"{statistics.median(r.html for r in runs) / 1000:.0f}",
        "rc": "/".join(str(rc) for rc in sorted({r.rc for r in runs})),
        "counts": runs[-1].counts,
        "rounds": runs[-1].rounds,
        "said": runs[-1].said,
    }


def table(rows: list[dict], width: int | None = None) -> str:
    head = [
        "case",
        "wall s",
        "peak RSS MB",
        "pytest MB",
        f"< {TARGET_MB} MB",
        "junit.xml kB",
        "report.html kB",
        "exit",
        "p/f/s/e",
        "rounds",
        "what the rules said (first could-not-check, else first failure)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        said = r["said"] if width is None or len(r["said"]) <= width else r["said"][: width - 1] + "…"
        cells = [
            f"`{r['case']}`" + (" (extra)" if r["extra"] else ""),
            r["wall"],
            r["rss"],
            r["pytest"],
            r["target"],
            r["junit"],
            r["html"],
            r["rc"],
            r["counts"],
            r["rounds"],
            said.replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


BEGIN = "<!-- results: written by bench/hostile.py, which replaces everything up to the end marker -->"
END = "<!-- end of results written by bench/hostile.py -->"


def results_block(rows: list[dict], info: dict[str, str], runs: int, mixed: bool) -> str:
    cases = "\n".join(f"- `{r['case']}`{' (extra)' if r['extra'] else ''}: {r['title']}" for r in rows)
    over = [f"`{r['case']}` ({r['rss']} MB)" for r in rows if r["target"] != "yes"]
    verdict = "Every case meets the target." if not over else f"Every case meets the target except {', '.join(over)}."
    return f"""{BEGIN}

Measured {info["date"]}; {runs} run(s) per case, medians.{MIXED if mixed else ""}
Machine: {", ".join(f"{k} {v}" for k, v in info.items() if k != "date")}.

Cases:
{cases}

{table(rows)}

**{verdict}**

{END}"""


MIXED = " **The suite's code changed during this measurement: the runs mix versions.**"

INTRO = """# Benchmarks

Measurements of the suite itself, one `##` section per benchmark: what it measures, how to run it,
the machine it ran on, the results and what they show. Each benchmark script rewrites only the
results block of its own section.
"""

SECTION_HEAD = f"""{SECTION}

What one hostile host costs the controller, beside a stock host. Run: `python bench/hostile.py`
(see `bench/README.md`). Each case is a throwaway container of the lab image `{IMAGE}` (no
network, no added capability, `sleep infinity`: no chronyd runs), audited as a user audits it:
`python -m pytest --hosts=docker://<name> -p no:cacheprovider -q --junitxml=... --html=...`, with
the default bounds (`--max-host-bytes` 16 MiB per answer; the gather script caps each file and
command output below that). "peak RSS" is the run's `ru_maxrss` (wait4: the largest process of the
run, what `/usr/bin/time -v` reports as maximum resident set size); "pytest" is the pytest
process's own high-water mark (VmHWM), which shows that the largest process is pytest, not the
`docker exec` client. Runs are interleaved across cases; "p/f/s/e" counts passed, failed, skipped
and error tests; "rounds" is the gather's round trips. Cases marked "extra" go beyond the listed
hostile hosts: content that passes every cap, so it is sent and parsed.

**Target: controller peak memory under {TARGET_MB} MB for any single hostile host.**
"""


def write_docs(block: str) -> None:
    docs_section.write_results(SECTION, SECTION_HEAD, BEGIN, END, block, DOCS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per case (default 3)")
    parser.add_argument(
        "--cases", default="", help="comma-separated case names (default: all): " + ", ".join(c.name for c in CASES)
    )
    parser.add_argument("--no-docs", action="store_true", help=f"do not write {DOCS.relative_to(ROOT)}")
    parser.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"), help="the suite's interpreter")
    args = parser.parse_args()
    wanted = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(wanted) - {c.name for c in CASES})
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    cases = [c for c in CASES if not wanted or c.name in wanted]
    if not shutil.which("docker"):
        parser.error("docker is missing")

    def terminate(signum, frame):
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGINT too: ignored when started in the background
        signal.signal(signum, terminate)

    containers = Containers()
    results: dict[str, list[Run]] = {c.name: [] for c in cases}
    versions = {code_hash()}
    try:
        hosts = {}
        for case in cases:
            print(f"starting {case.name} ...", flush=True)
            hosts[case.name] = containers.start(case)
        for n in range(args.runs):  # interleaved: run n of every case, then run n + 1
            for case in cases:
                run = run_suite(hosts[case.name], args.python)
                versions.add(code_hash())
                results[case.name].append(run)
                print(
                    f"run {n + 1}/{args.runs} {case.name:17} {run.wall:7.1f} s  peak {run.rss_mb:5.0f} MB "
                    f"(pytest {run.pytest_mb:.0f})  exit {run.rc}  junit {run.junit}  html {run.html}  "
                    f"{run.counts}",
                    flush=True,
                )
    except KeyboardInterrupt:
        print("interrupted: removing the containers", file=sys.stderr)
        return 130
    except subprocess.CalledProcessError as exc:
        print(f"{' '.join(exc.cmd[:4])}...: exit {exc.returncode}: {exc.stderr.strip()[-500:]}", file=sys.stderr)
        return 1
    finally:
        containers.remove_all()
    rows = [summarize(c, results[c.name]) for c in cases]
    mixed = len(versions) > 1
    if mixed:
        print("warning: the suite's code changed during the measurement: the runs mix versions", file=sys.stderr)
    print()
    print(table(rows, width=90))
    print()
    for r in rows:
        print(f"{r['case']}: {r['said']}")
    if not args.no_docs:
        write_docs(results_block(rows, machine(), args.runs, mixed))
        print(f"\nwritten: {DOCS.relative_to(ROOT)} ({SECTION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
