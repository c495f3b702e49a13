"""A finding is reported as its text: could not check, or non-compliant, never a traceback.

pytest would format a traceback through the fixtures for each report (0.2-0.4 s each), which a
dead host pays once per rule; the report is built here from the finding's text instead.
"""

from __future__ import annotations

import pytest

from .display import MAX_MESSAGE, escape, shorten
from .outcomes import CouldNotCheck

#: how a could-not-check report begins (dead hosts are told apart by what follows it)
COULD_NOT_CHECK_PREFIX = "could not check: "


def _finding(item: pytest.Item, call: pytest.CallInfo) -> str | None:
    """The text of a could-not-check or of a non-compliance, or None for anything else."""
    if call.excinfo is None:
        return None
    if call.excinfo.errisinstance(CouldNotCheck):
        return shorten(escape(f"{COULD_NOT_CHECK_PREFIX}{call.excinfo.value}"), 2 * MAX_MESSAGE)
    if call.excinfo.errisinstance(AssertionError) and call.when == "call":
        return "non-compliant: " + str(call.excinfo.value).split("\nassert ")[0]
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    text = _finding(item, call)
    if text is None or call.excinfo is None:  # a finding has its exception
        return None  # pytest's own report
    # could not check, found while judging: still not a verdict, reported as an error (setup)
    when = "setup" if call.excinfo.errisinstance(CouldNotCheck) else call.when
    assert when != "collect", "a test's phase: setup, call or teardown"
    sections = [(f"Captured {key} {phase}", content) for phase, key, content in item._report_sections]
    return pytest.TestReport(
        item.nodeid,
        item.location,
        {x: 1 for x in item.keywords},
        "failed",
        text,
        when,
        sections,
        call.duration,
        call.start,
        call.stop,
        item.user_properties,
    )
