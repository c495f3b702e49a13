"""Facts every rule family shares: OS, packages, units, daemon processes, who we are."""
from __future__ import annotations

import dataclasses

from ..gather.snapshot import Reader, Request
from ..platforms import OsRelease, parse_os_release

PACKAGES = ("chrony", "ntp", "ntpsec", "ntpdate", "ntpsec-ntpdate", "systemd-timesyncd", "systemd")
UNITS = ("chrony.service", "chronyd.service", "chrony-wait.service", "ntp.service", "ntpd.service",
         "ntpsec.service", "systemd-timesyncd.service", "ntpdate.service")
DAEMON_COMMS = ("chronyd", "ntpd", "ntpsec", "systemd-timesyn", "ntpdate")

_PACKAGES_SH = (
    "if command -v dpkg-query >/dev/null 2>&1; then dpkg-query -W "
    "-f='dpkg\\t${Package}\\t${db:Status-Abbrev}\\t${Version}\\n' " + " ".join(PACKAGES) + " 2>/dev/null; fi; "
    "if command -v rpm >/dev/null 2>&1; then rpm -q --qf 'rpm\\t%{NAME}\\tii \\t%{VERSION}-%{RELEASE}\\n' "
    + " ".join(PACKAGES) + " 2>/dev/null | grep '^rpm'; fi; true"
)
_PROCESSES_SH = r"""for p in /proc/[0-9]*; do
  c=$(cat "$p/comm" 2>/dev/null) || continue
  case "$c" in chronyd|ntpd|ntpsec|systemd-timesyn*|ntpdate) ;; *) continue ;; esac
  u=""; while read -r k a b rest; do [ "$k" = "Uid:" ] && u=$b; done < "$p/status"
  n=$(getent passwd "$u" 2>/dev/null | cut -d: -f1)
  a=$(tr '\000' '\037' < "$p/cmdline" 2>/dev/null)
  printf '%s\t%s\t%s\t%s\t%s\n' "${p#/proc/}" "$c" "$u" "$n" "$a"
done; true"""
_UNITS_SH = (
    'if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && command -v systemctl >/dev/null 2>&1; then '
    "systemctl show --no-pager -p Id,LoadState,ActiveState,SubState,UnitFileState,FragmentPath "
    + " ".join(UNITS) + "; else echo no-systemd; fi"
)

REQUEST = Request(
    files=("/etc/os-release", "/usr/lib/os-release"),
    commands=(("identity", "id -u; id -un"), ("pid1", "cat /proc/1/comm"), ("packages", _PACKAGES_SH),
              ("processes", _PROCESSES_SH), ("units", _UNITS_SH)),
)


@dataclasses.dataclass(frozen=True)
class Package:
    name: str
    installed: bool
    version: str
    manager: str


@dataclasses.dataclass(frozen=True)
class UnitState:
    name: str
    load: str
    active: str
    sub: str
    file_state: str
    fragment: str


@dataclasses.dataclass(frozen=True)
class Process:
    pid: int
    comm: str
    uid: int | None
    user: str
    argv: tuple[str, ...]


@dataclasses.dataclass
class HostFacts:
    os: OsRelease
    uid: int | None
    user: str
    pid1: str
    packages: dict[str, Package]
    units: dict[str, UnitState] | None  # None where systemd is not PID 1
    processes: list[Process]
    problems: list[str]  # what could not be read, in words a person can act on

    def installed(self, name: str) -> bool:
        package = self.packages.get(name)
        return bool(package and package.installed)

    def running(self, *comms: str) -> list[Process]:
        return [p for p in self.processes if p.comm in comms]


def parse_packages(text: str) -> dict[str, Package]:
    result: dict[str, Package] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 4 or fields[0] not in ("dpkg", "rpm"):
            continue
        manager, name, status, version = fields
        installed = len(status) >= 2 and status[1] not in "nc"
        if installed or name not in result:
            result[name] = Package(name, installed, version if installed else "", manager)
    return result


def parse_processes(text: str) -> list[Process]:
    result = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 5 or not fields[0].isdigit():
            continue
        pid, comm, uid, user, args = fields
        argv = tuple(a for a in args.split("\x1f") if a)
        result.append(Process(int(pid), comm, int(uid) if uid.isdigit() else None, user or uid, argv))
    return result


def parse_units(text: str) -> dict[str, UnitState] | None:
    if text.strip() == "no-systemd":
        return None
    result: dict[str, UnitState] = {}
    for block in text.strip().split("\n\n"):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if "Id" in values:
            state = UnitState(values["Id"], values.get("LoadState", ""), values.get("ActiveState", ""),
                              values.get("SubState", ""), values.get("UnitFileState", ""),
                              values.get("FragmentPath", ""))
            result[state.name] = state
    return result


def build(reader: Reader) -> HostFacts:
    problems = []
    os_text = None
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        record = reader.file(path)
        if record is not None and record.content is not None:
            os_text = record.content
            break
    identity = reader.command("identity")
    uid, user = None, "?"
    if identity and identity.ok:
        lines = identity.stdout.split()
        if lines and lines[0].isdigit():
            uid = int(lines[0])
            user = lines[1] if len(lines) > 1 else lines[0]
    else:
        problems.append("could not tell which user the checks run as (id failed)")
    pid1 = reader.command("pid1")
    packages = reader.command("packages")
    processes = reader.command("processes")
    units = reader.command("units")
    return HostFacts(
        os=parse_os_release(os_text),
        uid=uid,
        user=user,
        pid1=pid1.stdout.strip() if pid1 and pid1.ok else "unknown",
        packages=parse_packages(packages.stdout) if packages else {},
        units=parse_units(units.stdout) if units and units.ok else None,
        processes=parse_processes(processes.stdout) if processes else [],
        problems=problems,
    )
