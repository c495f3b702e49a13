"""Failure messages: what was expected, what was found, and where."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import NoReturn

import pytest

from .display import MAX_MESSAGE, MAX_VALUE, escape, shorten, value

#: a finding lists at most this many items (each cut to display.MAX_VALUE characters), then a count
MAX_ITEMS = 12


def non_compliant(summary: str, items: Iterable[object] = ()) -> NoReturn:
    lines = [value(str(i), 4 * MAX_VALUE) for i in items]
    if len(lines) > MAX_ITEMS:
        lines = lines[:MAX_ITEMS] + [f"... and {len(lines) - MAX_ITEMS} more"]
    text = shorten(escape(summary), 2 * MAX_MESSAGE)
    text += ":\n" + "\n".join(f"  - {line}" for line in lines) if lines else ""
    raise pytest.fail.Exception(text, pytrace=False)  # what pytest.fail() raises


def files_read(config, daemon: str = "chronyd") -> str:
    """'read: a, b' for a configuration (or a list of paths), and the files the daemon skips
    (its own account cannot read them) with why: those count for nothing."""
    paths = getattr(config, "files_read", config)
    text = "read: " + (", ".join(paths) if paths else "no file")
    skipped = getattr(config, "skipped_files", ())
    if skipped:
        text += "; skipped: " + "; ".join(f"{path} ({reason}: {daemon} skips it)" for path, reason in skipped)
    return text


def is_loopback(host: str) -> bool:
    name = host.lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def why_not_a_remote_server(source) -> str | None:
    """Why a chrony or ntpd source is not a remote time server, or None when it is one (the
    sources SSG's remote-server and multiple-servers rules count)."""
    if getattr(source, "refclock", False):
        return "reference clock, not a remote server"
    if source.kind not in ("server", "pool"):
        return f"{source.kind}, not a server"
    if is_loopback(source.host):
        return "loopback"
    if "noselect" in source.options:
        return "noselect"
    return None


def distinct_sources(sources, pool_counts_as: int) -> int:
    """How many distinct remote servers the sources name; a pool line counts as `pool_counts_as`,
    and NTP1.example. and ntp1.example are one source."""
    counted: dict[str, int] = {}
    for s in sources:
        if why_not_a_remote_server(s) is None:
            host = s.host.lower().rstrip(".")
            counted[host] = max(counted.get(host, 0), pool_counts_as if s.kind == "pool" else 1)
    return sum(counted.values())
