"""The fleet matrix (host x rule) and fleet.html, rendered from a results document alone.

Two outputs share one matrix template: `matrix_fragment` is inserted at the top of pytest-html's
report.html (a click on a cell opens that test's row of pytest-html's table), `fleet_page` is
reports/fleet.html, a page with no external resource (a click opens the host's rule detail).

Everything in the document may come from a hostile host (names, OS names, messages): the
templates are Jinja2 with autoescape on, and this module only shapes data for them. The page
must stay small and fast at 500 hosts x 48 rules, so each cell is one short static element whose
host and rule the script finds from its row and column, never from per-cell attributes.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
import pathlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import jinja2

from .categories import CATEGORIES, COMPLIANT, COULD_NOT_CHECK, NON_COMPLIANT, NOT_APPLICABLE, WAIVED
from .display import shorten

TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates"
#: a cell's letter (the class that colours it is the same letter): it reads without colour
LETTER = {COMPLIANT: "P", NON_COMPLIANT: "F", WAIVED: "W", NOT_APPLICABLE: "N", COULD_NOT_CHECK: "E"}
#: a host without a result for a rule (an interrupted run)
MISSING = "-"
#: the per-host and per-rule totals, worst first
TOTALS = (NON_COMPLIANT, COULD_NOT_CHECK, WAIVED, NOT_APPLICABLE, COMPLIANT)
TOTAL_NAMES = {NON_COMPLIANT: "failed", COULD_NOT_CHECK: "could not check", WAIVED: "waived"}
TOTAL_NAMES |= {NOT_APPLICABLE: "n/a", COMPLIANT: "passed"}
#: a change since the baseline: the cell's badge class and what the legend says of it
BADGE = {"regression": "r", "new could not check": "q", "fixed": "x", "new": "n"}
BADGE_GLYPH = {"r": "!", "q": "?", "x": "\u2713", "n": "+"}
SEVERITY_LETTER = {"high": "H", "medium": "M", "low": "L", "info": "I", "unknown": "?"}
#: the families in the order a reader checks them: what is installed and running, then each service
FAMILY_ORDER = ("packages", "services", "chrony", "ntpd", "timesyncd", "common", "live")
#: prefixes the family header already says: the rotated column label drops them
_LABEL_PREFIXES = ("chronyd_or_ntpd_", "chronyd_", "chrony_", "ntpd_", "ntp_", "timesyncd_", "service_", "package_")
#: a tooltip holds the start and end of a long message, not all of it
MAX_TIP = 240
#: a baseline list (regressions, fixed...) shows this many pairs, then a count
MAX_LISTED = 200


@dataclasses.dataclass(frozen=True)
class Column:
    index: int
    id: str
    label: str
    tip: str
    severity: str
    sev: str
    family: str


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    span: int

    @property
    def label(self) -> str:
        """The name, cut to what its columns (19 px each, 6.5 px a letter) hold; whole in the tooltip."""
        fits = int(self.span * 19 / 6.5)
        return self.name if len(self.name) <= fits else self.name[: max(1, fits - 1)] + "\u2026"


@dataclasses.dataclass(frozen=True, slots=True)  # one per host and rule
class Cell:
    letter: str
    css: str
    tip: str


@dataclasses.dataclass(frozen=True)
class Row:
    index: int
    name: str
    id: str
    group: str
    tip: str
    cells: list[Cell]
    totals: list[int]


@dataclasses.dataclass(frozen=True)
class Matrix:
    families: list[Family]
    columns: list[Column]
    rows: list[Row]
    footer: list[tuple[str, str, list[int]]]  # (letter, name, per-rule counts)
    since: str | None


@dataclasses.dataclass(frozen=True)
class PolicyItem:
    key: str
    value: str
    origin: str
    run_value: str


@dataclasses.dataclass(frozen=True)
class PolicyScope:
    kind: str  # "group" or "host"
    name: str
    hosts: int
    items: list[PolicyItem]


# -- the matrix -----------------------------------------------------------------------------------


def _family_rank(family: str) -> tuple[int, str]:
    return (FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER), family)


def _label(rule_id: str) -> str:
    for prefix in _LABEL_PREFIXES:
        if rule_id.startswith(prefix) and len(rule_id) > len(prefix):
            return rule_id[len(prefix) :]
    return rule_id


def rule_ids(document: Mapping[str, Any]) -> list[str]:
    """Every rule of the document (its metadata, and any result's), grouped by family."""
    known = dict(document["rules"])
    for host in document["hosts"]:
        for rule_id in host["results"]:
            known.setdefault(rule_id, {})
    return sorted(known, key=lambda r: (_family_rank(known[r].get("family", "other")), r))


def columns(document: Mapping[str, Any]) -> list[Column]:
    """The matrix's rule columns: a short rotated label, the full id, title and severity in its tooltip."""
    out = []
    for index, rule_id in enumerate(rule_ids(document)):
        meta = document["rules"].get(rule_id, {})
        severity = meta.get("severity", "unknown")
        tip = f"{rule_id}\n{meta.get('title', '')}\nseverity: {severity}"
        out.append(
            Column(
                index,
                rule_id,
                _label(rule_id),
                tip,
                severity,
                SEVERITY_LETTER.get(severity, "?"),
                meta.get("family", "other"),
            )
        )
    return out


def families(cols: Sequence[Column]) -> list[Family]:
    """The header row above the rule columns: each family once, spanning its (adjacent) rules."""
    out: list[Family] = []
    for col in cols:
        if out and out[-1].name == col.family:
            out[-1] = Family(col.family, out[-1].span + 1)
        else:
            out.append(Family(col.family, 1))
    return out


def when(timestamp: str) -> str:
    """A document's timestamp as a reader says it: 2026-12-01 02:00 UTC."""
    try:
        moment = datetime.datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _since(document: Mapping[str, Any]) -> str | None:
    section = document.get("baseline")
    return when(section["started"]) if section else None


def change_text(change: Mapping[str, Any] | None, since: str | None) -> str:
    """What a result's `change` says, for a tooltip or a detail row; empty when unchanged."""
    if not change or change["kind"] == "unchanged":
        return ""
    was = change.get("was") or "no result"
    return f"{change['kind']} since {since or 'the baseline'} (was {was})"


def cell(result: Mapping[str, Any] | None, since: str | None) -> Cell:
    """One cell: its letter (it reads without colour), its class (the colour, and a change badge),
    and its tooltip: the message, cut in the middle, and what changed since the baseline."""
    if result is None:
        return Cell(MISSING, "X", "no result for this rule on this host")
    letter = LETTER[result["category"]]
    change = result.get("change")
    badge = BADGE.get(change["kind"], "") if change else ""
    tip = "\n".join(t for t in (shorten(result["message"], MAX_TIP), change_text(change, since)) if t)
    return Cell(letter, f"{letter} {badge}" if badge else letter, tip)


def _totals(found: Iterable[Mapping[str, Any]]) -> list[int]:
    """Failed, could not check, waived, n/a, passed: the order of the totals columns."""
    counts = Counter(r["category"] for r in found)
    return [counts[c] for c in TOTALS]


def _host_tip(host: Mapping[str, Any]) -> str:
    parts = [host["id"], "groups: " + (", ".join(host["groups"]) or "none")]
    if host.get("dead"):
        parts.append(f"dead: {host['dead']}")
    if not host.get("finished", True):
        parts.append("unfinished: the run was interrupted")
    return "\n".join(parts)


def rows(document: Mapping[str, Any], cols: Sequence[Column], since: str | None) -> list[Row]:
    """A row per host, in the document's order (the script sorts them): cells, then its totals."""
    out = []
    for index, host in enumerate(document["hosts"]):
        found = host["results"]
        cells = [cell(found.get(col.id), since) for col in cols]
        group = ",".join(host["groups"])
        out.append(Row(index, host["name"], host["id"], group, _host_tip(host), cells, _totals(found.values())))
    return out


def footer(document: Mapping[str, Any], cols: Sequence[Column]) -> list[tuple[str, str, list[int]]]:
    """The per-rule totals: a footer row per category, worst first."""
    per_rule: dict[str, Counter[str]] = {col.id: Counter() for col in cols}
    for host in document["hosts"]:
        for rule_id, result in host["results"].items():
            per_rule[rule_id][result["category"]] += 1
    return [(LETTER[c], TOTAL_NAMES[c], [per_rule[col.id][c] for col in cols]) for c in TOTALS]


def matrix(document: Mapping[str, Any]) -> Matrix:
    cols = columns(document)
    since = _since(document)
    return Matrix(families(cols), cols, rows(document, cols, since), footer(document, cols), since)


# -- report.html: each cell's pytest node id ------------------------------------------------------

#: stands for the host's id in a rule's node id template (no node id holds it)
HOST_MARK = "\x01"


def node_ids(document: Mapping[str, Any], cols: Sequence[Column]) -> dict[str, Any]:
    """The node id of every cell, compactly: per rule a template with the host id marked (the
    node ids of a rule differ by the host id only), and the cells that do not follow it."""
    hosts = [h["id"] for h in document["hosts"]]
    templates, exceptions = [], {}
    for r, col in enumerate(cols):
        marked = {}
        for h, host in enumerate(document["hosts"]):
            result = host["results"].get(col.id)
            if result is not None:
                marked[h] = result["test"].replace(host["id"], HOST_MARK) if host["id"] else result["test"]
        common = Counter(marked.values()).most_common(1)
        template = common[0][0] if common else ""
        templates.append(template)
        for h, test in marked.items():
            if test != template or (HOST_MARK not in test and len(marked) > 1):
                exceptions[f"{h}_{r}"] = document["hosts"][h]["results"][col.id]["test"]
    return {"hosts": hosts, "rules": templates, "mark": HOST_MARK, "cells": exceptions}


# -- policy where it differs ----------------------------------------------------------------------


def value_text(value: Any) -> str:
    """A policy value as the report's environment table shows it."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "(none)"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _differences(host: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    policy = host["policy"]
    return tuple(
        (key, value_text(policy[key]["value"]), policy[key]["origin"])
        for key in host["policy_differs"]
        if key in policy
    )


def _scope(kind: str, name: str, hosts: int, diff: Sequence[tuple[str, str, str]], run: Mapping) -> PolicyScope:
    items = [PolicyItem(k, v, o, value_text(run[k]["value"]) if k in run else "unset") for k, v, o in diff]
    return PolicyScope(kind, name, hosts, items)


def policy_scopes(document: Mapping[str, Any]) -> list[PolicyScope]:
    """The policy keys whose value is not the run's: per group where every host of the group has
    the same differences (values and origins), else per host. Largest groups first, so that a
    group inside a uniform larger one is not listed again."""
    run = document["run"]["policy"]
    diffs = {h["id"]: _differences(h) for h in document["hosts"]}
    members: dict[str, list[str]] = {}
    for host in document["hosts"]:
        for group in host["groups"]:
            members.setdefault(group, []).append(host["id"])
    covered: set[str] = set()
    scopes = []
    for group, ids in sorted(members.items(), key=lambda g: (-len(g[1]), g[0])):
        found = {diffs[i] for i in ids}
        if len(found) == 1 and next(iter(found)) and not covered.issuperset(ids):
            scopes.append(_scope("group", group, len(ids), next(iter(found)), run))
            covered.update(ids)
    for host in document["hosts"]:
        if diffs[host["id"]] and host["id"] not in covered:
            scopes.append(_scope("host", host["name"], 1, diffs[host["id"]], run))
    return scopes


# -- fleet.html: the run, the baseline, each host ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DetailRow:
    dom_id: str
    rule: str
    letter: str
    category: str
    message: str
    evidence: str
    waiver: str
    change: str


#: a host's folded rows: (summary, the message they all share, rows), each a closed <details>
Folded = list[tuple[str, str, list[DetailRow]]]


@dataclasses.dataclass(frozen=True)
class HostDetail:
    index: int
    name: str
    id: str
    groups: str
    os: str
    gather: str
    dead: str
    finished: bool
    policy: list[PolicyItem]
    totals: list[int]
    open_rows: list[DetailRow]
    folded: Folded


def waiver_text(waiver: Mapping[str, Any] | None) -> str:
    """The waiver of a result in one line: whether it applies, until when, why, and where it is written."""
    if not waiver:
        return ""
    status = "waived" if waiver["status"] == "applied" else "waiver expired"
    return f"{status} until {waiver['expires']}: {waiver['justification']} ({waiver['source']})"


def detail_row(h: int, r: int, rule_id: str, result: Mapping[str, Any], since: str | None) -> DetailRow:
    letter = LETTER[result["category"]]
    change = change_text(result.get("change"), since)
    return DetailRow(
        f"d{h}_{r}",
        rule_id,
        letter,
        result["category"],
        result["message"],
        ", ".join(result["evidence"]),
        waiver_text(result["waiver"]),
        change,
    )


def _os_text(os_release: Mapping[str, Any] | None) -> str:
    if not os_release:
        return "not read"
    return f"{os_release['pretty_name']} ({os_release['id']} {os_release['version_id']})"


def _gather_text(gather: Mapping[str, Any] | None) -> str:
    if not gather:
        return "no gather finished"
    return f"{gather['round_trips']} round trips, {gather['seconds']:.2f} s"


#: the order of a host's open rows: what needs doing first
_OPEN_ORDER = {NON_COMPLIANT: 0, COULD_NOT_CHECK: 1, WAIVED: 2, NOT_APPLICABLE: 3}


def _fold(host: Mapping[str, Any], found: list[DetailRow]) -> tuple[list[DetailRow], Folded]:
    """Compliant rows are folded into a list of rule ids; so are a dead host's could-not-check
    rows, whose message (the same for all: the host did not answer) is said once."""
    passed = [d for d in found if d.category == COMPLIANT]
    dead = [d for d in found if host.get("dead") and d.category == COULD_NOT_CHECK]
    shown = sorted((d for d in found if d not in passed and d not in dead), key=lambda d: _OPEN_ORDER[d.category])
    folded: Folded = []
    if dead:
        common = Counter(d.message for d in dead).most_common(1)[0][0]
        folded.append((f"{len(dead)} could not check: {common}", common, dead))
    if passed:
        fixed = sum(1 for d in passed if d.change.startswith("fixed"))
        folded.append((f"{len(passed)} compliant" + (f" ({fixed} fixed)" if fixed else ""), "", passed))
    return shown, folded


def host_detail(document: Mapping[str, Any], h: int, cols: Sequence[Column], since: str | None) -> HostDetail:
    """A host's part of fleet.html: who it is, how it was gathered, its own policy, its results."""
    host = document["hosts"][h]
    found = [
        detail_row(h, col.index, col.id, host["results"][col.id], since) for col in cols if col.id in host["results"]
    ]
    shown, folded = _fold(host, found)
    run = document["run"]["policy"]
    return HostDetail(
        h,
        host["name"],
        host["id"],
        ", ".join(host["groups"]) or "none",
        _os_text(host["os"]),
        _gather_text(host["gather"]),
        host["dead"] or "",
        host["finished"],
        _scope("host", host["name"], 1, _differences(host), run).items,
        _totals(host["results"].values()),
        shown,
        folded,
    )


def _pairs(section: Mapping[str, Any], key: str) -> tuple[list[Mapping[str, Any]], int]:
    pairs = section[key]
    return pairs[:MAX_LISTED], max(0, len(pairs) - MAX_LISTED)


def _only(part: Mapping[str, Any], what: str) -> tuple[list[str], int]:
    """The hosts or rules, or the "host rule" of results, present in one run only (the first
    MAX_LISTED), and how many there are."""
    found = [f"{r['host']} {r['rule']}" for r in part[what]] if what == "results" else list(part[what])
    more = [f"... and {len(found) - MAX_LISTED} more"] if len(found) > MAX_LISTED else []
    return found[:MAX_LISTED] + more, len(found)


#: the baseline's lists of (host, rule) pairs, as the page titles them
_CHANGE_LISTS = (("Regressions", "regressions"), ("New could not check", "new_could_not_check"), ("Fixed", "fixed"))


def baseline_view(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """What changed since the baseline: its date, counts, the changed pairs, what one run only has."""
    section = document.get("baseline")
    if not section:
        return None
    lists = [(title, *_pairs(section, key)) for title, key in _CHANGE_LISTS]
    only = [
        (f"{what} only in {where}", *_only(section[key], what.lower()))
        for key, where in (("only_in_baseline", "the baseline"), ("only_in_run", "this run"))
        for what in ("Hosts", "Rules", "Results")
        if section[key].get(what.lower())
    ]
    return {"since": when(section["started"]), "section": section, "lists": lists, "only": only}


def run_view(document: Mapping[str, Any]) -> dict[str, Any]:
    """The run as the summary shows it: its times in words, its counts in the categories' order."""
    run = document["run"]
    return {
        "run": run,
        "started": when(run["started"]),
        "finished": when(run["finished"]),
        "duration": f"{run['duration_s']:.1f} s",
        "counts": [(LETTER[c], c, run["counts"].get(c, 0)) for c in CATEGORIES],
        "hosts": len(document["hosts"]),
        "rules": len(rule_ids(document)),
    }


# -- rendering --------------------------------------------------------------------------------------


def environment() -> jinja2.Environment:
    """Autoescape on for every template: the document's text comes from the hosts."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(badge_glyph=BADGE_GLYPH, total_names=[TOTAL_NAMES[c] for c in TOTALS], letter=LETTER)
    env.globals["total_letters"] = [LETTER[c] for c in TOTALS]
    return env


@functools.cache
def _env() -> jinja2.Environment:
    """Made at the first page (templates are compiled then), not when the plugin is imported."""
    return environment()


def _matrix_context(document: Mapping[str, Any], mode: str) -> dict[str, Any]:
    view = matrix(document)
    return {
        "m": view,
        "mode": mode,
        "tests": node_ids(document, view.columns) if mode == "report" else None,
        "policy_scopes": policy_scopes(document),
        "baseline": baseline_view(document),
        "summary": run_view(document),
    }


def matrix_fragment(document: Mapping[str, Any]) -> str:
    """The matrix for the top of report.html: its own scoped style and script, a click opens the
    test's row of pytest-html's table."""
    return _env().get_template("matrix.html.j2").render(_matrix_context(document, "report"))


def fleet_page(document: Mapping[str, Any]) -> str:
    """fleet.html: the run, what changed since the baseline, the matrix, each host's detail."""
    return "".join(fleet_page_parts(document))


def fleet_page_parts(document: Mapping[str, Any]) -> Iterator[str]:
    """fleet.html as it is made: each host's detail made as the page reaches it, and let go."""
    context = _matrix_context(document, "page")
    cols = context["m"].columns
    since = context["m"].since
    context["hosts"] = (host_detail(document, h, cols, since) for h in range(len(document["hosts"])))
    context["rules"] = [(col, document["rules"].get(col.id, {})) for col in cols]
    return _env().get_template("fleet.html.j2").generate(context)


def write_fleet_page(document: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Whole or not at all, as results.json is written."""
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    with partial.open("w", encoding="utf-8") as out:
        out.writelines(fleet_page_parts(document))
    os.replace(partial, target)
