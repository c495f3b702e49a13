"""`timedatectl show` and `timedatectl show-timesync`: KEY=VALUE properties, one per line.

Pure functions of the command's text (stderr merged).
- show (systemd-timedated): NTPSynchronized=yes|no is the kernel clock's synchronization flag
  (adjtimex: not STA_UNSYNC), the only word on whether the clock is synchronized; NTP=yes|no says
  whether an NTP service is enabled, not that it works.
- show-timesync (systemd-timesyncd): ServerName= and ServerAddress= name the server in use (empty
  when none), SystemNTPServers=/FallbackNTPServers=... what it may use.
Output without any KEY=VALUE line ("Failed to query server: ...", "System has not been booted
with systemd...") is a ParseError whose text is timedatectl's first line.
"""

from __future__ import annotations

import dataclasses
import re

from .lines import lines

_PROPERTY = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)=(.*)$")


class ParseError(ValueError):
    """Output that is not timedatectl's KEY=VALUE list."""


def parse_properties(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in lines(text):
        found = _PROPERTY.match(line.rstrip("\r"))
        if found:
            values[found.group(1)] = found.group(2)
    if not values:
        said = [line.strip() for line in lines(text) if line.strip()]
        raise ParseError(said[0] if said else "(no output)")
    return values


@dataclasses.dataclass(frozen=True)
class Show:
    """`timedatectl show`."""

    properties: dict

    @property
    def ntp_synchronized(self) -> bool | None:
        """NTPSynchronized as a truth value; None when absent or not yes/no."""
        value = self.properties.get("NTPSynchronized")
        return {"yes": True, "no": False}.get(value) if value is not None else None

    def describe(self) -> str:
        keys = ("NTPSynchronized", "NTP", "CanNTP")
        return ", ".join(f"{k}={self.properties[k]}" for k in keys if k in self.properties)


@dataclasses.dataclass(frozen=True)
class Timesync:
    """`timedatectl show-timesync`."""

    properties: dict

    @property
    def server_name(self) -> str:
        return self.properties.get("ServerName", "").strip()

    @property
    def server_address(self) -> str:
        return self.properties.get("ServerAddress", "").strip()

    @property
    def server_in_use(self) -> bool:
        return bool(self.server_name or self.server_address)

    def describe(self) -> str:
        server = (
            f"server in use {self.server_name or '(no name)'} ({self.server_address or 'no address'})"
            if self.server_in_use
            else "no server in use (ServerName and ServerAddress empty)"
        )
        configured = (
            self.properties.get("SystemNTPServers", "").strip() or self.properties.get("LinkNTPServers", "").strip()
        )
        return server + (f"; configured: {configured}" if configured else "")


def parse_show(text: str) -> Show:
    return Show(parse_properties(text))


def parse_timesync(text: str) -> Timesync:
    return Timesync(parse_properties(text))
