"""One fleet from the results of its shards (--shard=K/N runs): `python -m timesync_audit merge`.

The shards must be one audit cut in N: the same N, each K once and none missing, the same
profile, policy and suite version, no host in two shards. The merged document is what one run
would have written (counts, exit code, a baseline's comparison), and the reports are made from
it: results.json, fleet.html, the HDF files and junit.xml.
"""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Sequence
from typing import Any

from . import baseline, results
from .categories import COULD_NOT_CHECK, NON_COMPLIANT
from .verdicts import EXIT_COMPLIANT, EXIT_COULD_NOT_CHECK, EXIT_INTERRUPTED, EXIT_NON_COMPLIANT

_MEANING = {
    EXIT_COMPLIANT: "compliant",
    EXIT_NON_COMPLIANT: "non-compliant",
    EXIT_INTERRUPTED: "interrupted",
    EXIT_COULD_NOT_CHECK: "could not check every rule",
}


class MergeError(ValueError):
    """Shards that are not one audit cut in N (names the shard and why)."""


def results_path(shard: str | pathlib.Path) -> pathlib.Path:
    """A shard is its results.json, or a folder holding one (reports/results.json or results.json)."""
    path = pathlib.Path(shard)
    if path.is_dir():
        for candidate in (path / "results.json", path / "reports" / "results.json"):
            if candidate.exists():
                return candidate
        raise MergeError(f"{path}: no results.json in it (nor in its reports/)")
    return path


def load_shards(shards: Sequence[str | pathlib.Path]) -> list[tuple[pathlib.Path, dict]]:
    loaded = []
    for shard in shards:
        path = results_path(shard)
        try:
            loaded.append((path, results.load(path)))
        except results.ResultsError as exc:
            raise MergeError(str(exc)) from None
    return loaded


def check(loaded: list[tuple[pathlib.Path, dict]]) -> int:
    """The shards' N, or MergeError: which shard is missing, twice, or of another audit."""
    if not loaded:
        raise MergeError("no shard given")
    parts = []
    for path, document in loaded:
        shard = document["run"].get("shard")
        if not shard:
            raise MergeError(f"{path}: not a shard (its run had no --shard)")
        k, n = (int(x) for x in shard.split("/"))
        parts.append((path, k, n))
    totals = {n for _, _, n in parts}
    if len(totals) > 1:
        raise MergeError("shards of different cuts: " + ", ".join(f"{p} is {k}/{n}" for p, k, n in parts))
    (n,) = totals
    seen: dict[int, pathlib.Path] = {}
    for path, k, _ in parts:
        if k in seen:
            raise MergeError(f"shard {k}/{n} given twice: {seen[k]} and {path}")
        seen[k] = path
    missing = [f"{k}/{n}" for k in range(1, n + 1) if k not in seen]
    if missing:
        raise MergeError(f"shard {', '.join(missing)} missing (given: {', '.join(f'{k}/{n}' for k in sorted(seen))})")
    first_path, first = loaded[0]
    for path, document in loaded[1:]:
        for what, key in (("profile", "profile"), ("suite version", "suite_version"), ("--fail-on", "fail_on")):
            if document["run"].get(key) != first["run"].get(key):
                raise MergeError(
                    f"{path}: {what} {document['run'].get(key)!r}, but {first_path}: {first['run'].get(key)!r}"
                )
        if _values(document["run"]["policy"]) != _values(first["run"]["policy"]):
            differ = sorted(
                k for k, v in _values(document["run"]["policy"]).items() if _values(first["run"]["policy"]).get(k) != v
            )
            raise MergeError(f"{path}: another policy than {first_path} ({', '.join(differ)})")
    hosts: dict[str, pathlib.Path] = {}
    for path, document in loaded:
        for host in document["hosts"]:
            if host["id"] in hosts:
                raise MergeError(f"host {host['id']} is in two shards: {hosts[host['id']]} and {path}")
            hosts[host["id"]] = path
    return n


def _values(policy: dict[str, Any]) -> dict[str, Any]:
    return {key: entry["value"] for key, entry in policy.items()}


def merged(loaded: list[tuple[pathlib.Path, dict]]) -> dict[str, Any]:
    """The fleet's document, as one run over every shard's hosts would have written it."""
    n = check(loaded)
    documents = [d for _, d in loaded]
    runs = [d["run"] for d in documents]
    hosts = sorted((host for d in documents for host in d["hosts"]), key=lambda h: h["id"])
    rules: dict[str, Any] = {}
    for d in documents:
        rules.update(d["rules"])
    counts = results.empty_counts()
    for host in hosts:
        for result in host["results"].values():
            counts[result["category"]] += 1
    started = min(runs, key=lambda r: _when(r["started"]))["started"]
    finished = max(runs, key=lambda r: _when(r["finished"]))["finished"]
    interrupted = [f"shard {r['shard']}: {r['interrupted']}" for r in runs if r["interrupted"]]
    document: dict[str, Any] = {
        "format": results.FORMAT,
        "format_version": results.FORMAT_VERSION,
        "run": {
            **runs[0],
            "started": started,
            "finished": finished,
            "duration_s": round((_when(finished) - _when(started)).total_seconds(), 3),
            "command_line": [arg for r in runs for arg in r["command_line"]],
            "interrupted": "; ".join(interrupted) or None,
            "counts": counts,
            "hosts_total": sum(r["hosts_total"] for r in runs),
            "hosts_finished": sum(r["hosts_finished"] for r in runs),
            "unfinished_hosts": [h for r in runs for h in r.get("unfinished_hosts", [])],
            "shard": None,
            "merged_shards": n,
        },
        "rules": dict(sorted(rules.items())),
        "hosts": hosts,
        "baseline": _merged_baseline(documents, hosts),
    }
    code = _exit_code(document)
    document["run"]["exit_code"], document["run"]["exit_meaning"] = code, _meaning(document, code)
    return document


def _when(timestamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(timestamp)


def _merged_baseline(documents: list[dict], hosts: list[dict]) -> dict[str, Any] | None:
    """Each shard compared its hosts with the whole baseline: a baseline host is missing from the
    fleet only if no shard had it, and each shard's lists hold its own hosts only."""
    sections = [d["baseline"] for d in documents if d.get("baseline")]
    if not sections:
        return None
    if len(sections) != len(documents):
        raise MergeError("some shards were compared with a baseline and some not")
    here = {h["id"] for h in hosts}
    only_before_hosts = set.intersection(*(set(s["only_in_baseline"]["hosts"]) for s in sections)) - here
    section = {
        "path": sections[0]["path"],
        "started": sections[0]["started"],
        "suite_version": sections[0]["suite_version"],
        "counts": {kind: sum(s["counts"][kind] for s in sections) for kind in baseline.KINDS},
        "only_in_baseline": {
            "hosts": sorted(only_before_hosts),
            "rules": sorted(set.intersection(*(set(s["only_in_baseline"]["rules"]) for s in sections))),
            "results": [r for s in sections for r in s["only_in_baseline"]["results"]],
        },
        "only_in_run": {
            "hosts": sorted({h for s in sections for h in s["only_in_run"]["hosts"]}),
            "rules": sorted({r for s in sections for r in s["only_in_run"]["rules"]}),
            "results": [r for s in sections for r in s["only_in_run"]["results"]],
        },
    }
    for key in ("regressions", "new_could_not_check", "fixed"):
        section[key] = sorted((p for s in sections for p in s[key]), key=lambda p: (p["host"], p["rule"]))
    return section


def _exit_code(document: dict[str, Any]) -> int:
    run = document["run"]
    if run["interrupted"]:
        return EXIT_INTERRUPTED
    if run.get("fail_on") == "regression" and document["baseline"] is not None:
        changes = [
            {"kind": r["change"]["kind"], "now": r["category"]}
            for h in document["hosts"]
            for r in h["results"].values()
            if "change" in r
        ]
        comparison = baseline.Comparison(document["baseline"], {(str(i), ""): c for i, c in enumerate(changes)})
        return comparison.exit_code()
    if run["counts"][COULD_NOT_CHECK]:
        return EXIT_COULD_NOT_CHECK
    return EXIT_NON_COMPLIANT if run["counts"][NON_COMPLIANT] else EXIT_COMPLIANT


def _meaning(document: dict[str, Any], code: int) -> str:
    if document["run"].get("fail_on") == "regression" and document["baseline"] is not None and code != EXIT_INTERRUPTED:
        return baseline.EXIT_TEXT[code]
    return _MEANING[code]
