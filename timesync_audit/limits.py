"""The bounds of one host's gather, declared once for the options, pytest.ini and the inventory.

Precedence, lowest first: the built-in default, pytest.ini, the inventory
(`timesync_audit_<key>` on a group or host, as the policy variables), the command
line. Whether the connect timeout was set by anyone matters: where nobody did, an
ssh_config `ConnectTimeout` of the user's is ssh's to apply.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from .gather import transport
from .policy import PolicyError


@dataclasses.dataclass(frozen=True)
class LimitKey:
    name: str  # connect_timeout; option --connect-timeout; inventory timesync_audit_connect_timeout
    default: float
    meaning: str
    integer: bool = False

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


LIMIT_KEYS: dict[str, LimitKey] = {
    k.name: k
    for k in (
        LimitKey("connect_timeout", 10, "seconds a host may take to start answering"),
        LimitKey("host_timeout", 120, "seconds one host's whole gather may take"),
        LimitKey("max_host_bytes", 16 * 1024 * 1024, "bytes one answer of a host may carry", integer=True),
    )
}


def convert(key: str, raw: Any, source: str) -> float | int:
    """A positive number (an integer for byte counts); `source` names where and under which name
    it was written ("--host-timeout", "inventory.yml:4 (group web): timesync_audit_host_timeout")."""
    spec = LIMIT_KEYS[key]
    try:
        if isinstance(raw, bool):
            raise ValueError
        number = float(raw.strip() if isinstance(raw, str) else raw)
        if spec.integer:
            if number != int(number):
                raise ValueError
            number = int(number)
    except (TypeError, ValueError, OverflowError):
        raise PolicyError(f"{source}: expected {'a whole' if spec.integer else 'a'} number, got {raw!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise PolicyError(f"{source}: expected a positive number, got {raw!r}")
    return number


@dataclasses.dataclass(frozen=True)
class Bounds:
    """Resolved bounds and whether each was set by someone (not the built-in default)."""

    values: Mapping[str, float]
    explicit: frozenset[str]

    def with_values(self, values: Mapping[str, Any], source) -> Bounds:
        """`source(key)` names where each value was written."""
        merged = dict(self.values)
        for key, raw in values.items():
            merged[key] = convert(key, raw, source(key))
        return Bounds(merged, self.explicit | set(values))

    def transport_limits(self) -> transport.Limits:
        return transport.Limits(
            float(self.values["connect_timeout"]),
            float(self.values["host_timeout"]),
            int(self.values["max_host_bytes"]),
            connect_timeout_explicit="connect_timeout" in self.explicit,
        )


def defaults() -> Bounds:
    return Bounds({k: spec.default for k, spec in LIMIT_KEYS.items()}, frozenset())


def add_options(parser, group) -> None:
    for spec in LIMIT_KEYS.values():
        group.addoption(
            spec.option,
            dest=spec.name,
            default=None,
            metavar="N",
            help=f"{spec.meaning} (default {spec.default:g}; ini {spec.name}; inventory timesync_audit_{spec.name})",
        )
        parser.addini(spec.name, f"{spec.meaning} (default {spec.default:g})", default="")


def from_config(config) -> tuple[Bounds, Bounds]:
    """(the bounds below the inventory: defaults and pytest.ini; the command line's own values)."""
    ini = {k: config.getini(k) for k in LIMIT_KEYS if str(config.getini(k)).strip()}
    base = defaults().with_values(ini, lambda k: f"{config.inipath or 'pytest.ini'}: {k}")
    options = {k: v for k in LIMIT_KEYS if (v := config.getoption(k, None)) is not None}
    return base, Bounds({}, frozenset()).with_values(options, lambda k: LIMIT_KEYS[k].option)


def resolve(base: Bounds, inventory: Mapping[str, Any], where, command_line: Bounds) -> Bounds:
    """One host's bounds: base < inventory variables (`where(key)` names each) < command line."""
    bounds = base.with_values(inventory, where) if inventory else base
    return Bounds({**bounds.values, **command_line.values}, bounds.explicit | command_line.explicit)
