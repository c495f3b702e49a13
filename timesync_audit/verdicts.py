"""Verdicts of the run: each test's category, a summary, and the exit code.

A test's category (categories.py) is decided once, where its reports are made
(outcome_chain.py); here the controller (or a run without xdist) counts them.

Exit codes: 0 compliant, 1 non-compliant, 3 could not check (whatever else);
pytest's own codes stay for everything else (2 interrupted, 4 usage error,
5 no test ran). An interrupted run still counts what it found.

The summary's parts besides the counts come from their own modules: dead hosts
(deadhosts.py) and an interruption (interruption.py).
"""

from __future__ import annotations

import collections
import html
from collections.abc import Callable, Iterable
from typing import Protocol

import pytest

from . import deadhosts, deadhosts_terminal, interruption
from .categories import CATEGORIES, COULD_NOT_CHECK, NON_COMPLIANT, RANK, category_of
from .junit import junit_property
from .report_properties import host_of

EXIT_COMPLIANT, EXIT_NON_COMPLIANT, EXIT_INTERRUPTED, EXIT_COULD_NOT_CHECK = 0, 1, 2, 3
_EXIT_TEXT = {
    EXIT_COMPLIANT: "compliant",
    EXIT_NON_COMPLIANT: "non-compliant",
    EXIT_INTERRUPTED: "interrupted",
    EXIT_COULD_NOT_CHECK: "could not check every rule",
}
_MAX_HOSTS_PER_LINE = 6


def exit_code(counts: collections.Counter) -> int:
    if counts[COULD_NOT_CHECK]:
        return EXIT_COULD_NOT_CHECK
    if counts[NON_COMPLIANT]:
        return EXIT_NON_COMPLIANT
    return EXIT_COMPLIANT


class SummaryPart(Protocol):
    """A part of the summary (deadhosts.DeadHosts, interruption.Interruption): its own lines."""

    def summary_lines(self) -> list[str]: ...
    def html_lines(self) -> list[str]: ...


class Verdicts:
    """On the controller (or a run without xdist): every test's category, from its reports.
    `parts` add their lines to the summary (dead hosts, an interruption)."""

    def __init__(self, parts: Iterable[SummaryPart] = ()) -> None:
        self.tests: dict[str, tuple[str, str]] = {}  # nodeid -> (category, host)
        self.exit_code: int | None = None
        self.parts = tuple(parts)
        #: --fail-on=regression: what got worse decides the exit code, and says what it means
        self.gate: Callable[[], tuple[int, str]] | None = None
        self._exit_text = _EXIT_TEXT

    def counts(self, host: str | None = None) -> collections.Counter:
        return collections.Counter(c for c, h in self.tests.values() if host is None or h == host)

    def pytest_runtest_logreport(self, report) -> None:
        found = category_of(report)
        if found is None:
            return
        host = host_of(report) or "-"
        before = self.tests.get(report.nodeid)
        if before is None or RANK[found] > RANK[before[0]]:
            self.tests[report.nodeid] = (found, host)

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes the file
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        counts = self.counts()
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self.exit_code = EXIT_INTERRUPTED  # pytest's code stands; what was found is still counted
        elif exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            if self.gate is None:
                self.exit_code = exit_code(counts)
            else:
                self.exit_code, text = self.gate()
                self._exit_text = {**_EXIT_TEXT, self.exit_code: text}
            session.exitstatus = self.exit_code
        else:
            return  # usage error, nothing collected: pytest's own code stands
        for name in CATEGORIES:
            junit_property(session.config, name.replace(" ", "_").replace("-", "_"), counts[name])
        junit_property(session.config, "exit_code", self.exit_code)

    def exit_meaning(self) -> str:
        return self._exit_text.get(self.exit_code, "") if self.exit_code is not None else ""

    def summary_lines(self) -> list[str]:
        hosts = sorted({h for _, h in self.tests.values()})
        lines = []
        for name in CATEGORIES:
            line = f"{name:<16} {self.counts()[name]:>5}"
            if 1 < len(hosts) <= _MAX_HOSTS_PER_LINE:
                per = [f"{h} {n}" for h in hosts if (n := self.counts(h)[name])]
                if per:
                    line += f"   ({', '.join(per)})"
            lines.append(line)
        for part in self.parts:
            lines += part.summary_lines()
        if self.exit_code is not None:
            lines.append(f"exit code {self.exit_code}: {self.exit_meaning()}")
        return lines

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.tests and self.exit_code != EXIT_INTERRUPTED:
            return
        terminalreporter.write_sep("=", "compliance summary")
        for line in self.summary_lines():
            terminalreporter.write_line(line)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix, summary, postfix, session):
        if not self.tests and self.exit_code != EXIT_INTERRUPTED:
            return
        counts = self.counts()
        text = ", ".join(f"{name} {counts[name]}" for name in CATEGORIES)
        if self.exit_code is not None:
            text += f"; exit code {self.exit_code} ({self.exit_meaning()})"
        prefix.append(f"<p>Compliance: {html.escape(text)}</p>")
        prefix.extend(f"<p>{html.escape(line)}</p>" for part in self.parts for line in part.html_lines())


# -- plugin hooks (registered by plugin.pytest_configure) -----------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller counts; xdist workers only make reports
        dead_hosts = deadhosts.configure(config)
        deadhosts_terminal.configure(config, dead_hosts)
        parts = (dead_hosts, interruption.configure(config))
        config.pluginmanager.register(Verdicts(parts), "timesync-verdicts-count")
