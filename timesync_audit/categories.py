"""The category of a test's verdict, decided once per report and carried on it.

compliant (passed), non-compliant (failed: the rule's assertion), waived (a
non-compliance under an unexpired waiver), not applicable (skipped), could not
check (an error: host unreachable, permission denied...; also a rule that crashed,
which gave no verdict). A test's category is the worst of its phases' (RANK).

The outcome chain (outcome_chain.py) sets `report.timesync_category` where pytest
makes the report, on the xdist worker; the report carries it to the controller.
"""

from __future__ import annotations

import pytest

COMPLIANT, NOT_APPLICABLE, WAIVED, NON_COMPLIANT, COULD_NOT_CHECK = (
    "compliant",
    "not applicable",
    "waived",
    "non-compliant",
    "could not check",
)
#: in the order the summary lists them
CATEGORIES = (COMPLIANT, NON_COMPLIANT, WAIVED, NOT_APPLICABLE, COULD_NOT_CHECK)
#: worse is higher: a test's category is its worst phase's
RANK = {COMPLIANT: 0, NOT_APPLICABLE: 1, WAIVED: 2, NON_COMPLIANT: 3, COULD_NOT_CHECK: 4}
#: what a rule raises when the host does not comply (an assertion, or evidence.non_compliant)
NON_COMPLIANCE = (AssertionError, pytest.fail.Exception)

_ATTRIBUTE = "timesync_category"


def classify(report: pytest.TestReport, call: pytest.CallInfo) -> str | None:
    """The category one report gives its test, or None (a passing setup or teardown)."""
    if report.failed:
        crashed = call.excinfo is not None and not call.excinfo.errisinstance(NON_COMPLIANCE)
        return COULD_NOT_CHECK if report.when != "call" or crashed else NON_COMPLIANT
    if report.skipped:
        return NOT_APPLICABLE
    return COMPLIANT if report.when == "call" else None


def set_category(report: pytest.TestReport, category: str | None) -> None:
    setattr(report, _ATTRIBUTE, category)


def category_of(report) -> str | None:
    """The category the outcome chain gave a report. A report it never saw (the one xdist makes
    for a crashed worker) is could not check when it failed, else says nothing."""
    if hasattr(report, _ATTRIBUTE):
        return getattr(report, _ATTRIBUTE)
    return COULD_NOT_CHECK if report.failed else None
