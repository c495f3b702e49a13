"""Failure messages: what was expected, what was found, and where."""
from __future__ import annotations

from typing import Iterable, NoReturn

import pytest

import ipaddress


def non_compliant(summary: str, items: Iterable[object] = ()) -> NoReturn:
    lines = [str(i) for i in items]
    text = summary + (":\n" + "\n".join(f"  - {line}" for line in lines) if lines else "")
    pytest.fail(text, pytrace=False)


def files_read(paths: list[str]) -> str:
    return "read: " + (", ".join(paths) if paths else "no file")


def is_loopback(host: str) -> bool:
    name = host.lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False
