"""Each test's report, decided once: its category, a waiver, then what JUnit and HTML show of it.

pytest makes a test's reports (setup, call, teardown); a finding's report is made from its
text (findings.py: a tryfirst implementation, so that pytest never formats a traceback for
it). Then this one wrapper, in order:
1. category (categories.classify): compliant, non-compliant, not applicable, could not check;
2. waiver (waivers.apply): a non-compliance under an unexpired waiver becomes waived;
3. decorations: for JUnit the gather's and the waiver's properties, for HTML the rule's
   details and then the waiver's row.
The category stays on the report (categories.category_of): the compliance summary, dead
hosts, the waivers' summary and the terminal read it there, on the controller too (xdist
sends it with the report).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import pytest

from . import waivers
from .categories import COMPLIANT, category_of, classify, set_category
from .collector import Gathered
from .display import value
from .identity import host_id
from .outcomes import CouldNotCheck
from .report import details_html
from .stash_keys import GATHERED

#: test id -> the keywords and properties of its latest report, while it runs
_EARLIER = pytest.StashKey[dict[str, tuple[Mapping[str, Any], list[tuple[str, object]]]]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: after pytest's own wrappers (xfail) and pytest-html's
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    set_category(report, classify(report, call))
    applied = waivers.apply(item, report, call)
    _junit_properties(item, report, applied)
    _html_extras(report, applied)
    _share_with_earlier_reports(item, report)
    return report


def _share_with_earlier_reports(item: pytest.Item, report: pytest.TestReport) -> None:
    """A test's three reports mostly name the same keywords and properties: one dict and one
    list for the equal ones, as pytest-html and the terminal keep every report until the end
    (a third of what a fleet's run holds per test). Nothing changes either after this. What
    the earlier report had is kept only while the test runs, not on the item to the end."""
    running = item.config.stash.setdefault(_EARLIER, {})
    earlier = running.pop(item.nodeid, None) if report.when == "teardown" else running.get(item.nodeid)
    if earlier is not None:
        if earlier[0] == report.keywords:
            report.keywords = earlier[0]
        if earlier[1] == report.user_properties:
            report.user_properties = earlier[1]
    if report.when != "teardown":
        running[item.nodeid] = (report.keywords, report.user_properties)


def _junit_properties(item: pytest.Item, report: pytest.TestReport, applied: waivers.Applied | None) -> None:
    """On the item too: JUnit writes the properties of the teardown report, which is made from it.
    The report that first finds the gather done (the setup's) gets them as well, so that a test's
    three reports can share one list of them."""
    gathered = item.config.stash[GATHERED].get(host_id(item) or "")
    added: list[tuple[str, str]] = []
    if isinstance(gathered, Gathered) and not any(k == "gather_id" for k, _ in item.user_properties):
        added = _gather_properties(gathered)
    elif isinstance(gathered, CouldNotCheck) and not any(k == "gather_seconds" for k, _ in item.user_properties):
        # a gather runs beside the tests (gather_pool.py): its time is its own, not a test's
        added = [("gather_seconds", f"{getattr(gathered, 'seconds', 0.0):.3f}")]
    if added:
        item.user_properties += added
        report.user_properties = [*report.user_properties, *added]
    if applied is not None:
        report.user_properties = [*report.user_properties, *applied.properties]
        item.user_properties.extend(applied.properties)


def _gather_properties(gathered: Gathered) -> list[tuple[str, str]]:
    """What a host's reports say of its gather and OS: made once per host, not once per report."""
    made = vars(gathered).get("_report_properties")
    if made is None:
        os = gathered.host.os
        made = vars(gathered)["_report_properties"] = [
            ("gather_round_trips", str(gathered.round_trips)),
            ("gather_id", gathered.gather_id),
            ("gather_seconds", f"{gathered.seconds:.3f}"),
            ("os_id", value(os.id)),
            ("os_version_id", value(os.version_id)),
            ("os_pretty_name", value(os.pretty_name)),
        ]
    return made


@functools.cache
def _html_extra(table: str) -> dict[str, Any]:
    """One extra per table, shared by every row showing it (pytest-html changes no html extra)."""
    from pytest_html import extras

    return extras.html(table)


def _html_extras(report: pytest.TestReport, applied: waivers.Applied | None) -> None:
    """Under the row of a rule that is not compliant: the rule's details (with its result, or why
    it did not run), then the waiver that applied."""
    tables = []
    # a compliant rule's row needs no details: at 1,000 hosts they were most of report.html
    judged = category_of(report) not in (None, COMPLIANT)
    if judged and (report.when == "call" or (report.when == "setup" and not report.passed)):
        details = details_html(report)
        if details:
            tables.append(details)
    if applied is not None:
        tables.append(waivers.html_row(applied))
    if not tables:
        return
    try:
        more = [_html_extra(table) for table in tables]
    except ImportError:  # pytest-html, the HTML report's plugin, is optional
        return
    report.extras = list(getattr(report, "extras", [])) + more  # type: ignore[attr-defined, unused-ignore]  # pytest-html's
