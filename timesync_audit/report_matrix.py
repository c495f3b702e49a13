"""The fleet matrix at the top of pytest-html's report.html, from the run's results document.

The document is built once, on the controller, at the end of the run (fleet_reports.py keeps
the function that builds it in config.stash); pytest-html asks for its summary after that. An
xdist worker writes no report, so it gets no matrix.
"""

from __future__ import annotations

import pytest

from .fleet_html import matrix_fragment
from .stash_keys import RESULTS_DOCUMENT


class ReportMatrix:
    @pytest.hookimpl(optionalhook=True, trylast=True)  # after the other parts of the prefix: it stays first
    def pytest_html_results_summary(self, prefix, summary, postfix, session) -> None:
        """First in the summary's prefix; its own script then moves it under the report's title."""
        document = session.config.stash.get(RESULTS_DOCUMENT, None)
        if document is not None:
            prefix.insert(0, matrix_fragment(document()))


def configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("html") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(ReportMatrix(), "timesync-report-matrix")
