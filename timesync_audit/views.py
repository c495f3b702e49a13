"""What a rule test receives: a daemon's facts, or a skip/error decided before it runs.

Fixtures (plugin.py) and the project's own unit tests both resolve a rule's
parameters through VIEWS, so a rule is unit-tested exactly as it runs on a host.
"""
from __future__ import annotations

from .applicability import service_applies
from .facts.host import HostFacts
from .gather.collector import Gathered
from .outcomes import CouldNotCheck, not_applicable


def _daemon_view(gathered: Gathered, policy, name: str, service: str):
    facts = gathered.daemons[name]
    if not facts.installed:
        not_applicable(facts.package_evidence)
    reason = service_applies(service, gathered.host, policy)
    if reason:
        not_applicable(reason)
    problems = gathered.problems + facts.problems
    if problems:
        raise CouldNotCheck("; ".join(problems))
    return facts


def chrony_view(gathered: Gathered, policy):
    return _daemon_view(gathered, policy, "chrony", "chronyd")


def ntpd_view(gathered: Gathered, policy):
    return _daemon_view(gathered, policy, "ntpd", "ntpd")


def timesyncd_view(gathered: Gathered, policy):
    return _daemon_view(gathered, policy, "timesyncd", "systemd-timesyncd")


def time_daemons(gathered: Gathered, policy) -> list:
    """chrony and/or ntpd facts, for the rules SSG shares between them (chronyd_or_ntpd_*)."""
    found, reasons = [], []
    for name, service in (("chrony", "chronyd"), ("ntpd", "ntpd")):
        facts = gathered.daemons[name]
        reason = facts.package_evidence if not facts.installed else service_applies(service, gathered.host, policy)
        if reason:
            reasons.append(reason)
            continue
        problems = gathered.problems + facts.problems
        if problems:
            raise CouldNotCheck("; ".join(problems))
        found.append(facts)
    if not found:
        not_applicable("; ".join(reasons))
    return found


def host_facts(gathered: Gathered, policy) -> HostFacts:
    if gathered.problems or gathered.host.problems:
        raise CouldNotCheck("; ".join(gathered.problems + gathered.host.problems))
    return gathered.host


#: fixture name -> view; rule tests name these as parameters (besides `policy` and `gathered`)
VIEWS = {"chrony": chrony_view, "ntpd": ntpd_view, "timesyncd": timesyncd_view,
         "time_daemons": time_daemons, "host_facts": host_facts}
