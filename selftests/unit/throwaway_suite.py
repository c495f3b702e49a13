"""A throwaway compliance suite with known outcomes, for testing verdicts, waivers and profiles.

The `suite` fixture's `make(outcomes)` writes one rule test per rule id, run with the installed
plugin (named as the real rules, so profiles select them). Each test's outcome on each host comes from `outcomes`: {rule id: {host: outcome}} ("*" for any host), outcome one of
pass, fail, skip, error (CouldNotCheck), crash (a bug in the rule), policy (fails, printing
the policy it was given), dead (the host-level CouldNotCheck of a host that never answered, the
same for every rule of it, as a failed gather gives), hang (writes `hanging-<host>` beside the
suite, then sleeps a minute: a run to interrupt). Hosts are docker:// ids that are never contacted.

`suite.run(...)` runs it in a subprocess: rule ids register in a process-wide registry, and the
run must not leave its throwaway rules in the project's own test session.
"""

from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOSTS = "docker://alpha,docker://beta"

_RULES = """
import json, pathlib, time

from timesync_audit.evidence import non_compliant
from timesync_audit.gather.remote import could_not_check
from timesync_audit.outcomes import CouldNotCheck, not_applicable
from timesync_audit.rules import rule

OUTCOMES = json.loads((pathlib.Path(__file__).parent / "outcomes.json").read_text())


def judge(rule_id, host, policy):
    name = host.backend.get_pytest_id().split("://")[-1]
    wanted = OUTCOMES.get(rule_id, {})
    outcome = wanted.get(name, wanted.get("*", "pass"))
    if outcome == "fail":
        non_compliant(f"{rule_id} is not met on {name} (/etc/chrony/chrony.conf:7)")
    if outcome == "skip":
        not_applicable(f"{rule_id} does not apply on {name}")
    if outcome == "error":
        raise CouldNotCheck(f"permission denied reading /etc/chrony/chrony.keys on {name}")
    if outcome == "crash":
        raise KeyError("a bug in the rule")
    if outcome == "policy":
        non_compliant(f"policy maxpoll_max={policy.maxpoll_max} time_service={policy.time_service} "
                      f"makestep_limit={policy.makestep_limit}")
    if outcome == "dead":
        raise could_not_check(host.backend.get_pytest_id(), "did not answer within 10 s (connect)")
    if outcome == "hang":
        (pathlib.Path(__file__).parent / f"hanging-{name}").write_text(rule_id)
        time.sleep(60)
"""

_RULE = """

@rule(title="{rule_id}", severity="low", service="chronyd", rationale="r", remediation="m")
def test_{rule_id}(host, policy):
    judge("{rule_id}", host, policy)
"""


class Suite:
    def __init__(self, pytester):
        self.pytester = pytester
        self.path = pytester.path

    def make(self, outcomes: dict, rules: list[str] = ()) -> Suite:
        rule_ids = sorted(set(rules) | set(outcomes))
        self.pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
        (self.path / "outcomes.json").write_text(json.dumps(outcomes))
        self.pytester.makepyfile(test_rules=_RULES + "".join(_RULE.format(rule_id=r) for r in rule_ids))
        return self

    def waivers(self, text: str) -> str:
        path = self.path / "waivers.yml"
        path.write_text(text)
        return f"--waivers={path}"

    def run(self, *args: str, hosts: str = HOSTS):
        """The suite in a subprocess, as a user runs it; JUnit and HTML written beside it."""
        return self.pytester.runpytest_subprocess(
            f"--hosts={hosts}",
            f"--junitxml={self.path / 'junit.xml'}",
            f"--html={self.path / 'report.html'}",
            "--self-contained-html",
            "-rfE",
            *args,
        )

    def junit(self) -> tuple[dict, dict]:
        """(global properties, {(rule id, host): (outcome, message, properties)}) of the run's JUnit."""
        root = ET.parse(self.path / "junit.xml").getroot()
        suite = root if root.tag == "testsuite" else root.find("testsuite")
        glob = {p.get("name"): p.get("value") for p in suite.findall("./properties/property")}
        cases = {}
        for case in suite.iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            outcome, message = "passed", ""
            for tag in ("failure", "error", "skipped"):
                node = case.find(tag)
                if node is not None:
                    outcome, message = tag, (node.get("message") or "") + "\n" + (node.text or "")
                    if tag == "skipped" and node.get("type") == "pytest.xfail":
                        outcome = "xfail"
            cases[(props.get("rule_id"), props.get("host", "").split("://")[-1])] = (outcome, message, props)
        return glob, cases

    def html(self) -> str:
        return (self.path / "report.html").read_text()


@pytest.fixture
def suite(pytester, monkeypatch) -> Suite:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the subprocess and its xdist workers import the plugin
    return Suite(pytester)
