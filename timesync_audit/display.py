"""Text from a host, made safe to show: escaped, and short.

Gathered bytes are decoded with surrogateescape, so an undecodable byte is a
lone surrogate; a file name may hold a newline. Neither may reach a terminal,
an HTML cell or a JUnit attribute as it is: they are shown as \\xNN, \\n, \\t.
Messages are capped: a value is cut in the middle, so both its start (what it
is) and its end (usually the cause) survive.
"""

from __future__ import annotations

MAX_MESSAGE = 300
MAX_VALUE = 120
MARK = " [...] "


def escape(text: str) -> str:
    out = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """At most `limit` characters, cut in the middle."""
    if len(text) <= limit:
        return text
    keep = limit - len(MARK)
    head = keep // 2
    return text[:head] + MARK + text[len(text) - (keep - head) :]


def value(text: str, limit: int = MAX_VALUE) -> str:
    """A value from a host (a line, a path, an answer), escaped and cut in the middle."""
    return shorten(escape(text), limit)
