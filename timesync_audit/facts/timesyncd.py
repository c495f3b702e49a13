"""What systemd-timesyncd on one host reads."""
from __future__ import annotations

import dataclasses

from ..gather.snapshot import Reader, Request
from .host import HostFacts

NAME = "timesyncd"
REQUEST = Request()
SECRET_PATHS: tuple[str, ...] = ()


@dataclasses.dataclass
class TimesyncdFacts:
    installed: bool
    package_evidence: str
    problems: list[str]


def build(reader: Reader, host: HostFacts) -> TimesyncdFacts:
    installed = host.installed("systemd-timesyncd")
    evidence = "package systemd-timesyncd installed" if installed else "systemd-timesyncd is not installed"
    return TimesyncdFacts(installed, evidence, [])


def secret_paths(facts: TimesyncdFacts | None) -> tuple[str, ...]:
    return SECRET_PATHS
