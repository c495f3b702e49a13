"""Which time services run: the chosen one enabled and active, rivals masked or gone, exactly one active.

Units are judged by their real name (`systemctl show` resolves aliases such as ntp.service ->
ntpsec.service; `is-enabled` answering `alias` says nothing about the unit). Where systemd is not
PID 1, "enabled" is judged from the init system's start links and "active" from running processes;
every message says which evidence was used.

Two templates, as ComplianceAsCode's service_enabled and service_disabled: each rule's data
(rules/<rule id>.yaml) names its template and the template's variables, and its `test_<rule id>`
below is that template's check with those variables (its body is `...`). A template's own
scenarios (templates/<template>.yaml) run against every rule of it. The two rules over several
services (service_chronyd_or_ntpd_enabled, ntp_single_service_active) are checks of their own.
"""

from timesync_audit.applicability import rule_applies, service_status
from timesync_audit.evidence import non_compliant
from timesync_audit.outcomes import CouldNotCheck, not_applicable
from timesync_audit.rules import rule, template
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
        missing = [
            w
            for w, ok in (
                ("enabled", status.enabled),
                ("active", status.unit_active if status.init == "systemd" else status.active),
            )
            if not ok
        ]
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
        non_compliant(
            f"{BY_NAME[service].label} is {' and '.join(why)}: expected the package absent, or the unit "
            f"inactive and masked",
            list(status.evidence),
        )
    if not status.enabled and not status.active:
        return  # no masking without systemd: not started at boot and not running is the equivalent
    why = [w for w, bad in (("started at boot by " + status.init, status.enabled), ("running", status.active)) if bad]
    non_compliant(
        f"{BY_NAME[service].label} is {' and '.join(why)}: expected the package absent, or the service "
        f"neither started at boot nor running",
        list(status.evidence),
    )


@template
def service_enabled(host_facts, policy, *, service: str):
    """`service` (timesync_audit/services.py) is enabled and active where it is the chosen service."""
    _applies(host_facts, policy, service, "present")
    _require_enabled(host_facts, service)


@template
def service_disabled(host_facts, policy, *, service: str):
    """`service` is absent, or inactive and masked, where it is not the chosen service (ntpdate,
    never a host's time service, always)."""
    _applies(host_facts, policy, service, "absent")
    _require_disabled(host_facts, service)


# -- the rules: data in rules/<rule id>.yaml; a templated one's body is `...` ---------------------


@rule
def test_service_chronyd_enabled(host_facts, policy): ...


@rule
def test_service_ntpd_enabled(host_facts, policy): ...


@rule
def test_service_ntp_enabled(host_facts, policy): ...


@rule
def test_service_timesyncd_enabled(host_facts, policy): ...


@rule
def test_service_chronyd_or_ntpd_enabled(host_facts, policy):
    _check(host_facts)
    reasons = [r for s in ("chronyd", "ntpd") if (r := rule_applies(s, host_facts, policy, "present"))]
    if len(reasons) == 2:
        not_applicable("neither chronyd nor ntpd is the chosen time service: " + reasons[0])
    statuses = [service_status(host_facts, s) for s in ("chronyd", "ntpd")]
    if not any(_enabled_and_active(s) for s in statuses):
        non_compliant(
            "neither chronyd nor ntpd is enabled and active",
            [f"{s.service}: {e}" for s in statuses for e in s.evidence],
        )


@rule
def test_service_chronyd_disabled(host_facts, policy): ...


@rule
def test_service_timesyncd_disabled(host_facts, policy): ...


@rule
def test_service_ntpdate_disabled(host_facts, policy): ...


@rule
def test_ntp_single_service_active(host_facts):
    _check(host_facts)
    statuses = [service_status(host_facts, s) for s in TIME_SERVICES]
    active = [s for s in statuses if s.active]
    if len(active) != 1:
        head = (
            "no time service is active"
            if not active
            else f"{len(active)} time services are active: " + ", ".join(s.service for s in active)
        )
        how = "units and processes" if host_facts.systemd else f"processes (systemd is not PID 1: {host_facts.pid1})"
        non_compliant(
            f"{head} (judged by {how}; counted chronyd, ntpd/ntpsec, systemd-timesyncd)",
            [f"{s.service}: {s.describe()}" for s in statuses],
        )
