"""A host made of recorded files: answers Requests as the gather script would.

Used by the project's own tests (recorded RHEL and Debian layouts, rule
scenarios) and usable to audit a copied tree offline. Key files are answered
with stat only, exactly as on a real host.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import posixpath

from .script import SECRET_PATTERNS, glob_dir, looks_like_key_material
from .snapshot import CommandOutput, FileRecord, Request, Snapshot, Stat


@dataclasses.dataclass(frozen=True)
class RecordedFile:
    content: str | None = None  # None: exists, content not recorded (stat only)
    stat: Stat = Stat(0, 0, "root", "root", 0o644, "regular file")
    link_target: str | None = None
    readable: bool = True  # the auditing user can read it (files), can list it (directories)
    searchable: bool = True  # directories: the auditing user can search it (reach what is inside)
    dangling: bool = False  # a symbolic link to nothing (link_target): listed, and missing when opened


#: accounts every host has, answered to `account:NAME` lookups besides the layout's own
_BASE_ACCOUNTS = (
    "root:x:0:0:root:/root:/bin/sh\t0",
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\t65534",
)
_DIRECTORY = Stat(0, 0, "root", "root", 0o755, "directory")


def _glob_match(path: str, pattern: str) -> bool:
    """sh glob semantics: per path segment, no match of a leading dot."""
    parts, pats = path.split("/"), pattern.split("/")
    return len(parts) == len(pats) and all(
        fnmatch.fnmatchcase(a, b) and not (a.startswith(".") and not b.startswith(".")) for a, b in zip(parts, pats)
    )


class RecordedHost:
    def __init__(self, files: dict[str, RecordedFile], commands: dict[str, CommandOutput]):
        self.files = {posixpath.normpath(p): f for p, f in files.items()}
        self.commands = commands
        self.round_trips = 0

    def _is_secret(self, path: str, secret_paths: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(path, p) for p in SECRET_PATTERNS + secret_paths)

    def _is_dir(self, path: str) -> bool:
        if path == "/":
            return True
        f = self.files.get(path)
        if f is not None:
            return f.stat.kind == "directory"
        prefix = path.rstrip("/") + "/"
        return any(p.startswith(prefix) for p in self.files)

    def _blocked_by(self, path: str) -> str | None:
        """The first directory above path the auditing user cannot search."""
        parts = path.split("/")
        for i in range(1, len(parts)):
            directory = "/".join(parts[:i]) or "/"
            f = self.files.get(directory)
            if f is not None and f.stat.kind == "directory" and not f.searchable:
                return directory
        return None

    def _unlistable(self, pattern: str) -> str | None:
        directory = glob_dir(pattern)
        blocked = self._blocked_by(directory + "/x")
        if blocked:
            return blocked
        f = self.files.get(directory)
        if f is not None and f.stat.kind == "directory" and not f.readable:
            return directory
        return None

    def _record(self, path: str, stat_only: bool) -> FileRecord:
        blocked = self._blocked_by(path)
        if blocked:
            return FileRecord(path, "denied", blocked_by=blocked)
        f = self.files.get(path)
        if f is not None and f.dangling:  # as the script's dangling(): missing, with the link's target
            return FileRecord(path, "missing", None, None, f.link_target)
        if f is None or f.stat.kind == "directory":
            if self._is_dir(path):
                stat = f.stat if f is not None else _DIRECTORY
                return FileRecord(path, "ok" if stat_only else "not-a-file", stat)
            return FileRecord(path, "missing")
        if stat_only:
            return FileRecord(path, "ok", f.stat, None, f.link_target)
        if not f.readable:
            return FileRecord(path, "unreadable", f.stat, None, f.link_target)
        if f.content is not None and looks_like_key_material(f.content):  # as the script's keymat()
            return FileRecord(path, "ok", f.stat, None, f.link_target, withheld="key material")
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
            matches = self._matches(pattern, snap)
            for match in matches:
                secret = self._is_secret(match, secret_paths)
                (snap.stats if secret else snap.files)[match] = self._record(match, secret)
        for pattern in request.stat_globs:
            for match in self._matches(pattern, snap):
                snap.stats[match] = self._record(match, True)
        for name, _ in request.commands:
            snap.commands[name] = self.commands.get(name) or self._account(name) or CommandOutput(name, 127, "")
        return snap

    def _matches(self, pattern: str, snap: Snapshot) -> list[str]:
        hidden = self._unlistable(pattern)
        if hidden:
            snap.globs[pattern] = ()
            snap.denied_globs[pattern] = hidden
            return []
        matches = sorted(p for p in self.files if _glob_match(p, posixpath.normpath(pattern)))
        snap.globs[pattern] = tuple(matches)
        return matches

    def _account(self, name: str) -> CommandOutput | None:
        """`account:NAME` lookups, answered from the layout's accounts and the base ones."""
        if not name.startswith("account:"):
            return None
        user = name.split(":", 1)[1]
        known = self.commands.get("accounts")
        lines = (known.stdout.splitlines() if known else []) + list(_BASE_ACCOUNTS)
        found = [line for line in lines if line.split(":", 1)[0] == user]
        return CommandOutput(name, 0 if found else 2, "\n".join(found[:1]) + ("\n" if found else ""))
