"""timesyncd.conf as systemd-timesyncd reads it: main file, then drop-ins, with provenance.

This follows systemd-timesyncd 252 (Debian 12) line by line (src/shared/conf-parser.c,
src/basic/conf-files.c, src/timesync/timesyncd-conf.c); docs/timesyncd-config.md gives the source
of each rule, selftests/recorded/timesyncd-config/ what the real daemon did with each case.

- Files: /etc/systemd/timesyncd.conf (systemd >= 254 also looks in /run, /usr/local/lib and /usr/lib
  when /etc has none), then every `timesyncd.conf.d/*.conf` of /etc/systemd, /run/systemd,
  /usr/local/lib/systemd, /usr/lib/systemd and /lib/systemd, sorted by file name. A name found in an
  earlier directory hides the same name in later ones, whatever it is: a file with values, an empty
  file, a symlink to /dev/null and a dangling symlink all hide it (there is no separate "mask").
  Directories are compared after following symlinks (/lib -> usr/lib is one directory).
- timesyncd runs as systemd-timesync and reads its files as that user. A drop-in directory it cannot
  open is skipped (its files are not read and hide nothing). A file it cannot open (other than
  "does not exist") stops the whole parse: values read so far stay, the rest of that file and every
  later drop-in are lost, and the poll interval checks are skipped. The same happens on a read
  error (a directory named *.conf), a line of 1 MiB or more, a continued line over 1 MiB, a line
  that is not valid UTF-8 (noncharacters such as U+FFFF included), a section header that does not
  end in "]" (e.g. "[Time] # comment") or holds quotes, backslashes or control characters.
- Skipped with a warning, the parse goes on: a line without "=" or without a key, an assignment
  before any section, an unknown section (and, silently, every line in it; X- sections without the
  warning), an unknown key (case-sensitive; X- keys silently), a value that does not parse.
- Lines end at LF, CR, CRLF, LFCR or NUL. "#" or ";" after optional blanks starts a comment line,
  also inside a continuation (it is skipped, the continuation goes on); there are no inline
  comments. An odd number of backslashes at the end of a line continues it on the next (the
  backslash becomes a blank); an empty line ends a continuation. No quoting: quotes stay in values.
  The first UTF-8 byte order mark at the start of a line is dropped.
- NTP= and its alias Servers= (one list), FallbackNTP= (another): words separated by blanks, a
  backslash escapes the next character; each word that is an address or a valid DNS name (labels of
  1-63 bytes, at most 253 in all, "." alone included) is added unless already listed (a line that
  starts on an empty list is not checked against itself, so `NTP=a a` keeps both); an invalid word
  is skipped; a trailing backslash drops the rest of the line. An empty value clears the list. The
  built-in fallback servers are used only if no non-empty FallbackNTP= was ever parsed.
- Time spans (RootDistanceMaxSec=, PollInterval*Sec=, ...) are parsed like parse_sec(): "5",
  "5s", "1min 30s", "1.5min", "2m" (minutes), "infinity"; a value that does not parse (empty
  included) is ignored and the previous value stays. PollIntervalMinSec= below 16 s, a maximum
  below the minimum and ConnectionRetrySec= below 1 s fall back to defaults after a parse that did
  not stop.
"""

from __future__ import annotations

import dataclasses
import math
import posixpath
import re
import socket
from collections.abc import Callable

from ..gather.snapshot import FileRecord, Reader, Request
from .provenance import Line
from .systemd_unit import Assignment

CONF_DIRS = ("/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd", "/lib/systemd")
MAIN_NAME = "timesyncd.conf"
DROPIN_DIRS = tuple(posixpath.join(d, "timesyncd.conf.d") for d in CONF_DIRS)
SECTION = "Time"
#: systemd version from which the main file is also searched outside /etc
MAIN_SEARCH_SINCE = 254
#: the user systemd-timesyncd.service runs as (User=), hence the one that reads the files
DAEMON_USER = "systemd-timesync"
#: Debian's built-in fallback servers (meson -Dntp-servers), used when no FallbackNTP= was parsed
DEBIAN_FALLBACK_NTP = (
    "0.debian.pool.ntp.org",
    "1.debian.pool.ntp.org",
    "2.debian.pool.ntp.org",
    "3.debian.pool.ntp.org",
)

LONG_LINE_MAX = 1024 * 1024
USEC_PER_SEC = 1_000_000
USEC_INFINITY = 2**64 - 1
#: timesyncd-gperf.gperf: the keys of [Time] and what parses them
SERVER_KEYS = {"NTP": "system", "Servers": "system", "FallbackNTP": "fallback"}
TIMESPAN_KEYS = (
    "RootDistanceMaxSec",
    "PollIntervalMinSec",
    "PollIntervalMaxSec",
    "ConnectionRetrySec",
    "SaveIntervalSec",
)
DEFAULT_USEC = {
    "RootDistanceMaxSec": 5 * USEC_PER_SEC,
    "PollIntervalMinSec": 32 * USEC_PER_SEC,
    "PollIntervalMaxSec": 2048 * USEC_PER_SEC,
    "ConnectionRetrySec": 30 * USEC_PER_SEC,
    "SaveIntervalSec": 60 * USEC_PER_SEC,
}

#: a path's reason for being unreadable by the daemon's user, or None when it can read it
RunUserAccess = Callable[[str], "str | None"]


def request() -> Request:
    dirs: list[str] = []
    for directory in DROPIN_DIRS:  # every component, to follow symlinked directories as timesyncd does
        parts = directory.strip("/").split("/")
        dirs += ["/" + "/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    return Request(
        files=tuple(posixpath.join(d, MAIN_NAME) for d in CONF_DIRS),
        globs=tuple(posixpath.join(d, "*.conf") for d in DROPIN_DIRS),
        stats=tuple(dict.fromkeys(dirs)),
    )


@dataclasses.dataclass
class TimesyncdConfig:
    main: str | None = None  # the main file read, if any
    files_read: list[str] = dataclasses.field(default_factory=list)
    masked: list[str] = dataclasses.field(default_factory=list)  # "path (masked by path)"
    assignments: list[Assignment] = dataclasses.field(default_factory=list)  # inside [Time], in order
    ignored: list[str] = dataclasses.field(default_factory=list)  # outside [Time] etc., with why
    unreadable: list[str] = dataclasses.field(default_factory=list)  # the audit could not read these
    #: (path, reason) of files and drop-in directories timesyncd itself does not read
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    #: the drop-ins in the order timesyncd applies them
    dropins: list[str] = dataclasses.field(default_factory=list)
    #: "path:line: why" when timesyncd stopped parsing there (the rest was not read), else None
    stopped: str | None = None
    #: what timesyncd logs about its configuration at warning level and above, "level: text", in order
    warnings: list[str] = dataclasses.field(default_factory=list)

    def all(self, key: str) -> list[Assignment]:
        return [a for a in self.assignments if a.key == key]

    def servers(self, key: str = "NTP") -> tuple[list[tuple[str, Line]], list[str], Assignment | None]:
        """(effective servers with the line that added each, words ignored with why, the reset that
        cleared earlier values or None). NTP= and Servers= fill one list."""
        kind = SERVER_KEYS.get(key)
        keys = [k for k, v in SERVER_KEYS.items() if v == kind] if kind else [key]
        state = _ServerList()
        for a in self.assignments:
            if a.key in keys:
                state.apply(a)
        return state.servers, state.ignored, state.reset

    @property
    def have_fallbacks(self) -> bool:
        """Whether a non-empty FallbackNTP= was parsed (then the built-in list is not used)."""
        return any(a.key == "FallbackNTP" and a.value != "" for a in self.assignments)

    def fallback_servers(self, builtin: tuple[str, ...] = DEBIAN_FALLBACK_NTP) -> list[str]:
        """The fallback servers timesyncd ends up with, given its built-in list."""
        if self.have_fallbacks:
            return [s for s, _ in self.servers("FallbackNTP")[0]]
        return list(builtin)

    def last_timespan(self, key: str) -> tuple[float | None, Assignment | None, list[str]]:
        """(seconds, deciding assignment, ignored values): the last value that parses wins."""
        value, chosen, ignored = None, None, []
        for a in self.all(key):
            try:
                seconds = parse_timespan(a.value)
            except ValueError as exc:
                ignored.append(f"{a.line} ignored by timesyncd: {exc}")
                continue
            value, chosen = seconds, a
        return value, chosen, ignored

    def effective_usec(self, key: str) -> int:
        """The value timesyncd runs with, in microseconds: defaults, the last valid assignment, and the
        checks manager_parse_config_file() makes after a parse that did not stop."""
        values = self._parsed_usec()
        if self.stopped is None:
            values = _checked_intervals(values)[0]
        return values[key]

    def _parsed_usec(self) -> dict[str, int]:
        """Every time span as the parse left it (defaults, then each valid assignment in turn)."""
        values = dict(DEFAULT_USEC)
        for a in self.assignments:
            if a.key in values:
                try:
                    values[a.key] = parse_timespan_usec(a.value)
                except ValueError:
                    pass
        return values


class _ServerList:
    """manager_parse_server_string() and config_parse_servers() on one list (system or fallback)."""

    def __init__(self) -> None:
        self.servers: list[tuple[str, Line]] = []
        self.ignored: list[str] = []
        self.reset: Assignment | None = None
        self.log: list[str] = []

    def apply(self, a: Assignment, lineno: int | None = None) -> None:
        """One NTP=/Servers=/FallbackNTP= assignment; lineno: the line systemd names in its warning
        (the last line of a continued assignment)."""
        if a.value == "":
            self.servers, self.reset = [], a
            return
        # the duplicate check walks the list from its head as it was when the line started: NULL
        # when the list was empty, so a line that fills an empty list is not checked against itself
        check = bool(self.servers)
        rest = a.value
        while True:
            word, rest, error = _extract_word(rest)
            if error:
                self.log.append(f'error: Failed to parse timesyncd server syntax "{rest}": Invalid argument')
                self.log.append(
                    f"warning: {a.line.path}:{lineno or a.line.lineno}: Failed to parse NTP server string "
                    f"'{a.value}', ignoring: Invalid argument"
                )
                self.ignored.append(f"{a.line} (a trailing backslash: timesyncd drops the rest of this value)")
                return
            if word is None:
                return
            if not valid_server(word):
                self.log.append(f"error: Invalid NTP server name or address, ignoring: {word}")
                self.ignored.append(f"{a.line} ('{word}' is neither a host name nor an address: timesyncd ignores it)")
                continue
            if check and word in [s for s, _ in self.servers]:
                continue
            self.servers.append((word, a.line))


_WS = " \t\n\r"


def _extract_word(text: str) -> tuple[str | None, str, bool]:
    """extract_first_word(&p, &word, NULL, 0): (word or None at the end, the rest, failed). Blanks
    separate words, a backslash escapes any character (a trailing one fails), quotes are plain."""
    i, n = 0, len(text)
    while i < n and text[i] in _WS:
        i += 1
    if i >= n:
        return None, "", False
    word = []
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                return None, "", True
            word.append(text[i + 1])
            i += 2
            continue
        if c in _WS:
            while i < n and text[i] in _WS:
                i += 1
            return "".join(word), text[i:], False
        word.append(c)
        i += 1
    return "".join(word), "", False


def valid_server(word: str) -> bool:
    """systemd's dns_name_is_valid_or_address(): an IPv4 or IPv6 address, or a valid DNS name."""
    if not word:
        return False
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, word)
            return True
        except (OSError, ValueError):
            pass
    return _dns_name_is_valid(_to_bytes(word))


_LABEL_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _dns_name_is_valid(name: bytes) -> bool:
    """dns_name_concat(name, NULL, 0, NULL) == 0, i.e. dns_label_unescape() label by label: labels end
    at an unescaped dot (consumed), escapes are \\. \\\\ and \\DDD (<= 255), other bytes must be >= 0x20
    and not 0x7f; a label has 1..63 bytes, an empty label only at the end ("." alone is the root),
    no second trailing dot; the name re-escaped (dns_label_escape) is at most 253 bytes."""
    i, n, total, first = 0, len(name), 0, True
    while True:
        label = bytearray()
        while True:
            if i >= n or name[i] == 0x2E:
                if i < n:
                    i += 1
                break
            if len(label) >= 63:
                return False
            c = name[i]
            if c == 0x5C:
                i += 1
                if i >= n:
                    return False
                if name[i] in (0x5C, 0x2E):
                    label.append(name[i])
                    i += 1
                elif 0x30 <= name[i] <= 0x39:
                    digits = name[i : i + 3]
                    if len(digits) < 3 or not all(0x30 <= d <= 0x39 for d in digits) or int(digits) > 255:
                        return False
                    label.append(int(digits))
                    i += 3
                else:
                    return False
            elif c >= 0x20 and c != 0x7F:
                label.append(c)
                i += 1
            else:
                return False
        if not label and i < n:  # an empty label that is not at the end
            return False
        if i < n and name[i] == 0x2E:  # more than one trailing dot
            return False
        if not label:
            break
        total += sum(2 if b in (0x2E, 0x5C) else 1 if b in _LABEL_PLAIN else 4 for b in label) + (not first)
        first = False
    return total <= 253


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


# parse_time()'s suffix table, in systemd's order (the first prefix that matches wins)
_UNITS = (
    ("seconds", 10**6),
    ("second", 10**6),
    ("sec", 10**6),
    ("s", 10**6),
    ("minutes", 60 * 10**6),
    ("minute", 60 * 10**6),
    ("min", 60 * 10**6),
    ("months", 2629800 * 10**6),
    ("month", 2629800 * 10**6),
    ("M", 2629800 * 10**6),
    ("msec", 10**3),
    ("ms", 10**3),
    ("m", 60 * 10**6),
    ("hours", 3600 * 10**6),
    ("hour", 3600 * 10**6),
    ("hr", 3600 * 10**6),
    ("h", 3600 * 10**6),
    ("days", 86400 * 10**6),
    ("day", 86400 * 10**6),
    ("d", 86400 * 10**6),
    ("weeks", 604800 * 10**6),
    ("week", 604800 * 10**6),
    ("w", 604800 * 10**6),
    ("years", 31557600 * 10**6),
    ("year", 31557600 * 10**6),
    ("y", 31557600 * 10**6),
    ("usec", 1),
    ("us", 1),
    ("\u03bcs", 1),
    ("\u00b5s", 1),
)
_STRTOLL_SPACE = " \t\n\v\f\r"
_INT64_MAX = 2**63 - 1


def parse_timespan_usec(text: str) -> int:
    """Microseconds, exactly as systemd's parse_sec() (parse_time(t, usec, USEC_PER_SEC)) reads a
    time span: USEC_INFINITY for "infinity"; ValueError for what it refuses."""
    p = text.lstrip(_WS)
    if p.startswith("infinity"):
        if p[len("infinity") :].lstrip(_WS):
            raise ValueError(f"'{text}' is not a time span")
        return USEC_INFINITY
    total, something = 0, False
    while True:
        p = p.lstrip(_WS)
        if not p:
            if not something:
                raise ValueError(f"'{text}' is not a time span" if text.strip() else "empty value")
            return total
        if p[0] == "-":  # "Don't allow '-0'"
            raise ValueError(f"'{text}': negative time span")
        # strtoll(p, &e, 10): optional blanks and sign, then digits; e == p when no digit follows
        m = re.match(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)", p)
        if m:
            digits = m.group(2).lstrip("0") or "0"
            value = (int(digits) if len(digits) <= 25 else _INT64_MAX + 1) * (-1 if m.group(1) == "-" else 1)
            if value > _INT64_MAX or value < -_INT64_MAX - 1:
                raise ValueError(f"'{text}': out of range")
            if value < 0:
                raise ValueError(f"'{text}': negative time span")
            e = m.end()
        else:
            value, e = 0, 0
        if p[e : e + 1] == ".":
            decimals = re.match(r"[0-9]*", p[e + 1 :])  # always matches, maybe empty
            frac = decimals.group(0) if decimals else ""
            after = e + 1 + len(frac)
        elif e == 0:
            raise ValueError(f"'{text}' is not a time span")
        else:
            frac, after = None, e
        rest = p[after:]
        skipped = rest.lstrip(_WS)
        multiplier, s = USEC_PER_SEC, skipped
        for suffix, factor in _UNITS:
            if skipped.startswith(suffix):
                multiplier, s = factor, skipped[len(suffix) :]
                break
        if len(s) == len(rest) and s:  # "12.34.56", "5x": no unit and nothing skipped
            raise ValueError(f"'{text}' is not a time span")
        if value >= USEC_INFINITY // multiplier:
            raise ValueError(f"'{text}': out of range")
        k = value * multiplier
        if k >= USEC_INFINITY - total:
            raise ValueError(f"'{text}': out of range")
        total += k
        something = True
        if frac is not None:
            m_unit = multiplier // 10
            for digit in frac:
                k = int(digit) * m_unit
                if k >= USEC_INFINITY - total:
                    raise ValueError(f"'{text}': out of range")
                total += k
                m_unit //= 10
            if not frac:  # "3.", "3.sec"
                raise ValueError(f"'{text}' is not a time span")
        p = s


def parse_timespan(text: str) -> float:
    """Seconds, as systemd's parse_sec() reads a time span (a plain number is seconds); math.inf for
    "infinity"."""
    usec = parse_timespan_usec(text)
    return math.inf if usec == USEC_INFINITY else usec / USEC_PER_SEC


def _checked_intervals(values: dict[str, int]) -> tuple[dict[str, int], list[str]]:
    """manager_parse_config_file()'s checks after a successful parse: (corrected values, warnings)."""
    out, log = dict(values), []
    if out["PollIntervalMinSec"] < 16 * USEC_PER_SEC:
        log.append("warning: Invalid PollIntervalMinSec=. Using default value.")
        out["PollIntervalMinSec"] = DEFAULT_USEC["PollIntervalMinSec"]
    if out["PollIntervalMaxSec"] < out["PollIntervalMinSec"]:
        log.append("warning: PollIntervalMaxSec= is smaller than PollIntervalMinSec=. Using default value.")
        # usec_t arithmetic: the product wraps at 2**64 as in C (PollIntervalMinSec=infinity * 32)
        out["PollIntervalMaxSec"] = max(
            DEFAULT_USEC["PollIntervalMaxSec"], (out["PollIntervalMinSec"] * 32) % (1 << 64)
        )
    if out["ConnectionRetrySec"] < 1 * USEC_PER_SEC:
        log.append("warning: Invalid ConnectionRetrySec=. Using default value.")
        out["ConnectionRetrySec"] = DEFAULT_USEC["ConnectionRetrySec"]
    return out, log


# ---- files -----------------------------------------------------------------------------------------


def parse(
    reader: Reader, systemd_version: str = "", run_user_access: RunUserAccess | None = None
) -> tuple[TimesyncdConfig, bool]:
    """(config, complete): complete is False while the reader lacks files.

    run_user_access(path), when given, says why systemd-timesync (the daemon's user) cannot read a
    path, or None when it can: it is asked about the main file, each drop-in directory holding
    *.conf files (timesyncd must be able to list it) and each drop-in timesyncd would open. Without
    it, timesyncd is taken to read every file the audit could read.
    """
    parser = _Parser(TimesyncdConfig(), run_user_access)
    complete = True
    # 1. the drop-in list (conf_files_list_nulstr): directories resolved and de-duplicated; a drop-in
    #    is named as timesyncd names it (in its resolved directory) and read where the audit found it
    chosen: dict[str, tuple[str, str]] = {}
    seen_dirs: set[str] = set()
    for directory in DROPIN_DIRS:
        resolved, ok = _resolve(reader, directory)
        complete &= ok
        if resolved in seen_dirs:
            continue
        seen_dirs.add(resolved)
        matches = reader.glob(posixpath.join(directory, "*.conf"))
        if matches is None:
            complete = False
            continue
        matches = tuple(m for m in matches if not posixpath.basename(m).startswith("."))
        if matches and run_user_access is not None:
            reason = run_user_access(directory)
            if reason:
                parser.config.skipped.append((directory, reason))
                parser.config.ignored.append(
                    f"{directory}/*.conf not read: {reason} (timesyncd skips a drop-in directory it cannot "
                    f"open; its files hide nothing)"
                )
                continue
        for match in matches:
            base = posixpath.basename(match)
            name = posixpath.join(resolved, base)
            if base in chosen:
                parser.config.masked.append(f"{name} (masked by {chosen[base][1]})")
                continue
            chosen[base] = (match, name)
    # 2. the main file: the first that exists
    candidates = [posixpath.join(CONF_DIRS[0], MAIN_NAME)]
    major = _major(systemd_version)
    if major is None or major >= MAIN_SEARCH_SINCE:
        candidates += [posixpath.join(d, MAIN_NAME) for d in CONF_DIRS[1:]]
    for path in candidates:
        record = reader.file(path)
        if record is None:
            complete = False
            break
        opened = parser.read(path, record, main=True)
        if opened:
            break
    # 3. the drop-ins, by file name
    for base in sorted(chosen):
        found, path = chosen[base]
        parser.config.dropins.append(path)
        if parser.config.stopped is not None:
            parser.config.skipped.append((path, f"not read: timesyncd stopped at {parser.config.stopped}"))
            continue
        record = reader.file(found)
        if record is None:
            complete = False
            continue
        parser.read(path, record, main=False)
    # 4. manager_parse_config_file(): the checks run only after a parse that did not stop
    if parser.config.stopped is None:
        parser.config.warnings += _checked_intervals(parser.config._parsed_usec())[1]
    return parser.config, complete


def _resolve(reader: Reader, path: str) -> tuple[str, bool]:
    """The directory with symlinked components followed (chase_symlinks() in path_strv_resolve()),
    from the snapshot's stats; a path with a missing component stays as it is."""
    todo = [p for p in path.strip("/").split("/") if p]
    done, hops = "/", 0
    while todo:
        candidate = posixpath.join(done, todo.pop(0))
        record = reader.stat(candidate)
        if record is None:
            return path, False
        if not record.exists:
            return path, True
        if record.link_target:
            hops += 1
            if hops > 32:
                return path, True
            target = posixpath.normpath(posixpath.join(done, record.link_target))
            todo = [p for p in target.strip("/").split("/") if p] + todo
            done = "/"
            continue
        done = candidate
    return done, True


def _is_dangling(record: FileRecord) -> bool:
    """A symbolic link to nothing: missing, as open() finds it, with the link's target named."""
    return record.state == "missing" and record.link_target is not None


class _Parser:
    def __init__(self, config: TimesyncdConfig, run_user_access: RunUserAccess | None):
        self.config = config
        self.run_user_access = run_user_access
        self.lists = {"system": _ServerList(), "fallback": _ServerList()}
        self.section: str | None = None  # the current section, None before any or in an ignored one
        self.section_ignored = False  # inside an unknown section (its lines are skipped silently)
        self.ignored_name = ""

    def stop(self, where: str, why: str, errno_text: str, log: list[str]) -> None:
        """The parse fails here: config_parse() returns an error, config_parse_many_files() returns it
        at once (no later drop-in is read) and timesyncd logs it and goes on with what it has."""
        self.config.warnings += log
        self.config.stopped = f"{where}: {why}"
        self.config.warnings.append(f"warning: Failed to parse configuration file: {errno_text}")
        self.config.ignored.append(
            f"{where}: {why}: timesyncd stops reading its configuration there "
            f"(the rest of that file and every later drop-in are not read)"
        )

    def read(self, path: str, record: FileRecord, main: bool) -> bool:
        """config_parse() on one file; False when the file does not exist (ENOENT: skipped).

        The daemon's user is asked about the main file even when it does not exist: fopen() fails
        with EACCES, not ENOENT, when that user cannot search a directory on the path."""
        reason = self.run_user_access(path) if self.run_user_access is not None else None
        if not reason and record.state == "denied":  # the audit cannot tell what timesyncd finds there
            self.config.unreadable.append(path)
            return True
        if _is_dangling(record) and not reason:
            self.config.ignored.append(f"{path} (a dangling symlink to {record.link_target}: nothing read)")
            return False
        if not reason and not record.exists:
            return False
        if reason:
            self.config.skipped.append((path, reason))
            self.stop(
                path,
                f"{DAEMON_USER} cannot open it ({reason})",
                "Permission denied",
                [f"error: Failed to open configuration file '{path}': Permission denied"],
            )
            return True
        if record.link_target == "/dev/null":  # opened and read: nothing in it
            self.config.masked.append(f"{path} (symlink to /dev/null)")
            return True
        if main:
            self.config.main = path
        kind = record.stat.kind if record.stat else ""
        if kind == "directory":
            self.config.files_read.append(path)
            self.stop(
                f"{path}:0",
                "a directory (read error)",
                "Is a directory",
                [f"error: {path}:0: Error while reading configuration file: Is a directory"],
            )
            return True
        if record.content is None:
            self.config.unreadable.append(path)
            return True
        self.config.files_read.append(path)
        if record.stat and kind == "regular file":
            if record.stat.mode & 0o111:
                self.config.warnings.append(
                    f"warning: Configuration file {path} is marked executable. Please remove executable "
                    f"permission bits. Proceeding anyway."
                )
            if record.stat.mode & 0o002:
                self.config.warnings.append(
                    f"warning: Configuration file {path} is marked world-writable. Please remove world "
                    f"writability permission bits. Proceeding anyway."
                )
        self._parse(path, _to_bytes(record.content))
        return True

    # -- config_parse() --------------------------------------------------------------------------
    def _parse(self, path: str, data: bytes) -> None:
        self.section, self.section_ignored = None, False
        bom_seen = False
        continuation: bytes | None = None
        start = 0
        line = 0
        for raw in _read_lines(data):
            if raw is None:  # read_line() -ENOBUFS
                self.stop(
                    f"{path}:{line + 1}",
                    "a line of 1 MiB or more (LONG_LINE_MAX)",
                    "No buffer space available",
                    [f"error: {path}:{line}: Line too long"],
                )
                return
            line += 1
            stripped = raw.lstrip(b" \t\n\r")
            if stripped[:1] in (b"#", b";"):
                continue
            current = raw
            if not bom_seen and raw.startswith(b"\xef\xbb\xbf"):
                current, bom_seen = raw[3:], True
            if continuation is not None:
                if len(continuation) + len(current) > LONG_LINE_MAX:
                    self.stop(
                        f"{path}:{line}",
                        "a continued line over 1 MiB (LONG_LINE_MAX)",
                        "No buffer space available",
                        [f"error: {path}:{line}: Continuation line too long"],
                    )
                    return
                text = continuation + current
            else:
                text, start = current, line
            trailing = len(text) - len(text.rstrip(b"\\"))
            if trailing % 2 == 1:
                continuation = text[:-1] + b" "
                continue
            if not self._parse_line(path, line, start, text):
                return
            continuation = None
        if continuation is not None:
            line += 1
            self._parse_line(path, line, start, continuation)

    def _parse_line(self, path: str, line: int, start: int, raw: bytes) -> bool:
        """parse_line() on one logical line (start: its first physical line, line: its last, which
        systemd names in its warnings); False when it fails (the parse stops)."""
        data = raw.strip(b" \t\n\r")
        if not data:
            return True
        if not _utf8_is_valid(data):
            shown = _utf8_escape_invalid(data)
            self.stop(
                f"{path}:{line}",
                "not valid UTF-8",
                "Invalid argument",
                [
                    f"warning: {path}:{line}: String is not UTF-8 clean, ignoring assignment: {shown}",
                    f"warning: {path}:{line}: Failed to parse file: Invalid argument",
                ],
            )
            return False
        text = data.decode("utf-8")
        where = Line(path, start, text)
        if text.startswith("["):
            if not text.endswith("]"):
                self.stop(
                    f"{path}:{line}",
                    f"invalid section header '{text}'",
                    "Bad message",
                    [
                        f"error: {path}:{line}: Invalid section header '{text}'",
                        f"warning: {path}:{line}: Failed to parse file: Bad message",
                    ],
                )
                return False
            name = text[1:-1]
            if not _string_is_safe(name):
                self.stop(
                    f"{path}:{line}",
                    f"bad characters in section header '{text}'",
                    "Bad message",
                    [
                        f"error: {path}:{line}: Bad characters in section header '{text}'",
                        f"warning: {path}:{line}: Failed to parse file: Bad message",
                    ],
                )
                return False
            if name == SECTION:
                self.section, self.section_ignored = SECTION, False
            else:
                if not name.startswith("X-"):
                    self.config.warnings.append(f"warning: {path}:{line}: Unknown section '{name}'. Ignoring.")
                self.section, self.section_ignored, self.ignored_name = None, True, name
            return True
        if self.section is None:
            if not self.section_ignored:
                self.config.warnings.append(f"warning: {path}:{line}: Assignment outside of section. Ignoring.")
                self.config.ignored.append(f"{where} (before any section: timesyncd ignores it)")
            elif "=" in text:
                self.config.ignored.append(f"{where} (in [{self.ignored_name}], not [{SECTION}]: timesyncd ignores it)")
            return True
        if "=" not in text:
            self.config.warnings.append(f"warning: {path}:{line}: Missing '=', ignoring line.")
            self.config.ignored.append(f"{where} (no '=': timesyncd ignores the line)")
            return True
        if text.startswith("="):
            self.config.warnings.append(f"warning: {path}:{line}: Missing key name before '=', ignoring line.")
            self.config.ignored.append(f"{where} (no key before '=': timesyncd ignores the line)")
            return True
        key, _, value = text.partition("=")
        key, value = key.strip(_WS), value.strip(_WS)
        assignment = Assignment(SECTION, key, value, where)
        self.config.assignments.append(assignment)
        if key in SERVER_KEYS:
            servers = self.lists[SERVER_KEYS[key]]
            servers.log = []
            servers.apply(assignment, line)
            self.config.warnings += servers.log
        elif key in TIMESPAN_KEYS:
            try:
                parse_timespan_usec(value)
            except ValueError:
                self.config.warnings.append(f"warning: {path}:{line}: Failed to parse sec value, ignoring: {value}")
        elif not key.startswith("X-"):
            self.config.warnings.append(
                f"warning: {path}:{line}: Unknown key '{key}' in section [{SECTION}], ignoring."
            )
            self.config.ignored.append(f"{where} (unknown key '{key}': timesyncd ignores it)")
        return True


_EOL = re.compile(rb"(?:\n\r?|\r\n?)\x00?|\x00")


def _read_lines(data: bytes):
    """read_line(f, LONG_LINE_MAX): lines end at LF, CR, CRLF, LFCR (each optionally followed by
    NUL) or NUL; None for a line of LONG_LINE_MAX bytes or more (the parse stops there)."""
    pos, n = 0, len(data)
    while pos < n:
        m = _EOL.search(data, pos)
        end = m.start() if m else n
        if end - pos >= LONG_LINE_MAX:
            yield None
            return
        yield data[pos:end]
        pos = m.end() if m else n


def _char_len(data: bytes, i: int) -> int:
    """utf8_encoded_valid_unichar(): the length of the valid character at i, or 0."""
    c = data[i]
    if c < 0x80:
        return 1
    for length, mask, value in ((2, 0xE0, 0xC0), (3, 0xF0, 0xE0), (4, 0xF8, 0xF0), (5, 0xFC, 0xF8), (6, 0xFE, 0xFC)):  # noqa: B007 - used after the loop
        if c & mask == value:
            break
    else:
        return 0
    chunk = data[i : i + length]
    if len(chunk) < length or any(b & 0xC0 != 0x80 for b in chunk[1:]):
        return 0
    code = c & (0xFF >> (length + 1))
    for b in chunk[1:]:
        code = (code << 6) | (b & 0x3F)
    needed = (
        1
        if code < 0x80
        else 2
        if code < 0x800
        else 3
        if code < 0x10000
        else 4
        if code < 0x200000
        else 5
        if code < 0x4000000
        else 6
    )
    if needed != length or not _unichar_is_valid(code):
        return 0
    return length


def _unichar_is_valid(code: int) -> bool:
    return not (
        code >= 0x110000 or (code & 0xFFFFF800) == 0xD800 or 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE
    )


def _utf8_is_valid(data: bytes) -> bool:
    i = 0
    while i < len(data):
        length = _char_len(data, i)
        if not length:
            return False
        i += length
    return True


def _utf8_escape_invalid(data: bytes) -> str:
    out, i = bytearray(), 0
    while i < len(data):
        length = _char_len(data, i)
        if length:
            out += data[i : i + length]
            i += length
        else:
            out += "\ufffd".encode()
            i += 1
    return out.decode("utf-8")


def _string_is_safe(text: str) -> bool:
    return not any(0 < ord(c) < 0x20 or c in "\"'\\\x7f" for c in text)


def _major(version: str) -> int | None:
    m = re.match(r"(?:\d+:)?(\d{1,9})(?!\d)", version or "")
    return int(m.group(1)) if m else None
