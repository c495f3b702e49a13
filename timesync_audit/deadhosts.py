"""Dead hosts: one line per host that could not be checked at all, not one per rule.

A host whose gather failed (unreachable, frozen, wrong key...) ends every rule in the same
could-not-check, a message that starts with the host's identity (gather.remote). Shown per
rule, 47 copies of one cause bury the errors of the live hosts; shown per host, one line says
what to fix. Errors of single rules on a live host (one unreadable file) stay per rule.
"""

from __future__ import annotations

import dataclasses

import pytest

from .categories import COULD_NOT_CHECK, category_of
from .findings import COULD_NOT_CHECK_PREFIX
from .junit import junit_property
from .report_properties import host_of

_OTHER = object()  # a test that ended in anything but its host's could-not-check


@dataclasses.dataclass(frozen=True)
class DeadHost:
    host: str
    message: str  # "<host>: <cause> (<hint>)", as the gather said it
    rules: int
    nodeids: frozenset[str]

    def line(self) -> str:
        return f"{self.message} - {self.rules} rule{'' if self.rules == 1 else 's'} not checked"


def host_message(report, host: str) -> str | None:
    """The host-level could-not-check of an error report (without the prefix), else None."""
    if not (category_of(report) == COULD_NOT_CHECK and report.when == "setup" and isinstance(report.longrepr, str)):
        return None
    text = report.longrepr
    if not text.startswith(f"{COULD_NOT_CHECK_PREFIX}{host}: ") or "\n" in text:
        return None
    return text[len(COULD_NOT_CHECK_PREFIX) :]


class DeadHosts:
    """On the controller: each test's end, and the hosts all of whose tests ended in one
    host-level could-not-check."""

    def __init__(self) -> None:
        self._tests: dict[str, tuple[str, object]] = {}  # nodeid -> (host, message or _OTHER)

    def pytest_runtest_logreport(self, report) -> None:
        host = host_of(report)
        if host is None or category_of(report) is None:
            return  # a passing setup or teardown says nothing about the verdict
        message = host_message(report, host)
        known = self._tests.get(report.nodeid)
        same = message is not None and (known is None or known[1] == message)
        self._tests[report.nodeid] = (host, message if same else _OTHER)

    def found(self) -> list[DeadHost]:
        by_host: dict[str, list[tuple[str, object]]] = {}
        for nodeid, (host, message) in self._tests.items():
            by_host.setdefault(host, []).append((nodeid, message))
        dead = []
        for host, tests in by_host.items():
            messages = {m for _, m in tests}
            message = messages.pop() if len(messages) == 1 else _OTHER
            if isinstance(message, str):  # every test ended in this one message (never _OTHER)
                dead.append(DeadHost(host, message, len(tests), frozenset(n for n, _ in tests)))
        return dead

    def summary_lines(self) -> list[str]:
        dead = self.found()
        if not dead:
            return []
        return [f"{'dead hosts':<16} {len(dead):>5}"] + [f"  {d.line()}" for d in dead]

    def html_lines(self) -> list[str]:
        return [f"Dead host: {d.line()}" for d in self.found()]

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes the file
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        dead = self.found()
        junit_property(session.config, "dead_hosts", len(dead))
        for index, host in enumerate(dead, 1):
            junit_property(session.config, f"dead_host_{index}", host.message)


def configure(config: pytest.Config) -> DeadHosts:
    """Register the tracker (controller only); the compliance summary, the HTML summary, JUnit and
    the terminal's sections (deadhosts_terminal.py) read it."""
    tracker = DeadHosts()
    config.pluginmanager.register(tracker, "timesync-dead-hosts")
    return tracker
