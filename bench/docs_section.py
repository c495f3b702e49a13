"""Each benchmark's section of docs/benchmarks.md: only the results block between its markers is
rewritten, so the prose around it (what it measures, what the figures show) stays as written."""

from __future__ import annotations

import pathlib
import re

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_results(section: str, head: str, begin: str, end: str, block: str, docs: pathlib.Path = DOCS) -> None:
    """Put `block` (which starts with `begin` and ends with `end`) in place of the old one; a
    section without one gets it at its end; no section: `head`, then the block, at the file's end."""
    current = docs.read_text() if docs.exists() else "# Benchmarks\n"
    if begin in current and end in current:
        before, rest = current.split(begin, 1)
        updated = before + block + rest.split(end, 1)[1]
    elif match := re.search(rf"^{re.escape(section)}$.*?(?=^## |\Z)", current, re.S | re.M):
        updated = current[: match.end()].rstrip() + "\n\n" + block + "\n\n" + current[match.end() :]
    else:
        updated = current.rstrip() + "\n\n" + head + "\n" + block + "\n"
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(updated.rstrip() + "\n")
