"""--baseline and --fail-on=regression on real lab runs: a night, a host reconfigured, the next
night (one regression, exit 1 under --fail-on=regression though chrony-stock still fails as it
did), the host restored, the night after (fixed, exit 0 under --fail-on=regression)."""

import subprocess
import xml.etree.ElementTree as ET

import pytest
from runner import INSTANCE, run_suite
from test_lab_verdicts import TABLE

from timesync_audit import results

pytestmark = pytest.mark.e2e

HOSTS = ["chrony-hardened", "chrony-stock"]
#: the change between the nights: a `port 123` appended to chrony-hardened's main file (after its
#: `port 0`: the last wins) makes it a server; the file is put back as it was afterwards
CONF, KEPT = "/etc/chrony/chrony.conf", "/root/chrony.conf.before-baseline-test"


def _exec(host: str, command: str) -> None:
    subprocess.run(INSTANCE.exec_argv(host, command), check=True, capture_output=True, timeout=60)


def _night(out, name, *extra):
    run = run_suite("docker", HOSTS, out / name, list(TABLE["policy"]) + list(extra))
    document = results.load(run.results)  # validated against the schema
    return run, document


def _changes(document, kind):
    return [(p["host"].split("://")[-1], p["rule"]) for p in document["baseline"][kind]]


def test_a_reconfigured_host_is_the_one_regression_then_fixed(lab, tmp_path):
    for name in ("1", "2", "3"):
        (tmp_path / name).mkdir()
    first, first_doc = _night(tmp_path, "1")
    assert first.returncode == 1, first.output[-3000:]  # chrony-stock fails, as the table says
    hardened = INSTANCE.container("chrony-hardened")
    try:
        _exec("chrony-hardened", f"cp -p {CONF} {KEPT} && printf 'port 123\\n' >> {CONF}")
        second, second_doc = _night(tmp_path, "2", f"--baseline={first.results}", "--fail-on=regression")
    finally:
        _exec("chrony-hardened", f"if [ -f {KEPT} ]; then mv -f {KEPT} {CONF}; fi")
    assert _changes(second_doc, "regressions") == [(hardened, "chronyd_client_only")], second.output[-3000:]
    assert second_doc["baseline"]["new_could_not_check"] == []
    assert second.returncode == 1, second.output[-3000:]
    assert (
        "regression          docker://" in second.output
        and "chronyd_client_only: compliant -> non-compliant" in second.output
    )
    result = {h["name"]: h for h in second_doc["hosts"]}[hardened]["results"]["chronyd_client_only"]
    assert result["change"] == {"kind": "regression", "was": "compliant"}
    assert any(place.startswith(f"{CONF}:") for place in result["evidence"]), result

    third, third_doc = _night(tmp_path, "3", f"--baseline={second.results}", "--fail-on=regression")
    assert _changes(third_doc, "fixed") == [(hardened, "chronyd_client_only")]
    assert third_doc["baseline"]["regressions"] == []
    assert third.returncode == 0, third.output[-3000:]  # nothing got worse, chrony-stock's failures are old
    assert third_doc["run"]["counts"]["non-compliant"] > 0
    props = _junit_properties(third.results.parent / "junit-docker.xml")
    assert props["fixed"] == "1" and props["regressions"] == "0" and props["exit_code"] == "0"


def _junit_properties(path):
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    return {p.get("name"): p.get("value") for p in suite.findall("./properties/property")}
