"""Which time-sync packages are installed: the chosen service's, and no rival's (dpkg and rpm hosts).

Two templates, as ComplianceAsCode's package_installed and package_removed: each rule's data
(rules/<rule id>.yaml) names its template and the template's variables, and its `test_<rule id>`
below is that template's check with those variables (its body is `...`). A template's own
scenarios (templates/<template>.yaml) run against every rule of it.
"""

from timesync_audit.applicability import rule_applies
from timesync_audit.evidence import non_compliant
from timesync_audit.outcomes import not_applicable
from timesync_audit.rules import rule, template
from timesync_audit.services import BY_NAME


def _applies(host_facts, policy, service: str, purpose: str) -> None:
    if not host_facts.package_managers:
        not_applicable("neither dpkg nor rpm answers on this host: no package database to judge")
    reason = rule_applies(service, host_facts, policy, purpose)
    if reason:
        not_applicable(reason)


def _listed(host_facts, names) -> list[str]:
    return [f"{p.name} {p.version} ({p.manager})" for n in names if (p := host_facts.packages.get(n)) and p.installed]


@template
def package_installed(host_facts, policy, gathered, *, service: str, package_label: str, part_of_systemd: bool = False):
    """One of the packages of `service` (timesync_audit/services.py) is installed where it is the
    chosen service; `package_label` names them in findings; `part_of_systemd`: the daemon's binary
    counts as installed (systemd-timesyncd was part of the systemd package on older releases)."""
    _applies(host_facts, policy, service, "present")
    names = BY_NAME[service].packages
    if _listed(host_facts, names) or (part_of_systemd and gathered.timesyncd.binary):
        return
    managers = " and ".join(host_facts.package_managers)
    non_compliant(f"{package_label} is not installed ({' / '.join(names)} not installed per {managers})")


@template
def package_removed(host_facts, policy, *, service: str, package_label: str):
    """No package of `service` is installed where it is not the chosen service (ntpdate, never a
    host's time service, always); `package_label` names them in findings."""
    _applies(host_facts, policy, service, "absent")
    found = _listed(host_facts, BY_NAME[service].packages)
    if found:
        rival = ", a rival of the chosen time service," if BY_NAME[service].time_service else ""
        non_compliant(f"{package_label}{rival} is installed", found)


# -- the rules: data in rules/<rule id>.yaml, judged by their template ---------------------------


@rule
def test_package_chrony_installed(host_facts, policy, gathered): ...


@rule
def test_package_ntp_installed(host_facts, policy, gathered): ...


@rule
def test_package_timesyncd_installed(host_facts, policy, gathered): ...


@rule
def test_package_ntp_removed(host_facts, policy): ...


@rule
def test_package_timesyncd_removed(host_facts, policy): ...


@rule
def test_package_ntpdate_removed(host_facts, policy): ...
