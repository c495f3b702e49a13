"""Read-only commands that show what the daemons do now (not what they are told to do).

They join each host's first round trip: one gather, whatever the number of rules.
Each prints nothing and exits 127 where its tool is missing.
"""
from __future__ import annotations

from ..gather.snapshot import Request


def _guarded(tool: str, command: str) -> str:
    return f"command -v {tool} >/dev/null 2>&1 || exit 127; $T {command}"


CHRONY = Request(commands=(
    ("chronyc_tracking", _guarded("chronyc", "chronyc -c -n tracking")),
    ("chronyc_sources", _guarded("chronyc", "chronyc -c -n sources")),
    ("chronyc_authdata", _guarded("chronyc", "chronyc -c -n authdata")),
))
NTPD = Request(commands=(
    ("ntpq_peers", _guarded("ntpq", "ntpq -n -c peers")),
    ("ntpq_associations", _guarded("ntpq", "ntpq -n -c associations")),
))
TIMESYNCD = Request(commands=(
    ("timedatectl_show", _guarded("timedatectl", "timedatectl show")),
    ("timedatectl_timesync", _guarded("timedatectl", "timedatectl show-timesync")),
))
