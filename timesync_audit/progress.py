"""Which hosts a run had to check, which of them it finished, and which tests are still running
(on the controller).

A host is finished when every one of its tests reported (its teardown report came). The
tests come from the collection; under xdist the controller collects nothing, so they come
from the workers' collections (test ids: a rule's test id ends in `[<host identity>]`; an
`@<xdist group>` after it, which xdist_group marks add, is allowed for).
"""

from __future__ import annotations

import re

import pytest

from .report_properties import host_of

_HOST_IN_TEST_ID = re.compile(r"::\w+\[(.+://.*)\](?:@[^@]*)?$")


def host_in_test_id(nodeid: str) -> str | None:
    """t.py::test_x[ssh://root@[::1]:22] and t.py::test_x[ssh://root@h]@ssh://root_at_h -> the host."""
    found = _HOST_IN_TEST_ID.search(nodeid)
    return found.group(1) if found else None


class Progress:
    """Each collected test's host, and which tests reported their end."""

    def __init__(self) -> None:
        self.host_of_test: dict[str, str] = {}  # nodeid -> host, in collection order
        self.reported: set[str] = set()
        self._shown_as: dict[str, str] = {}  # a host as its test id spells it -> as its reports do
        #: (test id, xdist worker) -> the latest report of a test whose teardown report has not come
        self._running: dict[tuple[str, object], pytest.TestReport] = {}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            host = dict(item.user_properties).get("host")
            if host is not None:
                self.host_of_test[item.nodeid] = str(host)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        for nodeid in ids:  # every worker collects the same tests
            host = host_in_test_id(nodeid)
            if host is not None:
                self.host_of_test.setdefault(nodeid, host)

    def pytest_runtest_logreport(self, report) -> None:
        key = (report.nodeid, getattr(report, "node", None))  # a test id, and its xdist worker
        if report.when != "teardown":
            self._running[key] = report
            return
        self._running.pop(key, None)
        if report.nodeid not in self.host_of_test:
            return
        self.reported.add(report.nodeid)
        host = host_of(report)
        if host is not None:  # a test id escapes what a host name may hold, the report does not
            self._shown_as[self.host_of_test[report.nodeid]] = host

    def results_without_end(self) -> list[pytest.TestReport]:
        """The latest report of each test whose result came (its call, or a setup that failed or
        skipped) and whose teardown report did not: under xdist it may still be on its way."""
        return [r for r in self._running.values() if r.when == "call" or not r.passed]

    def hosts(self) -> list[str]:
        return [self._shown_as.get(h, h) for h in dict.fromkeys(self.host_of_test.values())]

    def unfinished(self) -> list[str]:
        hosts = dict.fromkeys(h for n, h in self.host_of_test.items() if n not in self.reported)
        return [self._shown_as.get(h, h) for h in hosts]
