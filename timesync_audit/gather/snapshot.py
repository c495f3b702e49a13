"""What one host showed us: files (content or stat only), glob expansions, command outputs.

A Snapshot is plain data, filled by the remote script (gather.script) or, in
the project's own tests, from recorded files (gather.recorded). Readers record
what they needed but was not gathered yet, so the collector can fetch it in
one more round trip instead of one per file.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import posixpath
from collections.abc import Iterable

from ..display import value


@dataclasses.dataclass(frozen=True)
class Stat:
    uid: int
    gid: int
    user: str
    group: str
    mode: int  # permission bits incl. setuid/setgid/sticky
    kind: str  # "regular file", "directory", "symbolic link", ...


@dataclasses.dataclass(frozen=True)
class FileRecord:
    path: str
    #: "ok", "missing", "unreadable", "not-a-file", or "denied": the auditing user cannot search a
    #: directory on the path (`blocked_by`), so whether the file exists is unknown (never "missing")
    state: str
    stat: Stat | None = None
    content: str | None = None  # None for stat-only records and for unreadable files
    link_target: str | None = None
    blocked_by: str | None = None
    #: why the content was not sent although the file is readable: "key material" (it stays on the host)
    withheld: str | None = None
    size: int | None = None  # bytes, for a file too large to send ("toobig")

    @property
    def exists(self) -> bool:
        return self.state not in ("missing", "denied")

    @property
    def denied(self) -> bool:
        return self.state == "denied"

    def hidden_reason(self, user: str) -> str:
        """Why the auditing user cannot see this file, in words a person can act on."""
        where = f"directory {self.blocked_by}" if self.blocked_by else "a directory on the path"
        return f"{self.path}: {where} is not searchable by {user}, so it cannot be checked"


@dataclasses.dataclass(frozen=True)
class CommandOutput:
    name: str
    rc: int
    stdout: str
    size: int | None = None  # bytes the host sent
    cut: bool = False  # the host printed more than the cap: stdout is its beginning only

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.cut


@dataclasses.dataclass(frozen=True)
class Request:
    """One round trip's worth of questions."""

    files: tuple[str, ...] = ()  # content + stat (never a key file)
    globs: tuple[str, ...] = ()  # expanded remotely; each match fetched as in `files`
    stats: tuple[str, ...] = ()  # stat only: key files, certificates
    commands: tuple[tuple[str, str], ...] = ()  # (name, shell snippet)
    stat_globs: tuple[str, ...] = ()  # expanded remotely; each match stat only (key directories)

    def __bool__(self) -> bool:
        return bool(self.files or self.globs or self.stats or self.commands or self.stat_globs)

    def merged(self, other: Request) -> Request:
        return Request(
            _union(self.files, other.files),
            _union(self.globs, other.globs),
            _union(self.stats, other.stats),
            _union(self.commands, other.commands),
            _union(self.stat_globs, other.stat_globs),
        )

    def without_secrets(self, secret_paths: Iterable[str]) -> Request:
        """Move key files from content requests to stat-only: their content is never fetched."""
        secrets = {posixpath.normpath(p) for p in secret_paths}
        files = tuple(f for f in self.files if posixpath.normpath(f) not in secrets)
        moved = tuple(f for f in self.files if posixpath.normpath(f) in secrets)
        return Request(files, self.globs, _union(self.stats, moved), self.commands, self.stat_globs)


def _union(a: tuple, b: tuple) -> tuple:
    return tuple(dict.fromkeys(a + b))


@dataclasses.dataclass
class Snapshot:
    files: dict[str, FileRecord] = dataclasses.field(default_factory=dict)
    stats: dict[str, FileRecord] = dataclasses.field(default_factory=dict)
    globs: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # content and stat-only globs
    commands: dict[str, CommandOutput] = dataclasses.field(default_factory=dict)
    round_trips: int = 0
    #: globs whose directory the auditing user cannot list (pattern -> that directory): the matches are unknown
    denied_globs: dict[str, str] = dataclasses.field(default_factory=dict)
    #: globs that matched more files than one answer sends (pattern -> how many were sent)
    cut_globs: dict[str, int] = dataclasses.field(default_factory=dict)

    def merge(self, other: Snapshot) -> None:
        self.files.update(other.files)
        self.stats.update(other.stats)
        self.globs.update(other.globs)
        self.denied_globs.update(other.denied_globs)
        self.cut_globs.update(other.cut_globs)
        self.commands.update(other.commands)
        self.round_trips += other.round_trips


class Reader:
    """Read access to a snapshot that notes what is missing instead of guessing."""

    #: the reader a scoped() one shares its needs with (None: this one keeps its own)
    _parent: Reader | None = None

    def __init__(self, snapshot: Snapshot, secret_paths: Iterable[str] = ()):
        self.snapshot = snapshot
        self._needs = Request()
        self.secret_paths = set(secret_paths)
        #: what the readers asked for and the auditing user could not see: could not check, never missing
        self.hidden: dict[str, str] = {}  # path or glob -> the directory that hides it
        #: files too large to send (path -> size) and globs that matched more than one answer sends
        self.oversize: dict[str, int] = {}
        self.cut: dict[str, int] = {}

    def scoped(self) -> Reader:
        """A reader over the same snapshot and needs that keeps its own `hidden`: one per daemon,
        so a directory only one daemon reads makes only that daemon's rules could-not-check."""
        child = Reader.__new__(Reader)
        child.snapshot, child.secret_paths, child.hidden = self.snapshot, self.secret_paths, {}
        child.oversize, child.cut = {}, {}
        child._parent = self
        return child

    @property
    def needs(self) -> Request:  # shared with the parent reader, if any
        parent = self._parent
        return parent.needs if parent is not None else self._needs

    @needs.setter
    def needs(self, value: Request) -> None:
        parent = self._parent
        if parent is not None:
            parent.needs = value
        else:
            self._needs = value

    def _seen(self, record: FileRecord | None) -> FileRecord | None:
        if record is not None and record.denied:
            self.hidden[record.path] = record.blocked_by or "?"
        if record is not None and record.state == "toobig":
            self.oversize[record.path] = record.size or 0
        return record

    def file(self, path: str) -> FileRecord | None:
        """Content record of path, or None (and a need) when not gathered yet."""
        path = posixpath.normpath(path)
        record = self.snapshot.files.get(path) or self.snapshot.stats.get(path)
        if record is None:
            record = self._from_globs(path)
        if record is None:
            self.needs = self.needs.merged(Request(files=(path,)))
        return self._seen(record)

    def _from_globs(self, path: str) -> FileRecord | None:
        # A path inside an already expanded glob that did not match does not exist.
        for pattern, matches in self.snapshot.globs.items():
            if pattern in self.snapshot.denied_globs:
                continue
            if fnmatch.fnmatchcase(path, pattern) and posixpath.dirname(path) == posixpath.dirname(pattern):
                if path not in matches and "/" not in posixpath.basename(pattern):
                    return FileRecord(path, "missing")
        return None

    def stat(self, path: str) -> FileRecord | None:
        path = posixpath.normpath(path)
        record = self.snapshot.stats.get(path) or self.snapshot.files.get(path)
        if record is None:
            self.needs = self.needs.merged(Request(stats=(path,)))
        return self._seen(record)

    def _glob_seen(self, pattern: str) -> None:
        directory = self.snapshot.denied_globs.get(pattern)
        if directory is not None:
            self.hidden[pattern] = directory
        if pattern in self.snapshot.cut_globs:
            self.cut[pattern] = self.snapshot.cut_globs[pattern]

    def glob(self, pattern: str) -> tuple[str, ...] | None:
        return self._matches(pattern, Request(globs=(pattern,)))

    def stat_glob(self, pattern: str) -> tuple[str, ...] | None:
        """Matches of a glob whose files are only ever stat'ed (never read): key directories."""
        return self._matches(pattern, Request(stat_globs=(pattern,)))

    def _matches(self, pattern: str, request: Request) -> tuple[str, ...] | None:
        """A glob's matches, or None (and `request` a need) when it is not expanded yet."""
        matches = self.snapshot.globs.get(pattern)
        if matches is None:
            self.needs = self.needs.merged(request)
        else:
            self._glob_seen(pattern)
        return matches

    def hidden_problems(self, user: str) -> list[str]:
        """One line per path or glob the audit could not see whole (could not check)."""
        found = [
            f"{value(what)}: directory {value(directory)} is not searchable or listable by {user}, so it "
            f"cannot be checked"
            for what, directory in sorted(self.hidden.items())
        ]
        found += [
            f"{value(path)} is {size} bytes, more than one answer may carry (--max-host-bytes)"
            for path, size in sorted(self.oversize.items())
        ]
        found += [
            f"{value(pattern)} matches more than {count} files: more than the audit reads"
            for pattern, count in sorted(self.cut.items())
        ]
        return found

    def command(self, name: str) -> CommandOutput | None:
        return self.snapshot.commands.get(name)
