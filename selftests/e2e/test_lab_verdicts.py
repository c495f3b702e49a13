"""The compliance suite against the lab's real hosts: the expected-verdict table must hold
over docker://, paramiko:// and ssh://, with and without xdist."""

import os
import pathlib
import re
import shutil

import pytest
import yaml
from browser_tools import run_node
from hdf_checks import assert_heimdall_shows_the_document, read_files
from runner import INSTANCE, SSH_CONFIG, run_pytest, run_suite

from timesync_audit import results

pytestmark = pytest.mark.e2e

HERE = pathlib.Path(__file__).parent
TABLE = yaml.safe_load((HERE / "expected_verdicts.yaml").read_text())
FRAGMENTS = [TABLE] + [yaml.safe_load(p.read_text()) for p in sorted((HERE / "expected_verdicts.d").glob("*.yaml"))]
# every host of the table and of its fragments (a fragment may bring hosts of its own, e.g.
# daemon-semantics.yaml), in the order they first appear; each is audited over every backend
HOSTS = list(dict.fromkeys(host for fragment in FRAGMENTS for host in fragment.get("hosts", {})))
BACKENDS = ("docker", "paramiko", "ssh")


@pytest.fixture(scope="session")
def runs(lab, tmp_path_factory):
    out = tmp_path_factory.mktemp("suite-runs")
    cache = {}

    def get(backend, *extra):
        key = (backend,) + extra
        if key not in cache:
            cache[key] = run_suite(backend, HOSTS, out, list(TABLE["policy"]) + list(extra))
        return cache[key]

    return get


def expected_table() -> dict:
    """(host, rule id) -> expectation, merged from the table and its fragments."""
    cells: dict = {}
    for fragment in FRAGMENTS:
        for host, rules in fragment.get("hosts", {}).items():
            for rule_id in fragment.get("rules", []):
                if "default" in rules:
                    cells.setdefault((host, rule_id), rules["default"])
            for rule_id, want in rules.items():
                if rule_id != "default":
                    cells[(host, rule_id)] = want
    return cells


def expected_cells():
    from support import load_rule_modules

    from timesync_audit.rules import REGISTRY

    load_rule_modules()
    cells = expected_table()
    for host in HOSTS:
        for rule_id in REGISTRY:
            want = cells.get((host, rule_id))
            yield host, rule_id, {"outcome": want} if isinstance(want, str) else want


def mismatches(run):
    found = []
    for host, rule_id, want in expected_cells():
        got = run.verdicts.get((host, rule_id))
        if want is None:
            found.append(f"{host} {rule_id}: no expected verdict in the table")
        elif got is None:
            found.append(f"{host} {rule_id}: not run")
        elif got.outcome != want["outcome"]:
            found.append(
                f"{host} {rule_id}: expected {want['outcome']}, got {got.outcome}: {got.message.strip()[:400]}"
            )
        else:
            for text in want.get("message", []):
                if text not in got.message:
                    found.append(f"{host} {rule_id}: {text!r} not in message: {got.message.strip()[:400]}")
    return found


@pytest.mark.parametrize("backend", BACKENDS)
def test_expected_verdicts_hold(runs, backend):
    run = runs(backend)
    problems = mismatches(run)
    assert not problems, f"{len(problems)} verdict(s) differ over {backend}://\n" + "\n".join(problems)


def test_same_verdicts_without_xdist(runs):
    parallel, serial = runs("docker"), runs("docker", "-p", "no:xdist")
    assert {k: v.outcome for k, v in parallel.verdicts.items()} == {k: v.outcome for k, v in serial.verdicts.items()}


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_host_is_gathered_once_in_few_round_trips(runs, backend):
    trips, gathers = {}, {}
    for (host, _), verdict in runs(backend).verdicts.items():
        if "gather_id" in verdict.properties:
            trips.setdefault(host, set()).add(int(verdict.properties["gather_round_trips"]))
            gathers.setdefault(host, set()).add(verdict.properties["gather_id"])
    assert set(gathers) == set(HOSTS)
    # one gather per host, shared by all its tests even under xdist (-n 2)
    assert all(len(ids) == 1 for ids in gathers.values()), gathers
    assert all(max(t) <= 4 for t in trips.values()), trips


#: the JUnit outcome of each category of results.json (a waived finding is a skip: an xfail)
JUNIT_OUTCOME = {
    "compliant": "passed",
    "non-compliant": "failed",
    "waived": "skipped",
    "not applicable": "skipped",
    "could not check": "error",
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_results_and_hdf_say_what_junit_says(runs, backend):
    """results.json validates and has a result per JUnit testcase, the same; each host's gather and
    OS; one HDF file per host, which MITRE's inspecjs reads as Heimdall shows each category."""
    run = runs(backend)
    document = results.load(run.results)  # validated against the schema
    cells = {
        (INSTANCE.bare(host["name"]), rule): result
        for host in document["hosts"]
        for rule, result in host["results"].items()
    }
    assert set(cells) == set(run.verdicts)
    differ = [
        f"{key}: {result['category']} in results.json, {run.verdicts[key].outcome} in JUnit"
        for key, result in cells.items()
        if JUNIT_OUTCOME[result["category"]] != run.verdicts[key].outcome
    ]
    assert not differ, "\n".join(differ)
    for host in document["hosts"]:
        assert host["gather"] and 1 <= host["gather"]["round_trips"] <= 4 and host["gather"]["seconds"] > 0, host["id"]
        assert host["os"] and host["os"]["id"] == "debian", host["id"]
        assert host["dead"] is None and host["finished"], host["id"]
    assert document["run"]["exit_code"] == run.returncode
    files = sorted(run.hdf.glob("*.json"))
    assert len(files) == len(document["hosts"]) == len(HOSTS)
    assert_heimdall_shows_the_document(document, read_files(files))


#: the matrix's letter of each outcome of the verdict table (the lab's default runs waive nothing)
LETTER = {"passed": "P", "failed": "F", "skipped": "N", "error": "E"}


def test_the_matrix_shows_the_verdict_table(runs, tmp_path):
    """fleet.html and report.html, as headless Chromium shows them: every cell of the matrix is the
    verdict table's (screenshots kept in docs/ with TSA_DOCS_SCREENSHOTS=DIR)."""
    run = runs("docker")
    want = {(host, rule): LETTER[w["outcome"]] for host, rule, w in expected_cells()}
    for page, name in ((run.fleet, "fleet-html.png"), (run.html, "report-html.png")):
        shot = tmp_path / name
        answer = run_node("fleet_check.mjs", str(page), "--screenshot", str(shot), "--viewport", "1600x1000")
        assert answer["errors"] == [], answer["errors"]
        matrix = answer["matrix"]
        shown = {
            (INSTANCE.bare(row["name"]), rule): letter
            for row in matrix["hosts"]
            for rule, letter in zip(matrix["rules"], row["cells"])
        }
        assert shown == want, f"{page.name}: " + ", ".join(
            f"{k}: {shown.get(k)} shown, {v} expected" for k, v in want.items() if shown.get(k) != v
        )
        docs = os.environ.get("TSA_DOCS_SCREENSHOTS")
        if docs:
            shutil.copy(shot, pathlib.Path(docs) / name)


def test_reports_carry_rule_metadata(runs):
    run = runs("docker")
    verdict = run.verdicts[("chrony-hardened", "chronyd_client_only")]
    assert verdict.properties["cce"] == "CCE-87543-5" and verdict.properties["severity"] == "low"
    html = run.html.read_text()
    assert "chronyd_client_only" in html and "RHEL-09-252025" in html and "Rationale" in html


def test_unreachable_host_errors_and_others_complete(lab, tmp_path):
    run = run_suite("docker", ["chrony-hardened", "no-such-host"], tmp_path, list(TABLE["policy"]))
    broken = [v for (h, _), v in run.verdicts.items() if h == "no-such-host"]
    assert broken and all(v.outcome == "error" for v in broken)
    assert all("No such container" in v.message and "docker ps" in v.message for v in broken)
    expected = {rule: want["outcome"] for host, rule, want in expected_cells() if host == "chrony-hardened"}
    healthy = {rule: v.outcome for (h, rule), v in run.verdicts.items() if h == "chrony-hardened"}
    assert healthy == expected  # complete, and the same verdicts as in a run without the broken host
    assert run.returncode == 3  # could not check no-such-host (exit code 3), whatever the other verdicts


@pytest.mark.parametrize("backend", ("paramiko", "ssh"))
def test_unknown_host_key_is_refused(lab, tmp_path, backend):
    """Host-key checking stays on over both SSH backends: an impostor gets no audit, only errors."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = tmp_path / "ssh_config"
    text = re.sub(r"(?im)^(\s*UserKnownHostsFile\s+).*$", rf"\g<1>{empty}", SSH_CONFIG.read_text())
    config.write_text(re.sub(r"(?im)^\s*Control\w+.*\n", "", text))  # no shared master connection
    run = run_suite(backend, ["chrony-hardened"], tmp_path, list(TABLE["policy"]), ssh_config=config)
    assert run.verdicts and all(v.outcome == "error" for v in run.verdicts.values())
    assert all("known_hosts" in v.message for v in run.verdicts.values()), next(iter(run.verdicts.values())).message


@pytest.mark.parametrize("inventory", ["lab-docker.yml", "lab.yml"])
def test_inventory_policy_per_group_and_host(lab, tmp_path, inventory):
    """The lab inventories carry the policy (approved servers for all, time service per group, and
    one host's own approved server): over ansible:// the table holds, except the one cell that
    host's policy changes."""
    run = run_pytest(
        [f"--ansible-inventory={INSTANCE.run_dir / inventory}", "--hosts=ansible://all", "-n", "2"], tmp_path, inventory
    )
    changed = {("chrony-unreachable", "chronyd_configure_pool_and_server"): "passed"}
    problems = []
    for host, rule_id, want in expected_cells():
        got = run.verdicts.get((host, rule_id))
        expected = changed.get((host, rule_id), want["outcome"])
        if got is None or got.outcome != expected:
            problems.append(f"{host} {rule_id}: expected {expected}, got {got and got.outcome}")
    assert not problems, "\n".join(problems[:30]) + "\n" + run.output[-1500:]
    # results.json and fleet.html carry each host's own policy and where it came from
    document = results.load(run.results)
    hosts = {INSTANCE.bare(h["name"]): h for h in document["hosts"]}
    own = hosts["chrony-unreachable"]
    assert own["policy"]["approved_servers"]["value"] == ["time-void"]
    assert (
        inventory in own["policy"]["approved_servers"]["origin"]
        and "host" in own["policy"]["approved_servers"]["origin"]
    )
    assert "approved_servers" in own["policy_differs"] and "lab_targets" in own["groups"]
    assert hosts["chrony-hardened"]["policy"]["approved_servers"]["value"] == ["nts-server", "nts-server2"]
    page = run.fleet.read_text()
    assert "Policy where it differs" in page and "time-void" in page
