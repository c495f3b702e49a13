"""Read-only commands that show what the daemons do now (not what they are told to do).

They join each host's first round trip: one gather, whatever the number of rules.
Each prints nothing and exits 127 where its tool is missing.

Each daemon's facts carry a LiveState: the parsed answers (parsers.chronyc, ntpq, timedatectl),
or, per command, why it is unavailable. That is either the fact that the daemon is not running
(DaemonNotRunning: the rule layer judges it, live_verdicts.py) or a reason the host could not be
checked (tool missing, chronyc refused to a non-root user, a daemon that does not answer, output
not understood).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..gather.snapshot import Reader, Request
from ..outcomes import CouldNotCheck
from ..parsers import chronyc, ntpq, timedatectl
from ..parsers.lines import lines
from ..services import BY_NAME
from .host import HostFacts

#: name -> (tool, command line)
COMMANDS = {
    "chronyc_tracking": ("chronyc", "chronyc -c -n tracking"),
    "chronyc_sources": ("chronyc", "chronyc -c -n sources"),
    "chronyc_authdata": ("chronyc", "chronyc -c -n authdata"),
    "ntpq_peers": ("ntpq", "ntpq -n -c peers"),
    "ntpq_associations": ("ntpq", "ntpq -n -c associations"),
    "timedatectl_show": ("timedatectl", "timedatectl show"),
    "timedatectl_timesync": ("timedatectl", "timedatectl show-timesync"),
}


def _guarded(tool: str, command: str) -> str:
    return f"command -v {tool} >/dev/null 2>&1 || exit 127; $T {command}"


# Leave no trace: `timedatectl show` asks systemd-timedated, which D-Bus starts when it is not
# running (it then stays up a while and makes /var/tmp/systemd-private-* directories);
# show-timesync asks timesyncd, which D-Bus would start too. So each is asked only of a daemon that
# already runs in the host's own PID namespace. Otherwise NTPSynchronized is read as timedated reads
# it (ntp_synced(): adjtimex with modes 0, which changes nothing: no STA_UNSYNC and maxerror below
# 16 s), by perl (Essential on Debian) or python3; with neither, the flag cannot be read.
_RUNNING = (
    "running() { me=$(readlink /proc/$$/ns/pid 2>/dev/null); for p in /proc/[0-9]*; do "
    '{ read -r c < "$p/comm"; } 2>/dev/null && [ "$c" = "$1" ] || continue; '
    'n=$(readlink "$p/ns/pid" 2>/dev/null); [ -z "$me" ] || [ -z "$n" ] || [ "$n" = "$me" ] && return 0; '
    "done; return 1; }; "
)
_SYNCED = "NTPSynchronized=%s\\nNTPSynchronizedFrom=adjtimex: status 0x%x, maxerror %d us\\n"
_ADJTIMEX_PERL = (
    'my $b = "\\0" x 256; my $m = `uname -m`; chomp $m; '
    "my %n = (x86_64 => 159, aarch64 => 171, riscv64 => 171, i686 => 124, i386 => 124, armv7l => 124, "
    "ppc64le => 124, s390x => 124); exit 4 unless exists $n{$m}; my $r = syscall($n{$m}, $b); exit 4 if $r < 0; "
    'my ($mode, $off, $freq, $maxerr, $esterr, $status) = length(pack("l!", 0)) == 8 ? '
    'unpack("l x4 q q q q l", $b) : unpack("l l l l l l", $b); '
    f'printf "{_SYNCED}", (($status & 0x40) || $maxerr >= 16000000) ? "no" : "yes", $status, $maxerr;'
)
_ADJTIMEX_PYTHON = (
    "import ctypes, struct; b = ctypes.create_string_buffer(256); r = ctypes.CDLL(None).adjtimex(b); "
    'm, o, f, me, ee, s = struct.unpack_from("i4xqqqqi", b.raw); '
    f'print("{_SYNCED}".replace("\\\\n", chr(10)) '
    f'% ("no" if (r < 0 or s & 64 or me >= 16000000) else "yes", s, me), end="")'
)
_SPECIAL = {
    "timedatectl_show": _RUNNING + "command -v timedatectl >/dev/null 2>&1 || exit 127; "
    "if running systemd-timedat; then $T timedatectl show; "
    f"elif command -v perl >/dev/null 2>&1; then perl -e '{_ADJTIMEX_PERL}'; "
    f"elif command -v python3 >/dev/null 2>&1; then python3 -c '{_ADJTIMEX_PYTHON}'; "
    "else echo 'the kernel clock flag cannot be read without starting systemd-timedated "
    "(no perl or python3 on the host)'; exit 4; fi",
    "timedatectl_timesync": _RUNNING + "command -v timedatectl >/dev/null 2>&1 || exit 127; "
    "running systemd-timesyn || { echo 'systemd-timesyncd is not running'; exit 3; }; "
    "$T timedatectl show-timesync",
}


def _request(*names: str) -> Request:
    return Request(commands=tuple((name, _SPECIAL.get(name) or _guarded(*COMMANDS[name])) for name in names))


CHRONY = _request("chronyc_tracking", "chronyc_sources", "chronyc_authdata")
NTPD = _request("ntpq_peers", "ntpq_associations")
TIMESYNCD = _request("timedatectl_show", "timedatectl_timesync")


@dataclasses.dataclass(frozen=True)
class Unavailable:
    """Why a command's answer is not there."""

    command: str
    reason: str
    daemon_down: bool = False  # True: the daemon is not running (the rule judges it), else could not check


class DaemonNotRunning(AssertionError):
    """A rule asked the live state of a daemon that is not running: "<what that means for the
    rule>: <why>". A fact, never a verdict of its own: the rule layer judges it (live_verdicts.py).
    An AssertionError, so that a rule run without the plugin (the rule decorator's judging of
    each start, the project's own rule runner) counts it as the failed check it is."""


@dataclasses.dataclass
class LiveState:
    """Parsed answers of a daemon's query commands, by command name, or why each is unavailable."""

    answers: dict = dataclasses.field(default_factory=dict)
    unavailable: dict = dataclasses.field(default_factory=dict)

    def answer(self, name: str, verdict: str):
        """The parsed answer of `name`. Where the daemon is not running, DaemonNotRunning with
        `verdict` (what that means for the rule); any other reason is could-not-check."""
        if name in self.answers:
            return self.answers[name]
        command = COMMANDS.get(name, ("", name))[1]
        missing = self.unavailable.get(name) or Unavailable(command, f"`{command}` was not gathered")
        if missing.daemon_down:
            raise DaemonNotRunning(f"{verdict}: {missing.reason}")
        raise CouldNotCheck(missing.reason)


@dataclasses.dataclass(frozen=True)
class _Daemon:
    service: str
    comms: tuple[str, ...]
    needs_root: bool  # its query tool answers only root (chronyc over chronyd's Unix socket)
    hint: str  # what to look at when the daemon runs but does not answer
    package: str  # what provides the query tool
    #: output the parser does not understand means the daemon did not answer (ntpq, timedatectl
    #: print their complaint with exit status 0 or 1); for chronyc, whose refusals are 5xx replies,
    #: it is output the suite cannot read
    unparsed_is_no_answer: bool


_CHRONYD = _Daemon(
    "chronyd",
    BY_NAME["chronyd"].comms,
    True,
    "chronyc cannot reach it: check chronyd's command socket (/run/chrony/chronyd.sock) and `cmdport`/`bindcmdaddress`",
    "the chrony package",
    False,
)
_NTPD = _Daemon(
    "ntpd",
    BY_NAME["ntpd"].comms,
    False,
    "ntpd does not answer ntpq from localhost: check `restrict` lines (noquery) for 127.0.0.1 and ::1",
    "ntp, or ntpsec with python3-ntp",
    True,
)
_TIMESYNCD = _Daemon(
    "systemd-timesyncd",
    BY_NAME["systemd-timesyncd"].comms,
    False,
    "timedatectl gets no answer over D-Bus: check systemd-timedated/systemd-timesyncd and dbus",
    "systemd",
    True,
)


def _first_line(text: str) -> str:
    said = [line.strip() for line in lines(text) if line.strip()]
    return said[0] if said else "(no output)"


def _answer(reader: Reader, host: HostFacts, name: str, parse: Callable, daemon: _Daemon):
    """(parsed answer, None) or (None, Unavailable)."""
    tool, command = COMMANDS[name]
    out = reader.command(name)
    if out is None:
        return None, Unavailable(command, f"`{command}` was not gathered")
    if out.cut:
        return None, Unavailable(
            command,
            f"`{command}` printed {out.size} bytes, more than one answer may carry "
            f"(--max-host-bytes): its answer was not read",
        )
    if out.rc == 127:
        return None, Unavailable(
            command,
            f"`{tool}` is not installed on the host (or not in the PATH): `{command}` "
            f"could not run (exit status 127), so {daemon.service}'s live state "
            f"cannot be read; install it ({daemon.package})",
        )
    if out.rc == 124:
        return None, Unavailable(command, f"`{command}` timed out (no answer in 10 s): {_first_line(out.stdout)}")
    if daemon.unparsed_is_no_answer:
        failure = f"{_first_line(out.stdout)} (exit status {out.rc})" if out.rc != 0 else None
        if failure is None:
            try:
                return parse(out.stdout), None
            except ValueError as exc:  # the parsers' ParseError: the tool's complaint
                failure = str(exc)
    else:  # chronyc: the daemon's refusals are 5xx replies; anything else unreadable is not about the daemon
        failure = chronyc.reply_error(out.stdout)
        if failure is None:
            try:
                if out.rc == 0:
                    return parse(out.stdout), None
                problem = f"exit status {out.rc}: {_first_line(out.stdout)}"
            except ValueError as exc:
                problem = str(exc)
            return None, Unavailable(
                command,
                f"`{command}` failed or printed what the suite cannot read "
                f"({problem}); is {tool} too old for this query?",
            )
    said = f"`{command}` answered: {failure}"
    running = host.running(*daemon.comms)
    as_root = host.uid == 0
    if daemon.needs_root and not as_root:
        return None, Unavailable(
            command,
            f"{said}, run as {host.user} (uid {host.uid}): as a non-root user "
            f"{tool} cannot use {daemon.service}'s command socket; run the audit "
            f"as root (e.g. ssh://root@host) or add --sudo",
        )
    if not running:
        return None, Unavailable(
            command,
            f"{daemon.service} is not running (no {' / '.join(daemon.comms)} process); {said}",
            daemon_down=True,
        )
    pids = ", ".join(f"pid {p.pid}" for p in running)
    return None, Unavailable(command, f"{said}; {daemon.service} is running ({pids}) but {daemon.hint}")


def _state(reader: Reader, host: HostFacts, daemon: _Daemon, parsers: dict[str, Callable]) -> LiveState:
    state = LiveState()
    for name, parse in parsers.items():
        value, missing = _answer(reader, host, name, parse, daemon)
        if missing is None:
            state.answers[name] = value
        else:
            state.unavailable[name] = missing
    return state


def chrony_state(reader: Reader, host: HostFacts) -> LiveState:
    return _state(
        reader,
        host,
        _CHRONYD,
        {
            "chronyc_tracking": chronyc.parse_tracking,
            "chronyc_sources": chronyc.parse_sources,
            "chronyc_authdata": chronyc.parse_authdata,
        },
    )


def ntpd_state(reader: Reader, host: HostFacts) -> LiveState:
    return _state(reader, host, _NTPD, {"ntpq_peers": ntpq.parse_peers, "ntpq_associations": ntpq.parse_associations})


def timesyncd_state(reader: Reader, host: HostFacts) -> LiveState:
    return _state(
        reader,
        host,
        _TIMESYNCD,
        {"timedatectl_show": timedatectl.parse_show, "timedatectl_timesync": timedatectl.parse_timesync},
    )
