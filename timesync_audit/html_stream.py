"""pytest-html's report, its page written in parts and each test's reports let go with its row.

pytest-html keeps the reports of every test until the session ends, and writes its page as
one string made of others: the rows as JSON, that JSON escaped into an attribute, the page
around it. At 1,000 hosts that is three copies of about 90 MB each at once. Here its own
template makes the page, with a mark where the rows go; the rows are written in place of the
mark, as JSON escaped the way Jinja escapes it, one test at a time. A test's reports are let
go once its row is made, and the cells and column values that rows repeat (a rule, a host, a
result) are one string for all of them. The page is byte for byte pytest-html's.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest

from .json_parts import dumps_in_parts

#: stands in for the rows while the template makes the page
_MARK = "timesync-audit-rows"


class _WithoutRows:
    """pytest-html's report data as the template reads it, the rows replaced by the mark."""

    def __init__(self, data: Any) -> None:
        self.whole = data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.whole, name)

    @property
    def data(self) -> str:
        return _MARK


class StreamingReport:
    """Mixed in before pytest-html's report class (Report or SelfContainedReport)."""

    _report: Any
    _shared: dict[str, str]  # a cell or column value -> the one string every row holding it uses

    @pytest.hookimpl(trylast=True)  # as pytest-html's own: after every other plugin's
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        super().pytest_runtest_logreport(report)  # type: ignore[misc]
        if report.when == "teardown" and report.outcome != "rerun":  # its row is made
            self._reports.pop(report.nodeid, None)  # type: ignore[attr-defined]

    def _hydrate_data(self, data: dict[str, Any], cells: list[str]) -> None:
        """pytest-html's: a sortable column's value from its cell (col-<name>), into the row's data."""
        shared = self.__dict__.setdefault("_shared", {})
        header = self._report.table_header
        for index, cell in enumerate(cells):
            name_match = re.search(r"col-(\w+)", cell)
            name = sys.intern(name_match.group(1)) if name_match else None
            if name != "testId":  # the one column no two rows share
                cells[index] = shared.setdefault(cell, cell)
            data_match = re.search(r"<td.*?>(.*?)</td>", cell)
            if "sortable" in header[index] and name and data_match:
                value = data_match.group(1)
                data[name] = value if name == "testId" else shared.setdefault(value, value)

    def _generate_report(self, *args: Any, **kwargs: Any) -> None:
        whole = self._report
        self._report = _WithoutRows(whole)
        try:
            super()._generate_report(*args, **kwargs)  # type: ignore[misc]
        finally:
            self._report = whole

    def _write_report(self, rendered_report: str) -> None:
        import markupsafe  # Jinja's, loaded with it: not at start-up

        head, mark, tail = rendered_report.partition(str(markupsafe.escape(json.dumps(_MARK))))
        data = getattr(self._report, "whole", self._report).data
        if not mark:
            super()._write_report(rendered_report)  # type: ignore[misc]
            return
        with self._report_path.open("w", encoding="utf-8") as page:  # type: ignore[attr-defined]
            page.write(head)
            for chunk in dumps_in_parts(data):  # json.dumps(data), as pytest-html makes it
                page.write(markupsafe.escape(chunk))
            page.write(tail)


def pages(config: pytest.Config) -> list[Any]:
    """pytest-html's report objects (one per --html; none without it or without pytest-html)."""
    try:
        from pytest_html.basereport import BaseReport  # optional: the HTML report's plugin
    except ImportError:
        return []
    return [plugin for plugin in config.pluginmanager.get_plugins() if isinstance(plugin, BaseReport)]


def install(config: pytest.Config) -> None:
    """Once pytest-html made its report (controller only): the same report, streaming."""
    for page in pages(config):
        cls = type(page)
        if not isinstance(page, StreamingReport):
            config.pluginmanager.unregister(page)
            page.__class__ = type(f"Streaming{cls.__name__}", (StreamingReport, cls), {})
            config.pluginmanager.register(page)
