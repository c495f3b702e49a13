"""Rule metadata, attached to each compliance test by one decorator.

The rule id is the test's name without `test_`, so the id in a report can
never disagree with the function that judged it.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

import pytest

SEVERITIES = ("high", "medium", "low", "unknown", "info")

#: every rule the suite defines, by id (filled as test modules are imported)
REGISTRY: dict[str, "RuleMeta"] = {}
#: the test function of each rule, so the project's own tests can run it on recorded facts
FUNCTIONS: dict[str, Callable] = {}


@dataclasses.dataclass(frozen=True)
class RuleMeta:
    rule_id: str
    title: str
    severity: str
    identifiers: Mapping[str, str]
    rationale: str
    remediation: str
    service: str

    def properties(self) -> list[tuple[str, str]]:
        """Name/value pairs for JUnit <properties> and the HTML report."""
        props = [("rule_id", self.rule_id), ("title", self.title), ("severity", self.severity),
                 ("service", self.service)]
        props += [(k.lower(), v) for k, v in self.identifiers.items()]
        return props

    def identifier_text(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.identifiers.items()) or "-"


def rule(*, title: str, severity: str, service: str, rationale: str, remediation: str,
         **identifiers: str) -> Callable:
    """Mark a `test_<rule id>` function as the check of that rule.

    Identifiers are keyword arguments named by scheme: cce=, stig=, cis=.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {SEVERITIES}")

    def attach(func: Callable) -> Callable:
        name = func.__name__
        if not name.startswith("test_"):
            raise ValueError(f"{name}: a rule test is named test_<rule id>")
        rule_id = name[len("test_"):]
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} is defined twice")
        ids = {k.upper(): v for k, v in identifiers.items() if v}
        meta = RuleMeta(rule_id, title, severity, ids, rationale, remediation, service)
        REGISTRY[rule_id] = meta
        FUNCTIONS[rule_id] = func
        func.rule_meta = meta
        return pytest.mark.rule(meta)(func)

    return attach


def meta_of(item: pytest.Item) -> RuleMeta | None:
    marker = item.get_closest_marker("rule")
    return marker.args[0] if marker else None
