"""What changed since a previous run (--baseline), and the exit code of --fail-on=regression.

Two results documents are compared per host (by identity) and rule. A host, a rule or a
result present in only one of the two runs is listed as such and never compared: a new host's
results are "new", and a host that left the run says nothing about this one.

With --fail-on=regression the nightly job goes red on what got worse only: new non-compliance
(a regression, or a new result that fails: nothing vouches for it), and new could-not-check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .categories import COULD_NOT_CHECK, NON_COMPLIANT

REGRESSION, NEW_COULD_NOT_CHECK, FIXED, UNCHANGED, NEW = (
    "regression",
    "new could not check",
    "fixed",
    "unchanged",
    "new",
)
#: in the order the summary lists them
KINDS = (REGRESSION, NEW_COULD_NOT_CHECK, FIXED, UNCHANGED, NEW)
_BAD = (NON_COMPLIANT, COULD_NOT_CHECK)
#: the terminal lists this many changes of each kind, then a count
MAX_LISTED = 20

EXIT_NOTHING_WORSE, EXIT_NEW_FAILURES, EXIT_NEW_COULD_NOT_CHECK = 0, 1, 3
EXIT_TEXT = {
    EXIT_NOTHING_WORSE: "nothing got worse since the baseline",
    EXIT_NEW_FAILURES: "new non-compliance since the baseline",
    EXIT_NEW_COULD_NOT_CHECK: "new could not check since the baseline",
}


def change_of(was: str | None, now: str) -> str:
    if was is None:
        return NEW
    if now == NON_COMPLIANT and was != NON_COMPLIANT:
        return REGRESSION
    if now == COULD_NOT_CHECK and was != COULD_NOT_CHECK:
        return NEW_COULD_NOT_CHECK
    if was in _BAD and now not in _BAD:
        return FIXED
    return UNCHANGED


@dataclasses.dataclass(frozen=True)
class Comparison:
    section: dict[str, Any]  # results.json's `baseline`
    changes: dict[tuple[str, str], dict[str, Any]]  # (host id, rule id) -> {kind, was}

    def count(self, kind: str) -> int:
        return int(self.section["counts"][kind])

    def exit_code(self) -> int:
        """--fail-on=regression: what got worse decides, the worst first."""
        new_bad = [c for c in self.changes.values() if c["kind"] == NEW]
        if self.count(NEW_COULD_NOT_CHECK) or any(c["now"] == COULD_NOT_CHECK for c in new_bad):
            return EXIT_NEW_COULD_NOT_CHECK
        if self.count(REGRESSION) or any(c["now"] == NON_COMPLIANT for c in new_bad):
            return EXIT_NEW_FAILURES
        return EXIT_NOTHING_WORSE


def compare(now: Mapping[str, Any], before: Mapping[str, Any], path: str) -> Comparison:
    """Compare a run's document (hosts and rules filled) with a baseline document."""
    hosts_now = {h["id"]: h for h in now["hosts"]}
    hosts_before = {h["id"]: h for h in before["hosts"]}
    rules_now, rules_before = set(now["rules"]), set(before["rules"])
    changes: dict[tuple[str, str], dict[str, Any]] = {}
    only_now: list[dict[str, str]] = []
    only_before: list[dict[str, str]] = []
    for host_id, host in hosts_now.items():
        earlier = hosts_before.get(host_id)
        earlier_results = earlier["results"] if earlier else {}
        for rule, result in host["results"].items():
            known = earlier_results.get(rule)
            if earlier is not None and known is None and rule in rules_before:
                only_now.append({"host": host_id, "rule": rule})
            was = known["category"] if known else None
            changes[(host_id, rule)] = {
                "kind": change_of(was, result["category"]),
                "was": was,
                "now": result["category"],
            }
        if earlier is not None:
            only_before += [
                {"host": host_id, "rule": rule}
                for rule in earlier_results
                if rule not in host["results"] and rule in rules_now
            ]
    counts = {kind: 0 for kind in KINDS}
    for change in changes.values():
        counts[change["kind"]] += 1
    section = {
        "path": path,
        "started": before["run"]["started"],
        "suite_version": before["run"]["suite_version"],
        "counts": counts,
        "only_in_baseline": {
            "hosts": sorted(set(hosts_before) - set(hosts_now)),
            "rules": sorted(rules_before - rules_now),
            "results": only_before,
        },
        "only_in_run": {
            "hosts": sorted(set(hosts_now) - set(hosts_before)),
            "rules": sorted(rules_now - rules_before),
            "results": only_now,
        },
        "regressions": _pairs(changes, REGRESSION),
        "new_could_not_check": _pairs(changes, NEW_COULD_NOT_CHECK),
        "fixed": _pairs(changes, FIXED),
    }
    return Comparison(section, changes)


def _pairs(changes: Mapping[tuple[str, str], Mapping[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [
        {"host": host, "rule": rule, "was": c["was"], "now": c["now"]}
        for (host, rule), c in sorted(changes.items())
        if c["kind"] == kind
    ]


def annotate(document: dict[str, Any], comparison: Comparison) -> None:
    """Each result of the run's document gets its `change`; the document its `baseline`."""
    for host in document["hosts"]:
        for rule, result in host["results"].items():
            change = comparison.changes.get((host["id"], rule))
            if change is not None:
                result["change"] = {"kind": change["kind"], "was": change["was"]}
    document["baseline"] = comparison.section


def summary_lines(comparison: Comparison) -> list[str]:
    """The terminal's "since" part: counts, what got worse and what was fixed, what is in one run only."""
    section = comparison.section
    counts = ", ".join(f"{comparison.count(kind)} {kind}" for kind in KINDS)
    lines = [f"since {section['started']} ({section['path']}): {counts}"]
    for key, kind in (("regressions", REGRESSION), ("new_could_not_check", NEW_COULD_NOT_CHECK), ("fixed", FIXED)):
        pairs = section[key]
        for pair in pairs[:MAX_LISTED]:
            lines.append(f"  {kind:<19} {pair['host']} {pair['rule']}: {pair['was']} -> {pair['now']}")
        if len(pairs) > MAX_LISTED:
            lines.append(f"  {kind:<19} ... and {len(pairs) - MAX_LISTED} more (results.json: baseline)")
    for key, where in (("only_in_run", "only in this run"), ("only_in_baseline", "only in the baseline")):
        part = section[key]
        for what in ("hosts", "rules"):
            if part[what]:
                lines.append(f"  {where}, {what} (not compared): {_listed(part[what])}")
        if part["results"]:
            lines.append(f"  {where}, {len(part['results'])} results of hosts and rules both runs have (not compared)")
    return lines


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" ... and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def junit_properties(comparison: Comparison) -> list[tuple[str, object]]:
    section = comparison.section
    props: list[tuple[str, object]] = [
        ("baseline", section["path"]),
        ("baseline_started", section["started"]),
    ]
    props += [(kind.replace(" ", "_") + ("s" if kind == REGRESSION else ""), comparison.count(kind)) for kind in KINDS]
    for key in ("only_in_baseline", "only_in_run"):
        for what in ("hosts", "rules"):
            props.append((f"{key}_{what}", ",".join(section[key][what])))
    for index, pair in enumerate(section["regressions"][:MAX_LISTED], 1):
        props.append((f"regression_{index}", f"{pair['host']} {pair['rule']}: {pair['was']} -> {pair['now']}"))
    return props
