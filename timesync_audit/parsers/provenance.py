"""Where a value came from: a file and line, shown in every verdict; and the configuration
line (directive) read from it, as chrony.conf and ntp.conf both have them."""

from __future__ import annotations

import dataclasses

from ..display import escape, value


@dataclasses.dataclass(frozen=True)
class Line:
    path: str
    lineno: int
    text: str

    @property
    def where(self) -> str:
        """file:line, with a file name's newlines and undecodable bytes shown escaped."""
        return f"{escape(self.path)}:{self.lineno}"

    def __str__(self) -> str:
        return f"{self.where}: {value(self.text)}"


@dataclasses.dataclass(frozen=True)
class Directive:
    name: str  # lower case (chronyd); as written (ntpd)
    args: tuple[str, ...]
    line: Line
    #: why the daemon refuses this line (chronyd stops there) or ignores it, or the part of it
    #: after a bad word (ntpd); None for a line it applies
    error: str | None = None

    @property
    def value(self) -> str:
        return " ".join(self.args)
