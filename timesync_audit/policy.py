"""The values baselines disagree on, in one validated object per host.

Defaults are SSG's (see README, "Policy"). Every key is declared once in
POLICY_KEYS with its type and bounds, so validation, documentation and
overrides cannot drift apart.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Iterable, Mapping

from .services import TIME_SERVICES
DEFAULT_POOLS = tuple(f"{n}.pool.ntp.org" for n in range(4))


class PolicyError(ValueError):
    """A policy value that cannot be used; the message names where it came from."""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "off", "0"):
        return False
    raise ValueError("expected true or false")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError("expected an integer")


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise ValueError("expected a number") from None
    else:
        raise ValueError("expected a number")
    if not math.isfinite(result):
        raise ValueError("expected a finite number")
    return result


def _optional_int(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "any", "none")):
        return None
    return _int(value)


def _host_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [v for v in value.replace(",", " ").split() if v]
    elif isinstance(value, (list, tuple)):
        items = []
        for v in value:
            if not isinstance(v, str) or not v.strip() or any(c.isspace() for c in v.strip()):
                raise ValueError(f"expected host names, got {v!r}")
            items.append(v.strip())
    else:
        raise ValueError("expected a list of host names")
    return tuple(item.lower().rstrip(".") for item in items)


def _time_service(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "detect", "detected", "auto")):
        return None
    aliases = {"chrony": "chronyd", "chronyd": "chronyd", "ntp": "ntpd", "ntpd": "ntpd",
               "ntpsec": "ntpd", "systemd-timesyncd": "systemd-timesyncd", "timesyncd": "systemd-timesyncd"}
    if isinstance(value, str) and value.strip().lower() in aliases:
        return aliases[value.strip().lower()]
    raise ValueError(f"expected one of {', '.join(TIME_SERVICES)} (or 'detect')")


@dataclasses.dataclass(frozen=True)
class PolicyKey:
    name: str
    convert: Callable[[Any], Any]
    default: Any
    meaning: str
    check: Callable[[Any], str | None] = lambda v: None


def _range(low: float, high: float) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if v is None:
            return None
        return None if low <= v <= high else f"must be between {low:g} and {high:g}"
    return check


POLICY_KEYS: dict[str, PolicyKey] = {k.name: k for k in (
    PolicyKey("time_service", _time_service, None,
              "time service the host must use: chronyd, ntpd or systemd-timesyncd; unset = detect the one in use"),
    PolicyKey("maxpoll_max", _int, 10, "upper bound for maxpoll on every source (log2 s; STIG: 16)",
              _range(-7, 24)),
    PolicyKey("allow_default_maxpoll", _bool, False,
              "accept a source without maxpoll (chrony's default 10) when 10 <= maxpoll_max"),
    PolicyKey("approved_servers", _host_list, DEFAULT_POOLS, "host names allowed on server lines"),
    PolicyKey("approved_pools", _host_list, DEFAULT_POOLS, "host names allowed on pool lines"),
    PolicyKey("min_sources", _int, 2, "minimum number of distinct sources", _range(1, 64)),
    PolicyKey("pool_counts_as", _int, 1, "how many sources one pool line counts for", _range(1, 16)),
    PolicyKey("require_nts", _bool, True, "every chrony source must use NTS (false on FIPS hosts)"),
    PolicyKey("max_offset", _number, 0.5, "largest accepted system clock offset, seconds", _range(0, 86400)),
    PolicyKey("makestep_threshold_max", _number, 1.0, "largest accepted makestep threshold, seconds",
              _range(0, 86400)),
    PolicyKey("makestep_limit", _optional_int, None,
              "required makestep limit (-1 = unlimited, as the Ubuntu STIG); unset = any", _range(-1, 1 << 30)),
    PolicyKey("root_distance_max_sec", _number, 5.0, "largest accepted timesyncd RootDistanceMaxSec",
              _range(0, 86400)),
    PolicyKey("local_clock_min_stratum", _int, 10,
              "lowest stratum an ntpd local clock (127.127.1.x) may be fudged to", _range(1, 16)),
    PolicyKey("require_autokey", _bool, False, "every ntpd server line must be authenticated (autokey or key N)"),
)}


@dataclasses.dataclass(frozen=True)
class Policy:
    """Resolved policy for one host; `origin` says where each non-default value came from."""

    values: Mapping[str, Any]
    origin: Mapping[str, str]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def describe(self, name: str) -> str:
        return f"{name}={format_value(self.values[name])} ({self.origin.get(name, 'default')})"

    def with_overrides(self, overrides: Mapping[str, Any], source: str) -> "Policy":
        values, origin = dict(self.values), dict(self.origin)
        for key, raw in overrides.items():
            values[key] = convert_value(key, raw, source)
            origin[key] = source
        return Policy(values, origin)


def format_value(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value) or "(none)"
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def convert_value(key: str, raw: Any, source: str) -> Any:
    spec = POLICY_KEYS.get(key)
    if spec is None:
        raise PolicyError(f"{source}: unknown policy key {key!r} (known: {', '.join(sorted(POLICY_KEYS))})")
    try:
        value = spec.convert(raw)
    except ValueError as exc:
        raise PolicyError(f"{source}: policy key {key!r}: {exc}, got {raw!r}") from None
    problem = spec.check(value)
    if problem:
        raise PolicyError(f"{source}: policy key {key!r}: {problem}, got {raw!r}")
    return value


def default_policy() -> Policy:
    return Policy({k.name: k.default for k in POLICY_KEYS.values()}, {})


def parse_assignments(items: Iterable[str], source: str) -> dict[str, Any]:
    """KEY=VALUE strings (from --policy) to a dict, rejecting malformed items precisely."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PolicyError(f"{source}: expected KEY=VALUE, got {item!r}")
        convert_value(key.strip(), value, source)  # validate early, report the original text
        result[key.strip()] = value
    return result
