"""What belongs to each time service, in one list: every other module reads it from here.

A service is judged by its packages (dpkg/rpm names), its systemd units (the
real unit names and the aliases distributions add), its init scripts (where
systemd is not PID 1), the process names its daemon shows in /proc/<pid>/comm
(15 characters at most) and the accounts it runs as.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Service:
    name: str  # the policy's name: time_service=<name>
    packages: tuple[str, ...]
    units: tuple[str, ...]  # every unit name it may have, real units and aliases
    init_scripts: tuple[str, ...]  # /etc/init.d, rc?.d and OpenRC names
    comms: tuple[str, ...]  # /proc/<pid>/comm of its daemon
    users: tuple[str, ...] = ()  # accounts its daemon runs as (packaged defaults)
    words: str = ""  # how messages name it
    time_service: bool = True  # False: never a host's time service, only ever a rival

    @property
    def label(self) -> str:
        return self.words or self.name


SERVICES: tuple[Service, ...] = (
    Service(
        "chronyd",
        ("chrony",),
        ("chrony.service", "chronyd.service"),
        ("chrony", "chronyd"),
        ("chronyd",),
        ("_chrony", "chrony"),
        "chronyd",
    ),
    Service(
        "ntpd",
        ("ntp", "ntpsec"),
        ("ntp.service", "ntpd.service", "ntpsec.service"),
        ("ntp", "ntpd", "ntpsec"),
        ("ntpd", "ntpsec"),
        ("ntpsec", "ntp"),
        "ntpd (ntp/ntpsec)",
    ),
    Service(
        "systemd-timesyncd",
        ("systemd-timesyncd",),
        ("systemd-timesyncd.service",),
        ("systemd-timesyncd",),
        ("systemd-timesyn",),
        ("systemd-timesync",),
        "systemd-timesyncd",
    ),
    Service(
        "ntpdate",
        ("ntpdate", "ntpsec-ntpdate"),
        ("ntpdate.service", "ntpsec-ntpdate.service"),
        ("ntpdate", "ntpsec-ntpdate"),
        ("ntpdate",),
        (),
        "ntpdate",
        time_service=False,
    ),
)
BY_NAME = {s.name: s for s in SERVICES}
#: the services a host may use for time (the policy's time_service values)
TIME_SERVICES = tuple(s.name for s in SERVICES if s.time_service)
#: chrony's companion unit, asked for with the services' units
CHRONY_WAIT_UNIT = "chrony-wait.service"
#: packages whose state is gathered: every service's, and systemd (timesyncd was part of it)
PACKAGES = tuple(dict.fromkeys(p for s in SERVICES for p in s.packages)) + ("systemd",)
UNITS = tuple(dict.fromkeys(u for s in SERVICES for u in s.units)) + (CHRONY_WAIT_UNIT,)
INIT_SCRIPTS = tuple(dict.fromkeys(n for s in SERVICES for n in s.init_scripts))
COMMS = tuple(dict.fromkeys(c for s in SERVICES for c in s.comms))


def service(name: str) -> Service:
    return BY_NAME[name]
