"""ntp.conf as ntpd (classic ntp 4.2.8 or NTPsec 1.2.2) reads it: the effective configuration,
with provenance, the lines ntpd rejects and whether ntpd refuses to start at all.

The model follows ntpd's own scanner and parser (ntpd/ntp_scanner.c, ntpd/ntp_parser.y;
docs/ntpd-config-errors.md has the catalogue and the source lines):

- The scanner turns each line into tokens: keywords (exact, lower case), numbers, strings,
  `{}(),;|=`. `#` starts a comment anywhere outside double quotes. A keyword says whether the
  next word is forced to be a string (`server`, `includefile`...) or read as a token again.
- Some words make ntpd exit while it scans them, wherever they are (even in a line it would
  drop): a word longer than 1024 characters, a lone `0x`, an integer below LONG_MIN, a double that
  underflows. ntpd's `refclock` with an unknown driver name exits too.
- A line the parser cannot read is a syntax error: ntpd logs it and reads on. What the parser
  had completed before the bad word is kept (`server a iburst bogus` configures `a iburst`,
  `restrict default kod bogus` adds kod); a line that breaks before it is complete is dropped.
- `includefile FILE` pushes FILE (NTPsec: relative to the including file's directory; a
  directory reads its *.conf files) on a stack at most 6 files deep; `end` stops reading.
  NTPsec then reads every *.conf of the `ntp.d` directory beside the main file, all stacked at
  once, so they are read in reverse name order and each one's includefile depth counts the
  files still to read.
- After reading, ntpd applies the configuration: interface rules with -I/-L on the command
  line make it exit, the restrict lines build the restriction list (parsers.ntp_restrict),
  and NTPsec's `nts enable` makes it load the certificate and key after dropping root, or exit.

Secrets: the value of `crypto pw` is replaced by REDACTED while the line is parsed, so it is
never kept, compared or shown; a line that looks like a key file entry (`ID TYPE KEY`) is noted
without its text.
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Literal, NoReturn, NotRequired, TypedDict

from ..gather.snapshot import FileRecord, Reader, Snapshot
from . import ntp_restrict
from .ntp_restrict import RestrictOp
from .provenance import Directive, Line
from .source_options import PollOptions

REDACTED = "<redacted>"
MAX_INCLUDE_LEVEL = 5  # ntpd: MAXINCLUDELEVEL (ntp_scanner.h); the check is `lex_level() > 5`
MAX_LEXEME = 1024  # ntp_scanner.c MAX_LEXEME - 1: a longer word makes ntpd exit
SOURCE_DIRECTIVES = ("server", "pool", "peer")
DEFAULT_MAXPOLL, MAX_POLL = 10, 17  # ntpd: NTP_MAXDPOLL, NTP_MAXPOLL
MIN_POLL = {"classic": 3, "ntpsec": 0}  # NTP_MINPOLL
LOCAL_CLOCK_DEFAULT_STRATUM = 5  # refclock_local.c STRATUM
CONFIG_DIR = "ntp.d"  # NTPsec include/ntp_config.h
#: NTS files of Debian 12's ntpsec 1.2.2 build (strings of /usr/sbin/ntpd; upstream: /etc/ntp/...)
NTS_DEFAULTS = {
    "cert": "/etc/ntpsec/cert-chain.pem",
    "key": "/etc/ntpsec/key.pem",
    "cookie": "/var/lib/ntpsec/nts-keys",
}
#: refclock drivers of Debian 12's ntpsec build (`ntpd --help`), driver type numbers (refclock_conf.c)
REFCLOCK_DRIVERS = {
    "local": 1,
    "spectracom": 4,
    "generic": 8,
    "arbiter": 11,
    "nmea": 20,
    "pps": 22,
    "hpgps": 26,
    "shm": 28,
    "trimble": 29,
    "jjy": 40,
    "zyfer": 42,
}
#: files NTPsec reads after dropping root (`-u`), when `nts enable` is on: the NTS-KE server's
#: certificate chain and private key (nts_server_init2) and the cookie key file (nts_cookie_init2)
RUN_USER_FILES = ("nts cert", "nts key", "nts cookie")

_SPECIAL = "{}(),;|="
_WS = " \t\n\v\f\r"

# ---- keyword tables (keyword-gen.c): T = next word read as a token, S = forced string,
# E = every word to the end of the line is a string

_NTPSEC_T = (
    "-4 -6 ... age all allan allpeers auth average baud bias burst ca calibrate ceiling cert "
    "clockstats controlkey cookie ctl day default disable dispersion drop dscp enable end filegen "
    "filenum flag1 flag2 flag3 flag4 flake floor freq holdover huffpuff iburst ignore incalloc "
    "incmem initalloc initmem interface io ipv4 ipv6 kernel key kod leapsmearinterval limit limited "
    "link listen loopstats mask maxage maxclock maxdepth maxdisp maxdist maxmem maxpoll maxtls "
    "mdnstries mem memlock minage minclock mindepth mindist minpoll minsane mintls mode monitor "
    "month mru mssntp nic nolink nomodify nomrulist none nonvolatile nopeer noquery noselect "
    "noserve notrap notrust noval ntp ntpport nts orphan orphanwait panic peerstats pid prefer "
    "protostats rawstats requestkey reset restrict rlimit source stacksize statistics stats step "
    "stepback stepfwd stepout stratum subtype sys sysstats tick time1 time2 timer tinker tos true "
    "trustedkey type unit unrestrict usestats version week wildcard year"
)
_NTPSEC_S = (
    "aead clock driftfile file fudge includefile keys leapfile logfile ntpsigndsocket path peer "
    "pidfile pool ppspath refclock refid server setvar statsdir tlsciphersuites unconfig unpeer"
)
_NTPSEC_E = "logconfig phone"
_CLASSIC_T = (
    "-4 -6 ... age all allan allpeers auth autokey automax average bclient bcpollbstep beacon "
    "beep_delay broadcastclient broadcastdelay burst calibrate ceiling clockstats cohort controlkey "
    "crypto cryptostats ctl day default disable discard dispersion drop dscp duration enable end "
    "epeer filegen filenum flag1 flag2 flag3 flag4 flake floor freq freq_offset huffpuff iburst "
    "ignore incalloc incmem initalloc initmem interface io ippeerlimit ipv4 ipv6 jitter kernel key "
    "kod leapsmearinterval limited link listen loopstats lowpriotrap mask maxage maxclock maxdepth "
    "maxdist maxmem maxpoll mdnstries mem memlock minclock mindepth mindist minimum minpoll minsane "
    "mode mode7 monitor month mru mssntp nic noepeer nolink nomodify nomrulist none nonvolatile "
    "nopeer noquery noselect noserve notrap notrust ntp ntpport orphan orphanwait panic "
    "peer_clear_digest_early peerstats pid port preempt prefer proc_delay prop_delay protostats "
    "rawstats requestkey reset restrict revoke rlimit server_offset simulate simulation_duration "
    "source stacksize statistics stats step stepback stepfwd stepout stratum sys sysstats tick "
    "time1 time2 timer timingstats tinker tos true trustedkey ttl type unpeer_crypto_early "
    "unpeer_crypto_nak_early unpeer_digest_early version wander week wildcard xleave year"
)
_CLASSIC_S = (
    "abbrev basedate broadcast digest driftfile file fudge host ident includefile keys keysdir "
    "leapfile logfile manycastclient ntpsigndsocket peer pidfile pool pw randfile refid "
    "saveconfigdir server setvar statsdir trap unconfig unpeer"
)
_CLASSIC_E = "logconfig manycastserver multicastclient phone"


def _table(t: str, s: str, e: str) -> dict[str, str]:
    table = {w: "T" for w in t.split()}
    table.update({w: "S" for w in s.split()})
    table.update({w: "E" for w in e.split()})
    return table


KEYWORDS = {"ntpsec": _table(_NTPSEC_T, _NTPSEC_S, _NTPSEC_E), "classic": _table(_CLASSIC_T, _CLASSIC_S, _CLASSIC_E)}


# ---- public data


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
    """A restrict line that reaches a default entry: the address families it applies to and its flags."""

    families: tuple[str, ...]
    flags: frozenset[str]
    line: Line


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    where: str
    message: str
    #: ntpd's own log line for it, when the model can say it exactly ("" otherwise)
    log: str = ""

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
    #: lines ntpd logs and ignores (syntax errors, lines after an error it discards), never applied
    rejected: list[Directive] = dataclasses.field(default_factory=list)
    #: every restrict/unrestrict line ntpd applies, in its order (parsers.ntp_restrict)
    restrict_ops: list[RestrictOp] = dataclasses.field(default_factory=list)
    #: why ntpd would exit because of its configuration (first reason), or None: it starts
    refusal: Diagnostic | None = None
    #: what ntpd logs about its configuration, as the model predicts it, in order
    log: list[str] = dataclasses.field(default_factory=list)
    #: files that look like key material: their content stays on the host, so what ntpd reads
    #: in them is unknown (could not check)
    withheld: list[str] = dataclasses.field(default_factory=list)
    #: files ntpd reads after dropping root (NTS), with the line that names them
    run_user_files: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.directives if d.name == name]

    def last(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[-1] if found else None

    @property
    def network_sources(self) -> list[Source]:
        return [s for s in self.sources if not s.refclock]

    @functools.cached_property
    def restriction_state(self) -> ntp_restrict.Evaluation:
        """The restriction list ntpd builds (default entries per family, with provenance)."""
        return ntp_restrict.evaluate(self.restrict_ops, self.flavor)

    @property
    def default_restrictions(self) -> dict[str, ntp_restrict.DefaultEntry]:
        return self.restriction_state.defaults

    @property
    def crypto_pw_lines(self) -> list[Line]:
        """Every line holding `crypto ... pw` (applied or rejected): the file holds a secret either way."""
        return [d.line for d in self.directives + self.rejected if d.name == "crypto" and "pw" in d.args]


# ---- words of a line (display text; the scanner below decides what ntpd makes of them)


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


# ---- scanner (ntp_scanner.c), character for character


class _Fatal(Exception):
    def __init__(self, message: str, log: str, path: str, lineno: int):
        super().__init__(message)
        self.message, self.log, self.path, self.lineno = message, log, path, lineno


class _Stream:
    """One FILE_INFO: a file on ntpd's input stack, with ntpd's own position bookkeeping."""

    def __init__(self, name: str, path: str, text: str):
        self.name, self.path, self.text = name, path, text
        self.pos, self.nline, self.ncol = 0, 1, 0
        self.bak = (1, 0)
        self.backch: str | None = None
        self.tokpos = (0, 0)
        self.errpos = (0, 0)
        self.force_eof = False
        self.seen = False

    def getch(self) -> str | None:
        if self.force_eof:
            return None
        if self.backch is not None:
            ch, self.backch = self.backch, None
        else:
            while self.pos < len(self.text) and ord(self.text[self.pos]) > 127:
                self.pos += 1  # 7-bit ASCII only: other bytes are skipped (and counted)
                self.ncol += 1
            if self.pos >= len(self.text):
                ch = None
            else:
                ch = self.text[self.pos]
                self.pos += 1
                self.ncol += 1
        if ch is None and self.ncol != 0:
            ch = "\n"  # a last line without newline gets one
        if ch == "\n":
            self.bak = (self.nline, self.ncol)
            self.nline += 1
            self.ncol = 0
        return ch

    def ungetch(self, ch: str | None) -> None:
        if self.force_eof or self.backch is not None or ch is None:
            return
        self.backch = ch
        if ch == "\n":
            self.nline, self.ncol = self.bak
        self.ncol -= 1


class _Unknown:
    """A file ntpd reads and the audit does not (key material withheld, too large to fetch)."""


_UNKNOWN = _Unknown()


@dataclasses.dataclass
class _Tok:
    kind: str  # kw str int uint dbl sp eoc eof v4 v6
    text: str
    stream: _Stream | None
    line: int  # physical line of the token in its stream
    value: int | float | None = None

    @property
    def src(self) -> _Stream:
        """The token's stream: only the end of input read from an empty stack has none."""
        assert self.stream is not None, "a token of no stream"
        return self.stream

    def integer(self) -> int:
        """The value of an int token (one the grammar accepted as an integer)."""
        assert isinstance(self.value, int), f"not an integer token: {self.kind}"
        return self.value


def _digits(s: str) -> bool:
    return bool(s) and all(c in "0123456789" for c in s)


def _decimal(digits: str) -> int:
    """int() of a string of digits; beyond 25 digits any value overflows what ntpd converts
    (and Python refuses very long ones), so a bound stands for it."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= 25 else 10**25


def _u32(v: int) -> int:
    return min(v, 2**64 - 1) & 0xFFFFFFFF


def _strtod_prefix(text: str) -> str:
    m = re.match(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", text)
    return m.group(0) if m else "0"


class _Scanner:
    def __init__(self, flavor: str):
        self.flavor = flavor
        self.keywords = KEYWORDS[flavor]
        self.stack: list[_Stream] = []
        self.read_order: list[str] = []
        self.followedby = "T"
        self.after_pw = False  # the previous token was `pw`: the next word is a password
        self.prefix = "CONFIG: " if flavor == "ntpsec" else ""

    def top(self) -> _Stream | None:
        return self.stack[-1] if self.stack else None

    def current(self) -> _Stream:
        """The file being read (the stack is not empty)."""
        return self.stack[-1]

    def pop(self) -> bool:
        if len(self.stack) > 1:
            self.stack.pop()
            return True
        return False

    def flush(self) -> None:  # lex_flush_stack()
        if self.stack:
            top = self.stack[-1]
            top.force_eof = True
            self.stack = [top]

    def fatal(self, message: str, top: _Stream) -> NoReturn:
        raise _Fatal(message, self.prefix + message, top.path, top.nline)

    def _tok(self, kind: str, text: str, top: _Stream | None, line: int, value: int | float | None = None) -> _Tok:
        self.after_pw = kind == "kw" and text == "pw"
        return _Tok(kind, text, top, line, value)

    def next(self) -> _Tok:  # yylex()
        top = self.top()
        if top is None:
            return self._tok("eof", "", None, 0)  # an empty stack: the end of input
        if not top.seen:
            top.seen = True  # files in the order ntpd reads them (ntp.d: reverse name order)
            self.read_order.append(top.path)
        instring = False
        while True:
            while True:
                ch = top.getch()
                if ch is None or ch not in _WS or ch == "\n":
                    break
            if ch is None:
                if not self.pop():
                    return self._tok("eof", "", top, top.nline)
                return self._tok("eoc", "", self.current(), self.current().nline)
            if ch == "\n":
                self.followedby = "T"
                return self._tok("eoc", "", top, top.nline - 1)
            if ch in _SPECIAL and self.followedby == "T":
                if ch == "=":
                    self.followedby = "S"
                return self._tok("sp", ch, top, top.nline)
            top.ungetch(ch)
            top.tokpos = (top.nline, top.ncol)
            line = top.nline
            buf: list[str] = []
            while True:
                ch = top.getch()
                if ch is None:
                    break
                if ch in _WS or ch == '"' or (self.followedby == "T" and ch in _SPECIAL):
                    break
                if ch == "#":
                    while True:
                        ch = top.getch()
                        if ch is None or ch == "\n":
                            break
                    break
                buf.append(ch)
                if len(buf) > MAX_LEXEME:
                    self._too_long(buf, top)
            if ch == '"':
                instring = True
                while True:
                    ch = top.getch()
                    if ch is None or ch == '"' or ch == "\n":
                        break
                    buf.append(ch)
                    if len(buf) > MAX_LEXEME:
                        self._too_long(buf, top)
                if ch == '"':
                    ch = top.getch()
            top.ungetch(ch)
            if buf:
                break
        text = "".join(buf)
        if self.followedby == "T" and not instring:
            follby = self.keywords.get(text)
            if follby is not None:
                self.followedby = follby
                return self._tok({"-4": "v4", "-6": "v6"}.get(text, "kw"), text, top, line)
            number = self._number(text, top, line)
            if number is not None:
                return number
            return self._string(text, top, line)
        if text.startswith("-4"):
            return self._tok("v4", text, top, line)
        if text.startswith("-6"):
            return self._tok("v6", text, top, line)
        if self.followedby == "S":
            self.followedby = "T"
        return self._string(text, top, line)

    def _string(self, text: str, top: _Stream, line: int) -> _Tok:
        if not text.strip(_WS):
            return self._tok("eoc", "", top, line)  # a string of blanks ends the command
        return self._tok("str", text, top, line)

    def _too_long(self, buf: list[str], top: _Stream) -> None:
        began = REDACTED if self.after_pw else "".join(buf[:50])  # a password is never shown
        text = f"configuration item on line {top.nline} longer than limit of 50, began with '{began}'"
        # exit(sizeof(yytext) - 1): status 1024, which the system sees as 0
        raise _Fatal(
            f"{text} (a word longer than {MAX_LEXEME} characters: ntpd exits, with status 0)",
            self.prefix + text,
            top.path,
            top.nline,
        )

    def _number(self, text: str, top: _Stream, line: int) -> _Tok | None:
        neg = text.startswith("-")
        rest = text[1:] if neg else text
        if (neg and (rest == "" or _digits(rest))) or (not neg and _digits(rest) and _u32(_decimal(rest)) <= 2**31 - 1):
            value = (-1 if neg else 1) * _decimal(rest) if rest else 0  # strtol; "-" alone: 0, no error
            erange = value < -(2**63) or value > 2**63 - 1
            value = max(min(value, 2**63 - 1), -(2**63))
            as_int = ((value + 2**31) % 2**32) - 2**31
            if as_int == 0 and erange:
                self.fatal(f"Integer cannot be represented: {text}", top)
            return self._tok("int", text, top, line, as_int)
        if text[:2].lower() == "0x" and all(c in "0123456789abcdefABCDEF" for c in text[2:]):
            if text[2:] == "":
                self.fatal(f"U_int cannot be represented: {text}", top)
            return self._tok("uint", text, top, line, _u32(int(text[2:], 16)))
        if _digits(text):
            return self._tok("uint", text, top, line, _u32(_decimal(text)))
        if self._is_double(text):
            body = text.rstrip("gG") if self.flavor == "ntpsec" else text
            era = sum({"g": 1024, "G": 8192}[c] * 7 * 86400 for c in text[len(body) :])
            prefix = _strtod_prefix(body)
            double = float(prefix)
            signed = re.match(r"[+-]?([\d.]*)", prefix)
            mantissa = signed.group(1) if signed else ""
            nonzero = any(c in "123456789" for c in mantissa)
            underflow = nonzero and abs(double) < 2.2250738585072014e-308
            total = era + double
            if self.flavor == "ntpsec":
                fatal = underflow and abs(total) < 1e-10  # ERANGE and D_ISZERO_NS()
            else:
                fatal = underflow and double == 0
            if fatal:
                self.fatal(f"Double too large to represent: {body}", top)
            return self._tok("dbl", text, top, line, total)
        return None

    def _is_double(self, s: str) -> bool:
        i, digits = 0, 0
        if s[:1] in "+-" and s:
            i = 1
        while i < len(s) and s[i] in "0123456789":
            i, digits = i + 1, digits + 1
        if i < len(s) and s[i] == ".":
            i += 1
            while i < len(s) and s[i] in "0123456789":
                i, digits = i + 1, digits + 1
        if not digits:
            return False
        if i == len(s):
            return True
        if s[i] in "eE":
            i += 1
            if i < len(s) and s[i] in "+-":
                i += 1
            while i < len(s) and s[i] in "0123456789":
                i += 1
        elif self.flavor != "ntpsec":
            return False
        if self.flavor == "ntpsec":
            while i < len(s) and s[i] in "gG":
                i += 1
        return i == len(s)


# ---- grammar (ntp_parser.y): recognizers shift tokens with `tok = yield` and return
# ("done", lookahead) when the command is complete, ("error", tok) when tok cannot continue it,
# ("end", None) for `end` (reduced without reading on)

_FLAG, _INT, _INTU, _NUM, _STR, _BOOL, _STRATUM = "flag", "int", "intu", "num", "str", "bool", "stratum"


def _accepts(kind: str, tok: _Tok) -> bool:
    if kind == _INT or kind == _STRATUM:
        return tok.kind == "int"
    if kind == _INTU:
        return tok.kind in ("int", "uint")
    if kind == _NUM:
        return tok.kind in ("int", "dbl")
    if kind == _STR:
        return tok.kind == "str"
    if kind == _BOOL:
        return tok.kind == "int" or (tok.kind == "kw" and tok.text == "true")
    return False


def _spec(**groups: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for kind, words in groups.items():
        for w in words.split():
            out[w] = kind
    return out


class _FlavorGrammar(TypedDict):
    """The words each command of a flavor takes, by kind (the tables of ntp_parser.y)."""

    server: dict[str, str]
    tos: dict[str, str]
    stats: dict[str, str]
    limit: NotRequired[dict[str, str]]  # ntpsec
    discard: NotRequired[dict[str, str]]  # classic
    mru: dict[str, str]
    fudge: dict[str, str]
    rlimit: dict[str, str]
    system: dict[str, str]
    tinker: dict[str, str]
    nts: NotRequired[dict[str, str]]  # ntpsec
    crypto: NotRequired[dict[str, str]]  # classic
    access: set[str]
    simple: dict[str, str]
    clients: tuple[str, ...]


_G: dict[str, _FlavorGrammar] = {
    "ntpsec": {
        "server": _spec(
            flag="burst iburst noselect noval nts prefer true",
            intu="key minpoll maxpoll mode subtype version baud holdover",
            stratum="stratum",
            num="bias time1 time2",
            bool="flag1 flag2 flag3 flag4",
            str="refid path ppspath ca cert aead",
        ),
        "tos": _spec(int="ceiling floor orphan orphanwait minsane", num="mindist maxdisp maxdist minclock maxclock"),
        "stats": _spec(flag="clockstats loopstats peerstats rawstats sysstats protostats usestats"),
        "limit": _spec(num="average burst kod"),
        "mru": _spec(int="incalloc incmem initalloc initmem maxage minage maxdepth maxmem mindepth"),
        "fudge": _spec(num="time1 time2", bool="flag1 flag2 flag3 flag4", stratum="stratum", str="refid"),
        "rlimit": _spec(int="memlock stacksize filenum"),
        "system": _spec(flag="calibrate kernel monitor ntp stats"),
        "tinker": _spec(num="allan dispersion freq huffpuff panic step stepback stepfwd stepout tick"),
        "nts": _spec(str="aead ca cert cookie key tlsciphersuites maxtls mintls", flag="enable disable"),
        "access": set(
            "flake ignore kod mssntp limited nomodify nomrulist nopeer noquery noserve notrap notrust "
            "ntpport version".split()
        ),
        "simple": _spec(
            int="mdnstries controlkey requestkey dscp leapsmearinterval",
            str="keys ntpsigndsocket statsdir leapfile logfile pidfile",
            num="nonvolatile tick",
        ),
        "clients": ("server", "pool", "peer"),
    },
    "classic": {
        "server": _spec(
            flag="autokey burst iburst noselect preempt prefer true xleave",
            intu="key minpoll maxpoll ttl mode version",
            str="ident",
        ),
        "tos": _spec(
            int="bcpollbstep beacon ceiling floor maxclock minclock minsane orphan orphanwait",
            num="mindist maxdist",
            bool="cohort",
            str="basedate",
        ),
        "stats": _spec(flag="clockstats cryptostats loopstats peerstats rawstats sysstats timingstats protostats"),
        "discard": _spec(int="average minimum monitor"),
        "mru": _spec(int="incalloc incmem initalloc initmem maxage maxdepth maxmem mindepth"),
        "fudge": _spec(num="time1 time2", bool="flag1 flag2 flag3 flag4", stratum="stratum", str="abbrev refid"),
        "rlimit": _spec(int="memlock stacksize filenum"),
        "system": _spec(
            flag="auth bclient calibrate kernel monitor ntp mode7 peer_clear_digest_early stats "
            "unpeer_crypto_early unpeer_crypto_nak_early unpeer_digest_early"
        ),
        "tinker": _spec(num="allan dispersion freq huffpuff panic step stepback stepfwd stepout tick"),
        "crypto": _spec(str="host ident pw randfile digest", int="revoke"),
        "access": set(
            "epeer flake ignore kod mssntp limited lowpriotrap noepeer nomodify nomrulist nopeer "
            "noquery noserve notrap notrust ntpport version".split()
        ),
        "simple": _spec(
            int="mdnstries automax controlkey requestkey revoke dscp leapsmearinterval",
            str="keys keysdir ntpsigndsocket statsdir ident leapfile logfile pidfile saveconfigdir",
            num="broadcastdelay nonvolatile tick",
        ),
        "clients": ("server", "pool", "peer", "broadcast", "manycastclient"),
    },
}
_COUNTERS = _spec(flag="allpeers auth ctl io mem sys timer")
_FILEGEN_TYPES = set("none pid day week month year age".split())
_NIC_CLASSES = set("all ipv4 ipv6 wildcard".split())


def _kw(tok: _Tok, *names: str) -> bool:
    return tok.kind == "kw" and (not names or tok.text in names)


class _Grammar:
    def __init__(self, flavor: str, parser: _Parser):
        self.flavor = flavor
        self.g = _G[flavor]
        self.parser = parser

    def command(self, tok: _Tok):
        """A generator recognising one command starting at tok."""
        g = self.g
        if tok.kind != "kw":
            return ("done", tok)  # the empty command; tok (if not the end of line) is an error
        name = tok.text
        if name in g["clients"]:
            return (yield from self.client(tok))
        if name == "refclock" and self.flavor == "ntpsec":
            return (yield from self.refclock(tok))
        if name in ("unpeer", "unconfig"):
            tok = yield
            return (yield from self.address(tok))
        if name in ("restrict",) or (name == "unrestrict" and self.flavor == "ntpsec"):
            return (yield from self.restrict(tok))
        if name in g["simple"]:
            kind = g["simple"][name]
            tok = yield
            if not _accepts(kind, tok):
                return ("error", tok)
            tok = yield
            return ("done", tok)
        if name == "tos":
            tok = yield
            return (yield from self.options(tok, g["tos"], at_least_one=True))
        if name == "statistics":
            tok = yield
            return (yield from self.options(tok, g["stats"], at_least_one=True))
        if name == "filegen":
            tok = yield
            if not (_kw(tok) and tok.text in g["stats"]):
                return ("error", tok)
            tok = yield
            while True:
                if _kw(tok, "file"):
                    tok = yield
                    if tok.kind != "str":
                        return ("error", tok)
                    tok = yield
                elif _kw(tok, "type"):
                    tok = yield
                    if not (_kw(tok) and tok.text in _FILEGEN_TYPES):
                        return ("error", tok)
                    tok = yield
                elif _kw(tok, "link", "nolink", "enable", "disable"):
                    tok = yield
                else:
                    return ("done", tok)
        if name == "limit" and self.flavor == "ntpsec":
            tok = yield
            return (yield from self.options(tok, g["limit"], at_least_one=True))
        if name == "discard" and self.flavor == "classic":
            tok = yield
            return (yield from self.options(tok, g["discard"], at_least_one=True))
        if name == "mru":
            tok = yield
            return (yield from self.options(tok, g["mru"], at_least_one=True))
        if name == "fudge":
            tok = yield
            status, tok = yield from self.address(tok)
            if status != "done":
                return (status, tok)
            return (yield from self.options(tok, g["fudge"], at_least_one=True))
        if name == "rlimit":
            tok = yield
            return (yield from self.options(tok, g["rlimit"], at_least_one=True))
        if name in ("enable", "disable"):
            tok = yield
            return (yield from self.options(tok, g["system"], at_least_one=True))
        if name == "tinker":
            tok = yield
            return (yield from self.options(tok, g["tinker"], at_least_one=True))
        if name == "nts" and self.flavor == "ntpsec":
            tok = yield
            return (yield from self.options(tok, g["nts"], at_least_one=True))
        if name == "crypto" and self.flavor == "classic":
            tok = yield
            return (yield from self.options(tok, g["crypto"]))
        if name == "trustedkey":
            tok = yield
            count = 0
            while True:
                if tok.kind == "int":
                    tok = yield
                elif tok.kind == "sp" and tok.text == "(":
                    tok = yield
                    for want in ("int", "...", "int", ")"):
                        ok = (
                            (tok.kind == "int")
                            if want == "int"
                            else (_kw(tok, "...") if want == "..." else (tok.kind == "sp" and tok.text == ")"))
                        )
                        if not ok:
                            return ("error", tok)
                        tok = yield
                else:
                    return ("done", tok) if count else ("error", tok)
                count += 1
        if name in ("interface", "nic"):
            tok = yield
            if not _kw(tok, "listen", "ignore", "drop"):
                return ("error", tok)
            tok = yield
            if (_kw(tok) and tok.text in _NIC_CLASSES) or tok.kind == "str":
                tok = yield
                return ("done", tok)
            return ("error", tok)
        if name == "reset":
            tok = yield
            return (yield from self.options(tok, _COUNTERS, at_least_one=True))
        if name == "includefile":
            tok = yield
            if tok.kind != "str":
                return ("error", tok)
            self.parser.mark_nested()
            tok = yield
            nested = yield from self.command(tok)
            if nested[0] == "end":
                return nested
            if nested[0] != "done":
                return nested
            return ("include", nested[1])
        if name == "end":
            return ("end", None)
        if name == "driftfile":
            tok = yield
            if tok.kind != "str":
                return ("done", tok)
            tok = yield
            if tok.kind == "dbl":
                tok = yield
            return ("done", tok)
        if name in ("logconfig", "phone"):
            tok = yield
            count = 0
            while tok.kind == "str":
                tok = yield
                count += 1
            return ("done", tok) if count else ("error", tok)
        if name == "setvar":
            tok = yield
            if tok.kind != "str":
                return ("error", tok)
            tok = yield
            if not (tok.kind == "sp" and tok.text == "="):
                return ("error", tok)
            tok = yield
            if tok.kind != "str":
                return ("error", tok)
            tok = yield
            if _kw(tok, "default"):
                tok = yield
            return ("done", tok)
        if self.flavor == "classic":
            if name == "broadcastclient":
                tok = yield
                return ("done", tok)
            if name in ("manycastserver", "multicastclient"):
                tok = yield
                count = 0
                while tok.kind in ("str", "v4", "v6"):
                    status, tok = yield from self.address(tok)
                    if status != "done":
                        return (status, tok)
                    count += 1
                return ("done", tok) if count else ("error", tok)
            if name == "trap":
                tok = yield
                if tok.kind != "str":
                    return ("error", tok)
                tok = yield
                while True:
                    if _kw(tok, "port"):
                        tok = yield
                        if tok.kind != "int":
                            return ("error", tok)
                        tok = yield
                    elif _kw(tok, "interface"):
                        tok = yield
                        if tok.kind != "str":
                            return ("error", tok)
                        tok = yield
                    else:
                        return ("done", tok)
            if name == "ttl":
                tok = yield
                count = 0
                while tok.kind == "int":
                    tok = yield
                    count += 1
                return ("done", tok) if count else ("error", tok)
            if name == "simulate":  # the simulator's block: not read by the daemon's rules here
                while tok.kind not in ("eoc", "eof"):
                    tok = yield
                return ("done", tok)
        return ("done", tok)  # a keyword that starts no command: the empty command, then an error

    def address(self, tok: _Tok):
        if tok.kind in ("v4", "v6"):
            tok = yield
            if tok.kind != "str":
                return ("error", tok)
        elif tok.kind != "str":
            return ("error", tok)
        tok = yield
        return ("done", tok)

    def client(self, tok: _Tok):
        tok = yield
        status, tok = yield from self.address(tok)
        if status != "done":
            return (status, tok)
        return (yield from self.options(tok, self.g["server"]))

    def refclock(self, tok: _Tok):
        tok = yield
        if tok.kind != "str":
            return ("error", tok)
        tok = yield
        if _kw(tok, "unit"):
            tok = yield
            if tok.kind != "int":
                return ("error", tok)
            tok = yield
        return (yield from self.options(tok, self.g["server"]))

    def options(self, tok: _Tok, spec: Mapping[str, str], at_least_one: bool = False):
        count = 0
        while True:
            kind = spec.get(tok.text) if tok.kind == "kw" else None
            if kind is None:
                if at_least_one and not count:
                    return ("error", tok)
                return ("done", tok)
            tok = yield
            if kind != _FLAG:
                if not _accepts(kind, tok):
                    return ("error", tok)
                self.parser.semantic_check(tok, kind, spec is self.g.get("fudge"))
                tok = yield
            count += 1

    def restrict(self, tok: _Tok):
        access = self.g["access"]
        classic = self.flavor == "classic"
        tok = yield
        mask_allowed = True
        if _kw(tok, "default", "source"):
            tok = yield
            mask_allowed = False
        elif tok.kind in ("v4", "v6"):
            tok = yield
            if _kw(tok, "default"):
                tok = yield
                mask_allowed = False
            elif tok.kind == "str":
                tok = yield
                mask_allowed = classic  # classic: `address` may carry -4/-6 before `mask`
            else:
                return ("error", tok)
        elif tok.kind == "str":
            tok = yield
        else:
            return ("error", tok)
        if mask_allowed and _kw(tok, "mask"):
            tok = yield
            if tok.kind != "str":
                return ("error", tok)
            tok = yield
        if classic and _kw(tok, "ippeerlimit"):
            tok = yield
            if tok.kind != "int":
                return ("error", tok)
            tok = yield
        while tok.kind == "kw" and tok.text in access:
            tok = yield
        return ("done", tok)


# ---- parser driver (Bison's LALR(1) automaton with its error recovery, as far as it shows)


class _Parser:
    def __init__(
        self,
        reader: Reader,
        config: NtpConfig,
        options: Mapping[str, str] | None,
        run_user_access: Callable[[str], str | None] | None,
    ):
        self.reader = reader
        self.config = config
        self.flavor = config.flavor
        self.options = dict(options or {})
        self.run_user_access = run_user_access
        self.incomplete = False
        self.scanner = _Scanner(self.flavor)
        self.grammar = _Grammar(self.flavor, self)
        self.prefix = "CONFIG: " if self.flavor == "ntpsec" else ""
        self.display: dict[str, list[str]] = {}  # path -> display text of each line
        self.keylines: dict[str, set[int]] = {}
        self.shifted: list[_Tok] = []
        self.nested_at: int | None = None
        self.nic_rules: list[Directive] = []
        self.nts: dict[str, tuple[str, Line]] = {}
        self.nts_enable: Line | None = None
        self.partial_error: str | None = None

    # -- logging and diagnostics
    def log(self, text: str) -> None:
        self.config.log.append(text)

    def diag(self, where: str, message: str, log: str = "") -> None:
        self.config.diagnostics.append(Diagnostic(where, message, log))
        if log:
            self.log(log)

    def yyerror(self, message: str) -> None:
        top = self.scanner.top()
        if top is None:
            return
        top.errpos = top.tokpos
        self.log(f"{self.prefix}line {top.errpos[0]} column {top.errpos[1]} {message}")

    def semantic_check(self, value: _Tok, kind: str, fudge: bool) -> None:
        """The messages ntpd's parser logs (yyerror) for values it accepts but does not use."""
        if kind == _STRATUM and not 0 <= value.integer() <= 16:
            self.yyerror(
                "fudge factor: stratum value not in [0..16], ignored"
                if fudge
                else "fudge factor: stratum value out of bounds, ignored"
            )
        if kind == _BOOL and value.kind == "int" and value.value not in (0, 1):
            self.yyerror("Integer value is not boolean (0 or 1). Assuming 1")

    def mark_nested(self) -> None:
        self.nested_at = len(self.shifted) + 1  # after the file name, which is shifted next

    # -- files
    def display_line(self, stream: _Stream, lineno: int) -> str:
        lines = self.display.get(stream.path)
        if lines is None:
            lines, keys = [], set()
            for i, raw in enumerate(stream.text.split("\n"), 1):
                words = split_words(raw)
                if looks_like_key(words):
                    keys.add(i)
                    lines.append("<key material, not shown>")
                else:
                    lines.append(" ".join(redact(words)))
            self.display[stream.path] = lines
            self.keylines[stream.path] = keys
        return lines[lineno - 1] if 0 < lineno <= len(lines) else ""

    def line_of(self, tok: _Tok) -> Line:
        return Line(tok.src.path, tok.line, self.display_line(tok.src, tok.line))

    def open(self, path: str, name: str) -> _Stream | _Unknown | Literal[False] | None:
        """The stream of a file ntpd opens, None when it cannot (logged as ntpd logs it), False
        while the file is not gathered yet, or UNKNOWN: ntpd reads it, the audit cannot."""
        record = self.reader.file(path)
        if record is None:
            self.incomplete = True
            return False
        if getattr(record, "withheld", None):
            # key material by its look: its content stays on the host, what ntpd reads in it is unknown
            self.config.withheld.append(path)
            return _UNKNOWN
        if record.state == "toobig":
            self.config.unreadable.append(path)
            return _UNKNOWN
        if record.state == "missing":
            self.fail_open(name, "No such file or directory")
            return None
        if record.state in ("unreadable", "denied"):
            self.config.unreadable.append(path)
            if record.state == "unreadable":
                self.fail_open(name, "Permission denied")
            return None
        if record.state == "not-a-file" or record.content is None:
            if record.state == "ok":  # fetched as stat only: key material is never read by the audit
                # (ntpd reads it: key entries are syntax errors to it, which it ignores)
                self.diag(path, f"{path} looks like a key file and was not read")
            text = ""  # a directory opens and reads as nothing
        else:
            text = record.content
        return _Stream(name, path, text)

    def fail_open(self, name: str, reason: str) -> None:
        if self.flavor == "ntpsec":
            self.log(f"CONFIG: failed to open '{name}': {reason}")

    def is_directory(self, path: str) -> bool | None:
        record = self.reader.file(path)
        if record is None:
            self.incomplete = True
            return None
        return record.state == "not-a-file" and record.stat is not None and record.stat.kind == "directory"

    def conf_files(self, directory: str) -> list[str] | None:
        """Names ending in .conf in directory, as readdir() lists them (hidden ones too), in strcmp order."""
        names: set[str] = set()
        for pattern in ("*.conf", ".*.conf"):
            full = posixpath.join(directory, pattern)
            matches = self.reader.glob(full)
            if matches is None:
                self.incomplete = True
                return None
            if full in getattr(self.reader.snapshot, "denied_globs", {}):
                if directory not in self.config.unreadable:
                    self.config.unreadable.append(directory)
                return []
            names |= {posixpath.basename(m) for m in matches}
        return sorted(n for n in names if n.endswith(".conf"))

    def push_path(self, fullpath: str) -> bool:
        """lex_push_file(): a file, or every *.conf of a directory (recursively) in strcmp order,
        each pushed on the stack (so the last one is read first)."""
        if self.flavor == "ntpsec":
            directory = self.is_directory(fullpath)
            if directory is None:
                return False
            if directory:
                names = self.conf_files(fullpath)
                if names is None:
                    return False
                for name in names:
                    self.push_path(fullpath + "/" + name)
                return bool(names)
        stream = self.open(posixpath.normpath(fullpath), fullpath)
        if isinstance(stream, _Unknown):
            return True
        if not stream:
            return False
        self.scanner.stack.append(stream)
        return True

    # -- the parse
    def yyparse(self) -> None:
        """One call of yyparse(): until the end of the stack, or an abort."""
        errstatus = 0
        have_list = False
        tok = self.scanner.next()
        while True:
            if tok.kind == "eof":
                if not have_list and errstatus == 0:
                    self.yyerror("syntax error")  # an empty input is not a command_list
                return
            self.shifted = []
            self.nested_at = None
            start = tok
            gen = self.grammar.command(tok)
            try:
                next(gen)
                while True:
                    self.shifted.append(tok)
                    errstatus = max(0, errstatus - 1)
                    tok = self.scanner.next()
                    gen.send(tok)
            except StopIteration as stop:
                result = stop.value
            status = result[0]
            if status == "end":
                self.apply(start, self.shifted, None)
                self.diag(
                    f"{start.src.path}:{start.line}",
                    "end: ntpd reads nothing after it, in this file or in the files that include it",
                )
                self.scanner.flush()
                tok = self.scanner.next()
                if errstatus == 0:
                    self.yyerror("syntax error")  # what follows `end` is the end of input
                return
            if status in ("done", "include"):
                look = result[1]
                self.apply(start, self.shifted, look)
                if status == "include":
                    self.include(self.shifted, look)
                if look.kind == "eoc":
                    errstatus = max(0, errstatus - 1)
                    have_list = True
                    tok = self.scanner.next()
                    continue
                if not self.shifted:
                    self.reject(start, [], look)
                bad = look
            else:
                bad = result[1]
                self.reject(start, self.shifted, bad)
            # error recovery: log (unless within 3 tokens of the last error), discard to the end of line
            if bad.kind == "eof":
                if errstatus == 0:
                    self.yyerror("syntax error")
                return
            if errstatus == 0:
                self.yyerror("syntax error")
            errstatus = 3
            tok = bad
            first_line = (start.stream, start.line)
            while tok.kind != "eoc":
                if tok.kind == "eof":
                    return
                if (tok.stream, tok.line) != first_line and tok.kind != "eoc":
                    self.swallow(tok, start)
                    first_line = (tok.stream, tok.line)
                tok = self.scanner.next()
            errstatus = 2
            top = self.scanner.current()
            self.log(f"{self.prefix}syntax error in {top.name} line {top.errpos[0]}, column {top.errpos[1]}")
            have_list = True
            tok = self.scanner.next()

    # -- effects
    def words(self, toks: list[_Tok]) -> tuple[str, ...]:
        out = [t.text for t in toks]
        if out and out[0] == "crypto":
            out = redact(out)
        return tuple(out)

    def is_keyline(self, tok: _Tok) -> bool:
        self.display_line(tok.src, tok.line)
        return tok.line in self.keylines.get(tok.src.path, set())

    def reject(self, start: _Tok, shifted: list[_Tok], bad: _Tok) -> None:
        if start.kind == "eoc" or start.stream is None:
            return
        line = self.line_of(start)
        if self.is_keyline(start):
            self.diag(line.where, "key material in a configuration file (not shown): a syntax error to ntpd")
            return
        words = split_words_line(line.text)
        name, args = (words[0], tuple(words[1:])) if words else (start.text, ())
        reason = self.reason(shifted, bad)
        directive = Directive(name, args, line, f"{reason}: ntpd ignores this line")
        self.config.rejected.append(directive)
        if name in SOURCE_DIRECTIVES:
            self.config.invalid_sources.append(directive)
        self.diag(line.where, directive.error or "")

    def reason(self, shifted: list[_Tok], bad: _Tok) -> str:
        if shifted and shifted[0].text == "crypto":  # a word of it may be the password: never quoted
            return "syntax error in a crypto line"
        if not shifted:
            if bad.kind == "kw":
                return f"syntax error: {bad.text!r} starts no directive"
            return f"syntax error: unknown directive {bad.text!r}" if bad.text else "syntax error"
        last = shifted[-1]
        if bad.kind == "eoc":
            return f"syntax error: the line ends after {last.text!r}"
        if last.kind == "kw" and len(shifted) > 1 and bad.kind != "kw":
            return f"invalid value {bad.text!r} for option {last.text!r}"
        return f"syntax error at {bad.text!r}"

    def swallow(self, tok: _Tok, start: _Tok) -> None:
        """A line whose words ntpd discards while recovering from an error on another line."""
        line = self.line_of(tok)
        words = split_words_line(line.text)
        if not words:
            return
        error = f"ntpd discards this line while recovering from the syntax error at {start.src.path}:{start.line}"
        directive = Directive(words[0], tuple(words[1:]), line, error)
        self.config.rejected.append(directive)
        if words[0] in SOURCE_DIRECTIVES:
            self.config.invalid_sources.append(directive)
        self.diag(line.where, error)

    def apply(self, start: _Tok, shifted: list[_Tok], look: _Tok | None) -> None:
        self.partial_error = None
        if look is not None and look.kind not in ("eoc", "eof") and shifted:
            where = f"{start.src.path}:{start.line}"
            word = "a word" if shifted[0].text == "crypto" else repr(look.text)  # never a password
            self.partial_error = f"syntax error at {word}: ntpd keeps the line up to there and ignores the rest"
            self.diag(where, self.partial_error)
        if not shifted:
            return
        toks = shifted
        nested = None
        if self.nested_at is not None and toks[0].text == "includefile":
            toks, nested = shifted[: self.nested_at], shifted[self.nested_at :]
        self.effect(toks)
        if nested:
            self.effect(nested)

    def effect(self, toks: list[_Tok]) -> None:
        first = toks[0]
        name = first.text
        line = self.line_of(first)
        args = self.words(toks)[1:]
        directive = Directive(name, args, line, self.partial_error)
        if name in SOURCE_DIRECTIVES:
            self.config.sources.append(self.source(name, toks, line))
            return
        self.config.directives.append(directive)
        if name in ("restrict", "unrestrict"):
            self.restrict(toks, line, directive)
        elif name == "refclock":
            self.refclock(toks, line)
        elif name in ("interface", "nic"):
            self.nic_rules.append(directive)
        elif name == "nts":
            self.nts_options(toks, line)

    def source(self, kind: str, toks: list[_Tok], line: Line) -> Source:
        i = 1
        if toks[i].kind in ("v4", "v6"):
            i += 1
        host = toks[i].text
        i += 1
        spec = _G[self.flavor]["server"]
        options: dict[str, str | None] = {}
        while i < len(toks):
            opt = toks[i].text
            if spec.get(opt) == _FLAG:
                options[opt] = None
                i += 1
            else:
                value = toks[i + 1]
                options[opt] = str(value.value) if value.kind in ("int", "uint") else value.text
                i += 2
        return Source(kind, host, options, line, MIN_POLL.get(self.flavor, 3))

    def refclock(self, toks: list[_Tok], line: Line) -> None:
        driver = toks[1].text
        if driver.lower() not in REFCLOCK_DRIVERS:
            raise _Fatal(
                f"Unknown driver name {driver}", f"CONFIG: Unknown driver name {driver}", line.path, line.lineno
            )

    def restrict(self, toks: list[_Tok], line: Line, directive: Directive) -> None:
        mode = toks[0].text
        i = 1
        family = None
        target, address, mask = "address", None, None
        if toks[i].kind in ("v4", "v6"):
            family = "IPv4" if toks[i].kind == "v4" else "IPv6"
            i += 1
        if _kw(toks[i], "default"):
            if family is None:
                target = "default"
            else:
                address = mask = "0.0.0.0" if family == "IPv4" else "::"
            i += 1
        elif _kw(toks[i], "source"):
            target = "source"
            i += 1
        else:
            address = toks[i].text
            i += 1
            if i < len(toks) and _kw(toks[i], "mask"):
                mask = toks[i + 1].text
                i += 2
        ippeerlimit = None
        if i < len(toks) and _kw(toks[i], "ippeerlimit"):
            ippeerlimit = toks[i + 1].integer()
            i += 2
        flags = tuple(t.text for t in toks[i:])
        # ntpd records the line number when it reduces the command: after reading the newline
        # when the command ran to the end of its line, on the line itself after a bad word
        ntpd_line = line.lineno + (0 if self.partial_error else 1)
        op = RestrictOp(line, mode, target, family, address, mask, flags, ippeerlimit, ntpd_line)
        self.config.restrict_ops.append(op)
        reaches_default = (target == "default" or (mask is not None and _zero_mask(mask))) and "ntpport" not in flags
        if mode == "restrict" and reaches_default:
            families = (
                ("IPv4", "IPv6")
                if family is None and target == "default"
                else ((family,) if family else (("IPv6",) if ":" in (address or "") else ("IPv4",)))
            )
            self.config.restrictions.append(Restriction(families, frozenset(flags), line))

    def nts_options(self, toks: list[_Tok], line: Line) -> None:
        i = 1
        while i < len(toks):
            opt = toks[i].text
            if opt == "enable":
                self.nts_enable = line
                i += 1
            elif opt == "disable":
                self.nts_enable = None
                i += 1
            else:
                self.nts[opt] = (toks[i + 1].text, line)
                i += 2

    def include(self, shifted: list[_Tok], look: _Tok) -> None:
        name_tok = shifted[1]
        line = self.line_of(shifted[0])
        level = len(self.scanner.stack)
        if level > MAX_INCLUDE_LEVEL:
            what = "Maximum include file level exceeded."
            self.diag(
                line.where,
                f"includefile nested deeper than {MAX_INCLUDE_LEVEL} levels: ntpd does not read {name_tok.text}",
                (self.prefix if self.flavor == "ntpsec" else "getconfig: ") + what,
            )
            return
        path = name_tok.text
        if self.flavor == "ntpsec" and not path.startswith("/"):
            # reparent(): beside the file being read (ntpd names it so in its messages)
            path = (posixpath.dirname(self.scanner.current().name) or ".") + "/" + path
        elif not path.startswith("/"):
            path = "/" + path  # classic opens it from ntpd's working directory (/ under systemd)
        before = len(self.scanner.stack)
        pushed = self.push_path(path)
        if not pushed and len(self.scanner.stack) == before:
            if self.incomplete and self.reader.file(path) is None:
                return
            self.diag(
                line.where,
                f"includefile {name_tok.text}: ntpd cannot open it and reads on",
                (self.prefix if self.flavor == "ntpsec" else "getconfig: ") + f"Couldn't open <{name_tok.text}>",
            )

    # -- after reading: ntpd applies the configuration
    def after(self) -> None:
        if self.nic_rules and ("I" in self.options or "L" in self.options):
            first = self.nic_rules[0]
            text = "interface/nic rules are not allowed with --interface (-I) or --novirtualips (-L), exiting"
            self.refuse(first.line.where, text, self.prefix + text)
            return
        evaluation = ntp_restrict.evaluate(self.config.restrict_ops, self.flavor)
        for message in evaluation.messages:
            self.log(message)
        for op, why in evaluation.ignored:
            self.diag(op.line.where, f"ntpd ignores this restrict line: {why}")
        if self.flavor == "ntpsec" and self.nts_enable is not None:
            self.nts_checks()

    def nts_checks(self) -> None:
        enable = self.nts_enable
        if enable is None:
            return  # `nts enable` is off: nothing is loaded
        for opt in ("mintls", "maxtls"):
            if opt in self.nts and self.nts[opt][0] != "TLS1.3":
                value, line = self.nts[opt]
                self.refuse(
                    line.where, f"TLS unrecognized version string: {value}.", "NTS: troubles during init.  Bailing."
                )
                return

        def path_of(opt: str) -> tuple[str, str]:
            if opt in self.nts:
                return self.nts[opt][0], self.nts[opt][1].where
            return NTS_DEFAULTS[opt], enable.where

        for opt in ("cert", "key", "cookie"):
            path, where = path_of(opt)
            self.config.run_user_files.append((path, where))
        cert, cert_where = path_of("cert")
        record = self.stat(cert)
        if record is None:
            return
        if record.state == "missing":
            text = f"can't stat certificate (chain) from {cert}: No such file or directory"
            self.refuse(cert_where, text, "NTSs: " + text)
            return
        if self.user_cannot(cert):
            self.refuse(
                cert_where,
                f"can't load certificate (chain) from {cert} (the run user cannot read it: {self.user_cannot(cert)})",
                f"NTSs: can't load certificate (chain) from {cert}",
            )
            return
        key, key_where = path_of("key")
        record = self.stat(key)
        if record is None:
            return
        why = "it does not exist" if record.state == "missing" else self.user_cannot(key)
        if why:
            self.refuse(
                key_where, f"can't load private key from {key} ({why})", f"NTSs: can't load private key from {key}"
            )
            return
        cookie, cookie_where = path_of("cookie")
        record = self.stat(cookie)
        if record is None or not record.exists:
            return  # a missing cookie key file is made anew
        why = self.user_cannot(cookie)
        if why:
            self.refuse(
                cookie_where,
                f"can't read old cookie file: {cookie}=>Permission denied ({why})",
                f"NTSs: can't read old cookie file: {cookie}=>Permission denied",
            )

    def stat(self, path: str) -> FileRecord | None:
        record = self.reader.stat(path)
        if record is None:
            self.incomplete = True
            return None
        if record.state == "denied":
            if path not in self.config.unreadable:
                self.config.unreadable.append(path)
            return None
        return record

    def user_cannot(self, path: str) -> str | None:
        return self.run_user_access(path) if self.run_user_access is not None else None

    def refuse(self, where: str, message: str, log: str) -> None:
        if self.config.refusal is None:
            self.config.refusal = Diagnostic(where, message, log)
            self.log(log)


def split_words_line(text: str) -> list[str]:
    return text.split(" ") if text else []


def _zero_mask(mask: str) -> bool:
    return mask in ("0.0.0.0", "::") or re.fullmatch(r"[0:.]+", mask or "x") is not None


# ---- compatibility helpers (a single line, without the scanner's context)


def parse_source(words: list[str], line: Line, flavor: str) -> tuple[Source | None, str | None]:
    """A server/pool/peer line read on its own: the Source ntpd makes of it, or why it drops it."""
    config = _parse_text("\n".join([" ".join(words)]), line.path, flavor)
    if config.sources:
        s = config.sources[0]
        return Source(s.kind, s.host, s.options, line, s.min_poll_floor), None
    errors = [d.error for d in config.rejected]
    return None, errors[0] if errors else "invalid source"


def parse_restrict(args: tuple[str, ...], line: Line) -> Restriction | None:
    """A `restrict [-4|-6] default FLAGS` line; None for restrictions of other addresses."""
    words = list(args)
    families: tuple[str, ...] = ("IPv4", "IPv6")
    if words and words[0] in ("-4", "-6"):
        families = ("IPv4",) if words.pop(0) == "-4" else ("IPv6",)
    if not words or words[0] != "default":
        return None
    return Restriction(families, frozenset(words[1:]), line)


def _parse_text(text: str, path: str, flavor: str) -> NtpConfig:
    snapshot = Snapshot(files={path: FileRecord(path, "ok", None, text)}, globs={})
    config, _ = parse(path, Reader(snapshot), "classic" if flavor != "ntpsec" else "ntpsec", _ntp_d=False)
    return config


# ---- entry point


def parse(
    main_path: str,
    reader: Reader,
    flavor: str,
    run_user_access: Callable[[str], str | None] | None = None,
    options: Mapping[str, str] | None = None,
    _ntp_d: bool = True,
) -> tuple[NtpConfig, bool]:
    """Effective configuration of ntpd started with main_path.

    `run_user_access(path)`: why ntpd's run user (`-u`) cannot read path, or None; NTPsec
    reads its NTS server files (certificate, key, cookie keys) only after dropping root, and
    exits if it cannot (config.run_user_files names them). Without it they are judged as root
    reads them. `options`: ntpd's command-line options by letter (facts.ntpd.parse_argv);
    -I/-L make interface rules fatal.

    Returns (config, complete); complete is False while the reader still lacks
    files, which the collector then fetches in one more round trip.
    """
    config = NtpConfig(main_path, flavor)
    parser = _Parser(reader, config, options, run_user_access)
    try:
        stream = parser.open(main_path, main_path)
        if stream is False or isinstance(stream, _Unknown):
            pass
        elif stream is None:
            record = reader.file(main_path)
            if record is not None and record.state == "missing":
                config.main_missing = True
                parser.diag(main_path, f"{main_path} does not exist")
            if flavor == "classic":
                reason = "No such file or directory" if config.main_missing else "Permission denied"
                parser.log(f"getconfig: Couldn't open <{main_path}>: {reason}")
        else:
            parser.scanner.stack.append(stream)
            if flavor == "ntpsec":
                parser.log(f"CONFIG: readconfig: parsing file: {main_path}")
            parser.yyparse()
        if flavor == "ntpsec" and _ntp_d:
            # reparent() + is_directory(dirpath) && lex_push_file(dirpath): every *.conf it lists,
            # pushed at once (none when ntp.d is missing or is not a directory)
            directory = (posixpath.dirname(main_path) or ".") + "/" + CONFIG_DIR
            names = parser.conf_files(posixpath.normpath(directory))
            for name in names or ():
                parser.push_path(directory + "/" + name)
            if names:
                parser.log(f"CONFIG: readconfig: parsing directory: {directory}")
                if not parser.scanner.stack:
                    # no main file and no ntp.d file opened: yyparse() reads from a NULL stack
                    parser.refuse(
                        directory,
                        "ntpd crashes (SIGSEGV) reading ntp.d: there is no main file "
                        "and none of its *.conf files can be opened",
                        "",
                    )
                    return _finish(config, parser)
                parser.yyparse()
        parser.after()
    except _Fatal as fatal:
        where = f"{fatal.path}:{fatal.lineno}"
        parser.refuse(where, fatal.message, fatal.log)
    return _finish(config, parser)


def _finish(config: NtpConfig, parser: _Parser) -> tuple[NtpConfig, bool]:
    config.files_read = list(dict.fromkeys(parser.scanner.read_order))
    return config, not parser.incomplete
