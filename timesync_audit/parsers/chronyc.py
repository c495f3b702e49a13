"""chronyc's machine-readable answers: `chronyc -c -n tracking`, `sources`, `authdata`.

Pure functions of the command's text (stderr merged). In CSV mode (`-c`):
- tracking: 14 fields: reference ID (hex), reference name/address, stratum, reference time,
  system time offset (s, signed: positive = the system clock is slow of NTP time), last offset,
  RMS offset, frequency, residual frequency, skew, root delay, root dispersion, update interval,
  leap status (Normal, Insert second, Delete second, Not synchronised). Reference ID 00000000
  with an empty name: no reference (never synchronized or lost).
- sources: mode (^ server, = peer, # reference clock), state (* selected, + combined, - not
  combined, ? unusable, x falseticker, ~ too variable), address, stratum, poll, reach (OCTAL, as
  chronyc prints it), last sample age (4294967295 = never), three offsets/errors.
- authdata: address, mode (NTS, SK symmetric key, - none), key ID, key type, key length, last
  successful NTS-KE age (4294967295 = never), NTS-KE attempts since, NAKs, cookies, cookie length.
chronyc's own error replies are one line `<5xx code> <text>` (506 Cannot talk to daemon,
501 Not authorised), exit status 1.
"""

from __future__ import annotations

import dataclasses
import re

from .lines import lines

NEVER = 4294967295
#: chronyd's reference ID when it serves its own clock (`local` directive): "127.127.1.1", LOCL
LOCAL_REF_ID = "7F7F0101"
#: leap statuses of a synchronized clock (a leap second announced is still synchronized)
SYNCHRONIZED_LEAP = ("Normal", "Insert second", "Delete second")
STATES = {
    "*": "selected",
    "+": "combined",
    "-": "not combined",
    "?": "unusable",
    "x": "falseticker",
    "~": "too variable",
}
MODES = {"^": "server", "=": "peer", "#": "reference clock"}

_REPLY = re.compile(r"^(5\d\d) (\S.*)$")


class ParseError(ValueError):
    """Output that is not what chronyc -c prints."""


def reply_error(text: str) -> str | None:
    """chronyc's error reply (e.g. "506 Cannot talk to daemon") found in the output, or None."""
    for line in lines(text):
        found = _REPLY.match(line.strip())
        if found:
            return found.group(0)
    return None


def _rows(text: str, count: int, what: str) -> list[list[str]]:
    rows = []
    for line in lines(text):
        if not line.strip():
            continue
        fields = line.strip().split(",")
        if len(fields) != count:
            raise ParseError(f"{what}: expected {count} comma-separated fields, got {len(fields)}: {line.strip()!r}")
        rows.append(fields)
    return rows


def _number(value: str, kind, what: str):
    try:
        return kind(value)
    except ValueError:
        raise ParseError(f"{what}: {value!r} is not a number") from None


@dataclasses.dataclass(frozen=True)
class Tracking:
    ref_id: str
    ref_name: str
    stratum: int
    ref_time: float
    system_time: float  # offset of the system clock, s (positive: slow of NTP time)
    last_offset: float
    rms_offset: float
    frequency: float
    residual_frequency: float
    skew: float
    root_delay: float
    root_dispersion: float
    update_interval: float
    leap_status: str

    @property
    def reference_set(self) -> bool:
        return int(self.ref_id, 16) != 0

    @property
    def local_reference(self) -> bool:
        return self.ref_id.upper() == LOCAL_REF_ID

    def not_synchronized_because(self) -> list[str]:
        """Why the clock is not synchronized to a source; empty when it is."""
        reasons = []
        if self.leap_status not in SYNCHRONIZED_LEAP:
            reasons.append(f"leap status is {self.leap_status!r} (expected Normal)")
        if not self.reference_set:
            reasons.append("no reference (reference ID 00000000)")
        elif self.local_reference:
            reasons.append("the reference is chronyd's own clock (ID 7F7F0101, `local` directive), not a time source")
        if not 1 <= self.stratum <= 15:
            reasons.append(f"stratum {self.stratum} (expected 1..15)")
        return reasons

    @property
    def synchronized(self) -> bool:
        return not self.not_synchronized_because()

    @property
    def reference(self) -> str:
        name = self.ref_name or "-"
        return f"{name} (ID {self.ref_id})"

    def describe(self) -> str:
        return f"reference {self.reference}, stratum {self.stratum}, leap status {self.leap_status}"

    def offset_words(self) -> str:
        """The system time offset as chronyc says it: "0.000029332 s slow of NTP time"."""
        side = "slow" if self.system_time > 0 else "fast"
        return f"{abs(self.system_time):.9f} s {side} of NTP time"


def parse_tracking(text: str) -> Tracking:
    rows = _rows(text, 14, "tracking")
    if len(rows) != 1:
        raise ParseError(f"tracking: expected one line, got {len(rows)}")
    f = rows[0]
    if not re.fullmatch(r"[0-9A-Fa-f]{1,8}", f[0]):
        raise ParseError(f"tracking: reference ID {f[0]!r} is not hexadecimal")
    ref_time, system_time, last_offset, rms_offset, frequency, residual, skew, delay, dispersion, interval = (
        _number(v, float, "tracking") for v in f[3:13]
    )
    return Tracking(
        f[0].upper(),
        f[1],
        _number(f[2], int, "tracking"),
        ref_time,
        system_time,
        last_offset,
        rms_offset,
        frequency,
        residual,
        skew,
        delay,
        dispersion,
        interval,
        f[13],
    )


@dataclasses.dataclass(frozen=True)
class Source:
    mode: str
    state: str
    address: str
    stratum: int
    poll: int
    reach: int  # the register's value (chronyc prints it in octal)
    last_rx: int
    adjusted_offset: float
    measured_offset: float
    error: float

    @property
    def reach_octal(self) -> str:
        return f"{self.reach:o}"

    @property
    def selected(self) -> bool:
        return self.state == "*"

    def describe(self) -> str:
        mode = "" if self.mode == "^" else f" ({MODES.get(self.mode, self.mode)})"
        return (
            f"{self.mode}{self.state} {self.address}{mode}: reach {self.reach_octal}, "
            f"state {self.state} ({STATES.get(self.state, 'unknown')})"
        )


def parse_sources(text: str) -> list[Source]:
    sources = []
    for f in _rows(text, 10, "sources"):
        if f[0] not in MODES or f[1] not in STATES:
            raise ParseError(f"sources: unknown mode/state {f[0]!r},{f[1]!r}")
        if not re.fullmatch(r"[0-7]+", f[5]):  # int(x, 8) also takes "-1", "+7", "0o7", "1_7"
            raise ParseError(f"sources: reach {f[5]!r} is not octal")
        reach = int(f[5], 8)
        sources.append(
            Source(
                f[0],
                f[1],
                f[2],
                _number(f[3], int, "sources"),
                _number(f[4], int, "sources"),
                reach,
                _number(f[6], int, "sources"),
                *[_number(v, float, "sources") for v in f[7:10]],
            )
        )
    return sources


@dataclasses.dataclass(frozen=True)
class AuthEntry:
    address: str
    mode: str  # NTS, SK, -
    key_id: int
    key_type: int
    key_length: int
    last: int  # s since the last successful NTS-KE (NEVER: none)
    attempts: int  # NTS-KE attempts since then
    naks: int
    cookies: int
    cookie_length: int

    @property
    def nts(self) -> bool:
        return self.mode == "NTS"

    @property
    def authenticated(self) -> bool:
        """NTS with cookies in hand: chronyd can authenticate its next requests."""
        return self.nts and self.cookies > 0

    @property
    def ke_failed(self) -> bool:
        """NTS source whose key establishment has not (or no longer) succeeded."""
        return self.nts and self.cookies == 0 and (self.attempts > 0 or self.last == NEVER)

    @property
    def last_text(self) -> str:
        return "never" if self.last == NEVER else f"{self.last} s ago"

    def describe(self) -> str:
        if self.mode == "-":
            return f"{self.address}: not authenticated (mode -)"
        if self.mode == "SK":
            return f"{self.address}: symmetric key {self.key_id} (mode SK), not NTS"
        return (
            f"{self.address}: NTS, {self.cookies} cookies, last NTS-KE {self.last_text}, "
            f"{self.attempts} NTS-KE attempts since, {self.naks} NAKs"
        )


def parse_authdata(text: str) -> list[AuthEntry]:
    entries = []
    for f in _rows(text, 10, "authdata"):
        if f[1] not in ("NTS", "SK", "-"):
            raise ParseError(f"authdata: unknown mode {f[1]!r}")
        entries.append(AuthEntry(f[0], f[1], *[_number(v, int, "authdata") for v in f[2:10]]))
    return entries
