"""results.json: written by every run that audits something, valid against its schema, and saying
what the JUnit file says, under xdist too; secrets of the command line left out."""

import json
import subprocess
import sys

import pytest
from synthetic_results import document as synthetic_document

from timesync_audit import results

pytest_plugins = ["pytester", "throwaway_suite"]  # throwaway_suite: the `suite` fixture

FAR = "2999-12-31"
OUTCOMES = {
    "chronyd_client_only": {"alpha": "fail", "beta": "pass"},
    "chrony_set_nts": {"*": "skip"},
    "file_owner_etc_chrony_keys": {"beta": "error"},
    "chronyd_run_as_chrony_user": {"alpha": "crash"},
    "package_chrony_installed": {"alpha": "fail", "beta": "fail"},
}
#: JUnit's outcome of each category (a waived test is an xfail)
JUNIT_OUTCOME = {
    "compliant": "passed",
    "non-compliant": "failure",
    "waived": "xfail",
    "not applicable": "skipped",
    "could not check": "error",
}
WAIVER = f"- {{rule: package_chrony_installed, hosts: alpha, justification: lab only, expires: {FAR}}}\n"


def _document(suite) -> dict:
    path = suite.path / "reports" / "results.json"
    assert path.exists(), "the run wrote no results.json"
    document = json.loads(path.read_text())
    assert results.problems(document) == []
    return document


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_results_say_what_junit_says(suite, workers):
    suite.make(OUTCOMES)
    run = suite.run(suite.waivers(WAIVER), *workers)
    assert run.ret == 3
    document = _document(suite)
    _, cases = suite.junit()
    seen = {(rule, host["name"]): result for host in document["hosts"] for rule, result in host["results"].items()}
    assert set(seen) == set(cases)
    for key, result in seen.items():
        # a rule that crashed gave no verdict (could not check); pytest's JUnit calls it a failure
        crashed = key == ("chronyd_run_as_chrony_user", "alpha")
        assert ("failure" if crashed else JUNIT_OUTCOME[result["category"]]) == cases[key][0], key
    assert document["run"]["exit_code"] == 3
    assert document["run"]["counts"] == {
        "compliant": 3,
        "non-compliant": 2,
        "waived": 1,
        "not applicable": 2,
        "could not check": 2,
    }
    assert [h["id"] for h in document["hosts"]] == ["docker://alpha", "docker://beta"]
    assert set(document["rules"]) == set(OUTCOMES)


def test_each_result_carries_its_message_evidence_and_waiver(suite):
    suite.make(OUTCOMES)
    suite.run(suite.waivers(WAIVER))
    hosts = {h["name"]: h["results"] for h in _document(suite)["hosts"]}
    failed = hosts["alpha"]["chronyd_client_only"]
    assert failed["category"] == "non-compliant"
    assert failed["message"] == "chronyd_client_only is not met on alpha (/etc/chrony/chrony.conf:7)"
    assert failed["evidence"] == ["/etc/chrony/chrony.conf:7"]
    assert failed["test"].endswith("test_chronyd_client_only[docker://alpha]")
    assert hosts["beta"]["chronyd_client_only"] == {
        **hosts["beta"]["chronyd_client_only"],
        "message": "",
        "evidence": [],
    }
    skipped = hosts["beta"]["chrony_set_nts"]
    assert skipped["message"] == "not applicable: chrony_set_nts does not apply on beta"
    error = hosts["beta"]["file_owner_etc_chrony_keys"]
    assert error["category"] == "could not check"
    assert error["message"] == "could not check: permission denied reading /etc/chrony/chrony.keys on beta"
    crash = hosts["alpha"]["chronyd_run_as_chrony_user"]
    assert crash["category"] == "could not check"
    assert crash["message"].startswith("the rule crashed, no verdict: KeyError")
    waived = hosts["alpha"]["package_chrony_installed"]
    assert waived["category"] == "waived"
    assert waived["waiver"] == {
        "status": "applied",
        "justification": "lab only",
        "expires": FAR,
        "source": f"{suite.path / 'waivers.yml'}:1",
    }
    assert hosts["beta"]["package_chrony_installed"]["waiver"] is None


def test_an_expired_waiver_is_recorded_and_the_failure_counts(suite):
    suite.make({"package_chrony_installed": {"alpha": "fail"}})
    suite.run(
        suite.waivers("- {rule: package_chrony_installed, hosts: alpha, justification: old, expires: 2001-01-01}\n")
    )
    result = {h["name"]: h for h in _document(suite)["hosts"]}["alpha"]["results"]["package_chrony_installed"]
    assert result["category"] == "non-compliant"
    assert result["waiver"]["status"] == "expired"
    assert result["waiver"]["expires"] == "2001-01-01"


def test_a_dead_host_is_one_reason_and_every_rule_could_not_check(suite):
    suite.make({"chronyd_client_only": {"beta": "dead"}, "chrony_set_nts": {"beta": "dead"}})
    suite.run()
    hosts = {h["name"]: h for h in _document(suite)["hosts"]}
    assert hosts["beta"]["dead"].startswith("docker://beta: did not answer within 10 s (connect)")
    assert {r["category"] for r in hosts["beta"]["results"].values()} == {"could not check"}
    assert hosts["alpha"]["dead"] is None


def test_the_run_is_described(suite):
    suite.make({"chronyd_client_only": {}})
    suite.run("--policy", "maxpoll_max=12", "--hosts=ssh://auditor:hunter2@gamma")
    document = _document(suite)
    run = document["run"]
    assert run["exit_code"] == 0 and run["exit_meaning"] == "compliant" and run["interrupted"] is None
    assert run["policy"]["maxpoll_max"] == {"value": 12, "origin": "--policy"}
    assert run["policy"]["makestep_limit"]["origin"] == "default"
    assert "hunter2" not in json.dumps(document)
    assert "--hosts=ssh://auditor:***@gamma" in run["command_line"]
    assert run["started"] <= run["finished"]
    assert run["hosts_total"] == run["hosts_finished"] == 1
    assert document["baseline"] is None


def test_a_run_that_audits_nothing_leaves_the_last_results_alone(suite):
    suite.make({"chronyd_client_only": {}})
    suite.run()
    before = (suite.path / "reports" / "results.json").read_text()
    suite.run("--collect-only")
    suite.run("-k", "nothing_is_called_this")
    assert (suite.path / "reports" / "results.json").read_text() == before


def test_the_paths_can_be_chosen(suite, tmp_path):
    suite.make({"chronyd_client_only": {}})
    target = tmp_path / "elsewhere" / "r.json"
    suite.run(f"--results-json={target}", f"--hdf-dir={tmp_path / 'h'}", f"--fleet-html={tmp_path / 'f.html'}")
    assert results.problems(json.loads(target.read_text())) == []
    assert not (suite.path / "reports" / "results.json").exists()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--hosts=ssh://u:pw@h,paramiko://v:x@k:22"], ["--hosts=ssh://u:***@h,paramiko://v:***@k:22"]),
        (["--ssh-password", "s3cret", "-q"], ["--ssh-password", "***", "-q"]),
        (["--sudo-password=s3cret"], ["--sudo-password=***"]),
        (["--api-token=abc"], ["--api-token=***"]),
        (
            ["--hosts=ssh://root@h:22", "--policy", "maxpoll_max=10"],
            ["--hosts=ssh://root@h:22", "--policy", "maxpoll_max=10"],
        ),
        (["--hosts=ssh://[::1]:22"], ["--hosts=ssh://[::1]:22"]),
    ],
)
def test_secrets_of_the_command_line_are_left_out(args, expected):
    assert results.redacted_arguments(args) == expected


@pytest.mark.parametrize(
    "message, evidence",
    [
        ("maxpoll 17 (/etc/chrony/chrony.conf:7)", ["/etc/chrony/chrony.conf:7"]),
        (
            "a:\n  - /etc/chrony/conf.d/a.conf:3: server x\n  - /etc/chrony/conf.d/a.conf:3: y",
            ["/etc/chrony/conf.d/a.conf:3"],
        ),
        ("read: /etc/chrony/chrony.conf, /etc/chrony/conf.d/x.conf", []),
        ("ssh://root@h:22: did not answer", []),
        ("at /etc/ntp.conf:12, and /etc/ntpsec/ntp.d/x.conf:1", ["/etc/ntp.conf:12", "/etc/ntpsec/ntp.d/x.conf:1"]),
    ],
)
def test_evidence_is_the_places_a_message_names(message, evidence):
    assert results.evidence_of(message) == evidence


def test_a_file_that_is_not_a_results_document_is_named_with_why(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text('{"format": "timesync-audit-results",\n "format_version": 1,\n')
    with pytest.raises(results.ResultsError, match=r"r\.json:3:1: not JSON"):
        results.load(bad)
    bad.write_text('{"format": "timesync-audit-results", "format_version": 7}')
    with pytest.raises(results.ResultsError, match="format_version 7; this suite reads 1"):
        results.load(bad)
    bad.write_text('{"hosts": []}')
    with pytest.raises(results.ResultsError, match="not a results file of this suite"):
        results.load(bad)
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(results.ResultsError, match="not UTF-8"):
        results.load(bad)
    with pytest.raises(results.ResultsError, match="cannot read it"):
        results.load(tmp_path / "missing.json")


def test_the_schema_documentation_is_generated_from_the_schema():
    docs = results.SCHEMA_PATH.parents[2] / "docs" / "results.md"
    assert docs.read_text() == results.schema_markdown(), "run: python -m timesync_audit.results docs/results.md"


def test_the_reports_can_be_made_again_from_results_json_alone(tmp_path):
    source = tmp_path / "results.json"
    results.write(synthetic_document(3), source)
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "timesync_audit",
            "render",
            str(source),
            "--fleet-html",
            str(tmp_path / "f.html"),
            "--hdf-dir",
            str(tmp_path / "hdf"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    assert "host0002.example" in (tmp_path / "f.html").read_text()
    assert len(list((tmp_path / "hdf").glob("*.json"))) == 3
    source.write_text("{}")
    refused = subprocess.run(
        [sys.executable, "-m", "timesync_audit", "render", str(source), "--fleet-html", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 4
    assert f"error: {source}: not a results file of this suite" in refused.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "timesync_audit", "render", str(source)], capture_output=True, text=True, timeout=120
    )
    assert usage.returncode == 4 and "give --fleet-html PATH, --hdf-dir DIR, or both" in usage.stderr
