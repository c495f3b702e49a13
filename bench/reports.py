"""The reports at fleet size: what each file weighs, what writing them costs the controller, and how
long headless Chromium takes to show the matrix, beside pytest-html's report.html of the same run.

    python bench/reports.py                      # 100, 500 and 1,000 hosts; report.html at 100 and 300
    python bench/reports.py --hosts 500 --report-html-hosts 0 --no-docs

Two parts, interleaved over --runs runs, medians:
- synthetic fleets (selftests/synthetic_results.py: the 48 real rules, seeded outcomes): each size
  in a fresh Python process that writes results.json, the HDF files and fleet.html (wall time of
  each writer, peak RSS of the process), then fleet.html opened in Debian's Chromium
  (selftests/browser/fleet_check.mjs: load event plus a forced layout of the matrix, measured in
  the page);
- real runs of a throwaway suite of the same 48 rule ids over N docker:// hosts that are never
  contacted (each rule fails, passes or skips by a seeded draw): the suite as a user runs it,
  with report.html, junit.xml and the reports it writes from results.json, so report.html and
  fleet.html are compared on the same run.
Needs node, `npm ci --prefix selftests/browser` and /usr/bin/chromium. Results go to
docs/benchmarks.md (its "Reports at fleet size" section) unless --no-docs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import docs_section  # bench/docs_section.py: this script's folder is on sys.path

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Reports at fleet size"
BEGIN = "<!-- results: written by bench/reports.py, which replaces everything up to the end marker -->"
END = "<!-- end of results written by bench/reports.py -->"
sys.path[:0] = [str(ROOT), str(ROOT / "selftests")]

#: run in a fresh process per size, so its peak RSS is the writers' own
WRITER = """
import json, resource, sys, time
from synthetic_results import document
from timesync_audit import fleet_html, hdf, results
hosts, out = int(sys.argv[1]), sys.argv[2]
doc = document(hosts)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
took = {}
for name, write in (("results_json", lambda: results.write(doc, f"{out}/results.json")),
                    ("hdf", lambda: hdf.write(doc, f"{out}/hdf")),
                    ("fleet_html", lambda: fleet_html.write_fleet_page(doc, f"{out}/fleet.html"))):
    start = time.perf_counter(); write(); took[name] = time.perf_counter() - start
took["matrix_bytes"] = len(fleet_html.matrix_fragment(doc).encode())
took["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
took["rss_before_mb"] = base / 1024
print(json.dumps(took))
"""

SUITE_RULES = """
import json, pathlib, random
from timesync_audit.evidence import non_compliant
from timesync_audit.outcomes import not_applicable
from timesync_audit.rules import rule

def judge(rule_id, host):
    draw = random.Random(f"{rule_id} {host.backend.get_pytest_id()}").random()
    if draw < 0.2:
        non_compliant(f"{rule_id} is not met (/etc/chrony/chrony.conf:7)")
    if draw < 0.35:
        not_applicable("chrony is not installed")
"""
SUITE_RULE = """
@rule(title="{rule_id}", severity="medium", service="chronyd", rationale="r", remediation="m")
def test_{rule_id}(host):
    judge("{rule_id}", host)
"""


def size(path: pathlib.Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def render_ms(page: pathlib.Path) -> float:
    done = subprocess.run(
        ["node", str(ROOT / "selftests" / "browser" / "fleet_check.mjs"), str(page)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "selftests" / "browser",
    )
    if done.returncode != 0:
        raise SystemExit(f"fleet_check.mjs failed: {done.stderr[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["timing"]["layout_ms"])


def synthetic(hosts: int, python: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="tsa-bench-reports-") as out:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "selftests")]))
        done = subprocess.run([python, "-c", WRITER, str(hosts), out], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        row = json.loads(done.stdout)
        base = pathlib.Path(out)
        row.update(
            results_bytes=size(base / "results.json"),
            hdf_bytes=size(base / "hdf"),
            fleet_bytes=size(base / "fleet.html"),
            render_ms=render_ms(base / "fleet.html"),
        )
        return row


def real_run(hosts: int, python: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from timesync_audit.rules import catalog  # the real rule ids, from their data files

    rule_ids = sorted(catalog())
    with tempfile.TemporaryDirectory(prefix="tsa-bench-reports-") as out:
        base = pathlib.Path(out)
        (base / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\nrender_collapsed = passed\n")
        (base / "test_rules.py").write_text(SUITE_RULES + "".join(SUITE_RULE.format(rule_id=r) for r in rule_ids))
        names = ",".join(f"docker://host{i:04d}" for i in range(hosts))
        argv = [python, "-m", "pytest", f"--hosts={names}", "-q", "--junitxml=junit.xml", "--html=report.html"]
        argv += ["--self-contained-html", "-p", "no:randomly"]
        start = time.monotonic()
        child = subprocess.Popen(argv, cwd=base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - start
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            raise SystemExit(f"the throwaway run ended {os.waitstatus_to_exitcode(status)}")
        reports = base / "reports"
        return {
            "wall_s": wall,
            "rss_mb": usage.ru_maxrss / 1024,
            "report_html_bytes": size(base / "report.html"),
            "junit_bytes": size(base / "junit.xml"),
            "results_bytes": size(reports / "results.json"),
            "hdf_bytes": size(reports / "hdf"),
            "fleet_bytes": size(reports / "fleet.html"),
            "report_render_ms": render_ms(base / "report.html"),
            "fleet_render_ms": render_ms(reports / "fleet.html"),
        }


def medians(rows: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in rows) for key in rows[0]}


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def block(synth: dict[int, dict], real: dict[int, dict], runs: int) -> str:
    info = {
        "date": datetime.date.today().isoformat(),
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }
    lines = [BEGIN, "", f"Measured {info['date']}; {runs} run(s) per size, medians.", ""]
    lines.append("Machine: " + ", ".join(f"{k} {v}" for k, v in info.items() if k != "date") + ".")
    lines += ["", "Synthetic fleets (48 rules per host), the writers in one process:", ""]
    lines.append(
        "| hosts | results.json | write | HDF files | write | fleet.html | write | matrix fragment | "
        "peak RSS | fleet.html in Chromium |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for hosts, r in synth.items():
        lines.append(
            f"| {hosts:,} | {mb(r['results_bytes'])} | {r['results_json']:.2f} s | {mb(r['hdf_bytes'])} | "
            f"{r['hdf']:.2f} s | {mb(r['fleet_bytes'])} | {r['fleet_html']:.2f} s | {mb(r['matrix_bytes'])} | "
            f"{r['rss_mb']:.0f} MB | {r['render_ms']:.0f} ms |"
        )
    if real:
        lines += ["", "Real runs of the suite (48 throwaway rules per host, hosts never contacted), same run:", ""]
        lines.append(
            "| hosts | wall | peak RSS | report.html | in Chromium | fleet.html | in Chromium | results.json | "
            "HDF files | junit.xml |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for hosts, r in real.items():
            lines.append(
                f"| {hosts:,} | {r['wall_s']:.1f} s | {r['rss_mb']:.0f} MB | {mb(r['report_html_bytes'])} | "
                f"{r['report_render_ms']:.0f} ms | {mb(r['fleet_bytes'])} | {r['fleet_render_ms']:.0f} ms | "
                f"{mb(r['results_bytes'])} | {mb(r['hdf_bytes'])} | {mb(r['junit_bytes'])} |"
            )
    lines += ["", END]
    return "\n".join(lines)


SECTION_HEAD = textwrap.dedent(
    f"""\
    {SECTION}

    What the fleet reports weigh and cost. Run: `python bench/reports.py` (see `bench/README.md`).
    "in Chromium" is the time from navigation start to the load event plus a forced layout of the
    matrix, measured in the page by `selftests/browser/fleet_check.mjs` in Debian's headless
    Chromium (for report.html: pytest-html's own page, whose table is built by its script).

    **Target: the matrix of 500 hosts rendered in under 2 s; fleet.html small enough to mail.**
    """
)


def write_docs(text: str) -> None:
    docs_section.write_results(SECTION, SECTION_HEAD, BEGIN, END, text, DOCS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", default="100,500,1000", help="synthetic fleet sizes (default 100,500,1000)")
    parser.add_argument("--report-html-hosts", default="100,300", help="real runs' sizes; 0 for none")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    sizes = [int(n) for n in args.hosts.split(",") if n]
    real_sizes = [int(n) for n in args.report_html_hosts.split(",") if n and int(n)]
    synth_rows: dict[int, list[dict]] = {n: [] for n in sizes}
    real_rows: dict[int, list[dict]] = {n: [] for n in real_sizes}
    for run in range(1, args.runs + 1):  # interleaved: run 1 of every size, then run 2...
        for n in sizes:
            synth_rows[n].append(synthetic(n, args.python))
            print(f"run {run}: {n} synthetic hosts: {synth_rows[n][-1]['render_ms']:.0f} ms", flush=True)
        for n in real_sizes:
            real_rows[n].append(real_run(n, args.python))
            print(f"run {run}: {n} hosts, real run: {real_rows[n][-1]['wall_s']:.1f} s", flush=True)
    text = block(
        {n: medians(r) for n, r in synth_rows.items()}, {n: medians(r) for n, r in real_rows.items()}, args.runs
    )
    print(text)
    if not args.no_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
