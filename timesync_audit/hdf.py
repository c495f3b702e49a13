"""Heimdall Data Format (HDF): one file per host, as InSpec's json reporter writes them.

Heimdall (and MITRE's SAF tools) read an execution: a platform (the host), one profile (the
suite) and its controls (the rules), each with the results on that host. The file is made from
results.json alone, so it says nothing the document does not; the text from a host (messages,
os-release fields) is the document's, escaped by the suite already, and is copied as it is.

How inspecjs (Heimdall's parser) reads what is written here:
- compliant: a passed result -> "Passed";
- non-compliant, and a finding under an expired waiver: a failed result -> "Failed" (the expired
  waiver is recorded in waiver_data, with skipped_due_to_waiver false, as InSpec records it);
- waived: InSpec's shape of a control skipped under a waiver (a skipped result, waiver_data with
  run false and skipped_due_to_waiver true) -> "Not Applicable", counted as Waived;
- not applicable: impact 0.0 and a skipped result (InSpec's only_if) -> "Not Applicable";
- could not check (and every rule of a dead host): an error result -> "Profile Error".
A control's impact is its severity's; an info rule's is 0.0, which Heimdall shows as Not Applicable.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .categories import COMPLIANT, COULD_NOT_CHECK, NON_COMPLIANT, NOT_APPLICABLE, WAIVED

PROFILE_NAME = "timesync-audit"
PROFILE_TITLE = "timesync-audit: time synchronization compliance (chrony, ntpd, systemd-timesyncd)"
#: InSpec's impact of a severity; a rule not applicable on a host has impact 0.0, as only_if gives
IMPACT = {"high": 0.7, "medium": 0.5, "low": 0.3, "unknown": 0.5, "info": 0.0}
#: the names (one a line) of the files write() made in a directory, so that it removes only those
MANIFEST = ".timesync-audit-hdf"
#: how write() names a file: the host id's slug, a dash, 12 hex digits of its hash
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,80}-[0-9a-f]{12}\.json$")
_SLUG_CUT = re.compile(r"[^A-Za-z0-9._]+")
_MAX_SLUG = 60
_JUDGES = {
    "configuration": "configuration files",
    "unit": "systemd units",
    "live": "live state (the running daemon)",
}
#: a rule's ids per product, as results.json names them, and the tag Heimdall shows each under
_IDENTIFIER_TAGS = (("cce", "cce"), ("stig", "stig_id"), ("cis", "cis"))
_STATUS = {
    COMPLIANT: "passed",
    NON_COMPLIANT: "failed",
    WAIVED: "skipped",
    NOT_APPLICABLE: "skipped",
    COULD_NOT_CHECK: "error",
}


# -- the files -----------------------------------------------------------------------------------


def file_name(host_id: str) -> str:
    """A file name that is safe anywhere (no separator, no leading dot) and unique per identity:
    the slug alone would name ssh://root@web1:22 and ssh://root@web1/22 alike, the hash does not."""
    slug = _SLUG_CUT.sub("-", host_id).strip("-.")[:_MAX_SLUG].rstrip("-.") or "host"
    digest = hashlib.sha256(host_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug}-{digest}.json"


def host_documents(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """File name -> the HDF document of each host of a results document, in the hosts' order."""
    return {name: execution(document, host) for name, host in _named_hosts(document).items()}


def _named_hosts(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """File name -> host, in the hosts' order."""
    out: dict[str, Mapping[str, Any]] = {}
    for host in document["hosts"]:
        name = file_name(host["id"])
        if name in out:
            raise ValueError(f"two hosts of the document are named {name} (host {host['id']!r} twice?)")
        out[name] = host
    return out


def write(document: Mapping[str, Any], directory: str | os.PathLike) -> list[pathlib.Path]:
    """Writes each host's file; removes the files an earlier call wrote there that this one did
    not (a host gone from the fleet), and nothing else: they are known from the manifest only.

    The manifest first names the old files and the new ones, so an interrupted call leaves none
    that a later one would not know; each file is whole or absent (written aside, then renamed)."""
    target = pathlib.Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    hosts = _named_hosts(document)
    before = _manifest_names(target)
    _write_manifest(target, sorted(before | set(hosts)))
    written = []
    for name, host in hosts.items():  # one host's document at a time: a fleet's together are large
        path = target / name
        _write_whole(path, json.dumps(execution(document, host), separators=(",", ":")) + "\n")  # json's C encoder
        written.append(path)
    for name in sorted(before - set(hosts)):
        (target / name).unlink(missing_ok=True)
    _write_manifest(target, sorted(hosts))
    return written


def _manifest_names(directory: pathlib.Path) -> set[str]:
    """The names an earlier write() listed; a line that is not one of its file names is ignored,
    so an edited manifest never makes it remove another file (../x, a subfolder)."""
    try:
        text = (directory / MANIFEST).read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return set()
    return {line for line in text.splitlines() if _FILE_NAME.match(line)}


def _write_manifest(directory: pathlib.Path, names: Iterable[str]) -> None:
    _write_whole(directory / MANIFEST, "".join(f"{name}\n" for name in names))


def _write_whole(path: pathlib.Path, text: str) -> None:
    """ASCII JSON (json.dumps' default), so any text from a host is written as it is."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="ascii")
    os.replace(partial, path)


# -- one host's execution --------------------------------------------------------------------------


def execution(document: Mapping[str, Any], host: Mapping[str, Any]) -> dict[str, Any]:
    """The HDF document of one host: its platform, and the suite as the one profile."""
    run = document["run"]
    controls = [control(document, host, rule_id) for rule_id in rule_ids(document, host)]
    return {
        "platform": platform(host),
        "profiles": [profile(document, controls)],
        "statistics": {"duration": run["duration_s"], "controls": statistics(controls)},
        "version": run["suite_version"],
    }


def rule_ids(document: Mapping[str, Any], host: Mapping[str, Any]) -> list[str]:
    """The rules of a host's file: those with a result on it, and on a dead host every rule of
    the run (none of them could be checked there)."""
    ids = set(host["results"])
    if host.get("dead") is not None:
        ids |= set(document["rules"])
    return sorted(ids)


def platform(host: Mapping[str, Any]) -> dict[str, str]:
    """Heimdall shows name and release run together (debian12): an unread os-release is
    "unknown" and an empty release."""
    os_release = host.get("os") or {}
    return {
        "name": os_release.get("id") or "unknown",
        "release": os_release.get("version_id") or "",
        "target_id": host["id"],
    }


def profile(document: Mapping[str, Any], controls: list[dict[str, Any]]) -> dict[str, Any]:
    run = document["run"]
    return {
        "name": PROFILE_NAME,
        "title": PROFILE_TITLE,
        "version": run["suite_version"],
        "summary": _summary(run),
        "sha256": profile_sha256(document),
        "status": "loaded",
        "supports": [],
        "attributes": [],
        "groups": groups(document, controls),
        "controls": controls,
    }


def _summary(run: Mapping[str, Any]) -> str:
    selected = f", profile {run['profile']}" if run.get("profile") else ""
    return f"run started {run['started']}{selected}"


def profile_sha256(document: Mapping[str, Any]) -> str:
    """Stable for one suite version and rule catalog: the same on every host of a run, and of the
    next run of the same suite, so Heimdall's comparison sees one profile."""
    catalog = json.dumps({"version": document["run"]["suite_version"], "rules": document["rules"]}, sort_keys=True)
    return hashlib.sha256(catalog.encode("utf-8", "surrogatepass")).hexdigest()


def groups(document: Mapping[str, Any], controls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One group per rule family (the folder of tests/ that holds the rules)."""
    by_family: dict[str, list[str]] = {}
    for entry in controls:
        family = _rule(document, entry["id"]).get("family") or "other"
        by_family.setdefault(family, []).append(entry["id"])
    return [{"id": family, "title": f"{family} rules", "controls": ids} for family, ids in sorted(by_family.items())]


def statistics(controls: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """InSpec's control totals by result status (an error counts as failed, as InSpec's do)."""
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for entry in controls:
        status = entry["results"][0]["status"]
        totals["failed" if status == "error" else status] += 1
    return {status: {"total": total} for status, total in totals.items()}


# -- one rule on one host ----------------------------------------------------------------------------


def _rule(document: Mapping[str, Any], rule_id: str) -> Mapping[str, Any]:
    return document["rules"].get(rule_id) or {}


def control(document: Mapping[str, Any], host: Mapping[str, Any], rule_id: str) -> dict[str, Any]:
    rule = _rule(document, rule_id)
    outcome = outcome_of(host, rule_id)
    source = rule.get("source") or ""
    entry: dict[str, Any] = {
        "id": rule_id,
        "title": rule.get("title") or rule_id,
        "desc": rule.get("description", ""),
        "descriptions": descriptions(rule, outcome),
        "impact": impact(rule, outcome["category"]),
        "refs": [],
        "tags": tags(rule),
        "code": f"rule data: {source}\ntest: {outcome['test']}" if source else f"test: {outcome['test']}",
        "source_location": {"ref": source, "line": 1},
        "results": [result(document, host, rule, outcome)],
    }
    waiver = waiver_data(outcome)
    if waiver is not None:
        entry["waiver_data"] = waiver
    return entry


def outcome_of(host: Mapping[str, Any], rule_id: str) -> dict[str, Any]:
    """The rule's result on the host; on a dead host always could not check (nothing there was
    read), with the result's message, or the reason the host is dead where it has none."""
    found = host["results"].get(rule_id)
    if host.get("dead") is None and found is not None:
        return dict(found)
    outcome = dict(found or {"waiver": None, "test": "", "duration_s": 0.0})
    outcome["category"] = COULD_NOT_CHECK
    outcome["message"] = (found or {}).get("message") or host["dead"]
    return outcome


def impact(rule: Mapping[str, Any], category: str) -> float:
    if category == NOT_APPLICABLE:
        return 0.0
    return IMPACT.get(rule.get("severity", "unknown"), IMPACT["unknown"])


def descriptions(rule: Mapping[str, Any], outcome: Mapping[str, Any]) -> list[dict[str, str]]:
    judged = _JUDGES.get(rule.get("judges", ""), rule.get("judges", ""))
    service = rule.get("service") or "the host"
    check = f"Judged from {service}'s {judged}." if judged else ""
    if outcome.get("test"):
        check = f"{check} Test: {outcome['test']}".strip()
    found = (
        ("default", rule.get("description", "")),
        ("rationale", rule.get("rationale", "")),
        ("fix", rule.get("remediation", "")),
        ("check", check),
    )
    return [{"label": label, "data": data} for label, data in found if data]


def tags(rule: Mapping[str, Any]) -> dict[str, Any]:
    """Heimdall shows every tag in a control's details; nist is what it maps to NIST 800-53 (no
    tag there is shown as UM-1, unmapped). cce, stig_id and cis list the ids of every product, and
    identifiers keeps which product each is of (SCAP Security Guide's: rhel9, ubuntu2204...)."""
    identifiers = rule.get("identifiers") or {}
    found: dict[str, Any] = {
        "severity": rule.get("severity", "unknown"),
        "nist": list((rule.get("references") or {}).get("nist", [])),
    }
    for key, tag in _IDENTIFIER_TAGS:
        ids = list(dict.fromkeys(ids[key] for _, ids in sorted(identifiers.items()) if key in ids))
        if ids:
            found[tag] = ids
    if identifiers:
        found["identifiers"] = {product: dict(ids) for product, ids in sorted(identifiers.items())}
    for key in ("family", "service", "judges"):
        if rule.get(key):
            found[key] = rule[key]
    if rule.get("profiles"):
        found["profiles"] = list(rule["profiles"])
    return found


def result(
    document: Mapping[str, Any], host: Mapping[str, Any], rule: Mapping[str, Any], outcome: Mapping[str, Any]
) -> dict[str, Any]:
    """The one result of a control: InSpec's describe block, what Heimdall counts."""
    category = outcome["category"]
    status = _STATUS[category]
    entry: dict[str, Any] = {
        "status": status,
        "code_desc": f"{rule.get('title') or 'rule'} on {host['id']}",
        "start_time": document["run"]["started"],
        "run_time": outcome.get("duration_s", 0.0),
    }
    message = outcome.get("message") or ""
    if status == "skipped":
        entry["skip_message"] = message
    elif status != "passed":
        entry["message"] = message
    return entry


def waiver_data(outcome: Mapping[str, Any]) -> dict[str, Any] | None:
    """InSpec's waiver_data. A waived finding: the control is skipped under the waiver (run false,
    skipped_due_to_waiver true), which inspecjs reads as waived, whatever else is known of the
    waiver; an expired waiver: the control counts as it is, with InSpec's message for it."""
    waiver = outcome.get("waiver") or {}
    category = outcome["category"]
    if category == WAIVED:
        return _waiver(waiver, skipped=True, message=outcome.get("message", ""))
    if not waiver or category == COULD_NOT_CHECK:
        return None
    if waiver.get("status") == "expired":
        expired = f"Waiver expired on {waiver.get('expires')}, evaluating control normally ({waiver.get('source')})"
        return _waiver(waiver, skipped=False, message=expired)
    return _waiver(waiver, skipped=False, message="")


def _waiver(waiver: Mapping[str, Any], skipped: bool, message: str) -> dict[str, Any]:
    """skipped_due_to_waiver is a real boolean: inspecjs takes any non-empty string for true."""
    return {
        "justification": waiver.get("justification", ""),
        "run": not skipped,
        "skipped_due_to_waiver": skipped,
        "expiration_date": waiver.get("expires"),
        "message": message,
    }
