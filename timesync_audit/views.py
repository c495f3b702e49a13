"""What a rule test receives: a daemon's facts, or a skip/error decided before it runs.

Fixtures (plugin.py) and the project's own unit tests both resolve a rule's
parameters through VIEWS, so a rule is unit-tested exactly as it runs on a host.
A daemon's configuration view is its Starts (facts.daemon): the rule decorator
judges each start in turn.
"""
from __future__ import annotations

from .applicability import service_applies
from .facts.host import HostFacts
from .gather.collector import Gathered
from .outcomes import CouldNotCheck, not_applicable


def _applicable(gathered: Gathered, policy, name: str, service: str):
    facts = gathered.daemons[name]
    if not facts.installed:
        not_applicable(facts.package_evidence)
    reason = service_applies(service, gathered.host, policy)
    if reason:
        not_applicable(reason)
    return facts


def _problems(gathered: Gathered, facts) -> None:
    problems = list(dict.fromkeys(gathered.problems + facts.problems + [
        p for start in getattr(facts, "starts", ()) for p in start.problems]))
    if problems:
        raise CouldNotCheck("; ".join(problems))


def chrony_view(gathered: Gathered, policy):
    facts = _applicable(gathered, policy, "chrony", "chronyd")
    _problems(gathered, facts)
    return facts.starts


def ntpd_view(gathered: Gathered, policy):
    facts = _applicable(gathered, policy, "ntpd", "ntpd")
    _problems(gathered, facts)
    return facts.starts


def timesyncd_view(gathered: Gathered, policy):
    facts = _applicable(gathered, policy, "timesyncd", "systemd-timesyncd")
    _problems(gathered, facts)
    return facts


def time_daemons(gathered: Gathered, policy) -> list:
    """Every start of chrony and/or ntpd, for the rules SSG shares between them (chronyd_or_ntpd_*)."""
    found, reasons = [], []
    for name, service in (("chrony", "chronyd"), ("ntpd", "ntpd")):
        facts = gathered.daemons[name]
        reason = facts.package_evidence if not facts.installed else service_applies(service, gathered.host, policy)
        if reason:
            reasons.append(reason)
            continue
        _problems(gathered, facts)
        found.extend(facts.starts)
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
