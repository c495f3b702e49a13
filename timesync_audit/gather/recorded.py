"""A host made of recorded files: answers Requests as the gather script would.

Used by the project's own tests (recorded RHEL and Debian layouts, rule
scenarios) and usable to audit a copied tree offline. Key files are answered
with stat only, exactly as on a real host.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import posixpath

from .script import SECRET_PATTERNS
from .snapshot import CommandOutput, FileRecord, Request, Snapshot, Stat


@dataclasses.dataclass(frozen=True)
class RecordedFile:
    content: str | None = None  # None: exists, content not recorded (stat only)
    stat: Stat = Stat(0, 0, "root", "root", 0o644, "regular file")
    link_target: str | None = None
    readable: bool = True


def _glob_match(path: str, pattern: str) -> bool:
    """sh glob semantics: per path segment, no match of a leading dot."""
    parts, pats = path.split("/"), pattern.split("/")
    return len(parts) == len(pats) and all(
        fnmatch.fnmatchcase(a, b) and not (a.startswith(".") and not b.startswith("."))
        for a, b in zip(parts, pats))


class RecordedHost:
    def __init__(self, files: dict[str, RecordedFile], commands: dict[str, CommandOutput]):
        self.files = {posixpath.normpath(p): f for p, f in files.items()}
        self.commands = commands
        self.round_trips = 0

    def _is_secret(self, path: str, secret_paths: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(path, p) for p in SECRET_PATTERNS + secret_paths)

    def _is_dir(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return any(p.startswith(prefix) for p in self.files)

    def _record(self, path: str, stat_only: bool) -> FileRecord:
        f = self.files.get(path)
        if f is None:
            if self._is_dir(path):
                return FileRecord(path, "not-a-file", Stat(0, 0, "root", "root", 0o755, "directory"))
            return FileRecord(path, "missing")
        if stat_only:
            return FileRecord(path, "ok", f.stat, None, f.link_target)
        if not f.readable:
            return FileRecord(path, "unreadable", f.stat, None, f.link_target)
        return FileRecord(path, "ok", f.stat, f.content if f.content is not None else "", f.link_target)

    def execute(self, request: Request, secret_paths: tuple[str, ...] = ()) -> Snapshot:
        self.round_trips += 1
        snap = Snapshot(round_trips=1)
        for path in request.files:
            path = posixpath.normpath(path)
            if self._is_secret(path, secret_paths) and path in self.files:
                snap.stats[path] = self._record(path, True)
            else:
                snap.files[path] = self._record(path, False)
        for path in request.stats:
            path = posixpath.normpath(path)
            snap.stats[path] = self._record(path, True)
        for pattern in request.globs:
            matches = sorted(p for p in self.files if _glob_match(p, posixpath.normpath(pattern)))
            snap.globs[pattern] = tuple(matches)
            for match in matches:
                secret = self._is_secret(match, secret_paths)
                (snap.stats if secret else snap.files)[match] = self._record(match, secret)
        for pattern in request.stat_globs:
            matches = sorted(p for p in self.files if _glob_match(p, posixpath.normpath(pattern)))
            snap.globs[pattern] = tuple(matches)
            for match in matches:
                snap.stats[match] = self._record(match, True)
        for name, _ in request.commands:
            snap.commands[name] = self.commands.get(name, CommandOutput(name, 127, ""))
        return snap
