"""pytest's terminal summary in time linear in the reports, not failures x reports.

For each failure it prints, pytest looks for that test's teardown sections by scanning every
report kept under the empty category (each passing setup and teardown): 3,000 failures among
14,000 tests took 90 s. Only a report that holds a teardown section can print anything there,
so the others are let go before the summary is written.
"""

from __future__ import annotations

import pytest


class TeardownReports:
    @pytest.hookimpl(trylast=True)  # the terminal reporter writes its summary after every sessionfinish
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        stats = getattr(reporter, "stats", None)
        if not isinstance(stats, dict) or "" not in stats:
            return
        stats[""] = [report for report in stats[""] if _prints_teardown(report)]


def _prints_teardown(report) -> bool:
    """What pytest's summary would print of the report: a teardown's captured teardown output."""
    return getattr(report, "when", None) == "teardown" and any(
        "teardown" in name for name, _ in getattr(report, "sections", ())
    )


def configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller writes the summary
        config.pluginmanager.register(TeardownReports(), "timesync-terminal-cost")
