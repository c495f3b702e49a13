"""ntpq's answers (classic ntp and ntpsec): `ntpq -n -c peers` and `ntpq -n -c associations`.

Pure functions of the command's text (stderr merged).
- peers: a header (`remote refid st t when poll reach delay offset jitter`), a `====` rule, then
  one row per association: the tally character in column 1 (`*` system peer, `o` system peer
  with PPS, `+` candidate, `-` outlier, `#` backup, `x` falseticker, `.` excess, ` ` rejected),
  then the fields. A remote address too long for its column is printed alone, the row
  continuing on the next line.
- associations: `ind assid status conf reach auth condition last_event cnt`, one row per
  association; `auth` is `ok` (authenticated), `bad` (authentication enabled, failing) or
  `none`; `condition` is `sys.peer` (or `pps.peer`) for the system peer. last_event may be empty.
- "No association ID's returned": ntpd answers and has no association (an empty list).
Anything else (`ntpq: read: Connection refused`, `***Request timed out`...) is a ParseError
whose text is ntpq's first line: ntpd did not answer.
"""

from __future__ import annotations

import dataclasses
import re

from .lines import lines as output_lines
from .numbers import decimal as _decimal

TALLY = {
    "*": "system peer",
    "o": "system peer (PPS)",
    "+": "candidate",
    "-": "outlier",
    "#": "backup",
    "x": "falseticker",
    ".": "excess",
    " ": "rejected",
}
SYSTEM_PEER_TALLY = ("*", "o")
SYSTEM_PEER_CONDITIONS = ("sys.peer", "pps.peer")
_NONE = re.compile(r"No association IDs? returned|No association ID's returned", re.I)


class ParseError(ValueError):
    """Output that is not ntpq's table."""


def _rows(text: str, header_word: str) -> list[str]:
    """The lines after the `====` rule that follows a header naming header_word; none where ntpd
    has no association; ParseError (ntpq's first line: its complaint) for output without a table."""
    if _NONE.search(text):
        return []
    lines = output_lines(text)
    for i, line in enumerate(lines):
        if header_word in line.split() and i + 1 < len(lines) and lines[i + 1].startswith("==="):
            return [line for line in lines[i + 2 :] if line.strip()]
    said = [line.strip() for line in lines if line.strip()]
    raise ParseError(said[0] if said else "(no output)")


@dataclasses.dataclass(frozen=True)
class Peer:
    tally: str
    remote: str
    refid: str
    stratum: int | None
    type: str
    when: str
    poll: str
    reach: str  # octal, as ntpq prints it
    delay: str
    offset: str  # ms
    jitter: str

    @property
    def system_peer(self) -> bool:
        return self.tally in SYSTEM_PEER_TALLY

    def describe(self) -> str:
        tally = self.tally if self.tally != " " else "(blank)"
        return (
            f"{tally} {self.remote} ({TALLY.get(self.tally, 'unknown')}): refid {self.refid}, "
            f"stratum {self.stratum if self.stratum is not None else '?'}, reach {self.reach}, "
            f"offset {self.offset} ms"
        )


def parse_peers(text: str) -> list[Peer]:
    rows = _rows(text, "remote")
    peers = []
    pending: tuple[str, str] | None = None
    for line in rows:
        if pending is None:
            tally, fields = line[0], line[1:].split()
            if len(fields) == 1:  # a long remote address, the row continues on the next line
                pending = (tally, fields[0])
                continue
        else:
            tally, fields = pending[0], [pending[1]] + line.split()
            pending = None
        if len(fields) != 10:
            raise ParseError(f"peers: expected 10 fields, got {len(fields)}: {line.strip()!r}")
        if tally not in TALLY:
            raise ParseError(f"peers: unknown tally code {tally!r}: {line.strip()!r}")
        remote, refid, st, kind, when, poll, reach, delay, offset, jitter = fields
        peers.append(Peer(tally, remote, refid, _decimal(st), kind, when, poll, reach, delay, offset, jitter))
    if pending is not None:
        raise ParseError(f"peers: row of {pending[1]} is cut short")
    return peers


@dataclasses.dataclass(frozen=True)
class Association:
    index: int
    assid: int
    status: str
    conf: str
    reach: str
    auth: str  # ok, bad, none
    condition: str
    last_event: str
    count: str

    @property
    def system_peer(self) -> bool:
        return self.condition in SYSTEM_PEER_CONDITIONS

    @property
    def authenticated(self) -> bool:
        return self.auth == "ok"

    def describe(self) -> str:
        return f"association {self.assid} (ind {self.index}): condition {self.condition}, auth {self.auth}"


def parse_associations(text: str) -> list[Association]:
    rows = _rows(text, "assid")
    result = []
    for line in rows:
        fields = line.split()
        if len(fields) == 8:  # empty last_event
            fields.insert(7, "")
        index, assid = (_decimal(fields[0]), _decimal(fields[1])) if len(fields) == 9 else (None, None)
        if index is None or assid is None:
            raise ParseError(f"associations: unexpected row {line.strip()!r}")
        result.append(Association(index, assid, *fields[2:]))
    return result
