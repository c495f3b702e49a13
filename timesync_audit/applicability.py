"""Which time service a host uses, and so which rules apply: decided once, here.

With `time_service` in the policy, that service's rules apply and the
others' do not. Without it, the service in use is detected: running, active
or enabled; if none is, every installed daemon's rules apply (judging more is
safer than judging less).
"""
from __future__ import annotations

from .facts.host import HostFacts

SERVICES = {
    # service: (packages, units, process names)
    "chronyd": (("chrony",), ("chrony.service", "chronyd.service"), ("chronyd",)),
    "ntpd": (("ntp", "ntpsec"), ("ntp.service", "ntpd.service", "ntpsec.service"), ("ntpd", "ntpsec")),
    "systemd-timesyncd": (("systemd-timesyncd",), ("systemd-timesyncd.service",), ("systemd-timesyn",)),
}


def _in_use(host: HostFacts, service: str) -> str | None:
    """Evidence that the service is in use, or None."""
    _, units, comms = SERVICES[service]
    running = host.running(*comms)
    if running:
        return f"{running[0].comm} is running (pid {running[0].pid})"
    for name in units:
        state = (host.units or {}).get(name)
        if state and state.active == "active":
            return f"{name} is active"
        if state and state.file_state in ("enabled", "enabled-runtime", "alias", "static") and state.load == "loaded":
            return f"{name} is {state.file_state}"
    return None


def _installed(host: HostFacts, service: str) -> bool:
    packages, _, comms = SERVICES[service]
    return any(host.installed(p) for p in packages) or bool(host.running(*comms))


def detect(host: HostFacts) -> dict[str, str]:
    """Services judged in use, each with its evidence."""
    found = {s: ev for s in SERVICES if (ev := _in_use(host, s))}
    if found:
        return found
    return {s: "installed, and no time service is running or enabled" for s in SERVICES if _installed(host, s)}


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
