"""json.dumps in parts: the outer levels of a document item by item, each item by the C encoder.

A fleet's documents (results.json, the rows of report.html) are tens of megabytes; made as one
string, they are in memory two or three times at once (the text, its bytes, an escaped copy).
In parts, the same text is written as it is made.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def dumps_in_parts(
    value: Any, depth: int = 2, *, ensure_ascii: bool = True, separators: tuple[str, str] = (", ", ": ")
) -> Iterator[str]:
    """The parts of json.dumps(value, ensure_ascii=..., separators=...), in order."""
    items, keys = separators
    if depth and isinstance(value, dict) and all(isinstance(key, str) for key in value):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield (items if index else "") + json.dumps(key, ensure_ascii=ensure_ascii) + keys
            yield from dumps_in_parts(item, depth - 1, ensure_ascii=ensure_ascii, separators=separators)
        yield "}"
    elif depth and isinstance(value, list | tuple):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield items
            yield from dumps_in_parts(item, depth - 1, ensure_ascii=ensure_ascii, separators=separators)
        yield "]"
    else:
        yield json.dumps(value, ensure_ascii=ensure_ascii, separators=separators)
