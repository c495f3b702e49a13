"""Which time-sync packages are installed: the chosen service's, and no rival's (dpkg and rpm hosts)."""
from timesync_audit.applicability import rule_applies
from timesync_audit.evidence import non_compliant
from timesync_audit.outcomes import not_applicable
from timesync_audit.rules import rule
from timesync_audit.services import BY_NAME


def _applies(host_facts, policy, service: str, purpose: str) -> None:
    if not host_facts.package_managers:
        not_applicable("neither dpkg nor rpm answers on this host: no package database to judge")
    reason = rule_applies(service, host_facts, policy, purpose)
    if reason:
        not_applicable(reason)


def _listed(host_facts, names) -> list[str]:
    return [f"{p.name} {p.version} ({p.manager})" for n in names if (p := host_facts.packages.get(n)) and p.installed]


def _require(host_facts, names: tuple[str, ...], what: str, also_ok: str | None = None) -> None:
    if not _listed(host_facts, names):
        if also_ok:
            return
        managers = " and ".join(host_facts.package_managers)
        non_compliant(f"{what} is not installed ({' / '.join(names)} not installed per {managers})")


def _forbid(host_facts, names: tuple[str, ...], what: str) -> None:
    found = _listed(host_facts, names)
    if found:
        non_compliant(f"{what} is installed", found)


@rule(title="The chrony package is installed", severity="medium", service="chronyd",
      cce="CCE-84215-3", stig="RHEL-09-252010", cis="RHEL9 2.3.1",
      rationale="chrony is the time service the baseline names; without it the clock is not disciplined.",
      remediation="dnf install chrony / apt-get install chrony.")
def test_package_chrony_installed(host_facts, policy):
    _applies(host_facts, policy, "chronyd", "present")
    _require(host_facts, BY_NAME["chronyd"].packages, "chrony")


@rule(title="The ntp package is installed", severity="high", service="ntpd",
      rationale="ntpd is the time service the policy names; without it the clock is not disciplined.",
      remediation="Install ntp (or ntpsec on Debian/Ubuntu).")
def test_package_ntp_installed(host_facts, policy):
    _applies(host_facts, policy, "ntpd", "present")
    _require(host_facts, BY_NAME["ntpd"].packages, "ntpd (ntp or ntpsec)")


@rule(title="The ntp package is removed", severity="low", service="ntpd",
      stig="UBTU-22-215025",
      rationale="A second NTP daemon fights the chosen one over the clock and is one more network service.",
      remediation="apt-get purge ntp ntpsec / dnf remove ntp ntpsec.")
def test_package_ntp_removed(host_facts, policy):
    _applies(host_facts, policy, "ntpd", "absent")
    _forbid(host_facts, BY_NAME["ntpd"].packages, "ntpd (ntp or ntpsec), a rival of the chosen time service,")


@rule(title="The systemd-timesyncd package is installed", severity="high", service="systemd-timesyncd",
      rationale="systemd-timesyncd is the time service the policy names; without it the clock is not disciplined.",
      remediation="apt-get install systemd-timesyncd.")
def test_package_timesyncd_installed(host_facts, policy, gathered):
    _applies(host_facts, policy, "systemd-timesyncd", "present")
    binary = gathered.timesyncd.binary
    _require(host_facts, BY_NAME["systemd-timesyncd"].packages, "systemd-timesyncd",
             also_ok=binary)  # part of the systemd package on older releases


@rule(title="The systemd-timesyncd package is removed", severity="low", service="systemd-timesyncd",
      stig="UBTU-22-215020",
      rationale="timesyncd next to chronyd or ntpd fights them over the clock.",
      remediation="apt-get purge systemd-timesyncd.")
def test_package_timesyncd_removed(host_facts, policy):
    _applies(host_facts, policy, "systemd-timesyncd", "absent")
    _forbid(host_facts, BY_NAME["systemd-timesyncd"].packages, "systemd-timesyncd, a rival of the chosen time service,")


@rule(title="The ntpdate package is removed", severity="low", service="ntpdate",
      rationale="ntpdate is deprecated; it steps the clock behind the back of the time daemon, which does its job.",
      remediation="apt-get purge ntpdate ntpsec-ntpdate / dnf remove ntpdate.")
def test_package_ntpdate_removed(host_facts, policy):
    _applies(host_facts, policy, "ntpdate", "absent")
    _forbid(host_facts, BY_NAME["ntpdate"].packages, "ntpdate")
