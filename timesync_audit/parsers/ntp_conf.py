"""ntp.conf as ntpd (classic ntp 4.2 or NTPsec) reads it: the effective configuration, with provenance.

Follows ntpd's configuration scanner: `#` starts a comment anywhere on a line
(outside a double-quoted string), words are separated by blanks, keywords are
lower case, `includefile FILE` reads FILE in place (at most MAX_INCLUDE_LEVEL
deep). NTPsec also reads every `ntp.d/*.conf` in the directory of its main
file, in name order, after the main file, with no directive asking for it.

Secrets: the value of `crypto pw` is replaced by REDACTED while the line is
parsed, so it is never kept, compared or shown; a line that looks like a key
file entry (`ID TYPE KEY`) is noted without its text.
"""
from __future__ import annotations

import dataclasses
import posixpath
import re

from ..gather.snapshot import Reader
from .provenance import Line
from .source_options import PollOptions

REDACTED = "<redacted>"
MAX_INCLUDE_LEVEL = 5  # ntpd: MAXINCLUDELEVEL
SOURCE_DIRECTIVES = ("server", "pool", "peer")
DEFAULT_MAXPOLL, MAX_POLL = 10, 17  # ntpd: NTP_MAXDPOLL, NTP_MAXPOLL
MIN_POLL = {"classic": 3, "ntpsec": 0}  # NTP_MINPOLL
LOCAL_CLOCK_DEFAULT_STRATUM = 5  # refclock_local.c STRATUM

# Source options that take a value (ntp_parser.y / ntpsec): the rest are flags.
_INT_OPTIONS = {"key", "minpoll", "maxpoll", "mode", "ttl", "version", "subtype", "unit"}
_VALUED_OPTIONS = _INT_OPTIONS | {"bias", "ask", "ca", "cert", "aead", "refid", "path", "ppspath",
                                  "baud", "holdover", "stratum", "time1", "time2"}
_RESTRICT_FAMILIES = {"-4": ("IPv4",), "-6": ("IPv6",)}


@dataclasses.dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    line: Line
    error: str | None = None  # why ntpd ignores this line

    @property
    def value(self) -> str:
        return " ".join(self.args)


@dataclasses.dataclass(frozen=True)
class Source(PollOptions):
    kind: str  # server, pool, peer
    host: str
    options: dict[str, str | None]  # flags map to None
    line: Line
    min_poll_floor: int = 3

    @property
    def refclock(self) -> bool:
        """A reference clock driver address (127.127.t.u), not a network source."""
        return self.host.startswith("127.127.")


    @property
    def effective_maxpoll(self) -> int:
        """The longest interval ntpd polls at: the configuration clamps maxpoll to
        NTP_MINPOLL..NTP_MAXPOLL (and logs it), and ntpd takes 0 or no value as
        NTP_MAXDPOLL (10); a larger minpoll lowers minpoll, never raises maxpoll."""
        if self.maxpoll is None:
            return DEFAULT_MAXPOLL
        value = min(max(self.maxpoll, self.min_poll_floor), MAX_POLL)
        return DEFAULT_MAXPOLL if value == 0 else value

    @property
    def authenticated(self) -> bool:
        return "autokey" in self.options or "key" in self.options


@dataclasses.dataclass(frozen=True)
class Restriction:
    """A `restrict default` line: the address families it applies to and its flags."""

    families: tuple[str, ...]
    flags: frozenset[str]
    line: Line


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclasses.dataclass
class NtpConfig:
    main_path: str
    flavor: str  # "classic" or "ntpsec"
    directives: list[Directive] = dataclasses.field(default_factory=list)
    sources: list[Source] = dataclasses.field(default_factory=list)
    invalid_sources: list[Directive] = dataclasses.field(default_factory=list)  # ntpd ignores them
    restrictions: list[Restriction] = dataclasses.field(default_factory=list)
    files_read: list[str] = dataclasses.field(default_factory=list)
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)
    unreadable: list[str] = dataclasses.field(default_factory=list)
    main_missing: bool = False

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.directives if d.name == name]

    def last(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[-1] if found else None

    @property
    def network_sources(self) -> list[Source]:
        return [s for s in self.sources if not s.refclock]


def split_words(text: str) -> list[str]:
    """Words of an ntp.conf line: `#` outside double quotes ends the line; quotes group blanks."""
    words: list[str] = []
    current, quoted, has_word = [], False, False
    for char in text:
        if quoted:
            if char == '"':
                quoted = False
            else:
                current.append(char)
        elif char == '"':
            quoted, has_word = True, True
        elif char == "#":
            break
        elif char.isspace():
            if has_word:
                words.append("".join(current))
            current, has_word = [], False
        else:
            current.append(char)
            has_word = True
    if has_word:
        words.append("".join(current))
    return words


def redact(words: list[str]) -> list[str]:
    """`crypto ... pw SECRET ...` with the secret replaced: it is never kept or shown."""
    if not words or words[0] != "crypto":
        return words
    out = list(words)
    for i in range(1, len(out) - 1):
        if out[i] == "pw":
            out[i + 1] = REDACTED
    return out


def redact_text(text: str) -> str:
    """A file's text with every `crypto pw` value redacted, line numbers kept."""
    lines = text.split("\n")
    for i, raw in enumerate(lines):
        words = split_words(raw)
        if words and words[0] == "crypto" and "pw" in words[1:-1]:
            lines[i] = " ".join(redact(words))
    return "\n".join(lines)


def looks_like_key(words: list[str]) -> bool:
    """An ntp.keys entry ('ID TYPE KEY') met in a file read as configuration."""
    return bool(words) and words[0].isdigit()


def _is_int(value: str) -> bool:
    return re.fullmatch(r"[+-]?\d+", value) is not None


def parse_source(words: list[str], line: Line, flavor: str) -> tuple[Source | None, str | None]:
    kind = words[0]
    rest = list(words[1:])
    while rest and rest[0] in ("-4", "-6"):  # address family qualifier before the address
        rest.pop(0)
    if not rest:
        return None, f"{kind} directive without an address"
    host, rest = rest[0], rest[1:]
    options: dict[str, str | None] = {}
    i = 0
    while i < len(rest):
        name = rest[i]
        if name in _VALUED_OPTIONS:
            if i + 1 >= len(rest):
                return None, f"option {name!r} needs a value: ntpd ignores this line"
            value = rest[i + 1]
            if name in _INT_OPTIONS and not _is_int(value):
                return None, f"invalid value {value!r} for option {name!r}: ntpd ignores this line"
            options[name] = value
            i += 2
        else:
            options[name] = None
            i += 1
    return Source(kind, host, options, line, MIN_POLL.get(flavor, 3)), None


def parse_restrict(args: tuple[str, ...], line: Line) -> Restriction | None:
    """A `restrict [-4|-6] default FLAGS` line; None for restrictions of other addresses."""
    words = list(args)
    families: tuple[str, ...] = ("IPv4", "IPv6")  # no qualifier: ntpd adds it to both lists
    if words and words[0] in _RESTRICT_FAMILIES:
        families = _RESTRICT_FAMILIES[words.pop(0)]
    if not words or words[0] != "default":
        return None
    return Restriction(families, frozenset(words[1:]), line)


class _Parser:
    def __init__(self, reader: Reader, config: NtpConfig):
        self.reader = reader
        self.config = config
        self.incomplete = False

    def diag(self, where: str, message: str) -> None:
        self.config.diagnostics.append(Diagnostic(where, message))

    def content(self, path: str, origin: str, main: bool = False) -> str | None:
        record = self.reader.file(path)
        if record is None:
            self.incomplete = True
            return None
        if record.state == "missing":
            if main:
                self.config.main_missing = True
            self.diag(origin, f"{path} does not exist")
            return None
        if record.content is None:
            if record.state == "ok":  # fetched as stat only: key material is never read
                self.diag(origin, f"{path} looks like a key file and was not read")
            else:
                self.config.unreadable.append(path)
            return None
        self.config.files_read.append(path)
        return record.content

    def read(self, path: str, level: int, origin: str) -> None:
        if level > MAX_INCLUDE_LEVEL:
            self.diag(origin, f"includefile nested deeper than {MAX_INCLUDE_LEVEL}: ntpd does not read {path}")
            return
        text = self.content(path, origin, main=level == 0)
        if text is None:
            return
        for lineno, raw in enumerate(text.split("\n"), 1):
            self.line(path, lineno, raw, level)

    def line(self, path: str, lineno: int, raw: str, level: int) -> None:
        where = f"{path}:{lineno}"
        words = split_words(raw)
        if not words:
            return
        if looks_like_key(words):
            self.diag(where, "key material in a configuration file (not shown)")
            return
        words = redact(words)
        line = Line(path, lineno, " ".join(words))
        name, args = words[0], tuple(words[1:])
        if name in SOURCE_DIRECTIVES:
            source, error = parse_source(words, line, self.config.flavor)
            if source:
                self.config.sources.append(source)
            else:
                self.config.invalid_sources.append(Directive(name, args, line, error))
                self.diag(where, error or "invalid source")
            return
        self.config.directives.append(Directive(name, args, line))
        if name == "restrict":
            restriction = parse_restrict(args, line)
            if restriction:
                self.config.restrictions.append(restriction)
        elif name == "includefile":
            if len(args) != 1:
                self.diag(where, "includefile takes one file name")
                return
            self.read(args[0], level + 1, where)

    def read_confdir(self) -> None:
        directory = posixpath.join(posixpath.dirname(self.config.main_path), "ntp.d")
        matches = self.reader.glob(posixpath.join(directory, "*.conf"))
        if matches is None:
            self.incomplete = True
            return
        for match in sorted(matches, key=posixpath.basename):
            self.read(match, 1, f"{directory} (read by ntpsec beside {self.config.main_path})")


def parse(main_path: str, reader: Reader, flavor: str) -> tuple[NtpConfig, bool]:
    """Effective configuration of ntpd started with main_path.

    Returns (config, complete); complete is False while the reader still lacks
    files, which the collector then fetches in one more round trip.
    """
    config = NtpConfig(main_path, flavor)
    parser = _Parser(reader, config)
    parser.read(main_path, 0, main_path)
    if flavor == "ntpsec":
        parser.read_confdir()
    return config, not parser.incomplete

