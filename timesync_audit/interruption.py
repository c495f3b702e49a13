"""An interrupted run (Ctrl-C, SIGTERM from a cancelled CI job) still says what it found.

pytest writes JUnit and HTML on its interrupt path (exit code 2); SIGTERM would kill the
process before that, so during the session it is turned into that path. The reports then keep
every result already known, say that the run was interrupted, after how many of its hosts, and
which hosts it did not finish. A test cut off mid-way has no result: it is left out of JUnit
(junitxml would write it as a bare, passing testcase) as pytest-html leaves it out.

A test whose result came (its call report, or a setup that failed or skipped) and whose
teardown report did not (under xdist it may still be on its way from the worker) is known:
the terminal has printed it and results.json holds it. Its end is reported on the interrupt
path as a passing teardown with no output, so that JUnit, pytest-html (which writes a row at
teardown only) and the count of finished hosts hold it too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from .junit import drop_open_testcases, junit_property
from .progress import Progress


def _cause(excinfo) -> str:
    if type(excinfo.value) is KeyboardInterrupt:
        return "SIGINT"
    return getattr(excinfo.value, "msg", None) or str(excinfo.value) or excinfo.typename


class Interruption:
    """On the controller: why the run stopped, and what the reports say about it."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.cause: str | None = None
        self.interrupted = False
        self._stopping = False  # pytest is on its interrupt path, or writing the reports
        #: what signal.signal() returned: a handler, SIG_DFL/SIG_IGN, or None (not set from Python)
        self._previous_handler: Callable[[int, FrameType | None], Any] | int | None = None
        self._installed = False

    # -- SIGTERM: pytest's interrupt path, on the controller's main thread, during the session --

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGTERM, self._on_sigterm)
            self._installed = True

    def _on_sigterm(self, signum, frame) -> None:
        if self._stopping:
            return  # already stopping, or writing the reports: let them be written whole
        self.cause = self.cause or "SIGTERM"
        raise KeyboardInterrupt("SIGTERM")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._installed:
            previous = self._previous_handler  # None: not set from Python, so the default
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
            self._installed = False

    # -- what the reports say ----------------------------------------------------------------------

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self._stopping = True
        if self.cause is None:
            self.cause = _cause(excinfo)

    @pytest.hookimpl(tryfirst=True)  # before junitxml and pytest-html write their files
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        self._stopping = True
        if exitstatus != pytest.ExitCode.INTERRUPTED:
            return
        self.interrupted = True
        config = session.config
        for report in self.progress.results_without_end():
            config.hook.pytest_runtest_logreport(report=_teardown_of(report))
        hosts, unfinished = self.progress.hosts(), self.progress.unfinished()
        junit_property(config, "interrupted", "true")
        junit_property(config, "interrupted_by", self.cause or "unknown")
        junit_property(config, "hosts_finished", len(hosts) - len(unfinished))
        junit_property(config, "hosts_total", len(hosts))
        junit_property(config, "unfinished_hosts", ",".join(unfinished))
        drop_open_testcases(config)

    def text(self) -> str | None:
        """ "interrupted after 1 of 3 hosts (SIGTERM); not finished: docker://b, docker://c"."""
        if not self.interrupted:
            return None
        hosts, unfinished = self.progress.hosts(), self.progress.unfinished()
        if not hosts:
            return f"interrupted before any host was scheduled ({self.cause or 'unknown'})"
        text = f"interrupted after {len(hosts) - len(unfinished)} of {len(hosts)} hosts ({self.cause or 'unknown'})"
        if unfinished:
            text += f"; not finished: {', '.join(unfinished)}"
        return text

    def summary_lines(self) -> list[str]:
        text = self.text()
        return [text] if text else []

    def html_lines(self) -> list[str]:
        text = self.text()
        return [f"Run {text}."] if text else []


def _teardown_of(report: pytest.TestReport) -> pytest.TestReport:
    """The end of a test whose teardown report never came: passed, no output, nothing added."""
    extra = {"node": report.node} if hasattr(report, "node") else {}  # junitxml keys xdist reports by it
    return pytest.TestReport(
        report.nodeid,
        report.location,
        report.keywords,
        "passed",
        None,
        "teardown",
        user_properties=list(report.user_properties),
        **extra,
    )


def configure(config: pytest.Config) -> Interruption:
    """Register the progress and the interruption (controller only); the compliance summary,
    the HTML summary and JUnit read the interruption."""
    progress = Progress()
    config.pluginmanager.register(progress, "timesync-progress")
    interruption = Interruption(progress)
    config.pluginmanager.register(interruption, "timesync-interruption")
    return interruption
