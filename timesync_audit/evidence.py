"""Failure messages: what was expected, what was found, and where."""
from __future__ import annotations

from typing import Iterable, NoReturn

import pytest

import ipaddress


def non_compliant(summary: str, items: Iterable[object] = ()) -> NoReturn:
    lines = [str(i) for i in items]
    text = summary + (":\n" + "\n".join(f"  - {line}" for line in lines) if lines else "")
    pytest.fail(text, pytrace=False)


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
