"""The lab in 3 shards, merged, is the lab in one run: the same verdicts, matrix and exit code."""

import subprocess
import sys

import pytest
from browser_tools import run_node
from runner import ROOT, run_suite
from test_lab_verdicts import HOSTS, TABLE

from timesync_audit import results

pytestmark = pytest.mark.e2e


def _cells(document):
    return {(h["id"], rule): r["category"] for h in document["hosts"] for rule, r in h["results"].items()}


def test_three_shards_merged_are_one_run(lab, tmp_path):
    whole = run_suite("docker", HOSTS, tmp_path, list(TABLE["policy"]))
    single = results.load(whole.results)
    shards = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}"
        out.mkdir()
        run = run_suite("docker", HOSTS, out, [*TABLE["policy"], f"--shard={k}/3"])
        assert run.returncode in (0, 1, 3), run.output[-2000:]
        shards.append(run.results)
    assert all(results.load(p)["hosts"] for p in shards), "a shard got no host: the hash spreads 14 hosts badly"
    merged_dir = tmp_path / "fleet"
    done = subprocess.run(
        [sys.executable, "-m", "timesync_audit", "merge", str(merged_dir), *map(str, shards)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    merged = results.load(merged_dir / "results.json")
    assert done.returncode == whole.returncode == merged["run"]["exit_code"], done.stdout + done.stderr
    assert _cells(merged) == _cells(single)
    assert merged["run"]["counts"] == single["run"]["counts"]
    one = run_node("fleet_check.mjs", str(whole.fleet))["matrix"]
    joined = run_node("fleet_check.mjs", str(merged_dir / "fleet.html"))["matrix"]
    assert joined["rules"] == one["rules"]
    assert [(r["name"], r["cells"]) for r in joined["hosts"]] == [(r["name"], r["cells"]) for r in one["hosts"]]
    assert len(list((merged_dir / "hdf").glob("*.json"))) == len(HOSTS)
