"""Gather a host's facts in a small, bounded number of round trips.

Round 1 asks for everything the usual layouts hold. What the answers point
at elsewhere (include, confdir, sourcedir, -f, keyfile...) is fetched in
follow-up rounds, at most MAX_ROUNDS in all, whatever the number of rules.
"""
from __future__ import annotations

import dataclasses
import secrets
from typing import Callable

from ..facts import chrony, host, ntpd, timesyncd
from .snapshot import Reader, Request, Snapshot

MAX_ROUNDS = 4

#: each daemon's facts module: NAME, REQUEST, SECRET_PATHS, build(reader, host), secret_paths(facts)
DAEMONS = (chrony, ntpd, timesyncd)

FIRST_REQUEST = host.REQUEST
for _module in DAEMONS:
    FIRST_REQUEST = FIRST_REQUEST.merged(_module.REQUEST)

Execute = Callable[[Request, tuple[str, ...]], Snapshot]


@dataclasses.dataclass
class Gathered:
    host: host.HostFacts
    daemons: dict  # daemon module NAME -> its facts
    snapshot: Snapshot
    problems: list[str]
    #: tells gathers apart in reports: one id per host proves one gather per host per run
    gather_id: str = dataclasses.field(default_factory=lambda: secrets.token_hex(4))

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


def _build(snapshot: Snapshot) -> tuple[Reader, host.HostFacts, dict]:
    reader = Reader(snapshot)
    host_facts = host.build(reader)
    daemons = {m.NAME: m.build(reader, host_facts) for m in DAEMONS}
    return reader, host_facts, daemons


def _secrets(daemons: dict) -> tuple[str, ...]:
    paths: set[str] = set()
    for module in DAEMONS:
        paths |= set(module.secret_paths(daemons.get(module.NAME)))
    return tuple(sorted(paths))


def collect(execute: Execute) -> Gathered:
    snapshot = execute(FIRST_REQUEST, _secrets({}))
    for _ in range(MAX_ROUNDS - 1):
        reader, _, daemons = _build(snapshot)
        secret_paths = _secrets(daemons)
        needs = reader.needs.without_secrets(secret_paths)
        if not needs:
            break
        snapshot.merge(execute(needs, secret_paths))
    reader, host_facts, daemons = _build(snapshot)
    problems = list(host_facts.problems)
    if reader.needs:
        missing = ", ".join(reader.needs.files + reader.needs.globs + reader.needs.stats + reader.needs.stat_globs)
        problems.append(f"configuration nested deeper than {MAX_ROUNDS} rounds of gathering; not read: {missing}")
    return Gathered(host_facts, daemons, snapshot, problems)
