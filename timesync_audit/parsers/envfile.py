"""Shell-style variable files (/etc/default/*, /etc/sysconfig/*), last assignment wins."""

from __future__ import annotations

import re
import shlex

from .provenance import Line

_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def parse(path: str, content: str) -> dict[str, tuple[str, Line]]:
    result: dict[str, tuple[str, Line]] = {}
    for lineno, raw in enumerate(content.split("\n"), 1):
        if raw.lstrip().startswith("#"):
            continue
        match = _ASSIGN.match(raw)
        if not match:
            continue
        name, rest = match.groups()
        try:
            words = shlex.split(rest, comments=True, posix=True)
        except ValueError:
            words = [rest.strip().strip("\"'")]
        result[name] = (" ".join(words), Line(path, lineno, raw.strip()))
    return result
