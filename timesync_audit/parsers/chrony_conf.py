"""chrony.conf as chronyd reads it: the effective configuration, with provenance.

Follows chronyd 4.x (conf.c): comment lines start with ! ; # %, directive and
option names are case-insensitive, there are no inline comments, `include`
reads glob matches in sorted order, `confdir` merges *.conf of its directories
by file name (the first directory listed wins a shared name), `sourcedir`
files (*.sources) are read after the whole configuration and may hold only
server/pool/peer lines (others are ignored, as is an invalid line and anything
after the first line not ending in a newline).
"""
from __future__ import annotations

import dataclasses
import posixpath
import re
from typing import Iterable

from ..gather.snapshot import Reader
from .provenance import Line
from .source_options import PollOptions

COMMENT_CHARS = "!;#%"
MAX_LINE_LENGTH = 2048
MAX_INCLUDE_LEVEL = 10
MAX_DIRS = 10
SOURCE_DIRECTIVES = ("server", "pool", "peer")
MIN_POLL, MAX_POLL, DEFAULT_MINPOLL, DEFAULT_MAXPOLL = -6, 24, 6, 10

# Source options (cmdparse.c): flags, and options taking one value with its validator.
_FLAGS = {"auto_offline", "burst", "copy", "iburst", "noselect", "nts", "offline", "prefer",
          "require", "trust", "xleave"}


def _int_range(low: int, high: int):
    def check(value: str) -> bool:
        return re.fullmatch(r"[+-]?\d+", value) is not None and low <= int(value) <= high
    return check


def _float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


_VALUED = {
    "minpoll": _int_range(-32, 32), "maxpoll": _int_range(-32, 32), "key": _int_range(1, 2**32 - 1),
    "ntsport": _int_range(0, 65535), "port": _int_range(0, 65535), "maxsources": _int_range(1, 1 << 16),
    "polltarget": _int_range(0, 1 << 16), "version": _int_range(1, 4), "minstratum": _int_range(0, 16),
    "maxdelay": _float, "maxdelayratio": _float, "maxdelaydevratio": _float, "maxdelayquant": _float,
    "mindelay": _float, "asymmetry": _float, "offset": _float, "filter": _int_range(1, 1 << 16),
    "presend": _int_range(-32, 32), "certset": _int_range(0, 1 << 16), "extfield": lambda v: bool(v),
    "minsamples": _int_range(0, 1 << 16), "maxsamples": _int_range(0, 1 << 16),
}

# Directives whose value is one word (parse_string/parse_int with check_number_of_args 1).
_ONE_ARG = {"user", "keyfile", "ntsdumpdir", "ntscachedir", "driftfile", "logdir", "dumpdir",
            "include", "pidfile", "bindcmddevice", "binddevice", "bindacqdevice", "leapsectz"}
_PORTS = {"port", "cmdport", "ntsport", "acquisitionport", "ptpport"}


@dataclasses.dataclass(frozen=True)
class Directive:
    name: str  # lower case
    args: tuple[str, ...]
    line: Line
    error: str | None = None  # why chronyd would reject this line

    @property
    def value(self) -> str:
        return " ".join(self.args)


@dataclasses.dataclass(frozen=True)
class Source(PollOptions):
    kind: str  # server, pool, peer
    host: str
    options: dict[str, str | None]  # lower-case option names; flags map to None
    line: Line
    from_sourcedir: bool = False


    @property
    def effective_maxpoll(self) -> int:
        """The longest interval chronyd will poll at (ntp_core.c NCR_CreateInstance):
        out-of-range values fall back to the defaults, and maxpoll is raised to minpoll."""
        minpoll = self.minpoll if self.minpoll is not None else DEFAULT_MINPOLL
        if minpoll < MIN_POLL:
            minpoll = DEFAULT_MINPOLL
        minpoll = min(minpoll, MAX_POLL)
        maxpoll = self.maxpoll if self.maxpoll is not None else DEFAULT_MAXPOLL
        if maxpoll < MIN_POLL:
            maxpoll = DEFAULT_MAXPOLL
        return max(min(maxpoll, MAX_POLL), minpoll)

    @property
    def nts(self) -> bool:
        return "nts" in self.options


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    where: str
    message: str
    fatal: bool  # chronyd would refuse to start

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclasses.dataclass
class ChronyConfig:
    main_path: str
    directives: list[Directive] = dataclasses.field(default_factory=list)
    sources: list[Source] = dataclasses.field(default_factory=list)
    invalid_sources: list[Directive] = dataclasses.field(default_factory=list)  # fatal to chronyd
    files_read: list[str] = dataclasses.field(default_factory=list)
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)
    unreadable: list[str] = dataclasses.field(default_factory=list)
    main_missing: bool = False

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.directives if d.name == name and d.error is None]

    def invalid(self, name: str) -> list[Directive]:
        return [d for d in self.directives if d.name == name and d.error is not None]

    def last(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[-1] if found else None

    @property
    def fatal(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.fatal]


def c_int(text: str) -> int:
    """An integer as C's sscanf %d reads it: the leading [+-]digits of the word."""
    match = re.match(r"[+-]?\d+", text)
    if match is None:
        raise ValueError(f"not an integer: {text!r}")
    return int(match.group())


def normalize(text: str) -> list[str] | None:
    """Words of a line, or None for a blank or comment line."""
    stripped = text.strip()
    if not stripped or stripped[0] in COMMENT_CHARS:
        return None
    return stripped.split()


def looks_like_key(words: list[str]) -> bool:
    """A chrony.keys entry ('ID [TYPE] KEY') met in a file read as configuration."""
    return bool(words) and words[0].isdigit()


def parse_source(words: list[str], line: Line, from_sourcedir: bool) -> tuple[Source | None, str | None]:
    kind = words[0].lower()
    if len(words) < 2:
        return None, f"{kind} directive without a host name"
    options: dict[str, str | None] = {}
    rest = words[2:]
    i = 0
    while i < len(rest):
        name = rest[i].lower()
        if name in _FLAGS:
            options[name] = None
            i += 1
        elif name in _VALUED:
            if i + 1 >= len(rest):
                return None, f"option {rest[i]!r} needs a value"
            value = rest[i + 1]
            if not _VALUED[name](value):
                return None, f"invalid value {value!r} for option {rest[i]!r}"
            options[name] = value
            i += 2
        else:
            hint = " (chronyd does not allow inline comments)" if rest[i][0] in COMMENT_CHARS else ""
            return None, f"invalid option {rest[i]!r} in {kind} directive{hint}"
    return Source(kind, words[1], options, line, from_sourcedir), None


def _check_directive(name: str, args: tuple[str, ...]) -> str | None:
    inline = " (chronyd does not allow inline comments)" if any(a[0] in COMMENT_CHARS for a in args[1:]) else ""
    if name in _PORTS:
        if len(args) != 1:
            return f"{name} takes exactly one value, got {len(args)}{inline}"
        if not re.fullmatch(r"\d+", args[0]) or int(args[0]) > 65535:
            return f"invalid value {args[0]!r} for {name} (0-65535)"
    elif name in _ONE_ARG:
        if len(args) != 1:
            return f"{name} takes exactly one value, got {len(args)}{inline}"
    elif name == "makestep":
        # chronyd: sscanf("%lf %d"), so the limit is the integer prefix of its word ("-1.0" is -1)
        if len(args) != 2 or not _float(args[0]) or not re.match(r"[+-]?\d", args[1]):
            return f"makestep takes a threshold and a limit, got {' '.join(args)!r}{inline}"
    elif name in ("confdir", "sourcedir"):
        if not 1 <= len(args) <= MAX_DIRS:
            return f"{name} takes 1 to {MAX_DIRS} directories"
    return None


class _Parser:
    def __init__(self, reader: Reader, config: ChronyConfig):
        self.reader = reader
        self.config = config
        self.sourcedirs: list[tuple[tuple[str, ...], Line]] = []
        self.incomplete = False  # something still has to be gathered

    def diag(self, where: str, message: str, fatal: bool) -> None:
        self.config.diagnostics.append(Diagnostic(where, message, fatal))

    def content(self, path: str, origin: str, main: bool = False) -> str | None:
        """Text of a file chronyd reads, or None (noting why) when there is none to parse."""
        record = self.reader.file(path)
        if record is None:
            self.incomplete = True
            return None
        if record.state == "missing":
            if main:
                self.config.main_missing = True
                self.diag(origin, f"{path} does not exist", True)
            return None
        if record.content is None:
            if record.state == "ok":  # fetched as stat only: key material is never read
                self.diag(origin, f"{path} looks like a key file and was not read", True)
            else:
                self.config.unreadable.append(path)
            return None
        self.config.files_read.append(path)
        return record.content

    def read(self, path: str, level: int, origin: str) -> None:
        if level > MAX_INCLUDE_LEVEL:
            self.diag(origin, f"maximum include level reached reading {path}", True)
            return
        text = self.content(path, origin, main=level == 1)
        if text is not None:
            for lineno, line in enumerate(text.split("\n"), 1):
                self.line(path, lineno, line, level)

    def line(self, path: str, lineno: int, text: str, level: int) -> None:
        where = f"{path}:{lineno}"
        if len(text) >= MAX_LINE_LENGTH:
            self.diag(where, "line too long", True)
            return
        words = normalize(text)
        if words is None:
            return
        if looks_like_key(words):
            self.diag(where, "key material in a configuration file (not shown)", True)
            return
        line = Line(path, lineno, " ".join(words))
        name, args = words[0].lower(), tuple(words[1:])
        if name in SOURCE_DIRECTIVES:
            source, error = parse_source(words, line, False)
            if source:
                self.config.sources.append(source)
            else:
                self.config.invalid_sources.append(Directive(name, args, line, error))
                self.diag(where, error or "invalid source", True)
            return
        error = _check_directive(name, args)
        directive = Directive(name, args, line, error)
        self.config.directives.append(directive)
        if error:
            self.diag(where, error, True)
            return
        if name == "include":
            matches = self.reader.glob(args[0])
            if matches is None:
                self.incomplete = True
                return
            for match in matches:
                self.read(match, level + 1, where)
        elif name == "confdir":
            files = self.dir_files(args, ".conf")
            for match in files or ():
                self.read(match, level + 1, where)
        elif name == "sourcedir":
            self.sourcedirs.append((args, line))

    def dir_files(self, dirs: Iterable[str], suffix: str) -> list[str] | None:
        """Files of several directories merged by name; the first directory wins a name."""
        chosen: dict[str, str] = {}
        complete = True
        for directory in dirs:  # ask for every directory at once: one round trip, not one each
            matches = self.reader.glob(posixpath.join(directory, "*" + suffix))
            if matches is None:
                complete = False
                continue
            for match in matches:
                chosen.setdefault(posixpath.basename(match), match)
        if not complete:
            self.incomplete = True
            return None
        return [chosen[name] for name in sorted(chosen)]

    def read_sourcedirs(self) -> None:
        for dirs, origin in self.sourcedirs:
            for path in self.dir_files(dirs, ".sources") or ():
                self.read_sources_file(path, origin)

    def read_sources_file(self, path: str, origin: Line) -> None:
        text = self.content(path, origin.where)
        if text is None:
            return
        lines = text.split("\n")
        if lines and lines[-1] != "":
            self.diag(f"{path}:{len(lines)}", "last line has no newline: chronyd ignores it", False)
        for lineno, text in enumerate(lines[:-1], 1):
            where = f"{path}:{lineno}"
            words = normalize(text)
            if words is None:
                continue
            if looks_like_key(words):
                self.diag(where, "key material in a sources file (not shown)", False)
                continue
            line = Line(path, lineno, " ".join(words))
            if words[0].lower() not in SOURCE_DIRECTIVES:
                self.diag(where, f"{words[0]!r} in a sources file: chronyd ignores it", False)
                continue
            source, error = parse_source(words, line, True)
            if source:
                self.config.sources.append(source)
            else:  # not a source at all: chronyd skips it without complaint
                self.diag(where, f"{error}: chronyd ignores this line", False)


def parse(main_path: str, reader: Reader) -> tuple[ChronyConfig, bool]:
    """Effective configuration of chronyd started with main_path.

    Returns (config, complete); complete is False while the reader still lacks
    files, which the collector then fetches in one more round trip.
    """
    config = ChronyConfig(main_path)
    parser = _Parser(reader, config)
    parser.read(main_path, 1, main_path)
    parser.read_sourcedirs()
    return config, not parser.incomplete
