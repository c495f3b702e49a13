"""Which time service a host uses, and so which rules apply: decided once, here.

With `time_service` in the policy, that service's rules apply and the
others' do not. Without it, the service in use is the one installed AND
enabled (rules.md): a rival that runs while masked or disabled is a rival,
never a reason to skip the rival rules, and only several enabled services make
the choice ambiguous. Where no service is enabled, the running ones are in
use; where none runs either, every installed daemon's rules apply (judging
more is safer than judging less).

Rules come in two purposes (`rule_applies`):
- "present" (package_X_installed, service_X_enabled, configuration): apply
  exactly when X is the chosen service;
- "absent" (package_X_removed, service_X_disabled): their point is that
  rivals are gone, so they apply exactly when X is NOT the chosen service.

How a service stands on a host (`service_status`) is decided here too: the
systemd unit by its real name (an alias such as ntp.service -> ntpsec.service
is resolved through `systemctl show`, never judged by `is-enabled`'s `alias`
answer), or, where systemd is not PID 1, the init system's start links and
running processes. Only processes of the host's own PID namespace count.
"""

from __future__ import annotations

import dataclasses
import posixpath

from .facts.host import HostFacts, UnitState
from .services import BY_NAME, TIME_SERVICES

_ENABLED = ("enabled", "enabled-runtime")
_ACTIVE = ("active", "reloading")


@dataclasses.dataclass(frozen=True)
class ServiceStatus:
    service: str
    init: str  # "systemd", or what was found where systemd is not PID 1
    packages: tuple[str, ...]  # installed packages of the service
    unit: str | None  # the real unit (systemd), e.g. ntpsec.service for ntp.service
    loaded: bool  # systemd knows a unit for it (loaded or masked), or an init script exists
    enabled: bool
    active: bool
    masked: bool
    running: tuple[str, ...]  # "chronyd pid 735"
    evidence: tuple[str, ...]  # what was looked at, in words
    unit_active: bool = False  # systemd: a unit of the service is active (not just a stray process)

    @property
    def present(self) -> bool:
        """Anything of the service on the host: package, unit/init script or process."""
        return bool(self.packages or self.loaded or self.running)

    def describe(self) -> str:
        return "; ".join(self.evidence)


def _init_kind(entry: str) -> str:
    return "OpenRC" if entry.startswith("/etc/runlevels/") else "sysvinit"


def service_status(host: HostFacts, service: str) -> ServiceStatus:
    definition = BY_NAME[service]
    packages, units, comms = definition.packages, definition.units, definition.comms
    installed = tuple(p for p in packages if host.installed(p))
    running = tuple(f"{p.comm} pid {p.pid}" for p in host.running(*comms))
    evidence: list[str] = []
    if host.units is not None:
        states = [(name, host.units.get(name)) for name in units]
        known = [(name, s) for name, s in states if s is not None and s.load not in ("", "not-found")]
        # the real units: an alias resolves to its unit's Id (ntp.service -> ntpsec.service)
        real: dict[str, UnitState] = {}
        for _name, state in known:
            real.setdefault(state.name, state)
        unit, unit_active, enabled, masked_all = None, False, False, bool(real)
        for unit_id, state in real.items():
            answer = host.is_enabled.get(unit_id) or state.file_state
            aliases = [n for n, s in known if s.name == unit_id and n != unit_id]
            is_active = state.active in _ACTIVE
            text = unit_id
            if aliases:
                text += (
                    " (asked as " + ", ".join(f"{a}: is-enabled {host.is_enabled.get(a) or '?'}" for a in aliases) + ")"
                )
            evidence.append(f"{text}: is-enabled {answer or 'unknown'}, {state.active or 'unknown'}")
            if unit is None or is_active or (answer in _ENABLED and not unit_active):
                unit = unit_id
            unit_active = unit_active or is_active
            enabled = enabled or answer in _ENABLED
            masked_all = masked_all and (state.load == "masked" or answer.startswith("masked"))
        if not real:
            evidence.append(f"no unit {' / '.join(units)}")
        if running:
            evidence.append("running: " + ", ".join(running))
        return ServiceStatus(
            service,
            "systemd",
            installed,
            unit,
            bool(real),
            enabled,
            unit_active or bool(running),
            masked_all,
            running,
            tuple(evidence),
            unit_active,
        )
    # systemd is not PID 1: the init system that is there, and processes
    scripts = definition.init_scripts
    entries = [e for e in host.init_entries if _script_name(e) in scripts]
    starts = [e for e in entries if _starts_at_boot(e)]
    script_files = [e for e in entries if e.startswith("/etc/init.d/")]
    init = _init_kind(starts[0]) if starts else ("sysvinit/OpenRC scripts" if script_files else "none")
    evidence.append(f"systemd is not PID 1 (PID 1: {host.pid1})")
    if starts:
        evidence.append(f"enabled per {init}: " + ", ".join(starts))
    elif script_files:
        evidence.append("init script " + ", ".join(script_files) + " has no start link (rc2-5/rcS, OpenRC runlevel)")
    else:
        evidence.append(f"no init script or start link for {' / '.join(scripts)}")
    evidence.append(
        "active judged by processes: " + (", ".join(running) if running else f"no {' / '.join(comms)} process")
    )
    return ServiceStatus(
        service, init, installed, None, bool(entries), bool(starts), bool(running), False, running, tuple(evidence)
    )


def _script_name(entry: str) -> str:
    base = posixpath.basename(entry)
    if posixpath.dirname(entry).startswith("/etc/rc") and len(base) > 3 and base[0] == "S" and base[1:3].isdigit():
        return base[3:]
    return base


def _starts_at_boot(entry: str) -> bool:
    directory = posixpath.dirname(entry)
    if directory.startswith("/etc/runlevels/"):
        return posixpath.basename(directory) in ("boot", "default", "sysinit")
    return directory in ("/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d", "/etc/rcS.d")


def _installed(host: HostFacts, service: str) -> bool:
    definition = BY_NAME[service]
    return any(host.installed(p) for p in definition.packages) or bool(host.running(*definition.comms))


def detect(host: HostFacts) -> dict[str, str]:
    """Services judged in use, each with its evidence: installed and enabled; where none is
    enabled, the running ones; where none runs, every installed one."""
    statuses = {s: service_status(host, s) for s in TIME_SERVICES}
    enabled = {s: st for s, st in statuses.items() if st.enabled and _installed(host, s)}
    if enabled:
        return {
            s: (f"{st.unit} is enabled" if st.unit else f"enabled ({st.init})") + " and installed"
            for s, st in enabled.items()
        }
    running = {s: st for s, st in statuses.items() if st.running}
    if running:
        return {s: f"{st.running[0]} is running and no time service is enabled" for s, st in running.items()}
    return {s: "installed, and no time service is enabled or running" for s in TIME_SERVICES if _installed(host, s)}


def chosen(host: HostFacts, policy) -> tuple[dict[str, str], str]:
    """(services whose rules apply, each with why; how they were chosen)."""
    if policy.time_service is not None:
        return (
            {
                policy.time_service: f"policy time_service={policy.time_service} "
                f"({policy.origin.get('time_service', 'set')})"
            },
            "policy",
        )
    return detect(host), "detected"


def service_applies(service: str, host: HostFacts, policy) -> str | None:
    """None when the service's rules apply; otherwise why they do not."""
    if policy.time_service is not None:
        if policy.time_service != service:
            return f"policy time_service={policy.time_service} ({policy.origin.get('time_service', 'set')})"
        return None
    detected = detect(host)
    if service in detected:
        return None
    if not detected:
        return "no time service is installed, and policy time_service is unset"
    others = "; ".join(f"{s}: {ev}" for s, ev in detected.items())
    return f"{service} is not the time service in use (detected {others})"


def rule_applies(service: str, host: HostFacts, policy, purpose: str) -> str | None:
    """None when a package/service rule about `service` applies; otherwise why not.

    purpose "present": the rule wants the service installed/enabled; it applies when the service is
    the chosen one. purpose "absent": the rule wants a rival gone; it applies when the service is NOT
    the chosen one (ntpdate is never a host's time service, so its rules always apply).
    """
    if purpose not in ("present", "absent"):
        raise ValueError(purpose)
    services, how = chosen(host, policy)
    if purpose == "present":
        if service in services:
            return None
        if not services:
            return "no time service is running, enabled or installed, and policy time_service is unset"
        return f"{service} is not the chosen time service ({_why(services, how)})"
    if service not in services:
        return None
    if how == "policy":
        return f"{service} is the chosen time service ({services[service]}): it is no rival"
    if len(services) > 1:
        return (
            f"several time services are in use ({_why(services, how)}): without policy time_service none "
            f"of them can be called the rival (ntp_single_service_active judges this)"
        )
    return f"{service} is the time service in use ({services[service]}): it is no rival"


def _why(services: dict[str, str], how: str) -> str:
    if how == "policy":
        return next(iter(services.values()))
    return "detected " + "; ".join(f"{s}: {ev}" for s, ev in services.items())
