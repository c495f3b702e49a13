"""Poll options of a server/pool/peer line, read the same way for chrony and ntpd.

How each daemon turns them into the interval it really uses differs, so
`effective_maxpoll` stays with each parser's Source.
"""

from __future__ import annotations


class PollOptions:
    """For a Source with an `options` mapping (option name -> value or None)."""

    options: dict

    def _int_option(self, name: str) -> int | None:
        value = self.options.get(name)
        return int(value) if value is not None else None

    @property
    def maxpoll(self) -> int | None:
        return self._int_option("maxpoll")

    @property
    def minpoll(self) -> int | None:
        return self._int_option("minpoll")
