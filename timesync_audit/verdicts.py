"""Verdicts of the run: one category per test, a summary, and the exit code.

Categories: compliant (passed), non-compliant (failed: the rule's assertion),
waived (a failure under an unexpired waiver), not applicable (skipped), could
not check (an error: host unreachable, permission denied...; also a rule that
crashed, which gave no verdict). A test's category is the worst of its phases.

Exit codes: 0 compliant, 1 non-compliant, 3 could not check (whatever else);
pytest's own codes stay for everything else (2 interrupted, 4 usage error,
5 no test ran). An interrupted run still counts what it found.

The summary's parts besides the counts come from their own modules: dead hosts
(deadhosts.py) and an interruption (interruption.py).
"""
from __future__ import annotations

import collections

import pytest

from . import deadhosts, interruption
from .waivers import is_waived

COMPLIANT, NOT_APPLICABLE, WAIVED, NON_COMPLIANT, COULD_NOT_CHECK = (
    "compliant", "not applicable", "waived", "non-compliant", "could not check")
CATEGORIES = (COMPLIANT, NON_COMPLIANT, WAIVED, NOT_APPLICABLE, COULD_NOT_CHECK)
_RANK = {COMPLIANT: 0, NOT_APPLICABLE: 1, WAIVED: 2, NON_COMPLIANT: 3, COULD_NOT_CHECK: 4}

EXIT_COMPLIANT, EXIT_NON_COMPLIANT, EXIT_INTERRUPTED, EXIT_COULD_NOT_CHECK = 0, 1, 2, 3
_EXIT_TEXT = {EXIT_COMPLIANT: "compliant", EXIT_NON_COMPLIANT: "non-compliant",
              EXIT_INTERRUPTED: "interrupted", EXIT_COULD_NOT_CHECK: "could not check every rule"}
_MAX_HOSTS_PER_LINE = 6


def junit_property(config: pytest.Config, name: str, value: object) -> None:
    """A property of the whole JUnit test suite (before junitxml writes the file; controller only)."""
    from _pytest.junitxml import xml_key
    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property(name, str(value))


def category(report) -> str | None:
    """The category one report gives its test, or None (a passing setup or teardown)."""
    if report.failed:
        if report.when != "call" or getattr(report, "timesync_no_verdict", False):
            return COULD_NOT_CHECK
        return NON_COMPLIANT
    if report.skipped:
        return WAIVED if is_waived(report) else NOT_APPLICABLE
    return COMPLIANT if report.when == "call" else None


def exit_code(counts: collections.Counter) -> int:
    if counts[COULD_NOT_CHECK]:
        return EXIT_COULD_NOT_CHECK
    if counts[NON_COMPLIANT]:
        return EXIT_NON_COMPLIANT
    return EXIT_COMPLIANT


class Verdicts:
    """On the controller (or a run without xdist): every test's category, from its reports.
    `parts` add their lines to the summary (dead hosts, an interruption)."""

    def __init__(self, parts=()):
        self.tests: dict[str, tuple[str, str]] = {}  # nodeid -> (category, host)
        self.exit_code: int | None = None
        self.parts = tuple(parts)

    def counts(self, host: str | None = None) -> collections.Counter:
        return collections.Counter(c for c, h in self.tests.values() if host is None or h == host)

    def pytest_runtest_logreport(self, report) -> None:
        found = category(report)
        if found is None:
            return
        host = dict(getattr(report, "user_properties", None) or []).get("host", "-")
        before = self.tests.get(report.nodeid)
        if before is None or _RANK[found] > _RANK[before[0]]:
            self.tests[report.nodeid] = (found, host)

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes the file
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        counts = self.counts()
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self.exit_code = EXIT_INTERRUPTED  # pytest's code stands; what was found is still counted
        elif exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            self.exit_code = exit_code(counts)
            session.exitstatus = self.exit_code
        else:
            return  # usage error, nothing collected: pytest's own code stands
        for name in CATEGORIES:
            junit_property(session.config, name.replace(" ", "_").replace("-", "_"), counts[name])
        junit_property(session.config, "exit_code", self.exit_code)

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
            lines.append(f"exit code {self.exit_code}: {_EXIT_TEXT[self.exit_code]}")
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
        import html
        counts = self.counts()
        text = ", ".join(f"{name} {counts[name]}" for name in CATEGORIES)
        if self.exit_code is not None:
            text += f"; exit code {self.exit_code} ({_EXIT_TEXT[self.exit_code]})"
        prefix.append(f"<p>Compliance: {html.escape(text)}</p>")
        prefix.extend(f"<p>{html.escape(line)}</p>" for part in self.parts for line in part.html_lines())


# -- plugin hooks (registered by plugin.pytest_configure) -----------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller counts; xdist workers only make reports
        parts = (deadhosts.configure(config), interruption.configure(config))
        config.pluginmanager.register(Verdicts(parts), "timesync-verdicts-count")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    rep = yield
    # a rule that crashed (not its assertion) gave no verdict: that is "could not check"
    if (rep.when == "call" and rep.failed and call.excinfo is not None
            and not call.excinfo.errisinstance((AssertionError, pytest.fail.Exception))):
        rep.timesync_no_verdict = True
    return rep
