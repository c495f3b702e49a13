"""What chrony and ntpd facts share: the starts of a daemon a rule judges.

A daemon that runs read the files of its own command line when it started; the
unit, its drop-ins and its environment file decide what the next start reads.
Both are judged (a pass that a restart undoes is no pass), each as one Start;
when they read the same files under the same account they are one Start.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .host import Process


@dataclasses.dataclass(frozen=True)
class StartOrigin:
    """Which start of the daemon a set of facts describes, in words."""

    running_pids: tuple[int, ...]  # the running daemon's processes that read these files, if any
    next_start: bool  # the unit/environment would start it with these files
    main_conf: str
    main_conf_origin: str  # "Debian default", "-f in DAEMON_OPTS at /etc/default/chrony:3"
    daemon: str = "chronyd"

    @property
    def label(self) -> str:
        parts = []
        if self.running_pids:
            pids = ", ".join(str(p) for p in self.running_pids)
            parts.append(f"running {self.daemon} (pid {pids})")
        if self.next_start:
            parts.append("next start")
        return " and ".join(parts) or self.daemon

    def describe(self) -> str:
        """'next start reads /etc/chrony.conf (-f in DAEMON_OPTS at /etc/default/chrony:3)'."""
        return f"{self.label} reads {self.main_conf} ({self.main_conf_origin})"


class Start(Protocol):
    """One start's facts (facts.chrony.ChronyFacts, facts.ntpd.NtpdFacts...), as rules judge them."""

    start: StartOrigin
    refusal: str | None


class Starts(tuple):
    """The starts of one daemon (running, next start), each a facts object with `.start`
    (StartOrigin) and `.refusal` (why the daemon would refuse its configuration, or None).
    Rule checks see one start at a time: the rule decorator judges every start."""

    daemon: str = ""

    def __new__(cls, items, daemon: str) -> Starts:
        self = super().__new__(cls, items)
        self.daemon = daemon
        return self


@dataclasses.dataclass(frozen=True)
class StartCommand:
    """A daemon's command line, where it was read, and its options as the daemon reads them."""

    argv: tuple[str, ...]
    origin: str
    #: the options that take a value, by letter (flags map to ""): facts.chrony/ntpd.parse_argv
    options: dict[str, str] = dataclasses.field(hash=False)
    #: where -f came from, in words ("-f in DAEMON_OPTS at /etc/default/chrony:3"), when it is set (chronyd)
    file_origin: str = ""
    #: where -u came from when a wrapper adds it (ntpd)
    user_origin: str = ""

    @property
    def user(self) -> str | None:
        """The account of -u USER[:GROUP], or None when the daemon is not asked to drop root."""
        value = self.options.get("u")
        return value.split(":", 1)[0] if value else None

    @property
    def group(self) -> str | None:
        value = self.options.get("u")
        return value.split(":", 1)[1] if value and ":" in value else None


class StartCommands:
    """For one start's facts (`command`, `process`, `also`): its command lines and its process."""

    # fields of the dataclasses that use it (facts.chrony.ChronyFacts, facts.ntpd.NtpdFacts)
    command: StartCommand | None
    process: Process | None
    also: list[StartCommand]

    @property
    def start_commands(self) -> list:
        """This start's command line, then the others that start the same files as the same account."""
        return ([self.command] if self.command else []) + [c for c in self.also if c != self.command]

    @property
    def running(self) -> list:
        return [(self.process, self.command)] if self.process and self.command else []


def merge_start(starts: list, keys: dict, key: tuple, facts) -> None:
    """Add one start's facts, or fold them into the start that reads the same files as the same
    account (its label then names both: running pids, next start)."""
    if key not in keys:
        keys[key] = len(starts)
        starts.append(facts)
        return
    known = starts[keys[key]]
    known.start = dataclasses.replace(
        known.start,
        next_start=known.start.next_start or facts.start.next_start,
        running_pids=known.start.running_pids + facts.start.running_pids,
    )
    if facts.command is not None:
        known.also.append(facts.command)
