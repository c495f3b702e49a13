"""What a rule test receives: a daemon's facts, or a skip/error decided before it runs.

Fixtures and the project's own unit tests both go through these functions,
so a rule is unit-tested exactly as it runs on a host.
"""
from __future__ import annotations

from .applicability import service_applies
from .facts.chrony import ChronyFacts
from .gather.collector import Gathered
from .outcomes import CouldNotCheck, not_applicable


def chrony_view(gathered: Gathered, policy) -> ChronyFacts:
    facts = gathered.chrony
    if not facts.installed:
        not_applicable(facts.package_evidence)
    reason = service_applies("chronyd", gathered.host, policy)
    if reason:
        not_applicable(reason)
    problems = gathered.problems + facts.problems
    if problems:
        raise CouldNotCheck("; ".join(problems))
    return facts
