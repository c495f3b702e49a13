"""Baseline profiles: which rules a baseline selects and the variable values it sets."""
from __future__ import annotations

import pytest


def selected(config: pytest.Config):
    """The profile chosen for this run, or None (all rules, SSG defaults)."""
    return None
