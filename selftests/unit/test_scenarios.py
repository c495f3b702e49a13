"""Every rule's scenarios on recorded hosts: its own (`scenarios:` in tests/<family>/rules/<rule
id>.yaml) and, for a templated rule, its template's (tests/<family>/templates/<name>.yaml), filled
in with the rule's variables.

A scenario starts from a recorded layout (selftests/recorded/<layout>) and changes files,
command outputs or policy; it names the outcome it expects and text the message must contain
(file:line, the offending value...).
"""

import pytest
from support import load_rule_modules, recorded_host, rule_cases, run_rule

from timesync_audit.rules import REGISTRY

CASES = rule_cases()


@pytest.mark.parametrize("rule_id, case", [pytest.param(r, c, id=i) for r, i, c in CASES])
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
    for rule_id, _, case in CASES:
        seen.setdefault(rule_id, set()).add(case["expect"])
    missing = {r: {"passed", "failed"} - seen.get(r, set()) for r in REGISTRY}
    assert not {r: m for r, m in missing.items() if m}, "rules lacking pass/fail scenarios"
