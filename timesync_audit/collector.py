"""Gather a host's facts in a small, bounded number of round trips.

Round 1 asks for everything the usual layouts hold. What the answers point
at elsewhere (include, confdir, sourcedir, -f, keyfile...) is fetched in
follow-up rounds, at most MAX_ROUNDS in all, whatever the number of rules.
The collector sits above both gather (the round trips) and facts (what each
round's answers say is still missing).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable

from .facts import chrony, host, ntpd, timesyncd
from .gather.snapshot import Reader, Request, Snapshot

MAX_ROUNDS = 4

#: each daemon's facts module: NAME, REQUEST, SECRET_PATHS, build(reader, host), secret_paths(facts)
DAEMONS = (chrony, ntpd, timesyncd)

FIRST_REQUEST = host.REQUEST
for _module in DAEMONS:
    FIRST_REQUEST = FIRST_REQUEST.merged(_module.REQUEST)

Execute = Callable[[Request, tuple[str, ...]], Snapshot]


@dataclasses.dataclass(repr=False)  # a host's whole snapshot: never repr'd into a traceback
class Gathered:
    host: host.HostFacts
    daemons: dict  # daemon module NAME -> its facts
    snapshot: Snapshot
    problems: list[str]
    #: tells gathers apart in reports: one id per host proves one gather per host per run
    gather_id: str = dataclasses.field(default_factory=lambda: secrets.token_hex(4))
    #: how long the gather took, all its round trips (set by whoever timed it)
    seconds: float = 0.0

    @property
    def round_trips(self) -> int:
        return self.snapshot.round_trips

    @property
    def chrony(self) -> chrony.Chrony:
        return self.daemons[chrony.NAME]

    @property
    def ntpd(self) -> ntpd.Ntpd:
        return self.daemons[ntpd.NAME]

    @property
    def timesyncd(self) -> timesyncd.TimesyncdFacts:
        return self.daemons[timesyncd.NAME]


#: configuration lines (all gathered files together) the audit parses for one host. Real hosts hold
#: a few thousand at most; a parsed line costs about a kilobyte, so past this a host could make the
#: controller's memory its own (a 440,000-line chrony.conf took 1.2 GB): it is could-not-check.
MAX_LINES = 50_000
#: and the bytes: long lines under the line bound (31,200 lines of 2 kB) cost 0.5 GB to parse
MAX_PARSED_BYTES = 8 * 1024 * 1024


def _lines(snapshot: Snapshot) -> int:
    return sum(r.content.count("\n") + 1 for r in snapshot.files.values() if r.content)


def _bytes(snapshot: Snapshot) -> int:
    return sum(len(r.content) for r in snapshot.files.values() if r.content)


def _too_long_why(snapshot: Snapshot) -> str | None:
    lines, size = _lines(snapshot), _bytes(snapshot)
    if lines > MAX_LINES:
        return f"its configuration files hold {lines} lines, more than the audit parses for one host ({MAX_LINES})"
    if size > MAX_PARSED_BYTES:
        return (
            f"its configuration files hold {size} bytes, more than the audit parses for one host "
            f"({MAX_PARSED_BYTES} bytes)"
        )
    return None


def _too_long(snapshot: Snapshot) -> Snapshot | None:
    """The snapshot with every file's content left out, when there is too much of it to parse."""
    if _too_long_why(snapshot) is None:
        return None
    emptied = Snapshot(
        dict(snapshot.files),
        dict(snapshot.stats),
        dict(snapshot.globs),
        dict(snapshot.commands),
        snapshot.round_trips,
        dict(snapshot.denied_globs),
        dict(snapshot.cut_globs),
    )
    emptied.files = {p: dataclasses.replace(r, content="") if r.content else r for p, r in snapshot.files.items()}
    return emptied


def _build(snapshot: Snapshot) -> tuple[Reader, host.HostFacts, dict]:
    reader = Reader(snapshot)
    host_facts = host.build(reader)
    parsed = _too_long(snapshot) or snapshot
    daemons = {m.NAME: m.build(Reader(parsed) if parsed is not snapshot else reader, host_facts) for m in DAEMONS}
    if parsed is not snapshot:
        reader.needs = type(reader.needs)()  # nothing more is gathered for what will not be parsed
    return reader, host_facts, daemons


def _secrets(daemons: dict) -> tuple[str, ...]:
    paths: set[str] = set()
    for module in DAEMONS:
        paths |= set(module.secret_paths(daemons.get(module.NAME)))
    return tuple(sorted(paths))


def collect(execute: Execute) -> Gathered:
    snapshot = execute(FIRST_REQUEST, _secrets({}))
    built = None  # the facts of the snapshot as it is: a round trip that adds nothing is not rebuilt
    for _ in range(MAX_ROUNDS - 1):
        built = _build(snapshot)
        secret_paths = _secrets(built[2])
        needs = built[0].needs.without_secrets(secret_paths)
        if not needs:
            break
        built = None  # let go before the next build: a large host's facts are large
        snapshot.merge(execute(needs, secret_paths))
    reader, host_facts, daemons = built or _build(snapshot)
    problems = list(host_facts.problems)
    too_long = _too_long_why(snapshot)
    if too_long:
        problems.append(too_long)
    if reader.needs:
        missing = ", ".join(reader.needs.files + reader.needs.globs + reader.needs.stats + reader.needs.stat_globs)
        problems.append(f"configuration nested deeper than {MAX_ROUNDS} rounds of gathering; not read: {missing}")
    return Gathered(host_facts, daemons, snapshot, problems)
