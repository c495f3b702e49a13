"""Numbers as hosts print them."""

from __future__ import annotations


def decimal(text: str) -> int | None:
    """A pid, uid, gid or count as tools print it (ASCII digits), or None: str.isdigit() also accepts
    digits int() refuses ("²"), and int() refuses more than 4300 digits, which no such number has."""
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:
        return None
