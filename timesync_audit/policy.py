"""The values baselines disagree on, in one validated object per host.

Defaults are SSG's (see README, "Policy"). Every key is declared once in
POLICY_KEYS with its type and bounds, so validation, documentation and
overrides cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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
    aliases = {
        "chrony": "chronyd",
        "chronyd": "chronyd",
        "ntp": "ntpd",
        "ntpd": "ntpd",
        "ntpsec": "ntpd",
        "systemd-timesyncd": "systemd-timesyncd",
        "timesyncd": "systemd-timesyncd",
    }
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
    origin: str = "this suite"  # where the default comes from


def _range(low: float, high: float, why: str = "", above: bool = False) -> Callable[[Any], str | None]:
    """Bounds that make sense, not only that parse; `above`: strictly above `low`."""

    def check(v: Any) -> str | None:
        if v is None or (low < v if above else low <= v) and v <= high:
            return None
        text = f"must be above {low:g} and at most {high:g}" if above else f"must be between {low:g} and {high:g}"
        return text + (f" ({why})" if why else "")

    return check


def _not_empty(what: str) -> Callable[[Any], str | None]:
    return lambda v: None if v else f"must name at least one host ({what})"


_SSG = "SSG default"
POLICY_KEYS: dict[str, PolicyKey] = {
    k.name: k
    for k in (
        PolicyKey(
            "time_service",
            _time_service,
            None,
            "time service the host must use: chronyd, ntpd or systemd-timesyncd; unset = detect the one in use",
            origin="detected (SSG var_timesync_service; RHEL 9 profiles: chronyd)",
        ),
        PolicyKey(
            "maxpoll_max",
            _int,
            10,
            "upper bound for maxpoll on every source (log2 s; STIG: 16)",
            _range(0, 24, "log2 seconds: 1 s to 194 days; chronyd and ntpd poll no slower than 2^24 s"),
            origin=f"{_SSG} var_time_service_set_maxpoll (STIG profiles: 16)",
        ),
        PolicyKey(
            "allow_default_maxpoll",
            _bool,
            False,
            "accept a source without maxpoll (chrony's default 10) when 10 <= maxpoll_max",
        ),
        PolicyKey(
            "approved_servers",
            _host_list,
            DEFAULT_POOLS,
            "host names allowed on server and peer lines",
            _not_empty("an empty list fails every server line; a fleet of pools only need not change it"),
            origin=f"{_SSG} var_multiple_time_servers",
        ),
        PolicyKey(
            "approved_pools",
            _host_list,
            DEFAULT_POOLS,
            "host names allowed on pool lines (empty: no pool line is accepted)",
            origin=f"{_SSG} var_multiple_time_pools",
        ),
        PolicyKey(
            "min_sources",
            _int,
            2,
            "minimum number of distinct sources",
            _range(1, 64),
            origin="SSG's 'multiple servers'",
        ),
        PolicyKey("pool_counts_as", _int, 1, "how many sources one pool line counts for", _range(1, 16)),
        PolicyKey(
            "require_nts",
            _bool,
            True,
            "every chrony source must use NTS (false on FIPS hosts)",
            origin="secure by default; FIPS hosts set false: NTS aborts chronyd there",
        ),
        PolicyKey(
            "max_offset",
            _number,
            0.5,
            "largest accepted system clock offset, seconds",
            _range(0, 86400, "an offset of exactly 0 is never measured", above=True),
            origin="well inside Kerberos' 5-minute clock skew",
        ),
        PolicyKey(
            "makestep_threshold_max",
            _number,
            1.0,
            "largest accepted makestep threshold, seconds",
            _range(0, 86400),
            origin="the usual `makestep 1.0 3`",
        ),
        PolicyKey(
            "makestep_limit",
            _optional_int,
            None,
            "required makestep limit (-1 = unlimited, as the Ubuntu STIG); unset = any",
            _range(-1, 1 << 30),
            origin="any (Ubuntu 22.04 STIG profile: -1)",
        ),
        PolicyKey(
            "root_distance_max_sec",
            _number,
            5.0,
            "largest accepted timesyncd RootDistanceMaxSec",
            _range(0, 86400, "timesyncd never synchronizes with a bound of 0", above=True),
            origin="systemd's own default",
        ),
        PolicyKey(
            "local_clock_min_stratum",
            _int,
            10,
            "lowest stratum an ntpd local clock (127.127.1.x) may be fudged to",
            _range(1, 16),
        ),
        PolicyKey(
            "require_autokey",
            _bool,
            False,
            "every ntpd server line must be authenticated (autokey or key N)",
            origin="Autokey only where policy asks for it",
        ),
    )
}


def listing() -> str:
    """`--policy list`: every key, its default, meaning and where the default comes from."""
    lines = [
        "policy keys (--policy KEY=VALUE, inventory variable timesync_audit_KEY; "
        "precedence: default < --profile < inventory < --policy):"
    ]
    for key in POLICY_KEYS.values():
        lines.append(f"  {key.name} = {format_value(key.default)}")
        lines.append(f"      {key.meaning}; default: {key.origin}")
    return "\n".join(lines)


def table_markdown() -> str:
    """The README's policy table, generated from POLICY_KEYS (a selftest keeps the README in step)."""
    rows = ["| key | default | meaning | default from |", "|---|---|---|---|"]
    for key in POLICY_KEYS.values():
        rows.append(f"| `{key.name}` | {format_value(key.default)} | {key.meaning} | {key.origin} |")
    return "\n".join(rows)


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

    def with_overrides(self, overrides: Mapping[str, Any], source: str) -> Policy:
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
