"""chrony.conf as chronyd 4.3 reads it: the effective configuration, with provenance,
and whether chronyd refuses to start with it.

Follows chronyd 4.3 (conf.c, cmdparse.c, main.c) line by line:

- Lines are read as fgets() reads them into chronyd's 2049-byte buffer; a line
  of 2048 bytes or more, its newline included, is fatal ("String too long").
- Comment lines start (after blanks) with ! ; # or %; there are no inline
  comments; blanks are C's isspace() characters only. Directive and option names
  are case-insensitive, except `all` in allow/deny, log names and refclock
  driver names.
- Numbers are read as glibc's sscanf reads them (%d, %u, %x, %lf): a value may
  carry trailing text (`port 123abc` is port 123), and inside an option list
  that trailing text is read as the next option (`maxpoll 10iburst`).
- `include PATTERN` is glob(GLOB_NOMAGIC | GLOB_ERR): a pattern without glob
  characters names a file that must exist; a glob whose directory does not
  exist is fatal; matches are read in sorted order. `confdir` merges *.conf of
  1 to 10 directories by file name (the first directory listed wins a name).
  Each file read is one include level; the main file is level 1 and level 11 is
  fatal ("Maximum include level reached").
- chronyd exits at the first fatal error: nothing after it is read. The
  checks chronyd makes after reading (main.c: NTS cert/key pairs, rtcfile with
  rtcsync, refclocks, access subnets, scheduler priority, rate limits with
  noclientlog, tempcomp point files) follow in chronyd's order.
- `sourcedir` files (*.sources) are read last, after chronyd has dropped root
  privileges, as its run user: a file or directory that user cannot read is
  skipped without a word, as is an invalid line, and everything from the first
  line that does not end in a newline. They are never fatal.

Facts the configuration alone does not decide (whether the `user` exists, name
resolution, devices, interfaces, the start command's -u/-F/-P/-R) are left to the
facts layer; see STARTUP_ORDER and docs/chrony-fatal-errors.md.
"""

from __future__ import annotations

import dataclasses
import math
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator

from ..gather.snapshot import Reader
from .provenance import Directive, Line
from .source_options import PollOptions

COMMENT_CHARS = "!;#%"
MAX_LINE_LENGTH = 2048  # conf.c: a line (newline included) must be shorter
MAX_INCLUDE_LEVEL = 10  # conf.c: the main file is level 1
MAX_DIRS = 10  # conf.c MAX_CONF_DIRS: directories of one confdir/sourcedir directive
TEMPCOMP_LINE = 256  # tempcomp.c: fgets buffer of a point file
SUN_PATH_MAX = 108  # sizeof(sockaddr_un.sun_path): longest Unix socket path + 1
IFNAMSIZ = 16  # longest interface name + 1
SOURCE_DIRECTIVES = ("server", "pool", "peer")
MIN_POLL, MAX_POLL, DEFAULT_MINPOLL, DEFAULT_MAXPOLL = -6, 24, 6, 10
NTP_MAX_STRATUM = 16

#: chronyd 4.3's start, in order (main.c). "parse" and the content checks are modelled here;
#: the others need host facts (the facts layer adds them at their place in this order).
STARTUP_ORDER = (
    "parse",  # CNF_ReadFile: every syntax error, include/confdir layout
    "pidfile-check",  # host: "Another chronyd may already be running (pid=%d), check %s"
    "user",  # host: "Could not get user/group ID of %s" (-u, else the last user directive)
    "pidfile-write",  # host: "Could not open %s : %s" (pidfile directory)
    "nts-server",  # content: "Uneven number of NTS certs and keys"
    "rtc",  # content: "rtcfile directive cannot be used with rtcsync"
    "refclocks",  # content: driver name, tai, driver options, SOCK path length; host: devices
    "ntp-io",  # content: interface name too long; host: "Could not enable HW timestamping on %s",
    #   "Could not open NTP sockets"
    "access",  # content: "Bad subnet in %s/%d"
    "scheduler",  # content: "Bad scheduler priority: %d" (unless -P)
    "drop-root",  # host: setuid/capabilities
    "clientlog",  # content: "Rate limiting cannot be enabled with noclientlog"
    "tempcomp",  # content + run user: point file
    "seccomp",  # host (-F): "mailonchange directive cannot be used with -F enabled"
    "sources",  # sourcedir files, as the run user: never fatal
)

_C_SPACE = " \t\n\v\f\r"
_DIGITS = "0123456789"
_XDIGITS = "0123456789abcdefABCDEF"
_GLOB_CHARS = "*?[\\"  # glibc: a pattern with none of these is returned as is (GLOB_NOMAGIC)

# ----------------------------------------------------------------------------------------------
# C semantics: isspace() words, glibc sscanf conversions, inet_pton/inet_ntop


def _split_word(text: str) -> tuple[str, str]:
    """cmdparse.c CPS_SplitWord: (the first word, the text from the next word on)."""
    i, n = 0, len(text)
    while i < n and text[i] in _C_SPACE:
        i += 1
    j = i
    while j < n and text[j] not in _C_SPACE:
        j += 1
    k = j
    while k < n and text[k] in _C_SPACE:
        k += 1
    return text[i:j], text[k:]


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[ \t\n\v\f\r]+", text) if w]


def _n_args(rest: str) -> int:
    """conf.c get_number_of_args on a normalized line."""
    return 0 if not rest else rest.count(" ") + 1


def _wrap(value: int, bits: int, signed: bool) -> int:
    value &= (1 << bits) - 1
    if signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def _scan_integer(s: str, i: int, conv: str) -> tuple[int, int] | None:
    """One glibc %d/%u/%lu/%x conversion at s[i:] (blanks skipped): (value, end) or None."""
    n = len(s)
    while i < n and s[i] in _C_SPACE:
        i += 1
    if i >= n:
        return None
    base = 16 if conv == "x" else 10
    sign, digits = "", ""
    if s[i] in "+-":
        sign = s[i]
        i += 1
    if i < n and s[i] == "0":
        digits = "0"
        i += 1
        if base == 16 and i < n and s[i] in "xX":
            i += 1
    allowed = _XDIGITS if base == 16 else _DIGITS
    while i < n and s[i] in allowed:
        digits += s[i]
        i += 1
    if not digits:
        return None
    # past 2**64 strtol/strtoul saturate: 40 significant digits are enough to say so (and Python
    # refuses to convert more than 4300 digits)
    significant = digits.lstrip("0") or "0"
    magnitude = int(significant[:40], base) if len(significant) <= 40 else 1 << 70
    if conv == "d":  # strtol, then stored in an int
        value = -magnitude if sign == "-" else magnitude
        value = max(-(1 << 63), min(value, (1 << 63) - 1))
        return _wrap(value, 32, True), i
    # strtoul: ULONG_MAX on overflow, a negated magnitude wraps
    if magnitude > (1 << 64) - 1:
        value = (1 << 64) - 1
    else:
        value = (-magnitude) % (1 << 64) if sign == "-" else magnitude
    return (value if conv == "lu" else _wrap(value, 32, False)), i


_DEC_PREFIX = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_PREFIX = re.compile(r"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)")


def _strtod(text: str) -> float | None:
    """The value strtod() reads from the start of text, or None when it reads nothing."""
    match = _HEX_PREFIX.match(text)
    if match:
        body = match.group(2)
        if "p" not in body.lower():
            body += "p0"
        try:
            value = float.fromhex(body)
        except OverflowError:
            value = math.inf
        return -value if match.group(1) == "-" else value
    match = _DEC_PREFIX.match(text)
    return float(match.group()) if match else None


def _scan_double(s: str, i: int) -> tuple[float, int] | None:
    """One glibc %lf conversion (vfscanf's own float scanner) at s[i:]: (value, end) or None."""
    n = len(s)
    while i < n and s[i] in _C_SPACE:
        i += 1
    if i >= n:
        return None
    buf = ""
    got_sign = False
    if s[i] in "+-":
        buf, got_sign = s[i], True
        i += 1
        if i >= n:
            return None
    if s[i] in "nN":
        if s[i : i + 3].lower() != "nan":
            return None
        return math.nan, i + 3
    if s[i] in "iI":
        if s[i : i + 3].lower() != "inf":
            return None
        i += 3
        if i < n and s[i] in "iI":
            if s[i : i + 5].lower() != "inity":
                return None
            i += 5
        return (-math.inf if buf == "-" else math.inf), i
    exp_char, hexa = "e", False
    got_digit = got_dot = got_e = False
    c = s[i]
    if c == "0":
        buf += c
        i += 1
        c = s[i] if i < n else ""
        if c in ("x", "X"):
            buf += c
            hexa, exp_char = True, "p"
            i += 1
            c = s[i] if i < n else ""
        else:
            got_digit = True
    while c:
        if c in _DIGITS:
            buf += c
            got_digit = True
        elif not got_e and hexa and c in _XDIGITS:
            buf += c
            got_digit = True
        elif got_e and buf[-1] == exp_char and c in "+-":
            buf += c
        elif got_digit and not got_e and c.lower() == exp_char:
            buf += exp_char
            got_e = got_dot = True
        elif c == "." and not got_dot:
            buf += c
            got_dot = True
        else:
            break
        i += 1
        c = s[i] if i < n else ""
    if len(buf) == got_sign or (hexa and len(buf) == 2 + got_sign):
        return None
    value = _strtod(buf)
    if value is None:
        return None
    return value, i


def _scan_string(s: str, i: int, width: int) -> tuple[str, int] | None:
    n = len(s)
    while i < n and s[i] in _C_SPACE:
        i += 1
    j = i
    while j < n and j - i < width and s[j] not in _C_SPACE:
        j += 1
    if j == i:
        return None
    return s[i:j], j


_FORMAT_TOKEN = re.compile(r"%(\d*)(lf|lu|d|u|x|s|n)|(\s+)|(.)")


def sscanf(text: str, fmt: str) -> list:
    """glibc sscanf(text, fmt) for the conversions chronyd uses (%d %u %lu %x %lf %Ns %n):
    the values converted, in order (%n included); len() of the non-%n values is sscanf's count."""
    values: list = []
    i = 0
    for width, conv, blank, literal in _FORMAT_TOKEN.findall(fmt):
        if blank:
            while i < len(text) and text[i] in _C_SPACE:
                i += 1
        elif literal:
            if i < len(text) and text[i] == literal:
                i += 1
            else:
                break
        elif conv == "n":
            values.append(_Consumed(i))
        else:
            got: tuple[int | float | str, int] | None
            if conv == "lf":
                got = _scan_double(text, i)
            elif conv == "s":
                got = _scan_string(text, i, int(width) if width else 1 << 30)
            else:
                got = _scan_integer(text, i, conv)
            if got is None:
                break
            values.append(got[0])
            i = got[1]
    return values


class _Consumed(int):
    """A %n result: how many characters were consumed."""


def _count(values: list) -> int:
    return sum(1 for v in values if not isinstance(v, _Consumed))


def _scan_one(text: str, conv: str) -> tuple[int | float | str, int] | None:
    """One conversion followed by %n at the start of text: (value, characters consumed)."""
    got = sscanf(text, f"%{conv}%n")
    if _count(got) != 1:
        return None
    return got[0], int(got[1])


def _scan_int(text: str) -> tuple[int, int] | None:
    """_scan_one(text, "d"): the int and the characters consumed (%d converts to an int)."""
    got = _scan_one(text, "d")
    return (got[0], got[1]) if got is not None and isinstance(got[0], int) else None


def c_int(text: str) -> int:
    """An integer as glibc's sscanf %d reads it: the leading [+-]digits of the text, stored in a
    C int (so 4294967306 is 10). Raises ValueError when sscanf would convert nothing."""
    got = _scan_integer(text, 0, "d")
    if got is None:
        raise ValueError(f"not an integer: {text!r}")
    return got[0]


def inet_pton4(text: str) -> bytes | None:
    """glibc inet_pton(AF_INET): exactly four decimal octets, no leading zeros."""
    octets: list[int] = []
    saw_digit = False
    for ch in text:
        if ch in _DIGITS:
            if saw_digit and octets[-1] == 0:
                return None
            if not saw_digit:
                if len(octets) == 4:
                    return None
                octets.append(0)
                saw_digit = True
            octets[-1] = octets[-1] * 10 + int(ch)
            if octets[-1] > 255:
                return None
        elif ch == "." and saw_digit:
            if len(octets) == 4:
                return None
            saw_digit = False
        else:
            return None
    if len(octets) < 4 or not saw_digit:
        return None
    return bytes(octets)


def inet_pton6(text: str) -> bytes | None:
    """glibc inet_pton(AF_INET6)."""
    if not text:
        return None
    src = text
    if src[0] == ":":
        if len(src) < 2 or src[1] != ":":
            return None
        src = src[1:]
    out = bytearray()
    colon_at: int | None = None
    curtok = 0
    xdigits, val = 0, 0
    i = 0
    while i < len(src):
        ch = src[i]
        i += 1
        if ch in _XDIGITS:
            if xdigits == 4:
                return None
            val = (val << 4) | int(ch, 16)
            xdigits += 1
            continue
        if ch == ":":
            curtok = i
            if xdigits == 0:
                if colon_at is not None:
                    return None
                colon_at = len(out)
                continue
            if i == len(src) or len(out) + 2 > 16:
                return None
            out += bytes((val >> 8, val & 0xFF))
            xdigits, val = 0, 0
            continue
        if ch == "." and len(out) + 4 <= 16:
            four = inet_pton4(src[curtok:])
            if four is not None:
                out += four
                xdigits = 0
                break
        return None
    else:
        if xdigits:
            if len(out) + 2 > 16:
                return None
            out += bytes((val >> 8, val & 0xFF))
    if colon_at is not None:
        if len(out) == 16:
            return None
        out = out[:colon_at] + bytes(16 - len(out)) + out[colon_at:]
    if len(out) != 16:
        return None
    return bytes(out)


def ip_to_string(family: int, address: bytes) -> str:
    """util.c UTI_IPToString: dotted quad, or glibc inet_ntop(AF_INET6)."""
    if family == 4:
        return ".".join(str(b) for b in address)
    words = [address[i] << 8 | address[i + 1] for i in range(0, 16, 2)]
    best_base, best_len, cur_base, cur_len = -1, 0, -1, 0
    for i, word in enumerate(words + [1]):
        if i < 8 and word == 0:
            if cur_base == -1:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
        elif cur_base != -1:
            if best_base == -1 or cur_len > best_len:
                best_base, best_len = cur_base, cur_len
            cur_base = -1
    if best_base != -1 and best_len < 2:
        best_base = -1
    out = ""
    for i in range(8):
        if best_base != -1 and best_base <= i < best_base + best_len:
            if i == best_base:
                out += ":"
            continue
        if i:
            out += ":"
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xFFFF)):
            out += ".".join(str(b) for b in address[12:])
            break
        out += f"{words[i]:x}"
    if best_base != -1 and best_base + best_len == 8:
        out += ":"
    return out


def _string_to_ip(text: str) -> tuple[int, bytes] | None:
    four = inet_pton4(text)
    if four is not None:
        return 4, four
    six = inet_pton6(text)
    if six is not None:
        return 6, six
    return None


# ----------------------------------------------------------------------------------------------
# The model's data


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
    where: str  # file:line, or the file when no line applies
    message: str  # for a fatal one: chronyd's own reason, in its words
    fatal: bool  # chronyd refuses to start
    hint: str | None = None  # what in the line made it so, when chronyd's words do not say
    log: str | None = None  # what chronyd logs ("Fatal error : " + log), when fatal
    stage: str = "parse"  # the step of STARTUP_ORDER that fails

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" + (f" ({self.hint})" if self.hint else "")


@dataclasses.dataclass(frozen=True)
class Refclock:
    driver: str
    parameter: str
    tai: bool
    line: Line


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
    #: files (and sourcedir directories) chronyd reads as its run user and that user cannot read:
    #: (path, reason); chronyd skips them
    skipped_files: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    #: files read after dropping root whose content stays on the host (key material by its look):
    #: what they hold is unknown (sourcedir sources, tempcomp points)
    withheld: list[str] = dataclasses.field(default_factory=list)
    refclocks: list[Refclock] = dataclasses.field(default_factory=list)

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

    @property
    def refusal(self) -> Diagnostic | None:
        """The error chronyd stops at (the first fatal one in its order), or None."""
        return next(iter(self.fatal), None)


def normalize(text: str) -> list[str] | None:
    """Words of a line (cmdparse.c CPS_NormalizeLine), or None for a blank or comment line."""
    words = _words(text)
    if not words or words[0][0] in COMMENT_CHARS:
        return None
    return words


def looks_like_key(words: list[str]) -> bool:
    """A chrony.keys entry ('ID [TYPE] KEY') met in a file read as configuration."""
    return bool(words) and words[0].isdigit()


def _inline_hint(words: Iterable[str]) -> str | None:
    if any(w[0] in COMMENT_CHARS for w in words):
        return "chronyd does not allow inline comments"
    return None


# Source options (cmdparse.c CPS_ParseNTPSourceAdd): flags, and options with the conversion of
# their value.
_SOURCE_FLAGS = {
    "auto_offline",
    "burst",
    "copy",
    "iburst",
    "offline",
    "noselect",
    "prefer",
    "require",
    "trust",
    "nts",
    "xleave",
}
_SOURCE_VALUES = {
    "certset": "u",
    "key": "u",
    "asymmetry": "lf",
    "extfield": "x",
    "filter": "d",
    "maxdelay": "lf",
    "maxdelayratio": "lf",
    "maxdelaydevratio": "lf",
    "maxdelayquant": "lf",
    "maxpoll": "d",
    "maxsamples": "d",
    "maxsources": "d",
    "mindelay": "lf",
    "minpoll": "d",
    "minsamples": "d",
    "minstratum": "d",
    "ntsport": "d",
    "offset": "lf",
    "port": "d",
    "polltarget": "d",
    "presend": "d",
    "version": "d",
}
NTP_EF_EXP1 = 0xF323


def _source_options(rest: str) -> tuple[dict[str, str | None] | None, str | None]:
    """The options after the host name, or (None, why chronyd rejects them)."""
    options: dict[str, str | None] = {}
    while rest:
        word, after = _split_word(rest)
        name = word.lower()
        if name in _SOURCE_FLAGS:
            options[name] = None
            rest = after
            continue
        conv = _SOURCE_VALUES.get(name)
        if conv is None:
            return None, f"invalid option {word!r}"
        got = _scan_one(after, conv)
        if got is None:
            return None, (
                f"option {word!r} needs a value"
                if not after
                else f"invalid value {_split_word(after)[0]!r} for option {word!r}"
            )
        value, used = got
        if name == "key" and value == 0:
            return None, "key 0 is not a key"
        if name == "extfield" and value != NTP_EF_EXP1:
            return None, f"unknown extension field {after[:used]!r}"
        options[name] = str(value) if conv in ("d", "u", "x") else after[:used]
        rest = after[used:]
    return options, None


def parse_source(words: list[str], line: Line, from_sourcedir: bool) -> tuple[Source | None, str | None]:
    """A server/pool/peer line as cmdparse.c reads it: (Source, None) or (None, the error)."""
    kind = words[0].lower()
    if len(words) < 2:
        return None, f"Could not parse {words[0]} directive (no host name)"
    options, why = _source_options(" ".join(words[2:]))
    if options is None:
        hint = _inline_hint(words[2:])
        return None, f"Could not parse {words[0]} directive ({why}" + (f"; {hint})" if hint else ")")
    return Source(kind, words[1], options, line, from_sourcedir), None


# ----------------------------------------------------------------------------------------------
# Reading


class _Fatal(Exception):
    """A parse error: chronyd logs the message with " at line N in file F" and exits."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


def _fgets(data: bytes, size: int) -> Iterator[bytes]:
    """The successive strings fgets(buf, size, f) returns for a file holding data."""
    i = 0
    while i < len(data):
        end = data.find(b"\n", i, i + size - 1)
        chunk = data[i : end + 1] if end >= 0 else data[i : i + size - 1]
        i += len(chunk)
        yield chunk


def _to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _to_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _on_host(path: str) -> str:
    """The absolute path of a path chronyd names: a relative one is relative to its working
    directory, / when systemd starts it."""
    return path if path.startswith("/") else "/" + path


def _has_glob_chars(text: str) -> bool:
    return any(c in text for c in _GLOB_CHARS)


_RATELIMIT_OPTIONS = ("interval", "burst", "leak")
_LOG_NAMES = ("rawmeasurements", "measurements", "selection", "statistics", "tracking", "rtc", "refclocks", "tempcomp")
_REFCLOCK_VALUES = {
    "refid": "4s",
    "lock": "4s",
    "poll": "d",
    "dpoll": "d",
    "filter": "d",
    "rate": "d",
    "minsamples": "d",
    "maxlockage": "d",
    "maxsamples": "d",
    "offset": "lf",
    "delay": "lf",
    "precision": "lf",
    "maxdispersion": "lf",
    "stratum": "d",
    "width": "lf",
}
_REFCLOCK_FLAGS = {"local", "pps", "tai", "noselect", "prefer", "trust", "require"}
_REFCLOCK_DRIVERS = {
    "SHM": ("perm",),
    "SOCK": (),
    "PPS": ("clear",),
    "PHC": ("nocrossts", "extpps", "pin", "channel", "clear"),
}
_HWTS_VALUES = {
    "maxsamples": "d",
    "minpoll": "d",
    "minsamples": "d",
    "precision": "lf",
    "rxcomp": "lf",
    "txcomp": "lf",
    "rxfilter": "4s",
}

_INT = {
    "acquisitionport",
    "cmdport",
    "dscp",
    "logbanner",
    "maxntsconnections",
    "maxsamples",
    "minsamples",
    "minsources",
    "nocerttimecheck",
    "ntsport",
    "ntsprocesses",
    "ntsrefresh",
    "ntsrotate",
    "port",
    "ptpport",
    "sched_priority",
}
_DOUBLE = {
    "clockprecision",
    "combinelimit",
    "corrtimeratio",
    "logchange",
    "maxclockerror",
    "maxdistance",
    "maxdrift",
    "maxjitter",
    "maxslewrate",
    "maxupdateskew",
    "reselectdist",
    "rtcautotrim",
    "stratumweight",
}
_STRING = {
    "bindacqdevice",
    "bindcmddevice",
    "binddevice",
    "driftfile",
    "dumpdir",
    "hwclockfile",
    "keyfile",
    "leapsectz",
    "logdir",
    "ntpsigndsocket",
    "ntscachedir",
    "ntsdumpdir",
    "ntsntpserver",
    "pidfile",
    "rtcdevice",
    "rtcfile",
    "user",
    "ntsservercert",
    "ntsserverkey",
}
_NULL = {"lock_all", "manual", "noclientlog", "nosystemcert", "rtconutc", "rtcsync"}
_DEPRECATED = {"commandkey", "generatecommandkey", "linux_freq_scale", "linux_hz"}
_KEYWORD = {
    "authselectmode": ("require", "prefer", "mix", "ignore"),
    "leapsecmode": ("system", "slew", "step", "ignore"),
}
_OTHER = {
    "allow",
    "deny",
    "cmdallow",
    "cmddeny",
    "bindacqaddress",
    "bindaddress",
    "bindcmdaddress",
    "broadcast",
    "clientloglimit",
    "confdir",
    "dumponexit",
    "fallbackdrift",
    "hwtimestamp",
    "include",
    "initstepslew",
    "local",
    "log",
    "mailonchange",
    "makestep",
    "maxchange",
    "ntstrustedcerts",
    "ratelimit",
    "ntsratelimit",
    "cmdratelimit",
    "refclock",
    "smoothtime",
    "sourcedir",
    "tempcomp",
} | set(SOURCE_DIRECTIVES)
#: every directive chronyd 4.3 knows (conf.c CNF_ParseLine); any other is "Invalid directive"
DIRECTIVES = frozenset(_INT | _DOUBLE | _STRING | _NULL | _DEPRECATED | set(_KEYWORD) | _OTHER)


class _Parser:
    def __init__(self, reader: Reader, config: ChronyConfig, run_user_access: Callable[[str], str | None] | None):
        self.reader = reader
        self.config = config
        self.run_user_access = run_user_access
        self.sourcedirs: list[tuple[str, Line]] = []
        self.restrictions: list[tuple[Directive, int | None, bytes, int]] = []  # allow/deny
        self.cmd_restrictions: list[tuple[Directive, int | None, bytes, int]] = []
        self.hw_interfaces: list[str] = []
        self.incomplete = False  # something still has to be gathered
        self.stopped = False  # chronyd has exited

    # -- diagnostics ------------------------------------------------------------------------

    def diag(
        self,
        where: str,
        message: str,
        fatal: bool = False,
        hint: str | None = None,
        log: str | None = None,
        stage: str = "parse",
    ) -> None:
        self.config.diagnostics.append(Diagnostic(where, message, fatal, hint, log, stage))
        if fatal:
            self.stopped = True

    def fatal(self, where: str, message: str, stage: str, hint: str | None = None) -> None:
        self.diag(where, message, True, hint, message, stage)

    # -- files ------------------------------------------------------------------------------

    def content(self, path: str, origin: str, main: bool = False) -> str | None:
        """Text of a file chronyd opens as root to read it ('R': failing to open it is fatal),
        or None (noting why) when there is none to parse."""
        record = self.reader.file(_on_host(path))
        if record is None:
            self.incomplete = True
            return None
        if record.state == "missing":
            if main:
                self.config.main_missing = True
            self.fatal(origin, f"Could not open {path} : No such file or directory", "parse")
            return None
        if record.state in ("unreadable", "denied"):
            self.config.unreadable.append(path)
            return None
        if record.state == "not-a-file":
            if record.stat is not None and record.stat.kind == "directory":
                return ""  # chronyd opens a directory and reads no line from it
            self.config.unreadable.append(path)
            return None
        if record.content is None:  # fetched as stat only: key material is never read
            self.diag(
                origin,
                f"{path} holds key material and was not read: chronyd reads it as "
                "configuration, where a key line is an 'Invalid directive'",
                True,
            )
            return None
        self.config.files_read.append(path)
        return record.content

    def read(self, path: str, level: int, origin: str) -> None:
        """conf.c CNF_ReadFile."""
        if self.stopped:
            return
        if level > MAX_INCLUDE_LEVEL:
            self.fatal(
                origin,
                "Maximum include level reached",
                "parse",
                f"{path} would be include level {level}; the main file is level 1",
            )
            return
        text = self.content(path, origin, main=level == 1)
        if text is None:
            return
        for lineno, chunk in enumerate(_fgets(_to_bytes(text), MAX_LINE_LENGTH + 1), 1):
            if self.stopped:
                return
            self.line(path, lineno, chunk.split(b"\0", 1)[0], level)

    # -- one line ---------------------------------------------------------------------------

    def line(self, path: str, lineno: int, raw: bytes, level: int) -> None:
        """conf.c CNF_ParseLine."""
        where = f"{path}:{lineno}"
        log_suffix = f" at line {lineno} in file {path}"
        if len(raw) >= MAX_LINE_LENGTH:
            self.diag(
                where,
                "String too long",
                True,
                f"{len(raw)} bytes, newline included; chronyd reads lines of up to {MAX_LINE_LENGTH - 1}",
                "String too long" + log_suffix,
            )
            return
        words = normalize(_to_text(raw))
        if words is None:
            return
        command, rest = words[0], " ".join(words[1:])
        name, args = command.lower(), tuple(words[1:])
        shown = "(key material, not shown)" if looks_like_key(words) else " ".join(words)
        line = Line(path, lineno, shown)
        directive = Directive(name, args, line)
        try:
            if name not in DIRECTIVES:
                raise _Fatal(
                    "Invalid directive",
                    "a chrony.keys line" if looks_like_key(words) else f"{command!r} is not a chronyd 4.3 directive",
                )
            self.directive(command, name, rest, directive, level)
        except _Included:
            return
        except _Fatal as exc:
            message = exc.message
            hint = "; ".join(h for h in (exc.hint, _inline_hint(words[1:])) if h) or None
            error = message + (f" ({hint})" if hint else "")
            failed = Directive(name, args, line, error)
            if name in SOURCE_DIRECTIVES:
                self.config.invalid_sources.append(failed)
            else:
                self.config.directives.append(failed)
            self.diag(where, message, True, hint, message + log_suffix)
            return
        if name not in SOURCE_DIRECTIVES:
            self.config.directives.append(directive)

    def directive(self, command: str, name: str, rest: str, directive: Directive, level: int) -> None:
        def parse_error(hint: str | None = None) -> _Fatal:
            return _Fatal(f"Could not parse {command} directive", hint)

        def check_args(expected: int) -> None:
            have = _n_args(rest)
            if have != expected:
                raise _Fatal(
                    f"{'Missing' if have < expected else 'Too many'} arguments for {command} directive",
                    f"{expected} expected, {have} given",
                )

        def number(conv: str, text: str) -> object:
            got = sscanf(text, f"%{conv}")
            if _count(got) != 1:
                raise parse_error(f"{_split_word(text)[0] or 'nothing'!r} is not a number")
            return got[0]

        if name in _INT:
            check_args(1)
            number("d", rest)
        elif name in _DOUBLE:
            check_args(1)
            number("lf", rest)
        elif name in _STRING:
            check_args(1)
        elif name in _NULL:
            check_args(0)
        elif name in _KEYWORD:
            if rest.lower() not in _KEYWORD[name]:
                raise parse_error(f"expected one of {', '.join(_KEYWORD[name])}")
        elif name in _DEPRECATED:
            self.diag(directive.line.where, f"{command} directive is no longer supported")
        elif name == "dumponexit":
            self.diag(directive.line.where, "chronyd ignores the dumponexit directive")
        elif name in SOURCE_DIRECTIVES:
            host, options_text = _split_word(rest)
            if not host:
                raise parse_error("no host name")
            options, why = _source_options(options_text)
            if options is None:
                raise parse_error(why)
            self.config.sources.append(Source(name, host, options, directive.line))
        elif name in ("allow", "deny", "cmdallow", "cmddeny"):
            self.allow_deny(command, name, rest, directive)
        elif name in ("bindaddress", "bindacqaddress"):
            check_args(1)
            if _string_to_ip(rest) is None:
                raise parse_error(f"{rest!r} is not an IP address")
        elif name == "bindcmdaddress":
            check_args(1)
            if not rest.startswith("/") and _string_to_ip(rest) is None:
                raise parse_error(f"{rest!r} is neither an IP address nor a socket path")
        elif name == "broadcast":
            first, after = _split_word(rest)
            if _count(sscanf(first, "%d")) != 1:
                raise parse_error("the interval is not a number")
            second, after = _split_word(after)
            if _string_to_ip(second) is None:
                raise parse_error(f"{second!r} is not an IP address")
            third, after = _split_word(after)
            if third and (_count(sscanf(third, "%d")) != 1 or after):
                raise parse_error("expected an interval, an address and an optional port")
        elif name == "clientloglimit":
            check_args(1)
            number("lu", rest)
        elif name == "fallbackdrift":
            check_args(2)
            if _count(sscanf(rest, "%d %d")) != 2:
                raise parse_error("expected two integers")
        elif name == "makestep":
            check_args(2)
            if _count(sscanf(rest, "%lf %d")) != 2:
                raise parse_error("expected a threshold and an integer limit")
        elif name == "maxchange":
            check_args(3)
            if _count(sscanf(rest, "%lf %d %d")) != 3:
                raise parse_error("expected an offset and two integers")
        elif name == "mailonchange":
            check_args(2)
            if _count(sscanf(_split_word(rest)[1], "%lf")) != 1:
                raise parse_error("the threshold is not a number")
        elif name == "ntstrustedcerts":
            if _n_args(rest) == 2:
                if _count(sscanf(_split_word(rest)[0], "%u")) != 1:
                    raise parse_error("the certificate set is not a number")
            else:
                check_args(1)
        elif name in ("ratelimit", "ntsratelimit", "cmdratelimit"):
            line = rest
            while line:
                option, line = _split_word(line)
                got = _scan_one(line, "d")
                if got is None:
                    raise parse_error(f"option {option!r} needs an integer")
                line = line[got[1] :]
                if option.lower() not in _RATELIMIT_OPTIONS:
                    raise parse_error(f"invalid option {option!r}")
        elif name == "smoothtime":
            if _n_args(rest) != 3:
                check_args(2)
            if _count(sscanf(rest, "%lf %lf")) != 2:
                raise parse_error("expected two numbers")
            third = _split_word(_split_word(_split_word(rest)[1])[1])[0]
            if third and third.lower() != "leaponly":
                raise parse_error(f"{third!r} is not leaponly")
        elif name == "tempcomp":
            point_form = _n_args(rest) == 3
            if not point_form:
                check_args(6)
            after = _split_word(rest)[1]
            if point_form:
                if _count(sscanf(after, "%lf")) != 1:
                    raise parse_error("the interval is not a number")
            elif _count(sscanf(after, "%lf %lf %lf %lf %lf")) != 5:
                raise parse_error("expected an interval and four coefficients")
        elif name == "hwtimestamp":
            self.hwtimestamp(rest, parse_error)
        elif name == "local":
            line = rest
            while line:
                option, line = _split_word(line)
                lower = option.lower()
                if lower == "stratum":
                    got = _scan_int(line)
                    if got is None or not 0 < got[0] < NTP_MAX_STRATUM:
                        raise parse_error("stratum must be 1 to 15")
                    line = line[got[1] :]
                elif lower == "distance":
                    distance = _scan_one(line, "lf")
                    if distance is None:
                        raise parse_error("distance needs a number")
                    line = line[distance[1] :]
                elif lower != "orphan":
                    raise parse_error(f"invalid option {option!r}")
        elif name == "log":
            for word in rest.split(" ") if rest else ():
                if word not in _LOG_NAMES:
                    raise _Fatal("Invalid log parameter", f"{word!r} is not one of {', '.join(_LOG_NAMES)}")
        elif name == "initstepslew":
            first, after = _split_word(rest)
            if _count(sscanf(first, "%lf")) != 1:
                raise parse_error("the threshold is not a number")
            for host in _words(after):
                if _string_to_ip(host) is None:
                    self.diag(
                        directive.line.where,
                        f"initstepslew server {host} is resolved when chronyd "
                        "starts (a name it cannot resolve is only a warning)",
                    )
        elif name == "refclock":
            self.refclock(rest, directive, parse_error)
        elif name == "include":
            check_args(1)
            self.config.directives.append(directive)
            self.include(rest, directive, level)
            raise _Included()
        elif name == "confdir":
            dirs = _words(rest)
            if not 1 <= len(dirs) <= MAX_DIRS:
                raise parse_error(f"{len(dirs)} directories given, 1 to {MAX_DIRS} allowed")
            self.config.directives.append(directive)
            for directory in dirs:
                if _has_glob_chars(directory):
                    self.diag(
                        directive.line.where,
                        f"confdir {directory}: chronyd reads no file from a directory named with glob characters",
                    )
            for path in self.dir_files(dirs, ".conf") or ():
                self.read(path, level + 1, directive.line.where)
            raise _Included()
        elif name == "sourcedir":
            self.sourcedirs.append((rest, directive.line))

    # -- directives with more to them ------------------------------------------------------

    def allow_deny(self, command: str, name: str, rest: str, directive: Directive) -> None:
        """cmdparse.c CPS_ParseAllowDeny; the subnet is checked after reading (access stage)."""

        def fail(hint: str) -> _Fatal:
            return _Fatal(f"Could not parse {command} directive", hint)

        first, after = _split_word(rest)
        if first == "all":
            net, after = _split_word(after)
        else:
            net = first
        if after:
            raise fail("one address or subnet expected")
        target = self.cmd_restrictions if name.startswith("cmd") else self.restrictions
        if not net:
            target.append((directive, None, b"", 0))
            return
        bits = -1
        if "/" in net:
            address, _, prefix = net.partition("/")
            got = _scan_int(prefix)
            if got is None or got[1] != len(prefix) or got[0] < 0:
                raise fail(f"{prefix!r} is not a prefix length")
            bits, net = got[0], address
        ip = _string_to_ip(net)
        if ip is not None:
            family, address_bytes = ip
            target.append((directive, family, address_bytes, bits if bits >= 0 else 32 if family == 4 else 128))
            return
        parts = sscanf(net, "%u%n.%u%n.%u%n")
        numbers = [v for v in parts if not isinstance(v, _Consumed)]
        consumed = [int(v) for v in parts if isinstance(v, _Consumed)]
        if numbers and consumed and consumed[-1] == len(net):
            if any(v > 255 for v in numbers):
                raise fail("an octet above 255")
            octets = bytes(numbers + [0] * (4 - len(numbers)))
            target.append((directive, 4, octets, bits if bits >= 0 else 8 * len(numbers)))
            return
        if bits < 0:
            self.diag(
                directive.line.where,
                f"{net} is resolved when chronyd reads this line: a name it "
                f"cannot resolve makes it refuse the configuration (Could not parse {command} directive)",
            )
            return
        raise fail(f"{net!r} is not an address")

    def hwtimestamp(self, rest: str, parse_error) -> None:
        if not rest:
            raise parse_error("an interface name is required")
        interface, line = _split_word(rest)
        while line:
            option, after = _split_word(line)
            lower = option.lower()
            if lower == "nocrossts":
                line = after
                continue
            conv = _HWTS_VALUES.get(lower)
            got = _scan_one(after, conv) if conv else None
            if got is None or (lower == "rxfilter" and str(got[0]).lower() not in ("none", "ntp", "ptp", "all")):
                raise parse_error(
                    f"invalid option {option!r}" if conv is None else f"invalid value for option {option!r}"
                )
            line = after[got[1] :]
        self.hw_interfaces.append(interface)

    def refclock(self, rest: str, directive: Directive, parse_error) -> None:
        if not rest:
            raise parse_error("a driver name is required")
        driver, line = _split_word(rest)
        if not line:
            raise parse_error("a driver parameter is required")
        parameter, line = _split_word(line)
        tai = False
        while line:
            option, after = _split_word(line)
            lower = option.lower()
            if lower in _REFCLOCK_FLAGS:
                tai = tai or lower == "tai"
                line = after
                continue
            conv = _REFCLOCK_VALUES.get(lower)
            if conv is None:
                raise _Fatal("Invalid refclock option", f"{option!r} is not a refclock option")
            got = _scan_one(after, conv)
            if got is None or (
                lower == "stratum" and not (isinstance(got[0], int) and 0 <= got[0] < NTP_MAX_STRATUM)  # %d: an int
            ):
                raise parse_error(f"invalid value for option {option!r}")
            line = after[got[1] :]
        self.config.refclocks.append(Refclock(driver, parameter, tai, directive.line))

    # -- include, confdir, sourcedir ---------------------------------------------------------

    def include(self, pattern: str, directive: Directive, level: int) -> None:
        """conf.c parse_include: glob(pattern, GLOB_NOMAGIC | GLOB_ERR)."""
        origin = directive.line.where
        if not _has_glob_chars(pattern):
            self.read(pattern, level + 1, origin)  # returned as is, whether it exists or not
            return
        # glob lists the directory above the first component with glob characters: if that
        # directory does not exist, GLOB_ERR makes glob fail and chronyd stop
        parts = pattern.split("/")
        fixed = next(i for i, part in enumerate(parts) if _has_glob_chars(part))
        directory = "/".join(parts[:fixed]) or ("/" if pattern.startswith("/") else ".")
        record = self.reader.stat(_on_host(directory))
        matches = self.reader.glob(_on_host(pattern))
        if record is None or matches is None:
            self.incomplete = True
            return
        if record.state == "missing":
            error = self.lookup_error(_on_host(directory))
            if error == "ENOENT":
                self.fatal(
                    origin,
                    f"Could not search for files matching {pattern}",
                    "parse",
                    f"directory {directory} does not exist",
                )
            return  # ENOTDIR: glob finds nothing, without an error
        if record.state in ("denied", "unreadable"):
            self.config.unreadable.append(directory)
            return
        denied = getattr(self.reader.snapshot, "denied_globs", {})
        if _on_host(pattern) in denied:
            self.config.unreadable.append(denied[_on_host(pattern)])
            return
        # glibc keeps the pattern's spelling of the directory (conf.d//a.conf)
        last_only = fixed == len(parts) - 1
        head = pattern.rsplit("/", 1)[0] if "/" in pattern else None
        for match in sorted(matches):
            name = posixpath.basename(match)
            if not last_only:
                path = match
            elif head is None:
                path = name
            else:
                path = (head or "") + "/" + name
            self.read(path, level + 1, origin)
            if self.stopped:
                return

    def lookup_error(self, path: str) -> str | None:
        """Why opening a missing path fails: ENOENT, or ENOTDIR when a component above it is
        not a directory (None while that is not gathered yet)."""
        parts = path.split("/")
        for i in range(2, len(parts)):
            record = self.reader.stat("/".join(parts[:i]))
            if record is None:
                self.incomplete = True
                return None
            if record.state == "missing":
                return "ENOENT"
            if record.stat is not None and record.stat.kind != "directory":
                return "ENOTDIR"
        return "ENOENT"

    def dir_files(self, dirs: Iterable[str], suffix: str) -> list[str] | None:
        """conf.c search_dirs: the *suffix files of several directories merged by name (the first
        directory listed wins a name), in file name order, spelled as chronyd spells them."""
        dirs = list(dirs)
        found: dict[str, list[str]] = {}
        complete = True
        denied = getattr(self.reader.snapshot, "denied_globs", {})
        for directory in dirs:  # ask for every directory at once: one round trip, not one each
            pattern = _on_host(f"{directory}/*{suffix}")
            matches = self.reader.glob(pattern)
            if matches is None:
                complete = False
                continue
            if pattern in denied:
                self.config.unreadable.append(denied[pattern])
            for match in matches:
                found.setdefault(posixpath.basename(match), []).append(match)
        if not complete:
            self.incomplete = True
            return None
        chosen = []
        for base in sorted(found):
            for directory in dirs:
                if any(
                    posixpath.dirname(posixpath.normpath(m)) == posixpath.normpath(_on_host(directory))
                    for m in found[base]
                ):
                    chosen.append(f"{directory}/{base}")
                    break
        return chosen

    # -- after reading: main.c's checks, in its order -----------------------------------------

    def after_reading(self) -> None:
        config = self.config
        # NKS_PreInitialise: CNF_GetNtsServerCertAndKeyFiles
        certs, keys = config.all("ntsservercert"), config.all("ntsserverkey")
        if len(certs) != len(keys):
            more = certs if len(certs) > len(keys) else keys
            self.fatal(
                more[-1].line.where,
                "Uneven number of NTS certs and keys",
                "nts-server",
                f"{len(certs)} ntsservercert, {len(keys)} ntsserverkey",
            )
            return
        # RTC_Initialise
        if (rtcfile := config.last("rtcfile")) and config.all("rtcsync"):
            self.fatal(
                rtcfile.line.where,
                "rtcfile directive cannot be used with rtcsync",
                "rtc",
                f"rtcsync at {config.all('rtcsync')[-1].line.where}",
            )
            return
        # RCL_Initialise: every refclock in order
        for clock in config.refclocks:
            where = clock.line.where
            if clock.driver not in _REFCLOCK_DRIVERS:
                self.fatal(
                    where,
                    f"unknown refclock driver {clock.driver}",
                    "refclocks",
                    f"drivers: {', '.join(_REFCLOCK_DRIVERS)} (case matters)",
                )
                return
            if clock.tai and not config.last("leapsectz"):
                self.fatal(where, "refclock tai option requires leapsectz", "refclocks")
                return
            segments = clock.parameter.split(":")
            options = segments[1:-1] if clock.parameter.endswith(":") else segments[1:]
            allowed = _REFCLOCK_DRIVERS[clock.driver]
            for option in options:
                if not any(option == o or option.startswith(o + "=") for o in allowed):
                    self.fatal(
                        where,
                        f"Invalid refclock driver option {option}",
                        "refclocks",
                        f"{clock.driver} takes {', '.join(allowed) or 'no options'}",
                    )
                    return
            device = segments[0]
            if clock.driver == "SOCK" and len(_to_bytes(device)) >= SUN_PATH_MAX:
                self.fatal(
                    where,
                    f"Could not open socket {device}",
                    "refclocks",
                    f"a socket path has at most {SUN_PATH_MAX - 1} bytes",
                )
                return
            if clock.driver in ("PPS", "PHC", "SOCK"):
                self.diag(
                    where,
                    f"refclock {clock.driver} {device}: chronyd refuses to start if it cannot open it",
                    stage="refclocks",
                )
        # NIO_Initialise: HW timestamping on named interfaces
        for interface in self.hw_interfaces:
            if interface != "*" and len(_to_bytes(interface)) >= IFNAMSIZ:
                directive = next(d for d in config.all("hwtimestamp") if d.args and d.args[0] == interface)
                self.fatal(
                    directive.line.where,
                    f"Could not enable HW timestamping on {interface}",
                    "ntp-io",
                    f"an interface name has at most {IFNAMSIZ - 1} bytes",
                )
                return
            if interface != "*":
                directive = next(d for d in config.all("hwtimestamp") if d.args and d.args[0] == interface)
                self.diag(
                    directive.line.where,
                    f"hwtimestamp {interface}: chronyd refuses to start if this interface has no hardware timestamping",
                    stage="ntp-io",
                )
        # CNF_SetupAccessRestrictions: NTP restrictions, then command restrictions
        for directive, family, address, bits in self.restrictions + self.cmd_restrictions:
            if family is not None and bits > (32 if family == 4 else 128):
                self.fatal(
                    directive.line.where,
                    f"Bad subnet in {ip_to_string(family, address)}/{bits}",
                    "access",
                    f"an IPv{family} prefix has at most {32 if family == 4 else 128} bits",
                )
                return
        # SYS_SetScheduler (a -P option on the command line replaces the directive)
        priority = config.last("sched_priority")
        if priority is not None:
            value = c_int(priority.args[0])
            if value and not 1 <= value <= 99:
                self.fatal(
                    priority.line.where, f"Bad scheduler priority: {value}", "scheduler", "1 to 99, or 0 for none"
                )
                return
        # CLG_Initialise
        if config.all("noclientlog"):
            limits = [d for d in config.directives if d.name in ("ratelimit", "ntsratelimit", "cmdratelimit")]
            if limits:
                self.fatal(
                    config.all("noclientlog")[-1].line.where,
                    "Rate limiting cannot be enabled with noclientlog",
                    "clientlog",
                    f"{limits[0].name} at {limits[0].line.where}",
                )
                return
        # TMC_Initialise, as the run user
        self.tempcomp()

    def tempcomp(self) -> None:
        """tempcomp.c TMC_Initialise: the point file (read as the run user), then the first timeout."""
        directive = self.config.last("tempcomp")
        if directive is None:
            return
        where = directive.line.where
        if len(directive.args) == 3 and not self.tempcomp_points(directive.args[2], where):
            return
        interval = sscanf(directive.args[1], "%lf")[0]
        if math.isnan(interval):  # `interval <= 0` is false for NaN: SCH_AddTimeoutByDelay asserts
            message = "chronyd: sched.c:370: SCH_AddTimeoutByDelay: Assertion `delay >= 0.0' failed."
            self.fatal(where, message, "tempcomp", "a NaN interval: chronyd aborts")

    def tempcomp_points(self, path: str, where: str) -> bool:
        """tempcomp.c read_points: False when chronyd stops there (or it is not gathered yet)."""
        if self.run_user_access is not None:
            reason = self.run_user_access(path)
            if reason is not None:
                self.fatal(where, f"Could not open {path} : Permission denied", "tempcomp", reason)
                return False
        record = self.reader.file(_on_host(path))
        if record is None:
            self.incomplete = True
            return False
        if record.state == "missing":
            self.fatal(where, f"Could not open {path} : No such file or directory", "tempcomp")
            return False
        if record.content is None:
            if record.withheld:  # key material by its look: it stays on the host, the points are unknown
                self.config.withheld.append(path)
                return False
            if not (record.state == "not-a-file" and record.stat is not None and record.stat.kind == "directory"):
                self.config.unreadable.append(path)
                return False
            text = ""
        else:
            text = record.content
        points = 0
        for number, chunk in enumerate(_fgets(_to_bytes(text), TEMPCOMP_LINE), 1):
            if _count(sscanf(_to_text(chunk.split(b"\0", 1)[0]), "%lf %lf")) != 2:
                self.fatal(
                    f"{path}:{number}",
                    f"Could not read tempcomp point from {path}",
                    "tempcomp",
                    "each line holds a temperature and a compensation",
                )
                return False
            points += 1
        if points < 2:
            self.fatal(path, f"Not enough points in {path}", "tempcomp", f"{points} point(s), 2 needed")
            return False
        return True

    # -- sourcedir files, read after dropping root -------------------------------------------

    def read_sourcedirs(self) -> None:
        for rest, origin in self.sourcedirs:
            dirs = _words(rest)
            if not 1 <= len(dirs) <= MAX_DIRS:
                self.diag(
                    origin.where,
                    f"chronyd ignores this sourcedir directive: {len(dirs)} directories given, 1 to {MAX_DIRS} allowed",
                )
                continue
            listable = []
            for directory in dirs:  # listed as the run user: one it cannot list shows no file
                reason = self.run_user_access(directory) if self.run_user_access else None
                if reason is not None:
                    self.skip(directory, reason, origin)
                else:
                    listable.append(directory)
            for path in self.dir_files(listable, ".sources") or ():
                self.read_sources_file(path, origin)

    def skip(self, path: str, reason: str, origin: Line) -> None:
        self.config.skipped_files.append((path, reason))
        self.diag(origin.where, f"{path}: {reason}: chronyd skips it")

    def read_sources_file(self, path: str, origin: Line) -> None:
        """conf.c load_source_file: opened with 'r' (a file it cannot open is skipped silently)."""
        if self.run_user_access is not None:
            reason = self.run_user_access(path)
            if reason is not None:
                self.skip(path, reason, origin)
                return
        record = self.reader.file(_on_host(path))
        if record is None:
            self.incomplete = True
            return
        if record.state == "missing":
            return
        if record.state in ("unreadable", "denied"):
            self.config.unreadable.append(path)
            return
        if record.content is None:
            if record.state == "ok":
                self.diag(
                    path,
                    f"{path} holds key material and was not read: chronyd ignores every "
                    "line of it that is not a source",
                )
                self.config.withheld.append(path)
            return
        self.config.files_read.append(path)
        for lineno, chunk in enumerate(_fgets(_to_bytes(record.content), MAX_LINE_LENGTH + 1), 1):
            where = f"{path}:{lineno}"
            text = chunk.split(b"\0", 1)[0]
            if not text or not text.endswith(b"\n"):
                what = (
                    (
                        "has no newline"
                        if len(chunk) < MAX_LINE_LENGTH
                        else f"is longer than {MAX_LINE_LENGTH - 1} bytes"
                    )
                    if b"\0" not in chunk
                    else "holds a NUL byte"
                )
                self.diag(where, f"this line {what}: chronyd ignores it and the rest of the file")
                return
            words = normalize(_to_text(text))
            if words is None:
                continue
            if looks_like_key(words):
                self.diag(where, "key material in a sources file (not shown): chronyd ignores this line")
                continue
            line = Line(path, lineno, " ".join(words))
            if words[0].lower() not in SOURCE_DIRECTIVES:
                self.diag(where, f"{words[0]!r} in a sources file: chronyd ignores it")
                continue
            source, error = parse_source(words, line, True)
            if source:
                self.config.sources.append(source)
            else:  # not a source at all: chronyd skips it without complaint
                self.diag(where, f"{error}: chronyd ignores this line")


class _Included(Exception):
    """include/confdir: recorded (in reading order) before the files they name were read."""


def parse(
    main_path: str, reader: Reader, run_user_access: Callable[[str], str | None] | None = None
) -> tuple[ChronyConfig, bool]:
    """Effective configuration of chronyd started with main_path, and whether it starts.

    run_user_access(path) answers, for a file chronyd reads after dropping root (the sourcedir
    directories and files, a tempcomp point file), why its run user cannot read it (None: it
    can); chronyd then skips the sourcedir file, or refuses to start for a point file. For a
    directory, "read" means list.

    Returns (config, complete); complete is False while the reader still lacks
    files, which the collector then fetches in one more round trip.
    """
    config = ChronyConfig(main_path)
    parser = _Parser(reader, config, run_user_access)
    parser.read(main_path, 1, main_path)
    if not parser.stopped:
        parser.after_reading()
    if not parser.stopped:
        parser.read_sourcedirs()
    return config, not parser.incomplete
