"""The three outcomes besides "passed", kept apart.

failed  = non-compliant: a plain assertion in the rule test;
skipped = the rule does not apply: `not_applicable(reason)`;
error   = the host could not be checked: CouldNotCheck, raised while the
          fixtures set up, so pytest reports an error, never a failure.
"""

from __future__ import annotations

import pytest


class CouldNotCheck(Exception):
    """The host could not be checked (unreachable, permission denied, timeout...)."""


#: how a not-applicable skip's message begins (findings.py reports it without a traceback walk)
NOT_APPLICABLE_PREFIX = "not applicable: "


def not_applicable(reason: str) -> None:
    pytest.skip(f"{NOT_APPLICABLE_PREFIX}{reason}")
