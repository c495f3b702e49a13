"""A live rule whose daemon is not running is non-compliant, in the rule's own words.

facts.live says so with DaemonNotRunning (a fact: the facts layer gives no verdict). Around
each test's call it becomes the non-compliance it means, reported as every other one is
(evidence.non_compliant: its text, no traceback).
"""

from __future__ import annotations

import pytest

from .evidence import non_compliant
from .facts.live import DaemonNotRunning


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    try:
        return (yield)
    except DaemonNotRunning as exc:
        finding = str(exc)
    non_compliant(finding)  # outside the except: the report holds the finding, not the fact beneath it
