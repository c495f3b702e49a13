"""What ntpd (classic ntp or ntpsec) on one host reads and how it is started."""
from __future__ import annotations

import dataclasses

from ..gather.snapshot import Reader, Request
from .host import HostFacts

NAME = "ntpd"
REQUEST = Request()
SECRET_PATHS: tuple[str, ...] = ()


@dataclasses.dataclass
class NtpdFacts:
    installed: bool
    package_evidence: str
    problems: list[str]


def build(reader: Reader, host: HostFacts) -> NtpdFacts:
    installed = host.installed("ntp") or host.installed("ntpsec")
    evidence = "package ntp/ntpsec installed" if installed else "neither ntp nor ntpsec is installed"
    return NtpdFacts(installed, evidence, [])


def secret_paths(facts: NtpdFacts | None) -> tuple[str, ...]:
    return SECRET_PATHS
