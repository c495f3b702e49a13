"""Every rule's pass and fail scenarios (selftests/scenarios/<rule id>.yaml) on recorded hosts.

A scenario starts from a recorded layout (selftests/recorded/<layout>) and
changes files, command outputs or policy; it names the outcome it expects
and text the message must contain (file:line, the offending value...).
"""
import pathlib

import pytest
import yaml

from support import load_rule_modules, recorded_host, run_rule
from timesync_audit.rules import REGISTRY

SCENARIOS = pathlib.Path(__file__).resolve().parent.parent / "scenarios"


def _cases():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for case in doc["cases"]:
            yield pytest.param(doc["rule"], case, id=f"{doc['rule']}: {case['name']}")


@pytest.mark.parametrize("rule_id, case", list(_cases()))
def test_scenario(rule_id, case):
    host = recorded_host(case.get("layout", "debian12-chrony"), case.get("files"), case.get("commands"))
    outcome = run_rule(rule_id, host, case.get("policy"))
    assert outcome.status == case["expect"], f"{outcome.status}: {outcome.message}"
    for text in case.get("message", []):
        assert text in outcome.message, f"{text!r} not in message:\n{outcome.message}"
    for text in case.get("not_in_message", []):
        assert text not in outcome.message


def test_every_rule_has_a_passing_and_a_failing_scenario():
    load_rule_modules()
    seen: dict[str, set] = {}
    for param in _cases():
        rule_id, case = param.values
        seen.setdefault(rule_id, set()).add(case["expect"])
    missing = {r: {"passed", "failed"} - seen.get(r, set()) for r in REGISTRY}
    assert not {r: m for r, m in missing.items() if m}, "rules lacking pass/fail scenarios"
