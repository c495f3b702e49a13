"""pytest's ERRORS section and short test summary with one entry per dead host.

pytest prints both from terminalreporter.stats["error"], one entry per rule. Around the
terminal summary the dead hosts' reports are taken out of that list and put back after it, so
the final counts ("47 errors") and every other report stay pytest's own:
- ERRORS section (before the summary hooks): one block per dead host, at its first rule's place;
- short test summary (after them): the live hosts' errors, then one ERROR line per dead host.
"""

from __future__ import annotations

import pytest

from .deadhosts import DeadHost, DeadHosts
from .findings import COULD_NOT_CHECK_PREFIX

#: the short test summary's report characters and the stats pytest shows for each
_SHORT_SUMMARY_STATS = {
    "f": "failed",
    "E": "error",
    "s": "skipped",
    "S": "skipped",
    "x": "xfailed",
    "X": "xpassed",
    "p": "passed",
}


def _block(host: DeadHost, first) -> pytest.TestReport:
    """A report standing for the whole host in the ERRORS section: "ERROR at gather of <host>"."""
    return pytest.TestReport(
        first.nodeid,
        (first.location[0], None, host.host),
        {},
        "failed",
        COULD_NOT_CHECK_PREFIX + host.line(),
        "gather",  # type: ignore[arg-type, unused-ignore]  # pytest types: 3 phases; "ERROR at gather of"
    )


class TerminalSections:
    """Swaps terminalreporter.stats["error"] while pytest writes its summary sections."""

    def __init__(self, tracker: DeadHosts):
        self.tracker = tracker
        self.live_errors: list | None = None  # the short summary's errors, while it is written

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # around pytest's own summary sections
    def pytest_terminal_summary(self, terminalreporter):
        stats = terminalreporter.stats
        dead = self.tracker.found()
        errors = stats.get("error")
        if not dead or not errors:
            return (yield)
        first_of = {}
        for host in dead:
            for nodeid in host.nodeids:
                first_of[nodeid] = host
        blocks, live, shown = [], [], set()
        for report in errors:
            host = first_of.get(report.nodeid)
            if host is None:
                live.append(report)
                blocks.append(report)
            elif host.host not in shown:
                shown.add(host.host)
                blocks.append(_block(host, report))
        stats["error"], self.live_errors = blocks, live
        try:
            result = yield
            self._short_summary(terminalreporter, dead)
            return result
        finally:
            stats["error"], self.live_errors = errors, None

    def keep_live_errors(self, terminalreporter) -> None:
        """After the ERRORS section, before the short summary: only the live hosts' errors."""
        if self.live_errors is not None:
            terminalreporter.stats["error"] = self.live_errors

    @staticmethod
    def _short_summary(terminalreporter, dead: list[DeadHost]) -> None:
        chars = terminalreporter.reportchars
        if "E" not in chars:
            return
        stats = terminalreporter.stats
        if not any(stats.get(_SHORT_SUMMARY_STATS[c]) for c in chars if c in _SHORT_SUMMARY_STATS):
            terminalreporter.write_sep("=", "short test summary info", cyan=True, bold=True)
        for host in dead:
            terminalreporter.write_line(f"ERROR {host.line()}", red=True)


class BeforeShortSummary:
    """A plain pytest_terminal_summary: pluggy runs it after every wrapper's first half (pytest's
    ERRORS section) and before their second half (pytest's short test summary)."""

    def __init__(self, sections: TerminalSections):
        self.sections = sections

    def pytest_terminal_summary(self, terminalreporter) -> None:
        self.sections.keep_live_errors(terminalreporter)


def configure(config: pytest.Config, tracker: DeadHosts) -> None:
    """Register the terminal's view of the dead hosts (controller only)."""
    sections = TerminalSections(tracker)
    config.pluginmanager.register(sections, "timesync-dead-hosts-terminal")
    config.pluginmanager.register(BeforeShortSummary(sections), "timesync-dead-hosts-short-summary")
