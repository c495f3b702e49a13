#!/usr/bin/env python3
"""What the round-1 gather script costs a target, beside an exec that does nothing.

Run from the repository root, as root (it drives `docker`), against running lab containers:

    python bench/gather_exec.py --container tsa-<id>-chrony-hardened [--container ...]
    python bench/gather_exec.py --lab-id <id> --hosts chrony-hardened,chrony-stock,ntpsec,timesyncd
    python bench/gather_exec.py --lab-id <id> --hosts chrony-hardened --parts     # per-part breakdown
    python bench/gather_exec.py ... --write-docs                                 # rewrite its docs section

Two execs are compared, both sent exactly as the suite sends them over the docker backend
(timesync_audit/gather/transport.py `run_script`: `docker exec -i <container> /bin/sh -c
'<timeout ... /bin/sh -s>'`, the script on standard input):
- floor: the same transport with the script `true` (the exec doing nothing);
- round 1: the suite's real first-round script, `script.render(collector.FIRST_REQUEST, fresh
  marker, cap=max_bytes // 4)` as timesync_audit/gather/remote.py renders it; every answer is
  parsed with `script.parse` (a malformed answer stops the benchmark).
A plain `docker exec <container> true` is measured too, for reference.

Per exec it records the wall time (from before the docker client starts to after it is reaped)
and the CPU it cost the machine, counted as the sum of:
- the container's cgroup (cpuacct.usage, ns: every process of the exec runs in it; the
  container's own daemons add a little background, the same for every kind of exec);
- dockerd, containerd and the container's containerd-shim (per-thread schedstat, ns);
- runc: the shim is the subreaper of what it starts, so its cutime+cstime (clock ticks) grows
  by runc's CPU and by the exec's own processes; the part above the cgroup's delta is added
  (the exec's processes are counted once, by the cgroup);
- the docker client (this process's RUSAGE_CHILDREN).
The machine-wide /proc/stat delta (all CPUs, non-idle ticks) is shown beside it: it also counts
whatever else runs on the machine, so it is only a cross-check.

The kinds of exec are interleaved (floor, round 1, plain, floor, round 1, ...) and the tables
show medians, so a load that comes and goes on the machine weighs on every kind alike.
With --parts, each part of round 1 (the prelude alone, the files, the stats, each glob family,
each command) is run alone as its own script, interleaved with the floor, and shown as its cost
above the floor.

This is a measurement, not a test: nothing here fails when the target is missed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import docs_section  # bench/docs_section.py: this script's folder is on sys.path
import procfs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timesync_audit import collector  # noqa: E402
from timesync_audit.gather import script, transport  # noqa: E402
from timesync_audit.gather.snapshot import Request  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Round-1 gather exec against the floor"
BEGIN = "<!-- results: written by bench/gather_exec.py, which replaces everything up to the end marker -->"
END = "<!-- end of results written by bench/gather_exec.py -->"
TARGET = 1.5
TICK = os.sysconf("SC_CLK_TCK")
DAEMONS = ("dockerd", "containerd")


class DockerBackend:
    """What transport.command_for reads of testinfra's docker backend."""

    NAME = "docker"
    user = None

    def __init__(self, name: str):
        self.name = name


def _comm(pid: str) -> str:
    return procfs.read(f"/proc/{pid}/comm").strip()


def _threads_ns(pid: int) -> int:
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        fields = procfs.read(f"/proc/{pid}/task/{tid}/schedstat").split()
        if fields:
            total += int(fields[0])
    return total


def _children_ns(pid: int) -> int:
    stat = procfs.read(f"/proc/{pid}/stat")
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 15:
        return 0
    return (int(fields[13]) + int(fields[14])) * 1_000_000_000 // TICK  # cutime, cstime


class Target:
    """One container and the processes whose CPU an exec against it costs."""

    def __init__(self, container: str):
        self.container = container
        info = subprocess.run(
            ["docker", "inspect", "-f", "{{.Id}} {{.State.Pid}}", container], capture_output=True, text=True, check=True
        ).stdout.split()
        self.id, pid1 = info[0], int(info[1])
        self.cgroup = procfs.cgroup_cpu_file(pid1)
        self.daemons = [int(p) for p in os.listdir("/proc") if p.isdigit() and _comm(p) in DAEMONS]
        self.shim = int(procfs.read(f"/proc/{pid1}/stat").split(") ", 1)[1].split()[1])  # the parent of pid 1
        if not _comm(str(self.shim)).startswith("containerd-shim"):
            raise SystemExit(f"{container}: the parent of its pid 1 is not a containerd-shim")

    def cgroup_ns(self) -> int:
        return procfs.cgroup_ns(self.cgroup)

    def sample(self) -> tuple[int, int, int, int, int]:
        own = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = int((own.ru_utime + own.ru_stime) * 1e9)
        engine = sum(_threads_ns(p) for p in self.daemons) + _threads_ns(self.shim)
        return (
            self.cgroup_ns(),
            engine + client,
            _children_ns(self.shim),
            procfs.machine_ticks(),
            time.perf_counter_ns(),
        )


def limits() -> transport.Limits:
    return transport.Limits()


def round1(marker: str, request: Request = collector.FIRST_REQUEST) -> str:
    # as remote.Executor renders it (cap: a quarter of the answer bound)
    return script.render(request, marker, collector._secrets({}), cap=max(1, limits().max_bytes // 4))


def run_one(target: Target, kind: str, request: Request | None = None) -> tuple[float, float, float]:
    """(wall ms, accounted CPU ms, machine CPU ms) of one exec."""
    marker = script.new_marker()
    if kind == "plain":
        before = target.sample()
        subprocess.run(["docker", "exec", target.container, "true"], check=True, stdin=subprocess.DEVNULL)
        after = target.sample()
    else:
        text = round1(marker, request) if request is not None else "true\n"
        before = target.sample()
        answer = transport.run_script(DockerBackend(target.container), text.encode(), limits())
        after = target.sample()
        if answer.rc != 0:
            raise SystemExit(f"{target.container}: {kind} exec exit {answer.rc}: {answer.stderr[-300:]!r}")
        if request is not None:
            script.parse(answer.stdout, marker, request, cap=max(1, limits().max_bytes // 4))
    cgroup, engine, reaped = (after[i] - before[i] for i in range(3))
    # the shim is the exec's subreaper: what it reaped is runc and the exec's own processes, which
    # the cgroup already counts (more precisely): only the rest (runc, outside it) is added
    cpu = (cgroup + engine + max(0, reaped - cgroup)) / 1e6
    machine = (after[3] - before[3]) * 1000 / TICK
    wall = (after[4] - before[4]) / 1e6
    return wall, cpu, machine


def medians(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))  # type: ignore[return-value]


def measure(targets: list[Target], runs: int, warmup: int = 2) -> dict[str, dict[str, tuple[float, float, float]]]:
    kinds = ("floor", "round1", "plain")
    results: dict[str, dict[str, list]] = {t.container: {k: [] for k in kinds} for t in targets}
    for n in range(warmup + runs):
        for target in targets:
            for kind in kinds:
                sample = run_one(target, kind, collector.FIRST_REQUEST if kind == "round1" else None)
                if n >= warmup:
                    results[target.container][kind].append(sample)
        print(f"  run {n + 1 - warmup}/{runs}" if n >= warmup else "  warm-up", file=sys.stderr, flush=True)
    return {c: {k: medians(v) for k, v in kinds_.items()} for c, kinds_ in results.items()}


def parts() -> list[tuple[str, Request]]:
    req = collector.FIRST_REQUEST
    out: list[tuple[str, Request]] = [("prelude only", Request())]
    out.append((f"files ({len(req.files)})", Request(files=req.files)))
    out.append((f"stats ({len(req.stats)})", Request(stats=req.stats)))
    families: dict[str, list[str]] = {}
    for pattern in req.globs:
        key = "unit drop-ins" if ".service.d/" in pattern else pattern.rsplit("/", 1)[0]
        families.setdefault(key, []).append(pattern)
    for key, patterns in families.items():
        out.append((f"globs {key} ({len(patterns)})", Request(globs=tuple(patterns))))
    if req.stat_globs:
        out.append((f"stat globs ({len(req.stat_globs)})", Request(stat_globs=req.stat_globs)))
    for name, snippet in req.commands:
        out.append((f"command {name}", Request(commands=((name, snippet),))))
    return out


def measure_parts(target: Target, runs: int) -> list[tuple[str, tuple[float, float, float]]]:
    items = parts()
    samples: dict[str, list] = {name: [] for name, _ in items}
    floor: list = []
    for n in range(runs + 1):
        for name, request in items:
            f = run_one(target, "floor")
            s = run_one(target, "part", request)
            if n:
                floor.append(f)
                samples[name].append(s)
    f = medians(floor)
    return [(name, tuple(m - b for m, b in zip(medians(samples[name]), f))) for name, _ in items]  # type: ignore[misc]


def table(results: dict[str, dict[str, tuple[float, float, float]]]) -> str:
    lines = [
        "| target | floor wall ms | round 1 wall ms | ratio | floor CPU ms | round 1 CPU ms | ratio | "
        "machine CPU ms (floor / round 1) | plain `docker exec true` wall / CPU ms | ≤ 1.5x |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for container, r in results.items():
        fw, fc, fm = r["floor"]
        rw, rc, rm = r["round1"]
        pw, pc, _ = r["plain"]
        ok = "yes" if rw <= TARGET * fw and rc <= TARGET * fc else "no"
        lines.append(
            f"| `{container}` | {fw:.0f} | {rw:.0f} | {rw / fw:.2f} | {fc:.0f} | {rc:.0f} | {rc / fc:.2f} | "
            f"{fm:.0f} / {rm:.0f} | {pw:.0f} / {pc:.0f} | {ok} |"
        )
    return "\n".join(lines)


def parts_table(container: str, rows: list[tuple[str, tuple[float, float, float]]]) -> str:
    lines = [
        f"Per part, `{container}`: each part alone, minus the floor (medians)",
        "",
        "| part | wall ms | CPU ms | machine CPU ms |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {w:.0f} | {c:.0f} | {m:.0f} |" for name, (w, c, m) in rows]
    return "\n".join(lines)


def machine() -> str:
    cpu = "?"
    for line in procfs.read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    docker = subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True, text=True)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return (
        f"nproc {os.cpu_count()}, cpu {cpu}, kernel {platform.release()}, docker {docker.stdout.strip() or '?'}, "
        f"python {platform.python_version()}, commit {commit.stdout.strip() or '?'}"
    )


SECTION_HEAD = f"""{SECTION}

What the suite's round-1 gather exec costs a target, against the floor: the same transport doing
nothing. Run: `python bench/gather_exec.py --lab-id <id> --hosts <host,...> --write-docs` (see its
docstring). Both execs are sent as the suite sends them over the docker backend (`docker exec -i
<container> /bin/sh -c '<timeout ... /bin/sh -s>'`, the script on stdin); the floor's script is
`true`, round 1's is `script.render(FIRST_REQUEST, fresh marker)`, and every round-1 answer is
parsed. "CPU" is what the exec cost the machine, counted: the container's cgroup (cpuacct), dockerd,
containerd and the container's containerd-shim (thread schedstat), runc (what the shim reaped beyond
the cgroup's delta) and the docker client. "machine CPU" is the /proc/stat delta of all CPUs, which also counts
whatever else runs on the machine (a cross-check only). The machine has 2 CPUs and is shared with
other work: the kinds of exec are interleaved (floor, round 1, plain `docker exec <c> true`) and
the tables show medians.

**Target: round 1 costs at most {TARGET}x the floor, in wall time and in CPU.**
"""


def results_block(body: str, runs: int) -> str:
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""{BEGIN}

Measured {date}; {runs} execs of each kind per target, interleaved, medians.
Machine: {machine()}.

{body}

{END}"""


def write_docs(block: str) -> None:
    docs_section.write_results(SECTION, SECTION_HEAD, BEGIN, END, block, DOCS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--container", action="append", default=[], help="a running container (repeatable)")
    parser.add_argument("--lab-id", help="a lab instance's TSA_LAB_ID: its containers tsa-<id>-<host>")
    parser.add_argument("--hosts", default="chrony-hardened", help="lab hosts, comma-separated (with --lab-id)")
    parser.add_argument("--runs", type=int, default=15, help="execs of each kind per target (default 15)")
    parser.add_argument("--parts", action="store_true", help="also the per-part breakdown (first target)")
    parser.add_argument("--part-runs", type=int, default=7, help="execs per part (default 7)")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the section of {DOCS.relative_to(ROOT)}")
    args = parser.parse_args()
    containers = list(args.container)
    if args.lab_id:
        containers += [f"tsa-{args.lab_id}-{h}" for h in args.hosts.split(",") if h]
    if not containers:
        parser.error("name a --container or a --lab-id")
    targets = [Target(c) for c in containers]
    results = measure(targets, args.runs)
    body = table(results)
    print(body)
    if args.parts:
        rows = measure_parts(targets[0], args.part_runs)
        text = parts_table(targets[0].container, rows)
        print()
        print(text)
        body += "\n\n" + text
    if args.write_docs:
        write_docs(results_block(body, args.runs))
        print(f"\nwritten: {DOCS.relative_to(ROOT)} ({SECTION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
