"""results.json: a run as data, the one source of every report made after the run.

The document's shape is timesync_audit/schemas/results.schema.json (format_version 1): the run,
the rules' metadata, each host and each rule's outcome on it. The recorder (results_recorder.py)
fills it on the controller; fleet.html, the HDF files and a later run's --baseline read it. A
file read back (a baseline) is validated against the schema first, so a reader never guesses.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from .categories import CATEGORIES
from .display import shorten
from .json_parts import dumps_in_parts
from .policy import POLICY_KEYS

FORMAT, FORMAT_VERSION = "timesync-audit-results", 1
SCHEMA_PATH = pathlib.Path(__file__).resolve().parent / "schemas" / "results.schema.json"
#: a result's message is at most this long (a finding lists up to 12 items of its own)
MAX_RESULT_MESSAGE = 4000
#: a place a message names: /etc/chrony/chrony.conf:12 (a path, a colon, a line number)
_EVIDENCE = re.compile(r"(?<![\w/.:-])(/[^\s:;,()'\"]+):(\d+)\b")
#: options whose value is a secret, and a password in a host URL (ssh://user:secret@host)
_SECRET_OPTION = re.compile(r"^(--?[\w-]*(?:pass|secret|token)[\w-]*)(=.*)?$", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^/@:,\s]*):[^@/,\s]*@")


class ResultsError(ValueError):
    """A results file that cannot be read as one (names the file, and what is wrong)."""


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def problems(document: Any) -> list[str]:
    """What makes `document` not a results document: "<where>: <what>", empty when valid."""
    import jsonschema  # only where a document is read back or checked: a run's start does not pay it

    validator = jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker())
    found = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        found.append(f"{where}: {shorten(error.message, 200)}")
    return found


def load(path: str | os.PathLike) -> dict:
    """A results document from a file, validated; ResultsError says which file and why not."""
    try:
        text = pathlib.Path(path).read_bytes().decode("utf-8")
        document = json.loads(text)
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{path}: not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg})") from None
    if isinstance(document, dict) and document.get("format") == FORMAT:
        version = document.get("format_version")
        if version != FORMAT_VERSION:
            raise ResultsError(f"{path}: results format_version {version!r}; this suite reads {FORMAT_VERSION}")
    found = problems(document)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ResultsError(f"{path}: not a results file of this suite: {found[0]}{more}")
    return document


def write(document: dict, path: str | os.PathLike) -> None:
    """Whole or not at all: a reader (a later --baseline) never sees half a file."""
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    # compact: json's C encoder (an indent takes its pure-Python one, 5 times slower at 1,000 hosts),
    # a host at a time
    with partial.open("w", encoding="utf-8") as out:
        for part in dumps_in_parts(document, ensure_ascii=False, separators=(",", ":")):
            out.write(part)
        out.write("\n")
    os.replace(partial, target)


# -- the parts of a document --------------------------------------------------------------------


def policy_entry(policy) -> dict[str, dict[str, Any]]:
    """{key: {value, origin}} of a resolved policy (policy.Policy), in POLICY_KEYS order."""
    return {
        key: {"value": _json_value(policy.values[key]), "origin": policy.origin.get(key, "default")}
        for key in POLICY_KEYS
        if key in policy.values
    }


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def policy_differs(host_policy: Mapping[str, Mapping[str, Any]], run_policy: Mapping[str, Mapping[str, Any]]) -> list:
    return [k for k, v in host_policy.items() if run_policy.get(k, {}).get("value") != v["value"]]


def rule_entry(meta) -> dict[str, Any]:
    """A rule's metadata (rules.RuleMeta) as results.json keeps it."""
    return {
        "title": meta.title,
        "severity": meta.severity,
        "family": meta.family or "other",
        "service": meta.service,
        "judges": meta.judges,
        "identifiers": {product: dict(ids) for product, ids in meta.by_product.items()},
        "references": {scheme: list(ids) for scheme, ids in meta.references.items()},
        "profiles": list(meta.profiles),
        "description": meta.description,
        "rationale": meta.rationale,
        "remediation": meta.remediation,
        "source": meta.source,
    }


def bare_rule_entry(**fields: Any) -> dict[str, Any]:
    """A rule entry of which only `fields` are known (a rule with no data file): the rest empty."""
    entry: dict[str, Any] = {
        "title": "",
        "severity": "unknown",
        "family": "other",
        "service": "",
        "judges": "configuration",
        "identifiers": {},
        "references": {},
        "profiles": [],
        "description": "",
        "rationale": "",
        "remediation": "",
        "source": "",
    }
    return entry | fields


def evidence_of(message: str) -> list[str]:
    """The file:line places a message names, in order, each once."""
    return list(dict.fromkeys(f"{path}:{line}" for path, line in _EVIDENCE.findall(message)))


def result_message(text: str) -> str:
    return shorten(text.strip(), MAX_RESULT_MESSAGE)


def redacted_arguments(args: Iterable[str]) -> list[str]:
    """pytest's arguments without secrets: a password in a host URL, and the value of an option
    named for a password, secret or token (given as --opt=value or as --opt value)."""
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        found = _SECRET_OPTION.match(arg)
        if found:
            out.append(f"{found.group(1)}=***" if found.group(2) else arg)
            hide_next = found.group(2) is None
            continue
        out.append(_URL_PASSWORD.sub(r"\1:***@", arg))
    return out


def empty_counts() -> dict[str, int]:
    return {name: 0 for name in CATEGORIES}


def hosts_by_id(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {host["id"]: host for host in document["hosts"]}


# -- the schema's documentation (docs/results.md is generated from the schema) -------------------


def _type_text(spec: Mapping[str, Any]) -> str:
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name})"
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    if "enum" in spec:
        return " \\| ".join(f"`{v}`" for v in spec["enum"])
    if "oneOf" in spec:
        return " or ".join(_type_text(s) for s in spec["oneOf"])
    kind = spec.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    text = " or ".join(kinds)
    if "array" in kinds and "items" in spec:
        text += f" of {_type_text(spec['items'])}"
    if kinds == ["object"] and "additionalProperties" in spec and isinstance(spec["additionalProperties"], dict):
        text += f" of {_type_text(spec['additionalProperties'])} by name"
    return text


def _fields_table(spec: Mapping[str, Any]) -> list[str]:
    required = set(spec.get("required", ()))
    rows = ["| field | type | description |", "|---|---|---|"]
    for name, field in spec.get("properties", {}).items():
        mark = "" if name in required else " (optional)"
        description = field.get("description", "").replace("|", "\\|")
        rows.append(f"| `{name}`{mark} | {_type_text(field)} | {description} |")
    return rows


def schema_markdown() -> str:
    """docs/results.md: every object of the schema, its fields, types and descriptions."""
    spec = schema()
    lines = [
        "# results.json",
        "",
        "<!-- generated by `python -m timesync_audit.results docs/results.md` from "
        "timesync_audit/schemas/results.schema.json; selftests fail when it drifts -->",
        "",
        spec["description"],
        "",
        f"Schema: `timesync_audit/schemas/results.schema.json` (JSON Schema 2020-12), format "
        f"`{FORMAT}`, format_version {FORMAT_VERSION}.",
        "",
        "## document",
        "",
        *_fields_table(spec),
    ]
    for name, part in spec["$defs"].items():
        lines += ["", f"## {name}", ""]
        if part.get("description"):
            lines += [part["description"], ""]
        lines += _fields_table(part) if "properties" in part else [f"Type: {_type_text(part)}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    pathlib.Path(sys.argv[1]).write_text(schema_markdown(), encoding="utf-8")
