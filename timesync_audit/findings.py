"""A finding is reported as its text: could not check, or non-compliant, never a traceback.

pytest would format a traceback through the fixtures for each report (0.2-0.4 s each), which a
dead host pays once per rule; the report is built here from the finding's text instead.
"""

from __future__ import annotations

import os
from typing import Literal

import pytest

from .display import MAX_MESSAGE, escape, shorten
from .outcomes import NOT_APPLICABLE_PREFIX, CouldNotCheck

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
    if call.excinfo.errisinstance(pytest.fail.Exception) and call.when == "call":
        if not getattr(call.excinfo.value, "pytrace", True):  # evidence.non_compliant: its text, as pytest shows it
            return str(call.excinfo.value)
    return None


def _not_applicable(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport | None:
    """A rule that does not apply, reported at its test's place without walking the traceback
    (pytest does, for each skip: most of a fleet's tests, and most of their cost)."""
    if call.excinfo is None or not call.excinfo.errisinstance(pytest.skip.Exception):
        return None
    message = str(getattr(call.excinfo.value, "msg", ""))
    if not message.startswith(NOT_APPLICABLE_PREFIX):
        return None  # pytest's own skips (a marker, an import) keep pytest's report
    line = item.location[1]  # pytest caches it: reportinfo() would look the function up again
    return _report(item, call, "skipped", (os.fspath(item.path), (line or 0) + 1, f"Skipped: {message}"), call.when)


def _report(
    item: pytest.Item, call: pytest.CallInfo, outcome: Literal["failed", "skipped"], longrepr, when: str
) -> pytest.TestReport:
    assert when in ("setup", "call", "teardown"), "a test's phase"
    sections = [(f"Captured {key} {phase}", content) for phase, key, content in item._report_sections]
    return pytest.TestReport(
        getattr(item, "id", item.nodeid),  # pytest 9's parsed id, as its own reports share it
        item.location,
        dict.fromkeys(item.keywords, 1),
        outcome,
        longrepr,
        when,  # type: ignore[arg-type]  # checked above
        sections,
        call.duration,
        call.start,
        call.stop,
        item.user_properties,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    skipped = _not_applicable(item, call)
    if skipped is not None:
        return skipped
    text = _finding(item, call)
    if text is None or call.excinfo is None:  # a finding has its exception
        return None  # pytest's own report
    # could not check, found while judging: still not a verdict, reported as an error (setup)
    when = "setup" if call.excinfo.errisinstance(CouldNotCheck) else call.when
    return _report(item, call, "failed", text, when)
