"""--shard=K/N and `python -m timesync_audit merge`: N shard runs merged are one run of the fleet
(results, counts, JUnit, exit code); shards that are not one audit cut in N are refused, naming
the shard."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from timesync_audit import results, sharding

pytest_plugins = ["pytester", "throwaway_suite"]  # throwaway_suite: the `suite` fixture

HOSTS = [f"docker://h{i}" for i in range(8)]
OUTCOMES = {
    "chronyd_client_only": {"h1": "fail", "h4": "fail"},
    "chrony_set_nts": {"h2": "skip", "h6": "error"},
    "package_chrony_installed": {},
}


def _merge(out, *shards):
    return subprocess.run(
        [sys.executable, "-m", "timesync_audit", "merge", str(out), *map(str, shards)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _cells(document):
    return {(h["id"], rule): r["category"] for h in document["hosts"] for rule, r in h["results"].items()}


def _shards(suite, n, *extra):
    paths = []
    for k in range(1, n + 1):
        path = suite.path / f"shard-{k}.json"
        run = suite.run(f"--shard={k}/{n}", f"--results-json={path}", *extra, hosts=",".join(HOSTS))
        assert run.ret in (0, 1, 3), run.stdout.str()
        paths.append(path)
    return paths


def test_every_host_is_in_exactly_one_shard_and_stays_there():
    for n in (1, 2, 3, 7):
        shards = [sharding.shard_of(h, n) for h in HOSTS]
        assert all(1 <= k <= n for k in shards)
        assert shards == [sharding.shard_of(h, n) for h in HOSTS]  # no salted hash: the same every run
    assert len({sharding.shard_of(f"ssh://root@web{i}", 3) for i in range(30)}) == 3


def test_shards_merged_are_one_run(suite, tmp_path):
    suite.make(OUTCOMES)
    whole = suite.path / "whole.json"
    one = suite.run(f"--results-json={whole}", hosts=",".join(HOSTS))
    single = json.loads(whole.read_text())
    paths = _shards(suite, 3)
    docs = [json.loads(p.read_text()) for p in paths]
    assert sorted(h["id"] for d in docs for h in d["hosts"]) == sorted(HOSTS)
    assert [d["run"]["shard"] for d in docs] == ["1/3", "2/3", "3/3"]
    done = _merge(tmp_path / "fleet", *paths)
    assert done.returncode == one.ret == 3, done.stderr
    merged = json.loads((tmp_path / "fleet" / "results.json").read_text())
    assert results.problems(merged) == []
    assert _cells(merged) == _cells(single)
    assert merged["run"]["counts"] == single["run"]["counts"]
    assert merged["run"]["merged_shards"] == 3 and merged["run"]["exit_code"] == 3
    assert [h["id"] for h in merged["hosts"]] == [h["id"] for h in single["hosts"]]
    cases = ET.parse(tmp_path / "fleet" / "junit.xml").getroot().iter("testcase")
    assert sum(1 for _ in cases) == len(_cells(single))
    assert len(list((tmp_path / "fleet" / "hdf").glob("*.json"))) == len(HOSTS)
    assert "h4" in (tmp_path / "fleet" / "fleet.html").read_text()
    assert "exit code 3: could not check every rule" in done.stdout


def test_a_shard_without_hosts_still_says_it_ran(suite):
    suite.make({"chronyd_client_only": {}})
    path = suite.path / "empty.json"
    empty = next(k for k in range(1, 6) if sharding.shard_of("docker://h0", 5) != k)
    run = suite.run(f"--shard={empty}/5", f"--results-json={path}", hosts="docker://h0")
    assert run.ret == 0, run.stdout.str()
    run.stdout.fnmatch_lines([f"no host in shard {empty}/5 (its results.json says so): reports not written*"])
    document = json.loads(path.read_text())
    assert document["hosts"] == [] and document["run"]["shard"] == f"{empty}/5"


@pytest.mark.parametrize("value", ["0/3", "4/3", "3", "a/b", "1/0", ""])
def test_a_bad_shard_is_a_usage_error(suite, value):
    suite.make({"chronyd_client_only": {"*": "hang"}})
    run = suite.run(f"--shard={value}")
    assert run.ret == 4
    run.stderr.fnmatch_lines(["ERROR: --shard: *"])
    assert not list(suite.path.glob("hanging-*"))


def test_merge_refuses_what_is_not_one_audit_cut_in_n(suite, tmp_path):
    suite.make(OUTCOMES)
    first, second, third = _shards(suite, 3)
    missing = _merge(tmp_path / "a", first, third)
    assert missing.returncode == 4 and "shard 2/3 missing (given: 1/3, 3/3)" in missing.stderr
    twice = _merge(tmp_path / "b", first, first, third)
    assert twice.returncode == 4 and "shard 1/3 given twice" in twice.stderr
    other = suite.path / "other-policy.json"
    suite.run("--shard=2/3", f"--results-json={other}", "--policy", "maxpoll_max=12", hosts=",".join(HOSTS))
    policy = _merge(tmp_path / "c", first, other, third)
    assert policy.returncode == 4 and f"{other}: another policy than {first} (maxpoll_max)" in policy.stderr
    whole = suite.path / "whole.json"
    suite.run(f"--results-json={whole}", hosts=",".join(HOSTS))
    not_a_shard = _merge(tmp_path / "d", whole)
    assert not_a_shard.returncode == 4 and "not a shard (its run had no --shard)" in not_a_shard.stderr
    broken = suite.path / "broken.json"
    broken.write_text("{")
    assert "not JSON" in _merge(tmp_path / "e", first, broken).stderr
    assert not (tmp_path / "a").exists()  # nothing written on a refusal
