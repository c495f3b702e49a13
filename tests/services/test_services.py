"""Which time services run: the chosen one enabled and active, rivals masked or gone, exactly one active.

Units are judged by their real name (`systemctl show` resolves aliases such as ntp.service ->
ntpsec.service; `is-enabled` answering `alias` says nothing about the unit). Where systemd is not
PID 1, "enabled" is judged from the init system's start links and "active" from running processes;
every message says which evidence was used.
"""
from timesync_audit.applicability import rule_applies, service_status
from timesync_audit.evidence import non_compliant
from timesync_audit.outcomes import CouldNotCheck, not_applicable
from timesync_audit.rules import rule
from timesync_audit.services import BY_NAME, TIME_SERVICES


def _check(host_facts) -> None:
    if host_facts.units_problem:
        raise CouldNotCheck(host_facts.units_problem)


def _applies(host_facts, policy, service: str, purpose: str) -> None:
    _check(host_facts)
    reason = rule_applies(service, host_facts, policy, purpose)
    if reason:
        not_applicable(reason)


def _enabled_and_active(status) -> bool:
    if status.init == "systemd":
        return status.enabled and status.unit_active
    return status.enabled and status.active


def _require_enabled(host_facts, service: str) -> None:
    status = service_status(host_facts, service)
    if not _enabled_and_active(status):
        missing = [w for w, ok in (("enabled", status.enabled),
                                   ("active", status.unit_active if status.init == "systemd" else status.active))
                   if not ok]
        non_compliant(f"{BY_NAME[service].label} is not {' and not '.join(missing)}", list(status.evidence))


def _require_disabled(host_facts, service: str) -> None:
    status = service_status(host_facts, service)
    if not status.present:
        return  # package absent, no unit, no init script, no process
    if status.init == "systemd":
        if status.loaded and status.masked and not status.active:
            return
        why = []
        if status.active:
            why.append("active" if status.unit_active else "running outside its unit")
        if not status.loaded and status.packages:
            why.append("installed (" + ", ".join(status.packages) + ") and has no unit that could be masked")
        elif status.loaded and not status.masked:
            why.append("not masked")
        non_compliant(f"{BY_NAME[service].label} is {' and '.join(why)}: expected the package absent, or the unit "
                      f"inactive and masked", list(status.evidence))
    if not status.enabled and not status.active:
        return  # no masking without systemd: not started at boot and not running is the equivalent
    why = [w for w, bad in (("started at boot by " + status.init, status.enabled), ("running", status.active)) if bad]
    non_compliant(f"{BY_NAME[service].label} is {' and '.join(why)}: expected the package absent, or the service "
                  f"neither started at boot nor running", list(status.evidence))


@rule(title="The chronyd service is enabled", severity="medium", service="chronyd",
      cce="CCE-84217-9", stig="RHEL-09-252015",
      rationale="An installed but stopped chronyd leaves the clock undisciplined.",
      remediation="systemctl enable --now chronyd (RHEL) / chrony (Debian, Ubuntu).")
def test_service_chronyd_enabled(host_facts, policy):
    _applies(host_facts, policy, "chronyd", "present")
    _require_enabled(host_facts, "chronyd")


@rule(title="The ntpd service is enabled", severity="medium", service="ntpd",
      cce="CCE-87863-7",
      rationale="An installed but stopped ntpd leaves the clock undisciplined.",
      remediation="systemctl enable --now ntpd (RHEL) / ntpsec or ntp (Debian, Ubuntu).")
def test_service_ntpd_enabled(host_facts, policy):
    _applies(host_facts, policy, "ntpd", "present")
    _require_enabled(host_facts, "ntpd")


@rule(title="The ntp service is enabled", severity="high", service="ntpd",
      rationale="An installed but stopped ntp/ntpsec leaves the clock undisciplined.",
      remediation="systemctl enable --now ntpsec (Debian >= 12, Ubuntu >= 23.04) or ntp.")
def test_service_ntp_enabled(host_facts, policy):
    _applies(host_facts, policy, "ntpd", "present")
    _require_enabled(host_facts, "ntpd")


@rule(title="The systemd-timesyncd service is enabled", severity="high", service="systemd-timesyncd",
      cis="U22 2.3.1.1",
      rationale="An installed but stopped timesyncd leaves the clock undisciplined.",
      remediation="systemctl unmask systemd-timesyncd; systemctl enable --now systemd-timesyncd.")
def test_service_timesyncd_enabled(host_facts, policy):
    _applies(host_facts, policy, "systemd-timesyncd", "present")
    _require_enabled(host_facts, "systemd-timesyncd")


@rule(title="The chronyd or ntpd service is enabled", severity="medium", service="chronyd",
      rationale="One full NTP daemon must discipline the clock.",
      remediation="systemctl enable --now chronyd (or ntpd).")
def test_service_chronyd_or_ntpd_enabled(host_facts, policy):
    _check(host_facts)
    reasons = [r for s in ("chronyd", "ntpd") if (r := rule_applies(s, host_facts, policy, "present"))]
    if len(reasons) == 2:
        not_applicable("neither chronyd nor ntpd is the chosen time service: " + reasons[0])
    statuses = [service_status(host_facts, s) for s in ("chronyd", "ntpd")]
    if not any(_enabled_and_active(s) for s in statuses):
        non_compliant("neither chronyd nor ntpd is enabled and active",
                      [f"{s.service}: {e}" for s in statuses for e in s.evidence])


@rule(title="The chronyd service is disabled", severity="medium", service="chronyd",
      cis="U22 2.3.1.1",
      rationale="chronyd next to the chosen time service fights it over the clock.",
      remediation="apt-get purge chrony, or systemctl stop chrony && systemctl mask chrony.")
def test_service_chronyd_disabled(host_facts, policy):
    _applies(host_facts, policy, "chronyd", "absent")
    _require_disabled(host_facts, "chronyd")


@rule(title="The systemd-timesyncd service is disabled", severity="medium", service="systemd-timesyncd",
      cis="U22 2.3.1.1",
      rationale="timesyncd next to chronyd or ntpd fights them over the clock.",
      remediation="apt-get purge systemd-timesyncd, or systemctl stop systemd-timesyncd && "
                  "systemctl mask systemd-timesyncd.")
def test_service_timesyncd_disabled(host_facts, policy):
    _applies(host_facts, policy, "systemd-timesyncd", "absent")
    _require_disabled(host_facts, "systemd-timesyncd")


@rule(title="The ntpdate service is disabled", severity="low", service="ntpdate",
      rationale="ntpdate steps the clock at boot behind the time daemon's back; it is deprecated.",
      remediation="Remove ntpdate / ntpsec-ntpdate, or systemctl mask ntpdate.")
def test_service_ntpdate_disabled(host_facts, policy):
    _applies(host_facts, policy, "ntpdate", "absent")
    _require_disabled(host_facts, "ntpdate")


@rule(title="Exactly one time service is active", severity="medium", service="any",
      cis="U22 2.3.1.1",
      rationale="Two time daemons fight over the clock; none leaves it undisciplined.",
      remediation="Keep one of chronyd, ntpd, systemd-timesyncd active; stop and mask (or remove) the others.")
def test_ntp_single_service_active(host_facts):
    _check(host_facts)
    statuses = [service_status(host_facts, s) for s in TIME_SERVICES]
    active = [s for s in statuses if s.active]
    if len(active) != 1:
        head = "no time service is active" if not active else \
            f"{len(active)} time services are active: " + ", ".join(s.service for s in active)
        how = "units and processes" if host_facts.systemd else f"processes (systemd is not PID 1: {host_facts.pid1})"
        non_compliant(f"{head} (judged by {how}; counted chronyd, ntpd/ntpsec, systemd-timesyncd)",
                      [f"{s.service}: {s.describe()}" for s in statuses])
