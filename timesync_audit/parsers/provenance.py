"""Where a value came from: a file and line, shown in every verdict."""
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
