"""Gather a host's facts in a small, bounded number of round trips.

Round 1 asks for everything the usual layouts hold. What the answers point
at elsewhere (include, confdir, sourcedir, -f, keyfile...) is fetched in
follow-up rounds, at most MAX_ROUNDS in all, whatever the number of rules.
"""
from __future__ import annotations

import dataclasses
import secrets
from typing import Callable

from ..facts import chrony, host
from .snapshot import Reader, Request, Snapshot

MAX_ROUNDS = 4
FIRST_REQUEST = host.REQUEST.merged(chrony.REQUEST)

Execute = Callable[[Request, tuple[str, ...]], Snapshot]


@dataclasses.dataclass
class Gathered:
    host: host.HostFacts
    chrony: chrony.ChronyFacts
    snapshot: Snapshot
    problems: list[str]
    #: tells gathers apart in reports: one id per host proves one gather per host per run
    gather_id: str = dataclasses.field(default_factory=lambda: secrets.token_hex(4))

    @property
    def round_trips(self) -> int:
        return self.snapshot.round_trips


def _build(snapshot: Snapshot) -> tuple[Reader, host.HostFacts, chrony.ChronyFacts]:
    reader = Reader(snapshot)
    host_facts = host.build(reader)
    chrony_facts = chrony.build(reader, host_facts)
    return reader, host_facts, chrony_facts


def collect(execute: Execute) -> Gathered:
    snapshot = execute(FIRST_REQUEST, chrony.SECRET_PATHS)
    for _ in range(MAX_ROUNDS - 1):
        reader, _, chrony_facts = _build(snapshot)
        secrets = chrony.secret_paths(chrony_facts)
        needs = reader.needs.without_secrets(secrets)
        if not needs:
            break
        snapshot.merge(execute(needs, secrets))
    reader, host_facts, chrony_facts = _build(snapshot)
    problems = list(host_facts.problems)
    if reader.needs:
        missing = ", ".join(reader.needs.files + reader.needs.globs + reader.needs.stats)
        problems.append(f"configuration nested deeper than {MAX_ROUNDS} rounds of gathering; not read: {missing}")
    return Gathered(host_facts, chrony_facts, snapshot, problems)
