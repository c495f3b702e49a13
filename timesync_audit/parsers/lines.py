"""A command's output in lines, split at newlines only.

`str.splitlines` also ends a line at \\r, \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028 and \\u2029, which a
host can put inside one field (an NTP server's refid in `ntpq -c peers`, a name in a passwd
entry): one line would be read as two, and the second could pass for a line of its own.
"""

from __future__ import annotations


def lines(text: str) -> list[str]:
    """The lines of `text`, without their newline; a final newline ends the last line, as
    splitlines has it. Every other character stays where it was, \\r too."""
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return parts
