"""Property-based tests of every parser: what a target host shows is untrusted input.

File contents and command outputs can be anything. The suite decodes gathered bytes as UTF-8 with
errors="surrogateescape", so a byte that is not UTF-8 arrives as a lone surrogate U+DC80..U+DCFF;
the strategies below mix such surrogates, control characters, NUL, CR, Unicode line and digit
characters, huge numbers, lines beyond each daemon's limit and empty input with the real keywords
of each format, so that the search reaches the parsers' deep paths and not only "unknown
directive".

Properties, per parser:
- configuration parsers (chrony_conf, ntp_conf with ntp_restrict, timesyncd_conf, systemd_unit,
  envfile) never raise: they record diagnostics. Gathered as the collector gathers (parse, fetch
  what the reader asks for, parse again), the parse converges: nothing is asked twice, the
  answer comes in a bounded number of rounds and seconds whatever includes itself, and the
  final parse is complete. Every Line names a file of the input and a line >= 1; a refusal names
  a file of the input; the same input gives the same result.
- command output parsers (chronyc, ntpq, timedatectl) return their model or raise their module's
  ParseError (a ValueError) for output they cannot read, nothing else; what they return can be
  described. host.parse_*, access.parse_accounts, platforms.parse_os_release and
  argv.parse_options never raise.

The "ci" profile (selftests/conftest.py) runs 100 examples per test, the same ones every run;
`--hypothesis-profile=long` runs 10,000 new ones (README.md, "Testing the suite itself"). An input
that once failed stays as an @example of its test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import posixpath
import re
import signal
import time

from hypothesis import example, given
from hypothesis import strategies as st

from timesync_audit import platforms
from timesync_audit.facts import access, host
from timesync_audit.gather.recorded import RecordedFile, RecordedHost
from timesync_audit.gather.snapshot import CommandOutput, FileRecord, Reader, Snapshot, Stat
from timesync_audit.parsers import (
    argv,
    chrony_conf,
    chronyc,
    envfile,
    ntp_conf,
    ntp_restrict,
    ntpq,
    systemd_unit,
    timedatectl,
    timesyncd_conf,
)
from timesync_audit.parsers.provenance import Line

#: rounds of gathering a parse may need before it converges (includes are at most 10 deep)
MAX_ROUNDS = 40
#: seconds one example may take, gathering included: a parse that loops would never end
TIME_LIMIT = 20.0

# ---------------------------------------------------------------------------------------------
# Text: what `bytes.decode("utf-8", "surrogateescape")` can give

SURROGATES = [chr(c) for c in range(0xDC80, 0xDD00)]
CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f"]
ODD_CHARS = [
    "\x85",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffe",
    "\uffff",
    "\u00a0",
    "\u3000",
    "\u00b2",
    "\u0663",
    "\uff11",
    "\u00e9",
    "\u03bc",
    "\u00b5",
    "\U0001f600",
    "\u0130",
    "\u00df",
    "\ufdd0",
    "\U0010ffff",
]
#: any character but the surrogates decoding cannot give (U+D800..U+DC7F, U+DD00..U+DFFF)
char = st.one_of(
    st.sampled_from(SURROGATES), st.sampled_from(CONTROLS + ODD_CHARS), st.characters(exclude_categories=["Cs"])
)
noise = st.text(alphabet=char, max_size=12)
#: noise that stays one word of one line (no C blank, no line feed): for the arguments of a line
word_noise = noise.map(lambda text: re.sub(r"[ \t\n\v\f\r]", "_", text) or "_")
#: arbitrary bytes as the suite decodes them
raw = st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape"))

NUMBERS = [
    "0",
    "-0",
    "+0",
    "1",
    "-1",
    "00",
    "08",
    "0777",
    "10",
    "16",
    "17",
    "24",
    "25",
    "99",
    "100",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "4294967306",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "1e308",
    "1e309",
    "-1e309",
    "1e-320",
    "1e-400",
    "4.9e-324",
    "2.2250738585072014e-308",
    "nan",
    "NaN",
    "-nan",
    "nanny",
    "inf",
    "-inf",
    "Infinity",
    "infinity",
    "0x",
    "0X",
    "0x0",
    "0x7fffffff",
    "0xffffffff",
    "0x100000000",
    "0xF323",
    "0x1p99999",
    "0x.8p-1080",
    "0x1.8",
    "1.",
    ".5",
    "1.5",
    "1e",
    "1e+",
    "1_000",
    "12g",
    "3G",
    "1.5min",
    "\u00b2",
    "\u0663\u0663",
    "\uff11\uff12",
    "1\u00b2",
    "\u00b2\u00b2",
]
numbers = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers(-(2**80), 2**80).map(str),
    st.floats().map(repr),
    # beyond Python's int() limit of 4300 digits, and 5000-digit hex
    st.sampled_from([4300, 4301, 5000]).map(lambda n: "9" * n),
    st.just("0x" + "f" * 5000),
)


def long_run(limits: list[int]) -> st.SearchStrategy[str]:
    """A run of one character, around each daemon's line and word limits (é counts 2 bytes)."""
    return st.builds(
        lambda c, n: c * n,
        st.sampled_from(["x", "9", " ", "\u00e9", "\udcff", "\\", "#", "\t", "a."]),
        st.sampled_from(limits),
    )


def cased(words) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(words)).flatmap(lambda w: st.sampled_from([w, w.upper(), w.capitalize()]))


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each as often as its weight says (st.one_of() keeps one copy of a
    strategy given twice, so repeating it there weighs nothing)."""
    return st.sampled_from([strategy for weight, strategy in choices for _ in range(weight)]).flatmap(lambda s: s)


def mostly(valid: st.SearchStrategy, odd: st.SearchStrategy) -> st.SearchStrategy:
    """Valid values four times in five: chronyd stops at its first fatal error, so a search of
    wrong lines only would never get past the first line."""
    return weighted((4, valid), (1, odd))


#: C's isspace() blanks: they separate words for every daemon
BLANKS = st.sampled_from([" ", " ", " ", "\t", "  ", " \t", "\v", "\f", "\r"])
#: what damages a line: blanks only some daemons (or str.split()) take for blanks, NUL, line ends
#: other than LF, continuation backslashes, byte order marks, comment and quote characters
ODD = st.sampled_from(
    [
        "\x00",
        "\u00a0",
        "\x1c",
        "\x85",
        "\u2028",
        "\r",
        "\r\n",
        "\n\r",
        "\\",
        "\\\n",
        "",
        "\ufeff",
        "#",
        ";",
        "!",
        "%",
        '"',
        "=",
        "[",
        "]",
        "\n",
        " ",
        "\udcff",
        "\udc80\udc80",
    ]
)
JUNK = weighted((2, ODD), (1, noise), (1, raw), (1, numbers), (1, long_run([1024, 1025, 2048, 4096])))


def joined(words: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    """Words with C blanks before, between and after them."""
    return words.flatmap(
        lambda ws: st.lists(BLANKS, min_size=len(ws) + 1, max_size=len(ws) + 1).map(
            lambda bs: bs[0] + "".join(w + b for w, b in zip(ws, bs[1:]))
        )
    )


def _assemble(lines: list[str], edits: list, eol: bool) -> str:
    lines = list(lines)
    for index, at, whole, extra in edits:
        if whole or not lines:
            lines.insert(min(index, len(lines)), extra)
        else:
            i = index % len(lines)
            lines[i] = lines[i][:at] + extra + lines[i][at:]
    text = "\n".join(lines)
    return text + "\n" if eol and lines else text


def text_of(
    line: st.SearchStrategy[str], junk: st.SearchStrategy[str] = JUNK, max_lines: int = 12
) -> st.SearchStrategy[str]:
    """Lines ending in LF (the last one maybe not), as `line` makes them; one file in ten has up to
    three damaged: junk put in at some place of a line, or a line of junk."""
    edit = st.tuples(st.integers(0, max_lines), st.integers(0, 100), st.booleans(), junk)
    return st.builds(
        _assemble,
        st.lists(line, max_size=max_lines),
        weighted((9, st.just([])), (1, st.lists(edit, min_size=1, max_size=3))),
        st.booleans(),
    )


def args(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.tuples(*parts).map(list)


def pairs(table: dict, max_size: int = 4) -> st.SearchStrategy[list[str]]:
    """Options as NAME VALUE pairs (a value strategy of None: a flag)."""
    option = st.sampled_from(sorted(table)).flatmap(
        lambda n: st.just([n]) if table[n] is None else table[n].map(lambda v: [n, v])
    )
    return st.lists(option, max_size=max_size).map(lambda items: [w for item in items for w in item])


def directive_line(shapes: dict, case: bool) -> st.SearchStrategy[str]:
    """NAME ARGS... with each directive's own arguments (the name's case varied where the daemon
    does not care)."""

    def line(name):
        spelled = st.sampled_from([name, name.upper(), name.capitalize()]) if case else st.just(name)
        return st.tuples(spelled, shapes[name]).map(lambda t: [t[0]] + t[1])

    return joined(st.sampled_from(sorted(shapes)).flatmap(line))


def files_for(paths: list[str], spec_for, max_size: int) -> st.SearchStrategy[dict]:
    """Some of `paths`, each with a spec drawn from spec_for(path)."""
    return st.lists(st.sampled_from(paths), unique=True, max_size=max_size).flatmap(
        lambda chosen: st.fixed_dictionaries({p: spec_for(p) for p in chosen})
    )


@st.composite
def layout(
    draw,
    main: str,
    conf_paths: list[str],
    text: st.SearchStrategy[str],
    links,
    others: st.SearchStrategy[dict],
    specials: st.SearchStrategy,
) -> dict:
    """Configuration files that name each other: `main` and some of `conf_paths`, each
    with lines of `text` and up to four lines links(names) makes to name other files of the
    layout (itself included: loops and deep nesting), plus the files of `others`. Some of the
    files are not regular files (specials)."""
    names = [main] + [n for n in draw(st.lists(st.sampled_from(conf_paths), unique=True, max_size=5)) if n != main]
    files = draw(others)
    for path in names:
        if draw(st.sampled_from(range(10))) == 0:
            files[path] = draw(specials)
            continue
        lines = draw(text).split("\n")
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 4]))):
            lines.insert(draw(st.integers(0, len(lines))), draw(links(names)))
        files[path] = "\n".join(lines)
    return files


# ---------------------------------------------------------------------------------------------
# Hosts: files as plain data (so a failing input can be written as an @example)
#
# a spec is the file's text, or a tuple: ("dir",), ("dir", "unsearchable"), ("dir", "unlistable"),
# ("unreadable",), ("stat",) (exists, content not gathered), ("null",) (a symlink to /dev/null),
# ("char",) (a character device), ("link", target)


def _recorded(spec) -> RecordedFile:
    if isinstance(spec, str):
        return RecordedFile(spec)
    kind = spec[0]
    if kind == "dir":
        flag = spec[1] if len(spec) > 1 else ""
        return RecordedFile(
            None,
            Stat(0, 0, "root", "root", 0o755, "directory"),
            readable=flag != "unlistable",
            searchable=flag != "unsearchable",
        )
    if kind == "unreadable":
        return RecordedFile("secret", Stat(0, 0, "root", "root", 0o600, "regular file"), readable=False)
    if kind == "stat":
        return RecordedFile(None)
    if kind == "null":
        return RecordedFile("", Stat(0, 0, "root", "root", 0o777, "symbolic link"), "/dev/null")
    if kind == "char":
        return RecordedFile("", Stat(0, 0, "root", "root", 0o666, "character special file"))
    if kind == "link":
        return RecordedFile("", Stat(0, 0, "root", "root", 0o777, "symbolic link"), spec[1])
    if kind == "mode":
        return RecordedFile(spec[2], Stat(0, 0, "root", "root", spec[1], "regular file"))
    raise ValueError(spec)


def recorded_host(files: dict, commands: dict | None = None) -> RecordedHost:
    return RecordedHost({p: _recorded(s) for p, s in files.items()}, commands or {})


def host_paths(files: dict) -> set[str]:
    """Every path of the input: its files and the directories above them."""
    paths = {"/"}
    for path in files:
        path = posixpath.normpath(path)
        paths.add(path)
        while path != "/":
            path = posixpath.dirname(path)
            paths.add(path)
    return paths


def regular_files(files: dict) -> set[str]:
    """The paths of the input that are not directories."""
    return {posixpath.normpath(p) for p, s in files.items() if isinstance(s, str) or s[0] != "dir"}


class TooSlow(AssertionError):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    def expire(signum, frame):
        raise TooSlow(f"the parse took more than {seconds} s: it does not end")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _asked(needs) -> set[tuple[str, object]]:
    return (
        {("file", p) for p in needs.files}
        | {("glob", p) for p in needs.globs}
        | {("stat", p) for p in needs.stats}
        | {("command", c) for c in needs.commands}
        | {("stat_glob", p) for p in needs.stat_globs}
    )


def gather(recorded: RecordedHost, parse):
    """Parse as the collector does: parse, fetch what the reader asked for, parse again.
    Returns (the last parse's result, the snapshot); fails when the parse does not converge."""
    snapshot = Snapshot()
    asked: set = set()
    started = time.monotonic()
    with time_limit(TIME_LIMIT):
        for _ in range(MAX_ROUNDS):
            reader = Reader(snapshot)
            result = parse(reader)
            if not reader.needs:
                return result, snapshot
            wanted = _asked(reader.needs)
            again = wanted & asked
            assert not again, f"asked again for what was gathered: {sorted(again)}"
            asked |= wanted
            snapshot.merge(recorded.execute(reader.needs))
    raise AssertionError(
        f"the parse still asks for more after {MAX_ROUNDS} rounds ({time.monotonic() - started:.1f} s)"
    )


def check_line(line: Line, files: set[str]) -> None:
    assert isinstance(line, Line)
    assert line.lineno >= 1, line
    assert posixpath.normpath(_on_host(line.path)) in files, (line.path, sorted(files))


def check_where(where: str, paths: set[str], lineno_min: int = 1) -> None:
    """`path` or `path:N`, the path one of the input's."""
    if posixpath.normpath(_on_host(where)) in paths:
        return
    path, sep, number = where.rpartition(":")
    assert sep and number.isascii() and number.isdigit() and int(number) >= lineno_min, where
    assert posixpath.normpath(_on_host(path)) in paths, (where, sorted(paths))


def _on_host(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def denier(denied: frozenset | None, files: dict):
    """None, or a run user that cannot read (or list) the paths in `denied` that exist, nor reach
    any path below one of them, as access.unreadable_reason() answers."""
    if denied is None:
        return None
    existing = host_paths(files)

    def reason(path: str) -> str | None:
        path = posixpath.normpath(_on_host(path))
        if path in denied and path in existing:
            return "root:root 0600: not readable by the run user"
        for directory in access.ancestors(path)[1:]:
            if directory in denied and directory in existing:
                return f"directory {directory} is root:root 0700, no search permission: not readable by the run user"
        return None

    return reason


# ---------------------------------------------------------------------------------------------
# chrony.conf

CHRONY_MAIN = "/etc/chrony/chrony.conf"
CHRONY_FILES = [
    CHRONY_MAIN,
    "/etc/chrony.conf",
    "/etc/chrony/conf.d/a.conf",
    "/etc/chrony/conf.d/b.conf",
    "/etc/chrony/conf.d/.hidden.conf",
    "/etc/chrony/conf.d/sub/c.conf",
    "/etc/chrony/other/a.conf",
    "/etc/chrony/sources.d/a.sources",
    "/etc/chrony/sources.d/b.sources",
    "/etc/chrony/other/b.sources",
    "/etc/chrony/chrony.keys",
    "/etc/chrony/x.conf",
    "/a.conf",
    "/conf.d/a.conf",
    "/etc/chrony/points",
    "/etc/chrony/conf.d/*.conf",
    "/etc/chrony/conf.d",
    "/etc/chrony/sources.d",
    "/etc/chrony/other",
    "/etc/chrony",
]
CHRONY_PATH_ARGS = CHRONY_FILES + [
    "conf.d/a.conf",
    "a.conf",
    "x.conf",
    "/etc/chrony/conf.d/*.conf",
    "/etc/chrony/*.conf",
    "/etc/chrony/*",
    "/etc/chrony/*/*.conf",
    "/etc/chrony/conf.d//a.conf",
    "/etc/chrony/./conf.d/../x.conf",
    "/etc/chrony/missing/*.conf",
    "/etc/chrony/missing/a.conf",
    "/etc/chrony/[ab]*.conf",
    "/etc/chrony/conf.d/?.conf",
    "/etc/chrony/conf.d/\\*.conf",
    "/etc/chrony/chrony.keys/x",
    "/etc/chrony/chrony.keys/*.conf",
    "conf.d/*",
    "/etc/*/chrony.conf",
    "*",
    "/",
    ".",
    "..",
    "/dev/null",
    "/etc/chrony/ch*ny.conf",
    "/etc/chrony/conf.d/[",
    "/etc/chrony/sources.d/*.sources",
    "/run/chrony/chronyd.sock",
    "/" + "s" * 120,
]
CHRONY_ADDRESSES = [
    "0.0.0.0",
    "127.0.0.1",
    "192.168.1.0/24",
    "10/8",
    "1.2.3.4/33",
    "::",
    "::1",
    "fe80::/129",
    "::ffff:1.2.3.4",
    "1:2:3:4:5:6:7:8",
    "1::2::3",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3",
    "1.2.3.4.5",
    "10/-1",
    "10/x",
    "pool.ntp.org",
    "nts-server",
    "-",
    "eth0",
    "averyveryverylongifname0",
    "172.16.0.0/12",
    "::/0",
    "0/0",
]
CHRONY_WORDS = (
    list(chrony_conf.DIRECTIVES)
    + sorted(chrony_conf._SOURCE_FLAGS)
    + sorted(chrony_conf._SOURCE_VALUES)
    + [
        "all",
        "leaponly",
        "orphan",
        "stratum",
        "distance",
        "interval",
        "burst",
        "leak",
        "shm",
        "refid",
        "poll",
        "tai",
        "perm",
        "clear",
        "nocrossts",
        "rxfilter",
        "ntp",
        "none",
        "require",
        "prefer",
    ]
    + list(chrony_conf._LOG_NAMES)
    + list(chrony_conf._REFCLOCK_VALUES)
    + list(chrony_conf._HWTS_VALUES)
)
_limits = [255, 256, 257, 1023, 1024, 1025, 2040, 2045, 2046, 2047, 2048, 2049, 4096]
chrony_arg = st.one_of(
    st.sampled_from(CHRONY_PATH_ARGS), st.sampled_from(CHRONY_ADDRESSES), numbers, cased(CHRONY_WORDS), noise
)

c_int = mostly(st.integers(-8, 40).map(str), st.sampled_from(NUMBERS))
c_uint = mostly(st.integers(0, 70000).map(str), st.sampled_from(NUMBERS))
c_float = mostly(
    st.sampled_from(["0", "0.5", "1", "1.0", "-1", "10", "0.001", "1e-3", "400", "3600"]), st.sampled_from(NUMBERS)
)
c_path = mostly(st.sampled_from(CHRONY_PATH_ARGS), word_noise)
c_ip = mostly(
    st.sampled_from(["127.0.0.1", "0.0.0.0", "::", "::1", "192.168.1.1", "fe80::1", "pool.ntp.org"]),
    st.sampled_from(CHRONY_ADDRESSES),
)
c_subnet = mostly(st.sampled_from(CHRONY_ADDRESSES), word_noise)
_conv = {
    "d": c_int,
    "u": c_uint,
    "lu": c_uint,
    "x": mostly(st.just("0xF323"), st.sampled_from(NUMBERS)),
    "lf": c_float,
    "4s": mostly(st.sampled_from(["GPS", "PPS", "none", "ntp", "ptp", "all"]), word_noise),
}
_source_options = pairs(
    {**{f: None for f in chrony_conf._SOURCE_FLAGS}, **{n: _conv[c] for n, c in chrony_conf._SOURCE_VALUES.items()}}, 5
)
_refclock_options = pairs(
    {**{f: None for f in chrony_conf._REFCLOCK_FLAGS}, **{n: _conv[c] for n, c in chrony_conf._REFCLOCK_VALUES.items()}}
)
_hwts_options = pairs({"nocrossts": None, **{n: _conv[c] for n, c in chrony_conf._HWTS_VALUES.items()}})
_driver_parameter = st.builds(
    lambda device, options: ":".join([device] + options),
    st.sampled_from(["/dev/ptp0", "0", "/run/chrony.sock", "/dev/pps0", "/" + "s" * 110]),
    st.lists(
        st.sampled_from(["perm=0644", "clear", "nocrossts", "extpps", "pin=1", "channel=0", "bogus", ""]), max_size=2
    ),
)
c_conf_dir = mostly(
    st.sampled_from(
        ["/etc/chrony/conf.d", "/etc/chrony/other", "/etc/chrony/conf.d/", "conf.d", "/etc/chrony/missing"]
    ),
    c_path,
)
c_sources_dir = mostly(
    st.sampled_from(["/etc/chrony/sources.d", "/etc/chrony/other", "/etc/chrony/sources.d/", "/etc/chrony/missing"]),
    c_path,
)
c_include = mostly(
    st.sampled_from(
        [
            "/etc/chrony/conf.d/*.conf",
            "/etc/chrony/x.conf",
            "/etc/chrony/*.conf",
            "/etc/chrony/conf.d/a.conf",
            "conf.d/*.conf",
            "/etc/chrony/*/*.conf",
            "/etc/chrony/missing/*.conf",
            CHRONY_MAIN,
            "/etc/chrony/chrony.keys",
        ]
    ),
    c_path,
)
#: every chronyd 4.3 directive with arguments of its own shape
CHRONY_SHAPES: dict[str, st.SearchStrategy[list[str]]] = {
    **{n: args(c_int) for n in chrony_conf._INT},
    **{n: args(c_float) for n in chrony_conf._DOUBLE},
    **{n: args(c_path) for n in chrony_conf._STRING},
    **{n: st.just([]) for n in chrony_conf._NULL},
    **{n: args(mostly(st.sampled_from(words), word_noise)) for n, words in chrony_conf._KEYWORD.items()},
    **{n: st.lists(word_noise, max_size=2) for n in chrony_conf._DEPRECATED},
    **{n: st.tuples(c_ip, _source_options).map(lambda t: [t[0]] + t[1]) for n in chrony_conf.SOURCE_DIRECTIVES},
    **{
        n: st.one_of(st.just([]), args(c_subnet), st.just(["all"]), args(st.just("all"), c_subnet))
        for n in ("allow", "deny", "cmdallow", "cmddeny")
    },
    "bindaddress": args(c_ip),
    "bindacqaddress": args(c_ip),
    "bindcmdaddress": args(mostly(st.sampled_from(["127.0.0.1", "::1", "/run/chrony/chronyd.sock"]), c_path)),
    "broadcast": st.one_of(args(c_int, c_ip), args(c_int, c_ip, c_int)),
    "clientloglimit": args(c_uint),
    "fallbackdrift": args(c_int, c_int),
    "makestep": args(c_float, c_int),
    "maxchange": args(c_float, c_int, c_int),
    "mailonchange": args(st.just("root@localhost"), c_float),
    "ntstrustedcerts": st.one_of(args(c_path), args(c_uint, c_path)),
    **{
        n: pairs({o: c_int for o in chrony_conf._RATELIMIT_OPTIONS}, 3)
        for n in ("ratelimit", "ntsratelimit", "cmdratelimit")
    },
    "smoothtime": st.one_of(args(c_float, c_float), args(c_float, c_float, mostly(st.just("leaponly"), word_noise))),
    "tempcomp": st.one_of(
        args(c_path, c_float, mostly(st.just("/etc/chrony/points"), c_path)),
        args(c_path, c_float, c_float, c_float, c_float, c_float),
    ),
    "hwtimestamp": st.tuples(
        mostly(st.sampled_from(["*", "eth0", "averyveryverylongifname0"]), word_noise), _hwts_options
    ).map(lambda t: [t[0]] + t[1]),
    "local": pairs({"stratum": c_int, "distance": c_float, "orphan": None}, 3),
    "log": st.lists(mostly(st.sampled_from(chrony_conf._LOG_NAMES), word_noise), max_size=3),
    "initstepslew": st.tuples(c_float, st.lists(c_ip, max_size=3)).map(lambda t: [t[0]] + t[1]),
    "refclock": st.tuples(
        mostly(st.sampled_from(sorted(chrony_conf._REFCLOCK_DRIVERS)), st.just("shm")),
        _driver_parameter,
        _refclock_options,
    ).map(lambda t: [t[0], t[1]] + t[2]),
    "include": args(c_include),
    "confdir": st.lists(c_conf_dir, min_size=1, max_size=3),
    "sourcedir": st.lists(c_sources_dir, min_size=1, max_size=3),
    "dumponexit": st.just([]),
}
assert set(CHRONY_SHAPES) == set(chrony_conf.DIRECTIVES), set(chrony_conf.DIRECTIVES) ^ set(CHRONY_SHAPES)
chrony_valid = directive_line(CHRONY_SHAPES, True)
chrony_structure = directive_line({n: CHRONY_SHAPES[n] for n in ("include", "confdir", "sourcedir")}, True)
chrony_line = weighted(
    (8, chrony_valid),
    (2, chrony_structure),
    (1, st.builds(lambda c, rest: c + rest, st.sampled_from("!;#%"), word_noise)),
    (1, st.just("")),
)
chrony_junk = weighted(
    (2, JUNK),
    (2, chrony_arg),
    (
        1,
        joined(st.tuples(cased(chrony_conf.DIRECTIVES), st.lists(chrony_arg, max_size=6)).map(lambda t: [t[0]] + t[1])),
    ),
    (1, st.builds(lambda k, t: f"{k} SHA1 HEX:{t}", st.sampled_from(["1", "42", "\u00b2"]), noise)),  # a key line
    (1, st.builds(lambda w, filler: f"{w} {filler}", cased(chrony_conf.DIRECTIVES), long_run(_limits))),
    (1, long_run(_limits)),
)
chrony_text = text_of(chrony_line, chrony_junk)
#: sourcedir files hold server, pool and peer lines
sources_text = text_of(
    st.one_of(directive_line({n: CHRONY_SHAPES[n] for n in chrony_conf.SOURCE_DIRECTIVES}, True), chrony_line),
    chrony_junk,
)
#: tempcomp point files: two numbers a line
points_text = text_of(joined(args(c_float, c_float)), st.one_of(JUNK, long_run([254, 255, 256, 300])))
SPECIALS = [
    ("dir",),
    ("dir", "unsearchable"),
    ("dir", "unlistable"),
    ("unreadable",),
    ("stat",),
    ("null",),
    ("char",),
    ("link", "/etc/chrony/conf.d/a.conf"),
]
_specials = st.sampled_from(SPECIALS)


CHRONY_CONFS = [
    CHRONY_MAIN,
    "/etc/chrony/conf.d/a.conf",
    "/etc/chrony/conf.d/b.conf",
    "/etc/chrony/conf.d/.hidden.conf",
    "/etc/chrony/conf.d/sub/c.conf",
    "/etc/chrony/other/a.conf",
    "/etc/chrony/x.conf",
    "/etc/chrony.conf",
    "/a.conf",
    "/conf.d/a.conf",
]


def chrony_links(names: list[str]) -> st.SearchStrategy[str]:
    """include, confdir and sourcedir lines naming files of the layout (or globs and directories
    that hold them)."""
    targets = (
        names + [n.replace("/etc/chrony/", "", 1) for n in names] + [posixpath.dirname(n) + "/*.conf" for n in names]
    )
    dirs = [posixpath.dirname(n) for n in names] + ["/etc/chrony/sources.d", "/etc/chrony/other"]
    return st.one_of(
        st.sampled_from(targets).map(lambda t: "include " + t),
        st.lists(st.sampled_from(dirs), min_size=1, max_size=3).map(lambda ds: "confdir " + " ".join(ds)),
        mostly(
            st.sampled_from(["sourcedir /etc/chrony/sources.d", "sourcedir /etc/chrony/other /etc/chrony/sources.d"]),
            st.lists(st.sampled_from(dirs), min_size=1, max_size=3).map(lambda ds: "sourcedir " + " ".join(ds)),
        ),
        chrony_structure,
    )


#: what chronyd reads besides: sourcedir files, a tempcomp point file, a key file, directories
chrony_others = st.fixed_dictionaries(
    {},
    optional={
        **{
            p: mostly(sources_text, _specials)
            for p in (
                "/etc/chrony/sources.d/a.sources",
                "/etc/chrony/sources.d/b.sources",
                "/etc/chrony/other/b.sources",
            )
        },
        "/etc/chrony/points": st.one_of(points_text, _specials),
        "/etc/chrony/chrony.keys": chrony_text,
        **{
            p: mostly(st.just(("dir",)), _specials)
            for p in ("/etc/chrony/conf.d", "/etc/chrony/sources.d", "/etc/chrony/other")
        },
    },
)
chrony_files = layout(CHRONY_MAIN, CHRONY_CONFS, chrony_text, chrony_links, chrony_others, _specials)
#: files the run user cannot read (sourcedir files and directories, tempcomp point files)
chrony_denied = st.frozensets(st.sampled_from(CHRONY_FILES), max_size=3)


def _chrony_lines(config: chrony_conf.ChronyConfig):
    for d in config.directives + config.invalid_sources:
        yield d.line
    for s in config.sources:
        yield s.line
    for r in config.refclocks:
        yield r.line


def parse_chrony(files: dict, main: str, denied: frozenset | None):
    access_fn = denier(denied, files)
    return gather(recorded_host(files), lambda reader: chrony_conf.parse(main, reader, access_fn))


@given(
    files=chrony_files,
    main=weighted((9, st.just(CHRONY_MAIN)), (1, st.sampled_from(["/etc/chrony.conf", "chrony.conf", "/etc/chrony"]))),
    denied=st.one_of(st.none(), chrony_denied),
)
@example(files={CHRONY_MAIN: "include " + CHRONY_MAIN + "\n"}, main=CHRONY_MAIN, denied=None)
@example(
    files={
        CHRONY_MAIN: "include /etc/chrony/*.conf\nconfdir /etc/chrony/conf.d /etc/chrony/conf.d\n",
        "/etc/chrony/x.conf": "include /etc/chrony/*.conf\n",
        "/etc/chrony/conf.d/a.conf": "confdir /etc/chrony/conf.d\nsourcedir /etc/chrony/sources.d\n",
        "/etc/chrony/sources.d/a.sources": "server a iburst\npool b maxpoll 99999999999999999999",
    },
    main=CHRONY_MAIN,
    denied=frozenset({"/etc/chrony/sources.d/a.sources"}),
)
@example(files={CHRONY_MAIN: "port " + "9" * 2046 + "\nport 1\x00\udcff\n"}, main=CHRONY_MAIN, denied=None)
@example(
    files={CHRONY_MAIN: "tempcomp /sys/t 30 /etc/chrony/points\n", "/etc/chrony/points": "1 2\n3 nan\n"},
    main=CHRONY_MAIN,
    denied=None,
)
def test_chrony_conf_never_raises_and_names_its_files(files, main, denied):
    (config, complete), snapshot = parse_chrony(files, main, denied)
    assert complete
    readable = regular_files(files)
    for line in _chrony_lines(config):
        check_line(line, readable)
    for path in config.files_read:
        assert posixpath.normpath(_on_host(path)) in readable, path
    paths = host_paths(files) | {posixpath.normpath(_on_host(main))}
    for diagnostic in config.diagnostics:
        check_where(diagnostic.where, paths)
    assert len(config.fatal) <= 1, "chronyd stops at its first fatal error"
    if config.refusal is not None:
        assert config.refusal.stage in chrony_conf.STARTUP_ORDER
        check_where(config.refusal.where, paths)
    for source in config.sources:
        assert chrony_conf.MIN_POLL <= source.effective_maxpoll <= chrony_conf.MAX_POLL
        assert source.nts in (True, False)
        assert source.kind in chrony_conf.SOURCE_DIRECTIVES
    for directive in config.directives:
        assert directive.value == " ".join(directive.args)
    # the same input, the same result
    again, complete_again = chrony_conf.parse(main, Reader(snapshot), denier(denied, files))
    assert complete_again and again == config


@given(text=st.one_of(noise, raw, st.sampled_from(NUMBERS), numbers), conv=st.sampled_from(["d", "u", "lu", "x", "lf"]))
@example(text="9" * 4301, conv="d")  # chronyd's -F/-P values come from the command line: no line limit
def test_chrony_number_conversions_never_raise(text, conv):
    """sscanf() as glibc's never raises; c_int raises ValueError only when %d converts nothing
    (facts.chrony reads a command line's -F value with it)."""
    values = chrony_conf.sscanf(text, f"%{conv}%n")
    assert len(values) in (0, 2)
    converts = len(chrony_conf.sscanf(text, "%d")) == 1
    try:
        value = chrony_conf.c_int(text)
    except ValueError:
        assert not converts
    else:
        assert converts and -(2**31) <= value < 2**31
    for family, parsed in ((4, chrony_conf.inet_pton4(text)), (6, chrony_conf.inet_pton6(text))):
        if parsed is not None:
            assert len(parsed) == (4 if family == 4 else 16)
            chrony_conf.ip_to_string(family, parsed)


# ---------------------------------------------------------------------------------------------
# ntp.conf (classic ntp and NTPsec) and the restriction list

NTP_FILES = [
    "/etc/ntp.conf",
    "/etc/ntpsec/ntp.conf",
    "/etc/ntpsec/ntp.d/a.conf",
    "/etc/ntpsec/ntp.d/b.conf",
    "/etc/ntpsec/ntp.d/.c.conf",
    "/etc/ntpsec/ntp.d/sub/d.conf",
    "/etc/ntpsec/ntp.d/sub",
    "/etc/ntpsec/ntp.d",
    "/etc/ntp/a.conf",
    "/etc/ntp/b.conf",
    "/etc/ntp/ntp.keys",
    "/etc/ntpsec/inc.conf",
    "/inc.conf",
    "/etc/ntpsec/cert-chain.pem",
    "/etc/ntpsec/key.pem",
    "/var/lib/ntpsec/nts-keys",
    "/etc/ntp/crt.pem",
]
NTP_DIRS = ["/etc/ntpsec/ntp.d/sub", "/etc/ntpsec/ntp.d"]
NTP_PATH_ARGS = NTP_FILES + [
    "inc.conf",
    "ntp.d",
    "ntp.d/a.conf",
    "../ntp.conf",
    "/etc/ntpsec",
    "/etc/ntp",
    "/missing.conf",
    '"/etc/ntp/a.conf"',
    '"/etc/ntp/with space.conf"',
    "/dev/null",
]
_ntp_keywords = sorted(set(ntp_conf.KEYWORDS["ntpsec"]) | set(ntp_conf.KEYWORDS["classic"]))
NTP_ADDRESSES = [
    "default",
    "-4",
    "-6",
    "0.0.0.0",
    "::",
    "127.0.0.1",
    "::1",
    "127.127.1.0",
    "127.127.28.0",
    "192.168.0.0/16",
    "10.0.0.0/0",
    "10.0.0.1/33",
    "fe80::1%eth0",
    "[::1]",
    "[::1]:123",
    "host.name",
    "1.2.3.4/x",
    "1.2.3.4/-8",
    "1.2.3.4/+8",
    "255.255.0.0",
    "255.0.255.0",
    "ffff::",
    "0:0:0::",
    "0.0.0",
    "mask",
    "source",
    "TLS1.3",
    "TLS1.2",
    "local",
    "shm",
    "nmea",
    "bogusdriver",
]
NTP_SPECIAL = ["{", "}", "(", ")", ",", ";", "|", "=", '"', '"a b"', "#", "# comment", "...", "end"]
_ntp_limits = [50, 1023, 1024, 1025, 1100, 2000]
ntp_arg = st.one_of(
    st.sampled_from(_ntp_keywords),
    st.sampled_from(NTP_ADDRESSES),
    st.sampled_from(NTP_PATH_ARGS),
    st.sampled_from(NTP_SPECIAL),
    numbers,
    noise,
)

n_int = mostly(st.integers(-2, 20).map(str), st.sampled_from(NUMBERS))
n_num = mostly(st.sampled_from(["0", "0.5", "1.5", "-1", "1e-3", "100", "15.5"]), st.sampled_from(NUMBERS))
n_str = mostly(st.sampled_from(NTP_PATH_ARGS + ["TLS1.3", "x"]), word_noise)
n_addr = mostly(
    st.sampled_from(
        [
            "0.pool.ntp.org",
            "192.0.2.1",
            "2001:db8::1",
            "127.127.1.0",
            "127.127.28.0",
            "ntp.example",
            "192.168.0.0",
            "::",
        ]
    ),
    st.sampled_from(NTP_ADDRESSES),
)
_by_kind = {"flag": None, "int": n_int, "intu": n_int, "stratum": n_int, "bool": n_int, "num": n_num, "str": n_str}


def _options(*groups: str) -> st.SearchStrategy[list[str]]:
    """Options of one of ntpd's option groups (both flavors' spellings)."""
    table = {}
    for flavor in ("classic", "ntpsec"):
        for group in groups:
            table.update({name: _by_kind[kind] for name, kind in ntp_conf._G[flavor].get(group, {}).items()})
    return pairs(table, 5)


_family = st.sampled_from([[], [], ["-4"], ["-6"]])
_access = st.lists(
    st.sampled_from(sorted(ntp_conf._G["classic"]["access"] | ntp_conf._G["ntpsec"]["access"])), max_size=4
)
_restrict = st.tuples(
    _family,
    st.one_of(st.just(["default"]), st.just(["source"]), args(n_addr), args(n_addr, st.just("mask"), n_addr)),
    st.sampled_from([[], [], ["ippeerlimit", "2"]]),
    _access,
).map(lambda t: t[0] + t[1] + t[2] + t[3])
_simple = {}
for _flavor in ("classic", "ntpsec"):
    _simple.update({name: args(_by_kind[kind]) for name, kind in ntp_conf._G[_flavor]["simple"].items()})
#: ntpd's directives (either flavor) with arguments of their own shape
NTP_SHAPES: dict[str, st.SearchStrategy[list[str]]] = {
    **{
        n: st.tuples(_family, args(n_addr), _options("server")).map(lambda t: t[0] + t[1] + t[2])
        for n in ("server", "pool", "peer", "broadcast", "manycastclient")
    },
    "restrict": _restrict,
    "unrestrict": _restrict,
    "includefile": args(mostly(st.sampled_from(NTP_PATH_ARGS), word_noise)),
    **_simple,
    "driftfile": st.one_of(args(n_str), args(n_str, n_num)),
    "tos": _options("tos"),
    "tinker": _options("tinker"),
    "enable": _options("system"),
    "disable": _options("system"),
    "statistics": _options("stats"),
    "mru": _options("mru"),
    "rlimit": _options("rlimit"),
    "limit": _options("limit"),
    "discard": _options("discard"),
    "nts": _options("nts"),
    "crypto": _options("crypto"),
    "fudge": st.tuples(args(n_addr), _options("fudge")).map(lambda t: t[0] + t[1]),
    "refclock": st.tuples(
        mostly(st.sampled_from(sorted(ntp_conf.REFCLOCK_DRIVERS)), st.just("bogusdriver")),
        st.sampled_from([[], ["unit", "0"], ["unit", "x"]]),
        _options("server"),
    ).map(lambda t: [t[0]] + t[1] + t[2]),
    "filegen": st.tuples(
        st.sampled_from(["loopstats", "peerstats", "bogus"]),
        st.lists(st.sampled_from(["file", "x", "type", "day", "week", "link", "enable", "bogus"]), max_size=4),
    ).map(lambda t: [t[0]] + t[1]),
    "trustedkey": st.lists(st.one_of(n_int, st.just("("), st.just("..."), st.just(")")), max_size=5),
    **{
        n: st.tuples(
            st.sampled_from(["listen", "ignore", "drop", "x"]),
            st.sampled_from(["all", "ipv4", "ipv6", "wildcard", "eth0", "192.0.2.1"]),
        ).map(list)
        for n in ("interface", "nic")
    },
    "reset": st.lists(st.sampled_from(["allpeers", "auth", "ctl", "io", "mem", "sys", "timer", "x"]), max_size=3),
    "logconfig": st.lists(st.sampled_from(["=all", "+sysevents", "-clockall", "=syncstatus"]), max_size=3),
    "phone": st.lists(n_str, max_size=2),
    "setvar": st.sampled_from([["x", "=", "y"], ["x", "=", "y", "default"], ["x", "y"], ["x", "="]]),
    "broadcastclient": st.just([]),
    "manycastserver": st.lists(n_addr, max_size=2),
    "multicastclient": st.lists(n_addr, max_size=2),
    "trap": st.tuples(args(n_addr), st.sampled_from([[], ["port", "1"], ["interface", "eth0"]])).map(
        lambda t: t[0] + t[1]
    ),
    "ttl": st.lists(n_int, max_size=3),
    "end": st.just([]),
    "unpeer": args(n_addr),
    "unconfig": args(n_addr),
}
ntp_valid = directive_line(NTP_SHAPES, False)
ntp_line = weighted((8, ntp_valid), (1, st.builds(lambda rest: "#" + rest, word_noise)), (1, st.just("")))
ntp_junk = weighted(
    (2, JUNK),
    (2, ntp_arg),
    (1, st.sampled_from(NTP_SPECIAL)),
    (1, joined(st.lists(ntp_arg, max_size=6))),
    (1, st.builds(lambda k, t: f"{k} M {t}", st.sampled_from(["1", "65535", "\u00b2"]), noise)),  # a key line
    (
        1,
        st.builds(
            lambda w, filler: f"{w} {filler}", st.sampled_from(["server", "driftfile", "#", '"']), long_run(_ntp_limits)
        ),
    ),
    (1, long_run(_ntp_limits)),
)
ntp_text = text_of(ntp_line, ntp_junk)


ntp_denied = st.frozensets(st.sampled_from(NTP_FILES), max_size=3)
ntp_options = st.dictionaries(
    st.sampled_from("cIiLunqg"), st.sampled_from(["", "/etc/ntp.conf", "ntp", "x"]), max_size=3
)


def _ntp_lines(config: ntp_conf.NtpConfig):
    for d in config.directives + config.invalid_sources + config.rejected:
        yield d.line
    for s in config.sources:
        yield s.line
    for r in config.restrictions:
        yield r.line
    for op in config.restrict_ops:
        yield op.line


NTP_CONFS = [
    "/etc/ntp.conf",
    "/etc/ntpsec/ntp.conf",
    "/etc/ntpsec/ntp.d/a.conf",
    "/etc/ntpsec/ntp.d/b.conf",
    "/etc/ntpsec/ntp.d/.c.conf",
    "/etc/ntpsec/ntp.d/sub/d.conf",
    "/etc/ntp/a.conf",
    "/etc/ntp/b.conf",
    "/etc/ntpsec/inc.conf",
    "/inc.conf",
]


def ntp_links(names: list[str]) -> st.SearchStrategy[str]:
    """includefile lines naming files of the layout, relative ones (NTPsec: beside the including
    file) and directories (NTPsec reads their *.conf)."""
    targets = (
        names
        + [posixpath.basename(n) for n in names]
        + [posixpath.dirname(n) for n in names]
        + ["ntp.d", "ntp.d/a.conf", "../ntp.conf", "sub", "/etc/ntpsec/ntp.d/sub"]
    )
    return st.one_of(
        st.sampled_from(targets).map(lambda t: "includefile " + t),
        st.sampled_from(targets).map(lambda t: f'includefile "{t}"'),
    )


ntp_others = st.fixed_dictionaries(
    {},
    optional={
        "/etc/ntpsec/ntp.d": _specials,
        "/etc/ntpsec/ntp.d/sub": _specials,
        "/etc/ntp/ntp.keys": ntp_text,
        **{
            p: st.sampled_from([("stat",), ("unreadable",), ("dir",), "x"])
            for p in (
                "/etc/ntpsec/cert-chain.pem",
                "/etc/ntpsec/key.pem",
                "/var/lib/ntpsec/nts-keys",
                "/etc/ntp/crt.pem",
            )
        },
    },
)


def ntp_case(flavor: str) -> st.SearchStrategy[dict]:
    main = "/etc/ntp.conf" if flavor == "classic" else "/etc/ntpsec/ntp.conf"
    return layout(main, NTP_CONFS, ntp_text, ntp_links, ntp_others, _specials)


def parse_ntp(files: dict, flavor: str, denied: frozenset | None, options: dict):
    main = "/etc/ntp.conf" if flavor == "classic" else "/etc/ntpsec/ntp.conf"
    access_fn = denier(denied, files)
    return gather(recorded_host(files), lambda reader: ntp_conf.parse(main, reader, flavor, access_fn, options))


def check_ntp(files: dict, flavor: str, denied, options) -> ntp_conf.NtpConfig:
    (config, complete), snapshot = parse_ntp(files, flavor, denied, options)
    assert complete
    readable = regular_files(files)
    for line in _ntp_lines(config):
        check_line(line, readable)
    main = "/etc/ntp.conf" if flavor == "classic" else "/etc/ntpsec/ntp.conf"
    paths = host_paths(files)
    for path in config.files_read:  # ntpd opens a directory and reads nothing from it
        assert posixpath.normpath(path) in paths, path
    for diagnostic in config.diagnostics:
        check_where(diagnostic.where, paths | {main})
    if config.refusal is not None:
        check_where(config.refusal.where, paths)
    for source in config.sources:
        assert source.effective_maxpoll <= ntp_conf.MAX_POLL
        assert source.authenticated in (True, False) and source.refclock in (True, False)
        source.minpoll
    assert set(config.default_restrictions) == set(ntp_restrict.FAMILIES)
    for entry in config.restriction_state.entries:
        entry.address
    config.crypto_pw_lines
    config.network_sources
    again, complete_again = ntp_conf.parse(main, Reader(snapshot), flavor, denier(denied, files), options)
    assert complete_again and again == config
    return config


@given(files=ntp_case("classic"), denied=st.one_of(st.none(), ntp_denied), options=ntp_options)
@example(files={"/etc/ntp.conf": "includefile /etc/ntp.conf\n"}, denied=None, options={})
@example(
    files={
        "/etc/ntp.conf": "includefile /etc/ntp/a.conf\nserver 1.2.3.4 maxpoll 99999999999",
        "/etc/ntp/a.conf": "includefile /etc/ntp.conf\nrestrict default kod\nend\nserver x",
    },
    denied=None,
    options={},
)
def test_ntp_conf_classic_never_raises_and_names_its_files(files, denied, options):
    check_ntp(files, "classic", denied, options)


@given(files=ntp_case("ntpsec"), denied=st.one_of(st.none(), ntp_denied), options=ntp_options)
@example(
    files={
        "/etc/ntpsec/ntp.conf": "includefile ntp.d\n",
        "/etc/ntpsec/ntp.d/a.conf": "includefile ../ntp.conf\n",
        "/etc/ntpsec/ntp.d/b.conf": "includefile /etc/ntpsec/ntp.d\n",
    },
    denied=None,
    options={},
)
@example(
    files={"/etc/ntpsec/ntp.conf": "nts enable\nnts cert /etc/ntp/crt.pem\n", "/etc/ntp/crt.pem": ("stat",)},
    denied=frozenset({"/etc/ntp/crt.pem"}),
    options={},
)
def test_ntp_conf_ntpsec_never_raises_and_names_its_files(files, denied, options):
    check_ntp(files, "ntpsec", denied, options)


SECRET = "Zq8SeCrEtZq"
secret_value = st.builds(
    lambda before, after: before + SECRET + after,
    st.sampled_from(["", "-4", "-6", "-", "0x", "1", "=", "{", "(", '"', "'", "\\"]),
    st.sampled_from(["", "=", "}", ")", '"', ";", ",", "|", " ident x", " pw y"]),
)


@given(
    files=ntp_case("classic"),
    flavor=st.sampled_from(["classic", "ntpsec"]),
    where=st.sampled_from(["/etc/ntp.conf", "/etc/ntpsec/ntp.conf", "/etc/ntp/a.conf", "/etc/ntpsec/ntp.d/a.conf"]),
    before=st.sampled_from(["crypto pw ", "crypto randfile /dev/urandom pw ", "crypto ident x pw ", " crypto\tpw "]),
    secret=secret_value,
    position=st.integers(0, 20),
)
@example(
    files={"/etc/ntp.conf": ""},
    flavor="classic",
    where="/etc/ntp.conf",
    before="crypto pw ",
    secret="-4" + SECRET,
    position=0,
)
def test_ntp_crypto_pw_is_never_kept(files, flavor, where, before, secret, position):
    """The value of `crypto pw` (classic ntp's private key password) is never kept or shown,
    whatever surrounds it: not in a directive, a diagnostic, a log line or a refusal."""
    files = dict(files)
    if flavor == "ntpsec":
        files = {("/etc/ntpsec/ntp.conf" if p == "/etc/ntp.conf" else p): s for p, s in files.items()}
    text = files.get(where)
    lines = text.split("\n") if isinstance(text, str) else []
    lines.insert(min(position, len(lines)), before + secret)
    files[where] = "\n".join(lines)
    if flavor == "classic" and "/etc/ntp.conf" not in files:
        files["/etc/ntp.conf"] = "includefile " + where
    (config, _), _ = parse_ntp(files, flavor, None, {})
    assert SECRET not in repr(config)


@given(text=st.one_of(ntp_text, raw))
def test_ntp_redact_text_keeps_lines(text):
    redacted = ntp_conf.redact_text(text)
    assert redacted.count("\n") == text.count("\n")
    for line in redacted.split("\n"):
        words = ntp_conf.split_words(line)
        if words and words[0] == "crypto":
            for name, value in zip(words[1:], words[2:]):
                if name == "pw":
                    assert value == ntp_conf.REDACTED


@given(words=st.lists(ntp_arg, max_size=8), flavor=st.sampled_from(["classic", "ntpsec"]))
def test_ntp_single_line_helpers_never_raise(words, flavor):
    """parse_source() and parse_restrict() on the words of one line."""
    line = Line("/etc/ntp.conf", 1, " ".join(words))
    source, why = ntp_conf.parse_source(words, line, flavor)
    assert (source is None) != (why is None)
    if source is not None:
        assert source.line == line
        source.effective_maxpoll
    ntp_conf.parse_restrict(tuple(words), line)


ntp_restrict_text = st.one_of(
    st.sampled_from(NTP_ADDRESSES),
    noise,
    st.builds(lambda a, b: a + "/" + b, st.sampled_from(NTP_ADDRESSES), st.one_of(numbers, noise)),
)
restrict_op = st.builds(
    ntp_restrict.RestrictOp,
    line=st.builds(Line, st.just("/etc/ntp.conf"), st.integers(1, 10**6), noise),
    mode=st.sampled_from(["restrict", "unrestrict"]),
    target=st.sampled_from(["default", "address", "source"]),
    family=st.sampled_from([None, "IPv4", "IPv6"]),
    address=st.one_of(st.none(), ntp_restrict_text),
    mask=st.one_of(st.none(), ntp_restrict_text),
    flags=st.lists(
        st.one_of(
            st.sampled_from(
                sorted(ntp_conf._G["classic"]["access"] | ntp_conf._G["ntpsec"]["access"])
                + ["ntpport", "source", "kod", "limited"]
            ),
            noise,
        ),
        max_size=5,
    ).map(tuple),
    ippeerlimit=st.one_of(st.none(), st.integers(-(2**63), 2**63)),
    ntpd_line_no=st.integers(0, 10**6),
)


@given(ops=st.lists(restrict_op, max_size=12), flavor=st.sampled_from(["ntpsec", "classic"]))
@example(
    ops=[
        ntp_restrict.RestrictOp(
            Line("/etc/ntpsec/ntp.conf", 1, "restrict 10.0.0.0/\u00b2"), "restrict", "address", None, "10.0.0.0/\u00b2"
        )
    ],
    flavor="ntpsec",
)
def test_ntp_restrict_evaluate_never_raises(ops, flavor):
    """ntp_restrict.evaluate on any restrict/unrestrict lines (ntp_conf feeds it the lines it parsed)."""
    evaluation = ntp_restrict.evaluate(ops, flavor)
    assert set(evaluation.defaults) == set(ntp_restrict.FAMILIES)
    op_lines = [op.line for op in ops]
    for entry in evaluation.defaults.values():
        assert entry.builtin == ntp_restrict.BUILTIN[flavor]
        assert all(line in op_lines for line in entry.lines)
    for entry in evaluation.entries:
        assert entry.address
        assert entry.prefix is None or 0 <= entry.prefix <= 128


# ---------------------------------------------------------------------------------------------
# timesyncd.conf

TIMESYNCD_FILES = (
    [posixpath.join(d, timesyncd_conf.MAIN_NAME) for d in timesyncd_conf.CONF_DIRS]
    + [posixpath.join(d, n) for d in timesyncd_conf.DROPIN_DIRS[:4] for n in ("a.conf", "50-b.conf", ".hidden.conf")]
    + ["/etc/systemd/timesyncd.conf.d/dir.conf", "/etc/systemd/timesyncd.conf.d/notconf"]
)
TIMESYNCD_DIRS = list(timesyncd_conf.DROPIN_DIRS) + list(timesyncd_conf.CONF_DIRS)
TIMESYNCD_KEYS = [
    "NTP",
    "Servers",
    "FallbackNTP",
    "RootDistanceMaxSec",
    "PollIntervalMinSec",
    "PollIntervalMaxSec",
    "ConnectionRetrySec",
    "SaveIntervalSec",
    "X-Foo",
    "ntp",
    "Bogus",
    "",
]
TIMESPANS = [
    "5",
    "5s",
    "1min 30s",
    "1.5min",
    "2m",
    "infinity",
    " infinity ",
    "infinityx",
    "-0",
    "-5",
    "+5",
    "3.",
    "3.sec",
    "12.34.56",
    "5x",
    "0",
    "15",
    "16",
    "1 us",
    "1\u03bcs",
    "1\u00b5s",
    "1M",
    "1 months",
    "1y 2w",
    "18446744073709551615",
    "18446744073709551615us",
    "9223372036854775808",
    "584542y",
    "584543y",
    ".5",
    "",
    " ",
    "1e3",
    "0x10",
]
SERVERS = [
    "pool.ntp.org",
    "0.debian.pool.ntp.org",
    "1.2.3.4",
    "::1",
    "fe80::1%eth0",
    ".",
    "a..b",
    "-a",
    "a-",
    "a\\.b",
    "a\\065b",
    "a\\999b",
    "a\\",
    "\\",
    "x" * 63,
    "x" * 64,
    ".".join(["x" * 63] * 4),
    ".".join(["x" * 50] * 5),
    "a b a",
    '"quoted"',
    "a\tb",
    "\u00e9.example",
    "\udcff.example",
]
timesyncd_value = st.one_of(
    st.sampled_from(TIMESPANS),
    st.sampled_from(SERVERS),
    numbers,
    noise,
    st.lists(st.sampled_from(SERVERS), max_size=4).map(" ".join),
)
_ts_valid_value = {
    "NTP": st.lists(st.sampled_from(SERVERS[:6]), max_size=3).map(" ".join),
    "Servers": st.lists(st.sampled_from(SERVERS[:6]), max_size=3).map(" ".join),
    "FallbackNTP": st.lists(st.sampled_from(SERVERS[:6]), max_size=3).map(" ".join),
    **{k: st.sampled_from(TIMESPANS[:8]) for k in timesyncd_conf.TIMESPAN_KEYS},
}
timesyncd_assignment = st.sampled_from(sorted(_ts_valid_value)).flatmap(
    lambda k: st.tuples(st.just(k), mostly(_ts_valid_value[k], timesyncd_value)).map(lambda t: f"{t[0]}={t[1]}")
)
timesyncd_line = weighted(
    (6, timesyncd_assignment),
    (2, st.just("[Time]")),
    (
        1,
        st.sampled_from(
            ["[Time]", "# comment", "; comment", "", "[X-Extra]", "[Other]", "NTP=", "FallbackNTP=", "  NTP = a b  "]
        ),
    ),
    (
        1,
        st.builds(
            lambda k, b1, b2, v, tail: f"{k}{b1}={b2}{v}{tail}",
            st.sampled_from(TIMESYNCD_KEYS),
            BLANKS,
            BLANKS,
            timesyncd_value,
            st.sampled_from(["", "", " \\", "\\", "\\\\", " # c"]),
        ),
    ),
)
timesyncd_junk = st.one_of(
    JUNK,
    st.sampled_from(
        [
            " [Time] ",
            "[time]",
            "[Time] # comment",
            '[Ti"me]',
            "[Ti\x01me]",
            "[",
            "[]",
            "\ufeff[Time]",
            "\ufeff\ufeff[Time]",
            "  # NTP=x",
            "=",
            "=x",
            "\\",
            "NTP=a \\",
            "NTP=a\\",
            "[Time]\\",
            "\ufffe",
            "\ufdd0",
            "\udcc0\udc80",
            "\udced\udca0\udc80",
            "\udcf4\udc90\udc80\udc80",
        ]
    ),
    st.builds(
        lambda k, filler: f"{k}={filler}",
        st.sampled_from(TIMESYNCD_KEYS),
        long_run([255, 1024, 2**20 - 8, 2**20 - 1, 2**20, 2**20 + 1]),
    ),
    long_run([1, 255, 4096]),
)
timesyncd_text = text_of(timesyncd_line, timesyncd_junk, max_lines=12)
timesyncd_spec = weighted(
    (6, timesyncd_text),
    (
        1,
        st.sampled_from(
            [("dir",), ("unreadable",), ("null",), ("stat",), ("mode", 0o777, "[Time]\nNTP=x\n"), ("mode", 0o755, "")]
        ),
    ),
)


def _timesyncd_tree(files: dict, dirs: dict, lib_link: bool) -> dict:
    tree = dict(files)
    tree.update(dirs)
    if lib_link:  # /lib -> usr/lib, as on merged-/usr systems: the same files under both names
        for path, spec in list(tree.items()):
            if path.startswith("/usr/lib/"):
                tree["/lib/" + path[len("/usr/lib/") :]] = spec
        tree = {p: s for p, s in tree.items() if not p.startswith("/lib/") or "/usr" + p in tree}
        tree["/lib"] = ("link", "usr/lib")
    return tree


timesyncd_files = st.builds(
    _timesyncd_tree,
    files_for(TIMESYNCD_FILES, lambda path: timesyncd_spec, 6),
    st.dictionaries(
        st.sampled_from(TIMESYNCD_DIRS),
        st.sampled_from([("dir",), ("dir", "unsearchable"), ("dir", "unlistable"), "not a directory"]),
        max_size=2,
    ),
    st.booleans(),
)
systemd_version = st.one_of(
    st.sampled_from(
        [
            "",
            "252",
            "252.22-1~deb12u1",
            "253",
            "254",
            "255.4-1",
            "1:256-1",
            "abc",
            "\u00b2",
            "\u0663\u0663\u0663",
            "9" * 5000,
            "254\u00b2",
        ]
    ),
    noise,
)
timesyncd_denied = st.frozensets(st.sampled_from(TIMESYNCD_FILES + TIMESYNCD_DIRS), max_size=3)


@given(files=timesyncd_files, version=systemd_version, denied=st.one_of(st.none(), timesyncd_denied))
@example(
    files={"/etc/systemd/timesyncd.conf": "[Time]\nNTP=a a\nRootDistanceMaxSec=" + "9" * 5000 + "\n"},
    version="252",
    denied=None,
)
@example(
    files={"/etc/systemd/timesyncd.conf": "[Time]\nNTP=x\\\n" + "y" * (2**20 - 1) + "\\\nz\n"},
    version="252",
    denied=None,
)
@example(files={"/etc/systemd/timesyncd.conf": "[Time]\nNTP=x\n"}, version="\u00b2", denied=None)
@example(files={"/etc/systemd/timesyncd.conf": "[Time]\nNTP=x\n"}, version="9" * 4301, denied=None)
@example(files={"/etc/systemd/timesyncd.conf": "[Time]\nPollIntervalMinSec=infinity\n"}, version="252", denied=None)
def test_timesyncd_conf_never_raises_and_names_its_files(files, version, denied):
    recorded = recorded_host(files)
    access_fn = denier(denied, files)
    (config, complete), snapshot = gather(recorded, lambda reader: timesyncd_conf.parse(reader, version, access_fn))
    assert complete
    paths = host_paths(files)
    for assignment in config.assignments:
        assert assignment.line.lineno >= 1
        assert assignment.line.path in config.files_read
        assert assignment.section == timesyncd_conf.SECTION
    for path in config.files_read + config.dropins:
        assert posixpath.normpath(path) in paths, path
    if config.stopped is not None:  # "path:line: why" (line 0: systemd's own for a read error); a file
        # the daemon's user cannot reach (EACCES) may not exist
        where = config.stopped.split(": ", 1)[0]
        check_where(where, paths | {p for p, _ in config.skipped}, lineno_min=0)
    for key in ("NTP", "Servers", "FallbackNTP"):
        servers, ignored, reset = config.servers(key)
        assert all(isinstance(s, str) and s for s, _ in servers)
    config.fallback_servers()
    for key in timesyncd_conf.TIMESPAN_KEYS:
        value, _, _ = config.last_timespan(key)
        assert value is None or value >= 0
        assert 0 <= config.effective_usec(key) <= timesyncd_conf.USEC_INFINITY
    again, complete_again = timesyncd_conf.parse(Reader(snapshot), version, access_fn)
    assert complete_again and again == config


@given(
    text=st.one_of(
        st.sampled_from(TIMESPANS),
        timesyncd_value,
        raw,
        st.lists(
            st.one_of(st.sampled_from(TIMESPANS), numbers, st.sampled_from([u for u, _ in timesyncd_conf._UNITS])),
            max_size=5,
        ).map("".join),
    )
)
def test_timespan_is_a_number_or_a_value_error(text):
    try:
        usec = timesyncd_conf.parse_timespan_usec(text)
    except ValueError:
        return
    assert 0 <= usec <= timesyncd_conf.USEC_INFINITY
    assert timesyncd_conf.parse_timespan(text) >= 0


@given(word=st.one_of(st.sampled_from(SERVERS), noise, raw))
def test_valid_server_never_raises(word):
    assert timesyncd_conf.valid_server(word) in (True, False)


# ---------------------------------------------------------------------------------------------
# systemd units, environment files, command lines

UNIT = "chrony.service"
UNIT_FILES = [posixpath.join(d, n) for d in systemd_unit.UNIT_DIRS for n in (UNIT, "chronyd.service")] + [
    posixpath.join(d, n + ".d", c)
    for d in systemd_unit.UNIT_DIRS[:3]
    for n in (UNIT, "chronyd.service")
    for c in ("a.conf", "override.conf")
]
UNIT_KEYS = [
    "ExecStart",
    "ExecStartPre",
    "EnvironmentFile",
    "Environment",
    "User",
    "Type",
    "Description",
    "Alias",
    "ExecStart ",
    " ExecStart",
]
unit_line = st.one_of(
    st.sampled_from(["[Unit]", "[Service]", "[Install]", "[Service", "Service]", "[]", "#", ";", "\\", "=", " = "]),
    st.builds(
        lambda k, v, tail: f"{k}={v}{tail}",
        st.sampled_from(UNIT_KEYS),
        st.one_of(
            st.sampled_from(
                [
                    "",
                    "/usr/sbin/chronyd $DAEMON_OPTS",
                    "!/usr/sbin/chronyd -F 1 ${OPTIONS}",
                    "-/etc/default/chrony",
                    "@/x y",
                    "'unterminated",
                    '"a b" c',
                    "$",
                    "${",
                    "${}",
                    "$_",
                    "$A_B",
                ]
            ),
            noise,
        ),
        st.sampled_from(["", " \\", "\\", " ;", "\\\\"]),
    ),
    noise,
    raw,
    long_run([100, 5000]),
)
unit_text = text_of(unit_line)
unit_spec = weighted((4, unit_text), (1, st.sampled_from([("null",), ("char",), ("unreadable",), ("stat",), ("dir",)])))


@given(files=files_for(UNIT_FILES, lambda path: unit_spec, 6))
def test_systemd_unit_load_never_raises(files):
    (unit, complete), _ = gather(
        recorded_host(files), lambda reader: systemd_unit.load(UNIT, reader, ("chronyd.service",))
    )
    assert complete
    readable = regular_files(files)
    assert unit.fragment is None or unit.fragment in host_paths(files)
    for assignment in unit.assignments:
        check_line(assignment.line, readable)
    for section, key in (("Service", "ExecStart"), ("Service", "EnvironmentFile"), ("Unit", "Description")):
        unit.values(section, key)
        unit.last(section, key)
    assert unit.exists in (True, False)


@given(content=st.one_of(unit_text, raw))
def test_systemd_unit_parse_ini_never_raises(content):
    lines = content.split("\n")
    for a in systemd_unit.parse_ini("/etc/systemd/system/x.service", content):
        assert a.line.path == "/etc/systemd/system/x.service"
        assert 1 <= a.line.lineno <= len(lines)
        assert "=" not in a.key and a.key == a.key.strip()


env_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)


@given(
    value=st.one_of(unit_line, noise, raw), environment=st.dictionaries(env_names, st.one_of(noise, raw), max_size=4)
)
def test_exec_argv_never_raises(value, environment):
    words = systemd_unit.exec_argv(value, environment)
    assert all(isinstance(w, str) and w for w in words)


env_line = st.one_of(
    st.builds(
        lambda export, name, v: f"{export}{name}={v}",
        st.sampled_from(["", "export ", "  ", "export\t"]),
        st.one_of(st.sampled_from(["DAEMON_OPTS", "OPTIONS", "NTPD_OPTS", "_X", "1BAD", "A-B"]), env_names),
        st.one_of(
            st.sampled_from(
                [
                    '"-F 1 -f /etc/chrony/x.conf"',
                    "'-u ntp:ntp'",
                    '"unterminated',
                    "a\\",
                    "a b # comment",
                    '""',
                    "$OTHER",
                    "`cmd`",
                    "a\\\nb",
                ]
            ),
            noise,
        ),
    ),
    st.sampled_from(["#", "# DAEMON_OPTS=x", "   #x=y", ""]),
    noise,
    raw,
)


@given(content=text_of(env_line))
def test_envfile_never_raises(content):
    result = envfile.parse("/etc/default/chrony", content)
    lines = content.split("\n")
    for name, (value, line) in result.items():
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)
        assert isinstance(value, str)
        assert line.path == "/etc/default/chrony" and 1 <= line.lineno <= len(lines)


argv_word = st.one_of(
    st.sampled_from(
        [
            "chronyd",
            "ntpd",
            "-",
            "--",
            "-f",
            "-ffile",
            "-u",
            "-uchrony",
            "-n",
            "-d",
            "-dd",
            "-F",
            "-1",
            "-46",
            "-x",
            "-c",
            "--conf",
            "--conf=",
            "--configfile=/x",
            "--user",
            "--user=ntp",
            "--unknown",
            "--=",
            "---",
            "-f-u",
            "file",
        ]
    ),
    noise,
)


@given(
    words=st.lists(argv_word, max_size=8),
    with_value=st.sets(st.sampled_from("cfuFPRLIx1"), max_size=5),
    long_names=st.dictionaries(
        st.sampled_from(["conf", "configfile", "user", "", "="]), st.sampled_from("cfu"), max_size=3
    ),
)
def test_argv_parse_options_never_raises(words, with_value, long_names):
    options = argv.parse_options(words, with_value, long_names)
    letters = "".join(words)
    for letter, value in options.items():
        assert isinstance(value, str)
        assert letter in letters or letter in long_names.values()


# ---------------------------------------------------------------------------------------------
# Live state: chronyc -c, ntpq -n, timedatectl show


def csv_rows(fields: list[st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    """Rows of chronyc's CSV: mostly the right fields, sometimes one field more or less."""
    row = (
        st.tuples(*fields).map(list).flatmap(lambda fs: st.sampled_from([fs, fs, fs, fs[:-1], fs + [""]]).map(",".join))
    )
    line = weighted(
        (6, row),
        (1, noise),
        (1, raw),
        (1, st.sampled_from(["506 Cannot talk to daemon", "501 Not authorised", "", " ", "5000 x"])),
    )
    return text_of(line, max_lines=4)


def field(*samples: str) -> st.SearchStrategy[str]:
    """Mostly what the tool prints there, sometimes a number or noise."""
    return weighted((6, st.sampled_from(samples)), (1, numbers), (1, noise))


TRACKING = csv_rows(
    [
        field("AC1D490B", "00000000", "7F7F0101", "7f7f0101", "FFFFFFFFF", "0x1", "\u0663"),
        field("172.29.73.11", ""),
        field("9", "0", "16", "-1"),
    ]
    + [field("0.000029332", "-0.5", "nan", "inf", "1e999") for _ in range(10)]
    + [field("Normal", "Insert second", "Delete second", "Not synchronised")]
)
SOURCES = csv_rows(
    [
        field(*chronyc.MODES),
        field(*chronyc.STATES),
        field("172.29.73.10", ""),
        field("8", "0"),
        field("6", "-6"),
        field("377", "17", "0", "8", "9", "-1", "0o7"),
        field("47", "4294967295"),
    ]
    + [field("0.000024016", "nan") for _ in range(3)]
)
AUTHDATA = csv_rows(
    [field("172.29.73.10"), field("NTS", "SK", "-", "nts")] + [field("1", "0", "4294967295", "256") for _ in range(8)]
)


def describe_tracking(t: chronyc.Tracking) -> None:
    assert t.synchronized == (not t.not_synchronized_because())
    t.describe(), t.offset_words(), t.reference, t.local_reference


@given(text=st.one_of(TRACKING, raw))
@example(text="00000000,,0,0,0,0,0,0,0,0,0,0,0,Normal")
def test_chronyc_tracking_parses_or_raises_parse_error(text):
    chronyc.reply_error(text)
    try:
        tracking = chronyc.parse_tracking(text)
    except chronyc.ParseError:
        return
    describe_tracking(tracking)


@given(text=st.one_of(SOURCES, raw))
@example(text="^,*,172.29.73.10,8,6,-1,47,0.000024016,0.000024016,0.000024016")  # reach is octal digits
def test_chronyc_sources_parse_or_raise_parse_error(text):
    try:
        sources = chronyc.parse_sources(text)
    except chronyc.ParseError:
        return
    for source in sources:
        assert source.reach >= 0
        source.describe(), source.reach_octal, source.selected


@given(text=st.one_of(AUTHDATA, raw))
def test_chronyc_authdata_parses_or_raises_parse_error(text):
    try:
        entries = chronyc.parse_authdata(text)
    except chronyc.ParseError:
        return
    for entry in entries:
        entry.describe(), entry.authenticated, entry.ke_failed, entry.last_text


PEERS_HEADER = "     remote           refid      st t when poll reach   delay   offset   jitter"
ASSOC_HEADER = "ind assid status  conf reach auth condition  last_event cnt"
RULE = "=" * 79
peer_row = st.builds(
    lambda tally, fields, split: (
        tally + (" ".join(fields[:1]) + "\n" + " " * 20 + " ".join(fields[1:]) if split else " ".join(fields))
    ),
    st.sampled_from(sorted(ntpq.TALLY) + ["?", "", "\t", "\udcff"]),
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "172.29.73.10",
                    "127.127.1.1",
                    ".POOL.",
                    "8",
                    "16",
                    "\u00b2",
                    "\u0663",
                    "u",
                    "48",
                    "64",
                    "377",
                    "0.0872",
                    "-",
                    "1024",
                ]
            ),
            numbers,
            noise,
        ),
        min_size=0,
        max_size=12,
    ),
    st.booleans(),
)
assoc_row = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "1",
                "17767",
                "b61a",
                "yes",
                "no",
                "none",
                "ok",
                "bad",
                "sys.peer",
                "pps.peer",
                "outlier",
                "sys_peer",
                "\u00b2",
                "\u0663\u0663",
                "\uff11",
            ]
        ),
        numbers,
        noise,
    ),
    min_size=7,
    max_size=10,
).map(lambda fs: "  " + " ".join(fs))


def ntpq_table(header: str, row) -> st.SearchStrategy[str]:
    body = text_of(weighted((4, row), (1, noise)), max_lines=5)
    return st.one_of(
        st.builds(lambda pre, b: pre + header + "\n" + RULE + "\n" + b, st.sampled_from(["", "\n", "x\n"]), body),
        st.sampled_from(
            [
                "No association ID's returned\n",
                "ntpq: read: Connection refused\n",
                "***Request timed out\n",
                "",
                "\n\n",
                header + "\n",
                header + "\n" + RULE,
            ]
        ),
        raw,
        text_of(noise, max_lines=3),
    )


@given(text=ntpq_table(PEERS_HEADER, peer_row))
@example(text=PEERS_HEADER + "\n" + RULE + "\n*172.29.73.10 127.127.1.1 \u00b2 u 48 64 1 0.0872 0.0277 0.0181\n")
@example(text=PEERS_HEADER + "\n" + RULE + "\n*172.29.73.10 127.127.1.1 " + "9" * 5000 + " u 48 64 1 0.08 0.02 0.01\n")
def test_ntpq_peers_parse_or_raise_parse_error(text):
    try:
        peers = ntpq.parse_peers(text)
    except ntpq.ParseError:
        return
    for peer in peers:
        assert peer.tally in ntpq.TALLY
        assert peer.stratum is None or peer.stratum >= 0
        peer.describe(), peer.system_peer


@given(text=ntpq_table(ASSOC_HEADER, assoc_row))
@example(text=ASSOC_HEADER + "\n" + RULE + "\n  \u00b2 17767  b61a   yes   yes  none  sys.peer    sys_peer  1\n")
@example(
    text=ASSOC_HEADER + "\n" + RULE + "\n  1 " + "9" * 5000 + "  b61a   yes   yes  none  sys.peer    sys_peer  1\n"
)
def test_ntpq_associations_parse_or_raise_parse_error(text):
    try:
        associations = ntpq.parse_associations(text)
    except ntpq.ParseError:
        return
    for association in associations:
        assert association.index >= 0 and association.assid >= 0
        association.describe(), association.system_peer, association.authenticated


TIMEDATECTL_KEYS = [
    "NTPSynchronized",
    "NTP",
    "CanNTP",
    "ServerName",
    "ServerAddress",
    "SystemNTPServers",
    "LinkNTPServers",
    "FallbackNTPServers",
    "Timezone",
    "1Bad",
    "_x",
    "a-b",
    "",
]
timedatectl_line = st.one_of(
    st.builds(
        lambda k, v: f"{k}={v}",
        st.sampled_from(TIMEDATECTL_KEYS),
        st.one_of(st.sampled_from(["yes", "no", "", " ", "YES", "nts-server", "172.29.73.10", "=", "x\r"]), noise),
    ),
    st.sampled_from(
        [
            "Failed to query server: Connection timed out",
            "System has not been booted with systemd as init system (PID 1). Can't operate.",
        ]
    ),
    noise,
    raw,
)


@given(text=st.one_of(text_of(timedatectl_line, max_lines=8), raw))
def test_timedatectl_parses_or_raises_parse_error(text):
    try:
        show = timedatectl.parse_show(text)
    except timedatectl.ParseError as exc:
        assert str(exc)
        return
    assert show.ntp_synchronized in (True, False, None)
    show.describe()
    timesync = timedatectl.parse_timesync(text)
    assert timesync.server_in_use in (True, False)
    timesync.describe()


# ---------------------------------------------------------------------------------------------
# Host facts: packages, processes, units, accounts, os-release


def tab_lines(columns: list[st.SearchStrategy[str]], max_lines: int = 6) -> st.SearchStrategy[str]:
    row = st.lists(st.one_of(*columns), min_size=0, max_size=len(columns) + 2).map("\t".join)
    fixed = st.tuples(*columns).map("\t".join)
    return text_of(weighted((4, fixed), (1, row), (1, noise), (1, raw)), max_lines=max_lines)


def column(*samples: str) -> st.SearchStrategy[str]:
    """Mostly what the tool prints there, sometimes a number or noise."""
    return weighted((6, st.sampled_from(samples)), (1, numbers), (1, noise))


PACKAGES = tab_lines(
    [
        column("dpkg", "rpm", "manager"),
        column("chrony", "ntp", "ntpsec", "systemd-timesyncd", "dpkg"),
        column("ii ", "rc ", "un ", "i", "", "iU "),
        column("4.3-2+deb12u1", ""),
    ]
)


@given(text=st.one_of(PACKAGES, raw))
def test_host_parse_packages_never_raises(text):
    packages = host.parse_packages(text)
    for name, package in packages.items():
        assert package.name == name and package.manager in ("dpkg", "rpm")
    assert set(host.parse_managers(text, packages)) <= {"dpkg", "rpm"}


PROCESSES = tab_lines(
    [
        column("1", "412", "\u00b2", "\u0663", "\uff11"),
        column("chronyd", "ntpd", "systemd-timesyn"),
        column("0", "102", "\u00b2", ""),
        column("_chrony", "root", ""),
        column("/usr/sbin/chronyd\x1f-F\x1f1", "\x1f\x1f", "ntpd\x1f-u\x1fntp:ntp"),
        column("own", "other", "unknown", ""),
    ]
)


@given(text=st.one_of(PROCESSES, raw))
@example(text="\u00b2\tchronyd\t0\troot\t/usr/sbin/chronyd\town\n")
@example(text="1\tchronyd\t\u00b2\troot\t/usr/sbin/chronyd\town\n")
@example(text="9" * 5000 + "\tchronyd\t0\troot\t/usr/sbin/chronyd\town\n")
@example(text="1\tchronyd\t" + "9" * 5000 + "\troot\t/usr/sbin/chronyd\town\n")
def test_host_parse_processes_never_raises(text):
    for process in host.parse_processes(text):
        assert isinstance(process.pid, int) and process.pid >= 0
        assert process.uid is None or process.uid >= 0
        assert process.namespace in ("own", "other")
        assert all(process.argv)


unit_block = st.lists(
    st.one_of(
        st.builds(
            lambda k, v: f"{k}={v}",
            st.sampled_from(
                ["Id", "Names", "LoadState", "ActiveState", "SubState", "UnitFileState", "FragmentPath", "Other", ""]
            ),
            st.one_of(
                st.sampled_from(
                    [
                        "chrony.service",
                        "chrony.service chronyd.service",
                        "",
                        "not-found",
                        "loaded",
                        "active",
                        "masked",
                        "=",
                        "a=b",
                    ]
                ),
                noise,
            ),
        ),
        st.builds(
            lambda u, s: f"is-enabled\t{u}\t{s}",
            st.sampled_from(["chrony.service", "ntp.service", ""]),
            st.sampled_from(["enabled", "masked", "alias", "", "x\ty"]),
        ),
        st.builds(lambda p: f"init\t{p}", st.sampled_from(["/etc/init.d/chrony", "/etc/rc2.d/S01ntp", "", "\t"])),
        noise,
    ),
    max_size=8,
).map("\n".join)


@given(
    text=st.one_of(
        st.lists(unit_block, max_size=4).map("\n\n".join),
        st.just("no-systemd\n").map(lambda s: s),
        st.builds(lambda b: "no-systemd\n" + b, unit_block),
        raw,
    )
)
def test_host_parse_units_never_raises(text):
    units = host.parse_units(text)
    if units is not None:
        for name, state in units.items():
            assert name in state.names or name == state.name
    for name, answer in host.parse_is_enabled(text).items():
        assert isinstance(answer, str)
    assert all(isinstance(entry, str) for entry in host.parse_init_entries(text))


ACCOUNTS = text_of(
    st.one_of(
        st.builds(
            lambda n, u, g, groups: f"{n}:x:{u}:{g}:gecos:/home:/bin/sh\t{groups}",
            column("_chrony", "chrony", "ntp", "systemd-timesync", "root", ""),
            column("0", "102", "\u00b2", "\u0663", "65534"),
            column("0", "102", "\u00b2", "65534"),
            st.lists(column("0", "102", "\u00b2", "\uff11"), max_size=4).map(" ".join),
        ),
        noise,
        raw,
    ),
    max_lines=6,
)


@given(text=st.one_of(ACCOUNTS, raw))
@example(text="_chrony:x:\u00b2:102::/var/lib/chrony:/usr/sbin/nologin\t102\n")
@example(text="_chrony:x:101:" + "9" * 5000 + "::/var/lib/chrony:/usr/sbin/nologin\t102\n")
@example(text="_chrony:x:101:102::/var/lib/chrony:/usr/sbin/nologin\t102 \u00b2 " + "9" * 5000 + "\n")
def test_access_parse_accounts_never_raises(text):
    for name, account in access.parse_accounts(text).items():
        assert account.name == name
        assert account.uid >= 0 and account.gid >= 0 and account.groups
        assert account.gids(True) and account.gids(False) == (account.gid,)


IDENTITY = st.one_of(
    st.sampled_from(["0\nroot\n", "1000\nauditor\n", "\u00b2\nroot\n", "9" * 4301 + "\nx\n", "", "root\n", "0\n"]),
    noise,
    raw,
)


@given(
    identity=IDENTITY,
    rc=st.sampled_from([0, 0, 1, 127]),
    pid1=st.one_of(st.sampled_from(["systemd", "sh"]), noise),
    packages=st.one_of(PACKAGES, raw),
    processes=st.one_of(PROCESSES, raw),
    units=st.one_of(st.lists(unit_block, max_size=3).map("\n\n".join), st.just("no-systemd\n"), raw),
    os_release=st.one_of(st.none(), raw, noise),
)
@example(identity="\u00b2\nroot\n", rc=0, pid1="systemd", packages="", processes="", units="", os_release=None)
def test_host_build_never_raises(identity, rc, pid1, packages, processes, units, os_release):
    """The first round's facts from any answer to its commands."""
    commands = {
        name: CommandOutput(name, rc, out)
        for name, out in (
            ("identity", identity),
            ("pid1", pid1),
            ("packages", packages),
            ("processes", processes),
            ("units", units),
        )
    }
    files = {} if os_release is None else {"/etc/os-release": FileRecord("/etc/os-release", "ok", None, os_release)}
    facts = host.build(Reader(Snapshot(files=files, commands=commands)))
    assert facts.uid is None or facts.uid >= 0
    assert isinstance(facts.user, str) and facts.systemd in (True, False)
    facts.installed("chrony"), facts.running("chronyd")


OS_RELEASE = text_of(
    st.one_of(
        st.builds(
            lambda k, q, v: f"{k}={q}{v}{q}",
            st.sampled_from(["ID", "ID_LIKE", "VERSION_ID", "PRETTY_NAME", " ID ", "id", ""]),
            st.sampled_from(["", '"', "'"]),
            st.one_of(
                st.sampled_from(
                    ["debian", "ubuntu", "rhel", "rhel fedora", "suse opensuse", "Debian", "\u0130D", "12", ""]
                ),
                noise,
            ),
        ),
        noise,
        raw,
    ),
    max_lines=6,
)


@given(
    content=st.one_of(st.none(), OS_RELEASE, raw),
    existing=st.sets(st.sampled_from(["/etc/chrony/chrony.conf", "/etc/chrony.conf"])),
)
def test_parse_os_release_never_raises(content, existing):
    release = platforms.parse_os_release(content)
    assert release.family in (None, "debian", "redhat", "suse")
    layout = platforms.chrony_layout(release, existing)
    assert layout.family in platforms.CHRONY_LAYOUTS


# dataclasses are compared whole above: a field that cannot be compared would make every
# determinism check pass or fail for the wrong reason
assert all(
    dataclasses.is_dataclass(c) for c in (chrony_conf.ChronyConfig, ntp_conf.NtpConfig, timesyncd_conf.TimesyncdConfig)
)
