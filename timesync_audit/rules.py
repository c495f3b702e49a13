"""Rule metadata, attached to each compliance test by one decorator.

The rule id is the test's name without `test_`, so the id in a report can
never disagree with the function that judged it.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Mapping

import pytest

from .display import escape
from .facts.daemon import Starts
from .outcomes import CouldNotCheck

SEVERITIES = ("high", "medium", "low", "unknown", "info")
#: what a rule judges of a daemon: its configuration (every start, and a refused configuration
#: fails), a unit of its own (chrony-wait), or what it does now (live state): judged once
JUDGES = ("configuration", "unit", "live")

#: every rule the suite defines, by id (filled as test modules are imported)
REGISTRY: dict[str, "RuleMeta"] = {}
#: the test function of each rule, so the project's own tests can run it on recorded facts
FUNCTIONS: dict[str, Callable] = {}


@dataclasses.dataclass(frozen=True)
class RuleMeta:
    rule_id: str
    title: str
    severity: str
    identifiers: Mapping[str, str]
    rationale: str
    remediation: str
    service: str
    judges: str = "configuration"

    def properties(self) -> list[tuple[str, str]]:
        """Name/value pairs for JUnit <properties> and the HTML report."""
        props = [("rule_id", self.rule_id), ("title", self.title), ("severity", self.severity),
                 ("service", self.service)]
        props += [(k.lower(), v) for k, v in self.identifiers.items()]
        return props

    def identifier_text(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.identifiers.items()) or "-"


def rule(*, title: str, severity: str, service: str, rationale: str, remediation: str,
         judges: str = "configuration", **identifiers: str) -> Callable:
    """Mark a `test_<rule id>` function as the check of that rule.

    Identifiers are keyword arguments named by scheme: cce=, stig=, cis=.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {SEVERITIES}")
    if judges not in JUDGES:
        raise ValueError(f"judges {judges!r} is not one of {JUDGES}")

    def attach(func: Callable) -> Callable:
        name = func.__name__
        if not name.startswith("test_"):
            raise ValueError(f"{name}: a rule test is named test_<rule id>")
        rule_id = name[len("test_"):]
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} is defined twice")
        ids = {k.upper(): v for k, v in identifiers.items() if v}
        meta = RuleMeta(rule_id, title, severity, ids, rationale, remediation, service, judges)

        @functools.wraps(func)
        def check(**kwargs):
            return judge_starts(func, meta, kwargs)

        REGISTRY[rule_id] = meta
        FUNCTIONS[rule_id] = check
        check.rule_meta = meta
        return pytest.mark.rule(meta)(check)

    return attach


def refused(daemon: str, refusal: str) -> str:
    return f"{daemon} refuses this configuration: {escape(refusal)}"


def judge_starts(func: Callable, meta: RuleMeta, kwargs: dict) -> None:
    """Run a check once per start of the daemon it is given (facts.daemon.Starts).

    A rule passes only when every start complies: the running daemon's configuration AND the
    next start's. A start whose configuration the daemon refuses fails a configuration rule
    with the daemon's reason. The message names the failing start when there are several."""
    name = next((k for k, v in kwargs.items() if isinstance(v, Starts)), None)
    if name is None:
        return func(**kwargs)
    starts = kwargs[name]
    if meta.judges != "configuration":  # one state for the whole daemon: judged once
        return func(**dict(kwargs, **{name: starts[0]}))
    failures: list[tuple[object, str]] = []
    skipped: list[BaseException] = []
    for start in starts:
        if start.refusal:
            failures.append((start, refused(starts.daemon, start.refusal)))
            continue
        try:
            func(**dict(kwargs, **{name: start}))
        except pytest.fail.Exception as exc:
            failures.append((start, str(exc.msg)))
        except AssertionError as exc:
            failures.append((start, str(exc)))
        except pytest.skip.Exception as exc:
            skipped.append(exc)
        except CouldNotCheck:
            raise
    if failures:
        if len(starts) == 1:
            pytest.fail(failures[0][1], pytrace=False)
        pytest.fail("\n".join(f"{start.start.describe()}: {text}" for start, text in failures), pytrace=False)
    if skipped and len(skipped) == len(starts):
        raise skipped[0]


def meta_of(item: pytest.Item) -> RuleMeta | None:
    marker = item.get_closest_marker("rule")
    return marker.args[0] if marker else None
