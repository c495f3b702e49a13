"""What results.json says of each host and rule, recorded on the controller from the reports.

Under xdist the controller runs no test: everything comes from the reports the workers send
(their user_properties: the host, the rule, the gather's round trips, time and OS; the category
the outcome chain set). A test's result is its worst phase's, with that phase's message.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from typing import Any

import pytest

from . import inventory, results
from .categories import COMPLIANT, COULD_NOT_CHECK, NOT_APPLICABLE, RANK, category_of
from .deadhosts import DeadHosts
from .identity import bare_name
from .progress import Progress
from .report_properties import properties
from .rules import REGISTRY, SEVERITIES, catalog
from .stash_keys import HOST_POLICIES, POLICY

#: the OS properties a report carries (outcome_chain.py), as results.json names them
_OS = {"os_id": "id", "os_version_id": "version_id", "os_pretty_name": "pretty_name"}


@dataclasses.dataclass
class Recorded:
    host: str
    rule: str
    category: str
    message: str
    waiver: dict[str, str] | None
    test: str
    duration_s: float


def _message(report, category: str) -> str:
    if category == COMPLIANT:
        return ""
    longrepr = report.longrepr
    if category == NOT_APPLICABLE and isinstance(longrepr, tuple) and len(longrepr) == 3:
        return results.result_message(str(longrepr[2]).removeprefix("Skipped: "))
    crash = getattr(longrepr, "reprcrash", None)
    if category == COULD_NOT_CHECK and crash is not None:  # a rule that crashed: its exception, not the traceback
        return results.result_message(f"the rule crashed, no verdict: {crash.message}")
    return results.result_message(report.longreprtext)


def _waiver(props: dict[str, Any]) -> dict[str, str] | None:
    if "waiver_expires" in props:
        status, expires = "applied", props["waiver_expires"]
    elif "waiver_expired" in props:
        status, expires = "expired", props["waiver_expired"]
    else:
        return None
    return {
        "status": status,
        "justification": str(props.get("waiver", "")),
        "expires": str(expires),
        "source": str(props.get("waiver_source", "")),
    }


def _test_id(nodeid: str) -> str:
    """The test's id without xdist's @group suffix (a group holds no '@'; a host id may)."""
    head, sep, tail = nodeid.rpartition("@")
    return head if sep and head.endswith("]") and "[" not in tail else nodeid


class Recorder:
    """Every rule test's result per host, and what each host's reports say about its gather."""

    def __init__(self, progress: Progress, dead_hosts: DeadHosts) -> None:
        self.progress = progress
        self.dead_hosts = dead_hosts
        self.started = datetime.datetime.now(datetime.UTC)
        self._clock = time.monotonic()
        self.tests: dict[str, Recorded] = {}
        self.gather: dict[str, dict[str, Any]] = {}
        self.os: dict[str, dict[str, str]] = {}
        self.hosts_seen: dict[str, None] = {}
        self.rule_props: dict[str, dict[str, Any]] = {}  # rule id -> the properties its reports carry

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = datetime.datetime.now(datetime.UTC)
        self._clock = time.monotonic()

    def pytest_runtest_logreport(self, report) -> None:
        category = category_of(report)
        props = properties(report)
        host, rule = props.get("host"), props.get("rule_id")
        if host is None:
            return
        host = str(host)
        self.hosts_seen.setdefault(host)
        self._host_facts(host, props)
        if category is None or rule is None:
            return
        self.rule_props.setdefault(str(rule), props)
        before = self.tests.get(report.nodeid)
        duration = float(getattr(report, "duration", 0.0) or 0.0) + (before.duration_s if before else 0.0)
        if before is None or RANK[category] > RANK[before.category]:
            waiver = _waiver(props) or (before.waiver if before else None)
            self.tests[report.nodeid] = Recorded(
                host, str(rule), category, _message(report, category), waiver, _test_id(report.nodeid), duration
            )
        else:
            before.duration_s = duration

    def _host_facts(self, host: str, props: dict[str, Any]) -> None:
        if "gather_id" in props and host not in self.gather:
            try:
                self.gather[host] = {
                    "round_trips": int(props["gather_round_trips"]),
                    "seconds": round(float(props.get("gather_seconds", 0.0)), 3),
                    "id": str(props["gather_id"]),
                }
            except (KeyError, ValueError):
                pass
        if "os_id" in props and host not in self.os:
            self.os[host] = {name: str(props.get(key, "")) for key, name in _OS.items()}

    # -- the document --------------------------------------------------------------------------------

    def duration(self) -> float:
        return round(time.monotonic() - self._clock, 3)

    def host_ids(self) -> list[str]:
        return list(dict.fromkeys([*self.progress.hosts(), *self.hosts_seen]))

    def hosts(self, config: pytest.Config, run_policy: dict) -> list[dict[str, Any]]:
        unfinished = set(self.progress.unfinished())
        dead = {d.host: d.message for d in self.dead_hosts.found()}
        by_host: dict[str, dict[str, Any]] = {h: {} for h in self.host_ids()}
        for recorded in self.tests.values():
            by_host.setdefault(recorded.host, {})[recorded.rule] = {
                "category": recorded.category,
                "message": recorded.message,
                "evidence": results.evidence_of(recorded.message),
                "waiver": recorded.waiver,
                "test": recorded.test,
                "duration_s": round(recorded.duration_s, 4),
            }
        entries = []
        for host_id in sorted(by_host):
            name = bare_name(host_id)
            policy = results.policy_entry(config.stash[HOST_POLICIES].get(name) or config.stash[POLICY])
            entries.append(
                {
                    "id": host_id,
                    "name": name,
                    "backend": host_id.split("://", 1)[0] if "://" in host_id else "local",
                    "groups": sorted(inventory.host_groups(config, name)),
                    "policy": policy,
                    "policy_differs": results.policy_differs(policy, run_policy),
                    "gather": self.gather.get(host_id),
                    "os": self.os.get(host_id),
                    "dead": dead.get(host_id),
                    "finished": host_id not in unfinished,
                    "results": dict(sorted(by_host[host_id].items())),
                }
            )
        return entries

    def rules(self) -> dict[str, dict[str, Any]]:
        """The metadata of every rule a result names. Under xdist the controller imports no rule
        module: the data files say it, else (a suite of inline rules) what the reports carried."""
        entries = {}
        for rule in sorted({r.rule for r in self.tests.values()}):
            meta = REGISTRY.get(rule) or catalog().get(rule)
            entries[rule] = results.rule_entry(meta) if meta else _rule_from_properties(self.rule_props[rule])
        return entries


def _rule_from_properties(props: dict[str, Any]) -> dict[str, Any]:
    severity = str(props.get("severity"))
    return results.bare_rule_entry(
        title=str(props.get("title", "")),
        severity=severity if severity in SEVERITIES else "unknown",
        service=str(props.get("service", "")),
    )
