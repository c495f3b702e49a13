"""Ansible inventories: hosts, groups and per-host policy (timesync_* variables)."""
from __future__ import annotations

import pytest


def host_groups(config: pytest.Config, host_name: str) -> set[str]:
    """Inventory groups of a host (empty without an inventory)."""
    return set()


def host_policies(config: pytest.Config, base, overrides: dict) -> dict:
    """Inventory host name -> resolved Policy; validated before any host is contacted."""
    return {}
