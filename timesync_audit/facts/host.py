"""Facts every rule family shares: OS, packages, units, daemon processes, who we are.

All of it comes from round 1 (five commands), whatever the host: package
lists from dpkg and/or rpm (with which database exists), `systemctl show`
plus `systemctl is-enabled` per unit where systemd is PID 1, and otherwise
the sysvinit/OpenRC start links of the time daemons' init scripts.
"""

from __future__ import annotations

import dataclasses

from ..gather.snapshot import Reader, Request
from ..parsers.lines import lines
from ..parsers.numbers import decimal as _decimal
from ..platforms import OsRelease, parse_os_release
from ..services import COMMS, INIT_SCRIPTS, PACKAGES, UNITS
from .access import FIRST_ROUND_USERS, account_request

_PACKAGES_SH = (
    "if command -v dpkg-query >/dev/null 2>&1; then printf 'manager\\tdpkg\\n'; dpkg-query -W "
    "-f='dpkg\\t${Package}\\t${db:Status-Abbrev}\\t${Version}\\n' " + " ".join(PACKAGES) + " 2>/dev/null; fi; "
    "if command -v rpm >/dev/null 2>&1; then printf 'manager\\trpm\\n'; "
    "rpm -q --qf 'rpm\\t%{NAME}\\tii \\t%{VERSION}-%{RELEASE}\\n' "
    + " ".join(PACKAGES)
    + " 2>/dev/null | grep '^rpm'; fi; true"
)
# Only processes in the audit shell's own PID namespace are the host's daemons: on a container
# host /proc also lists every container's. Same namespace: /proc/PID/ns/pid is the shell's; where
# that link cannot be read (not root), the NSpid depth of status is the shell's (a process seen
# in our /proc is in our namespace or a descendant one, whose NSpid is longer).
# rd FILE: v=$(cat FILE 2>/dev/null) with cat's status, without a process where FILE holds one line
# (a comm file: no fork per /proc entry); from a second line on (a comm may hold a newline) it is cat
_RD_SH = r"""rd() {
  v=; w=; o=
  if { { o=1; IFS= read -r v; IFS= read -r w || [ -n "$w" ]; } < "$1"; } 2>/dev/null; then
    v=$(cat "$1" 2>/dev/null); return
  fi
  [ -n "$o" ]
}
"""
_PROCESSES_SH = (
    _RD_SH
    + r"""me=$(readlink /proc/$$/ns/pid 2>/dev/null); md=""
while read -r k rest; do [ "$k" = "NSpid:" ] && md=$rest; done < /proc/$$/status
set -- $md; md=$#
for p in /proc/[0-9]*; do
  rd "$p/comm" || continue; c=$v
  case "$c" in %(comms)s) ;; *) continue ;; esac
  u=""; d=""; while read -r k a b rest; do
    case "$k" in Uid:) u=$b ;; NSpid:) d="$a $b $rest" ;; esac
  done < "$p/status"
  ns=$(readlink "$p/ns/pid" 2>/dev/null); o=unknown
  if [ -n "$me" ] && [ -n "$ns" ]; then if [ "$ns" = "$me" ]; then o=own; else o=other; fi
  elif [ -n "$d" ] && [ "$md" -gt 0 ]; then set -- $d; if [ "$#" = "$md" ]; then o=own; else o=other; fi; fi
  n=$(getent passwd "$u" 2>/dev/null | cut -d: -f1)
  a=$(tr '\000\011\012' '\037\035\036' < "$p/cmdline" 2>/dev/null)
  printf '%%s\t%%s\t%%s\t%%s\t%%s\t%%s\n' "${p#/proc/}" "$c" "$u" "$n" "$a" "$o"
done; true"""
    % {"comms": "|".join(c + "*" if len(c) == 15 else c for c in COMMS)}
)
# `systemctl show` (runtime state: only systemd knows it) in one call, then `is-enabled` per name
# (`alias` for ntp.service on ntpsec and `masked` are answers of their own). is-enabled is asked in
# one call, for every name but those whose show block (paired with the name: the blocks come in the
# order of the names, and a block's Names hold the name asked) says LoadState=not-found: such a name
# has no unit file, so is-enabled fails for it and says nothing. is-enabled stops at the first name
# it cannot answer: that name's answer is empty, and the names after it are asked again. Where the
# blocks do not pair with the names every name is asked; where is-enabled prints more lines than it
# was asked names, each name is asked alone, as `systemctl is-enabled NAME | head -n 1`.
_UNITS_SH = (
    _RD_SH
    + "i=0; for u in "
    + " ".join(UNITS)
    + r"""; do i=$((i + 1)); eval "u_$i=\$u; e_$i="; done
rd /proc/1/comm
if [ "$v" = systemd ] && command -v systemctl >/dev/null 2>&1; then
s=$(systemctl show --no-pager -p Id,Names,LoadState,ActiveState,SubState,UnitFileState,FragmentPath """
    + " ".join(UNITS)
    + r""")
[ -z "$s" ] || printf '%%s\n' "$s"; echo
b=1; nf=" "
while IFS= read -r l; do
  case "$l" in
    "") b=$((b + 1)) ;;
    LoadState=not-found) nf="$nf$b " ;;
    Names=*) eval "x=\${u_$b-}"; case " ${l#Names=} " in *" $x "*) [ -z "$x" ] || eval "p_$b=1" ;; esac ;;
  esac
done <<EOF
$s
EOF
a=""; j=0
while [ "$j" -lt %(n)d ]; do
  j=$((j + 1)); eval "x=\${p_$j-}"
  case "$b:$x:$nf" in "%(n)d:1:"*" $j "*) ;; *) a="$a $j" ;; esac
done
set -- $a; over=""
while [ "$#" -gt 0 ]; do
  n=""; for j in "$@"; do eval "n=\"\$n \$u_$j\""; done
  r=$(systemctl is-enabled $n 2>/dev/null)
  if [ -n "$r" ]; then
    while IFS= read -r x; do
      if [ "$#" -eq 0 ]; then over=1; break; fi
      eval "e_$1=\$x"; shift
    done <<EOF
$r
EOF
  fi
  [ "$#" -eq 0 ] || shift
done
j=0
while [ "$j" -lt %(n)d ]; do
  j=$((j + 1)); eval "u=\$u_$j"
  [ -z "$over" ] || eval "e_$j=\$(systemctl is-enabled \"\$u\" 2>/dev/null | head -n 1)"
  eval "printf 'is-enabled\t%%s\t%%s\n' \"\$u\" \"\$e_$j\""
done
else echo no-systemd; """
    + "for f in /etc/init.d/* /etc/rc[0-6S].d/S* /etc/runlevels/*/*; do "
    'b=${f##*/}; b=${b#S[0-9][0-9]}; case " $b " in '
    + "|".join(f"' {n} '" for n in INIT_SCRIPTS)
    + ') [ -e "$f" ] && printf \'init\\t%%s\\n\' "$f" ;; esac; done; fi; true'
) % {"n": len(UNITS)}

REQUEST = Request(
    files=("/etc/os-release", "/usr/lib/os-release"),
    commands=(
        ("identity", "id -u; id -un"),
        ("pid1", "cat /proc/1/comm"),
        ("packages", _PACKAGES_SH),
        ("processes", _PROCESSES_SH),
        ("units", _UNITS_SH),
    ),
).merged(account_request(FIRST_ROUND_USERS))


@dataclasses.dataclass(frozen=True)
class Package:
    name: str
    installed: bool
    version: str
    manager: str


@dataclasses.dataclass(frozen=True)
class UnitState:
    name: str  # the unit's Id: the real unit, also when it was asked for by an alias
    load: str
    active: str
    sub: str
    file_state: str
    fragment: str
    names: tuple[str, ...] = ()  # Id and aliases (systemctl show -p Names)


@dataclasses.dataclass(frozen=True)
class Process:
    pid: int
    comm: str
    uid: int | None
    user: str
    argv: tuple[str, ...]
    namespace: str = "own"  # own: the audited host's PID namespace; other: a container's; unknown


@dataclasses.dataclass
class HostFacts:
    os: OsRelease
    uid: int | None
    user: str
    pid1: str
    packages: dict[str, Package]
    units: dict[str, UnitState] | None  # by every name asked for (aliases too); None where systemd is not PID 1
    processes: list[Process]  # the host's own daemons (its PID namespace)
    problems: list[str]  # what could not be read, in words a person can act on
    #: `systemctl is-enabled NAME` answers ("" = no unit file): enabled, disabled, alias, masked, static...
    is_enabled: dict[str, str] = dataclasses.field(default_factory=dict)
    #: where systemd is not PID 1: existing /etc/init.d scripts, rc?.d S-links, OpenRC runlevel links
    init_entries: tuple[str, ...] = ()
    #: package databases found: "dpkg", "rpm"
    package_managers: tuple[str, ...] = ()
    #: why unit states cannot be trusted (systemd is PID 1 but systemctl answered nothing), or None
    units_problem: str | None = None
    #: time daemons of other PID namespaces (containers) seen in /proc: not this host's
    foreign_processes: tuple[Process, ...] = ()

    @property
    def systemd(self) -> bool:
        return self.units is not None

    def installed(self, name: str) -> bool:
        package = self.packages.get(name)
        return bool(package and package.installed)

    def running(self, *comms: str) -> list[Process]:
        return [p for p in self.processes if p.comm in comms]


def parse_packages(text: str) -> dict[str, Package]:
    result: dict[str, Package] = {}
    for line in lines(text):
        fields = line.split("\t")
        if len(fields) != 4 or fields[0] not in ("dpkg", "rpm"):
            continue
        manager, name, status, version = fields
        installed = len(status) >= 2 and status[1] not in "nc"
        if installed or name not in result:
            result[name] = Package(name, installed, version if installed else "", manager)
    return result


def parse_managers(text: str, packages: dict[str, Package]) -> tuple[str, ...]:
    """Package databases the host has; from the command's marker lines, else from the package lines."""
    found = [line.split("\t", 1)[1].strip() for line in lines(text) if line.startswith("manager\t")]
    found += [p.manager for p in packages.values()]
    return tuple(m for m in ("dpkg", "rpm") if m in found)


def parse_processes(text: str) -> list[Process]:
    result = []
    for line in lines(text):
        fields = line.split("\t")
        pid = _decimal(fields[0]) if len(fields) in (5, 6) else None
        if pid is None:
            continue
        _, comm, uid, user, args = fields[:5]
        namespace = fields[5] if len(fields) == 6 and fields[5] in ("own", "other") else "own"
        # the script sends an argument's tab and newline as \x1d and \x1e: a process's command line
        # cannot add a line (a made-up process) or a field to the answer
        argv = tuple(a.replace("\x1d", "\t").replace("\x1e", "\n") for a in args.split("\x1f") if a)
        result.append(Process(pid, comm, _decimal(uid), user or uid, argv, namespace))
    return result


def parse_units(text: str) -> dict[str, UnitState] | None:
    if text.strip().startswith("no-systemd"):
        return None
    result: dict[str, UnitState] = {}
    for block in text.strip().split("\n\n"):
        values = dict(
            line.split("=", 1) for line in lines(block) if "=" in line and not line.startswith("is-enabled\t")
        )
        if "Id" in values:
            names = tuple(values.get("Names", "").split()) or (values["Id"],)
            state = UnitState(
                values["Id"],
                values.get("LoadState", ""),
                values.get("ActiveState", ""),
                values.get("SubState", ""),
                values.get("UnitFileState", ""),
                values.get("FragmentPath", ""),
                names,
            )
            for name in dict.fromkeys((values["Id"],) + names):
                known = result.get(name)
                if known is None or (known.load == "not-found" and state.load != "not-found"):
                    result[name] = state
    return result


def parse_is_enabled(text: str) -> dict[str, str]:
    result = {}
    for line in lines(text):
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0] == "is-enabled":
            result[fields[1]] = fields[2].strip() if len(fields) > 2 else ""
    return result


def parse_init_entries(text: str) -> tuple[str, ...]:
    return tuple(line.split("\t", 1)[1] for line in lines(text) if line.startswith("init\t"))


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
        uid = _decimal(lines[0]) if lines else None
        if uid is not None:
            user = lines[1] if len(lines) > 1 else lines[0]
    else:
        problems.append("could not tell which user the checks run as (id failed)")
    pid1 = reader.command("pid1")
    packages = reader.command("packages")
    processes = reader.command("processes")
    units = reader.command("units")
    package_list = parse_packages(packages.stdout) if packages else {}
    all_processes = parse_processes(processes.stdout) if processes else []
    units_text = units.stdout if units and units.ok else ""
    unit_states = parse_units(units_text) if units_text else None
    pid1_name = pid1.stdout.strip() if pid1 and pid1.ok else "unknown"
    units_problem = None
    if pid1_name == "systemd" and not unit_states:
        units_problem = "systemd is PID 1 but `systemctl show` gave no unit states" + (
            f" (exit status {units.rc})" if units and not units.ok else ""
        )
    return HostFacts(
        os=parse_os_release(os_text),
        uid=uid,
        user=user,
        pid1=pid1_name,
        packages=package_list,
        units=unit_states,
        processes=[p for p in all_processes if p.namespace != "other"],
        foreign_processes=tuple(p for p in all_processes if p.namespace == "other"),
        problems=problems,
        is_enabled=parse_is_enabled(units_text),
        init_entries=parse_init_entries(units_text),
        package_managers=parse_managers(packages.stdout if packages else "", package_list),
        units_problem=units_problem,
    )
