"""Where a value came from: a file and line, shown in every verdict."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Line:
    path: str
    lineno: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.lineno}"

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"
