"""What a rule test receives: a daemon's facts, or a skip/error decided before it runs.

The plugin's fixtures (plugin.py) and the project's own unit tests both resolve a rule's
parameters through VIEWS, so a rule is unit-tested exactly as it runs on a host.
A daemon's configuration view is its Starts (facts.daemon): the rule decorator
judges each start in turn.
"""

from __future__ import annotations

from .applicability import service_applies
from .collector import Gathered
from .facts.host import HostFacts
from .outcomes import CouldNotCheck, not_applicable


def _not_applicable_because(gathered: Gathered, policy, name: str, service: str) -> str | None:
    """Why a daemon's rules do not apply on the host (not installed, not the service in use), or None."""
    facts = gathered.daemons[name]
    if not facts.installed:
        return facts.package_evidence
    return service_applies(service, gathered.host, policy)


def _check_problems(gathered: Gathered, facts) -> None:
    """Could not check: what the gather and the daemon's facts (each start's too) could not read."""
    problems = list(
        dict.fromkeys(
            gathered.problems + facts.problems + [p for start in getattr(facts, "starts", ()) for p in start.problems]
        )
    )
    if problems:
        raise CouldNotCheck("; ".join(problems))


def _daemon(gathered: Gathered, policy, name: str, service: str):
    reason = _not_applicable_because(gathered, policy, name, service)
    if reason:
        not_applicable(reason)
    facts = gathered.daemons[name]
    _check_problems(gathered, facts)
    return facts


def chrony_view(gathered: Gathered, policy):
    """Every start of chronyd (facts.chrony.ChronyFacts, one per main file and account)."""
    return _daemon(gathered, policy, "chrony", "chronyd").starts


def ntpd_view(gathered: Gathered, policy):
    """Every start of ntpd (facts.ntpd.NtpdFacts, one per main file and account)."""
    return _daemon(gathered, policy, "ntpd", "ntpd").starts


def timesyncd_view(gathered: Gathered, policy):
    """systemd-timesyncd's configuration and live state (facts.timesyncd.TimesyncdFacts)."""
    return _daemon(gathered, policy, "timesyncd", "systemd-timesyncd")


def time_daemons(gathered: Gathered, policy) -> list:
    """Every start of chrony and/or ntpd, for the rules SSG shares between them (chronyd_or_ntpd_*)."""
    found, reasons = [], []
    for name, service in (("chrony", "chronyd"), ("ntpd", "ntpd")):
        reason = _not_applicable_because(gathered, policy, name, service)
        if reason:
            reasons.append(reason)
            continue
        facts = gathered.daemons[name]
        _check_problems(gathered, facts)
        found.extend(facts.starts)
    if not found:
        not_applicable("; ".join(reasons))
    return found


def host_facts(gathered: Gathered, policy) -> HostFacts:
    """What every rule family shares: OS, packages, units, processes (facts.host.HostFacts)."""
    if gathered.problems or gathered.host.problems:
        raise CouldNotCheck("; ".join(gathered.problems + gathered.host.problems))
    return gathered.host


#: fixture name -> view; rule tests name these as parameters (besides `policy` and `gathered`)
VIEWS = {
    "chrony": chrony_view,
    "ntpd": ntpd_view,
    "timesyncd": timesyncd_view,
    "time_daemons": time_daemons,
    "host_facts": host_facts,
}
