"""The chrony.conf model against what real chronyd 4.3 did with the same files.

selftests/recorded/chronyd-fatal/cases.yaml holds, for each case, the files
(under /tsa), the main file chronyd was started with, and what chronyd 4.3
(Debian 12) did: accepted (still running), or refused with its own message.
selftests/e2e/test_chronyd_fatal_live.py replays the corpus against the real
daemon, so the recording cannot drift from it.

Here the parser reads the same files from a recorded host and must agree:
refused or not, with chronyd's message (exactly as chronyd logs it) and the
file:line it points at, and for cases that watched the sources chronyd loaded,
the same sources. Cases whose outcome depends on a host fact the parser does
not have (host_fact: the user account, name resolution, devices...) document
chronyd's behaviour; the parser must not claim a refusal for them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import pathlib
import posixpath
import random
import re

import pytest
import yaml

from timesync_audit.gather.recorded import RecordedFile, RecordedHost
from timesync_audit.gather.script import looks_like_key_material
from timesync_audit.gather.snapshot import Reader, Snapshot, Stat
from timesync_audit.parsers import chrony_conf

CORPUS = pathlib.Path(__file__).resolve().parent.parent / "recorded" / "chronyd-fatal" / "cases.yaml"
DEFAULT_MAIN = "/tsa/chrony.conf"
RUN_USER = "_chrony"  # the corpus's files are root's: the run user reads them as "other"


def load_corpus() -> dict:
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))


class _Dumper(yaml.SafeDumper):
    """Texts with newlines or control characters are written double-quoted, escapes and all."""


def _text(dumper, value: str):
    quoted = any(c == "\n" or (ord(c) < 32 and c != "\t") or ord(c) == 0xA0 for c in value)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if quoted else None)


_Dumper.add_representer(str, _text)


def dump_corpus(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=False, width=200)


def file_bytes(spec) -> bytes | None:
    """The bytes of a case file (None for a directory). A spec is text, or a mapping with
    `content` (text, or a list of text and {repeat, times} parts), `mode` and `dir`."""
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if spec.get("dir"):
        return None
    content = spec.get("content", "")
    if isinstance(content, str):
        return content.encode("utf-8")
    return b"".join(
        part.encode("utf-8") if isinstance(part, str) else (part["repeat"] * part["times"]).encode("utf-8")
        for part in content
    )


def file_mode(spec, directory: bool) -> int:
    if isinstance(spec, dict) and "mode" in spec:
        return int(str(spec["mode"]), 8)
    return 0o755 if directory else 0o644


def case_tree(case: dict) -> dict[str, tuple[bytes | None, int]]:
    """Every path of the case (files and the directories above them): (bytes or None, mode)."""
    tree: dict[str, tuple[bytes | None, int]] = {}
    for path, spec in (case.get("files") or {}).items():
        data = file_bytes(spec)
        tree[path] = (data, file_mode(spec, data is None))
        parent = posixpath.dirname(path)
        while parent not in ("/", ""):
            tree.setdefault(parent, (None, 0o755))
            parent = posixpath.dirname(parent)
    return tree


def recorded_host(case: dict) -> RecordedHost:
    files = {}
    for path, (data, mode) in case_tree(case).items():
        if data is None:
            files[path] = RecordedFile(None, Stat(0, 0, "root", "root", mode, "directory"))
        else:
            files[path] = RecordedFile(
                data.decode("utf-8", "surrogateescape"), Stat(0, 0, "root", "root", mode, "regular file")
            )
    return RecordedHost(files, {})


def run_user_access(case: dict):
    """Why the run user (not the owner, not in the group) cannot read a path of the case."""
    tree = case_tree(case)

    def check(path: str) -> str | None:
        path = posixpath.normpath(path)
        parts = path.split("/")
        for i in range(2, len(parts)):
            directory = "/".join(parts[:i])
            if directory in tree and not tree[directory][1] & 0o001:
                return f"not readable by {RUN_USER}: directory {directory} is not searchable"
        if path in tree and not tree[path][1] & 0o004:
            return f"not readable by {RUN_USER}: {path} is {tree[path][1]:04o}"
        return None

    return check


def model(case: dict) -> tuple[chrony_conf.ChronyConfig, bool]:
    """Parse the case as the collector would: gather what the parser asks for, then parse again."""
    host = recorded_host(case)
    snapshot = Snapshot()
    main = case.get("main", DEFAULT_MAIN)
    for _ in range(20):
        reader = Reader(snapshot)
        config, complete = chrony_conf.parse(main, reader, run_user_access(case))
        if not reader.needs:
            return config, complete
        snapshot.merge(host.execute(reader.needs))
    raise AssertionError("the parser kept asking for more files")


def _where(case: dict, message: str) -> str | None:
    if "where" in case:
        return case["where"]
    found = re.search(r" at line (\d+) in file (.+)$", message)
    return f"{found.group(2)}:{found.group(1)}" if found else None


CASES = load_corpus()["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_model_agrees_with_chronyd(case):
    config, complete = model(case)
    assert complete
    recorded = case["chronyd"]
    refusal = config.refusal
    if config.withheld or (refusal is not None and "holds key material" in refusal.message):
        # a file that looks like key material never leaves the host: the model can only say so
        # (could not check, or refused for key lines read as configuration), never judge its lines
        assert recorded == "accepted" or config.withheld or refusal is not None
        return
    if case.get("host_fact"):
        assert refusal is None, f"depends on {case['host_fact']}, yet the model says: {refusal}"
        return
    if recorded == "accepted":
        assert refusal is None, f"chronyd accepted it, the model says: {refusal}"
        if config.withheld:  # key material stays on the host: the audit cannot count those sources
            assert all(looks_like_key_material(case["files"][p]) for p in config.withheld)
        elif "sources" in case:
            assert sorted(s.host for s in config.sources) == sorted(case["sources"])
        return
    message = recorded.get("refused") or recorded["crashed"]
    assert refusal is not None, f"chronyd refused it ({message}), the model accepts it"
    assert refusal.log == message
    assert refusal.where == _where(case, message)


def test_corpus_covers_every_fatal_message_the_model_emits():
    """Each kind of refusal the model knows is exercised by a recorded case."""
    refused = {
        next(iter(c["chronyd"].values())) for c in CASES if isinstance(c["chronyd"], dict) and not c.get("host_fact")
    }
    expected = {
        "Could not open",
        "Could not search for files matching",
        "Maximum include level reached",
        "String too long",
        "Invalid directive",
        "Could not parse",
        "Missing arguments for",
        "Too many arguments for",
        "Invalid log parameter",
        "Invalid refclock option",
        "Bad subnet in",
        "Uneven number of NTS certs and keys",
        "rtcfile directive cannot be used with rtcsync",
        "unknown refclock driver",
        "refclock tai option requires leapsectz",
        "Invalid refclock driver option",
        "Could not open socket",
        "Could not enable HW timestamping on",
        "Bad scheduler priority",
        "Rate limiting cannot be enabled with noclientlog",
        "Could not read tempcomp point from",
        "Not enough points in",
        "chronyd: sched.c:370: SCH_AddTimeoutByDelay: Assertion `delay >= 0.0' failed.",
    }
    missing = {e for e in expected if not any(r.startswith(e) for r in refused)}
    assert not missing


def test_refusal_is_the_first_fatal_error():
    host = RecordedHost({DEFAULT_MAIN: RecordedFile("bogus\nport\n")}, {})
    snapshot = Snapshot()
    reader = Reader(snapshot)
    chrony_conf.parse(DEFAULT_MAIN, reader)
    snapshot.merge(host.execute(reader.needs))
    config, complete = chrony_conf.parse(DEFAULT_MAIN, Reader(snapshot))
    assert complete
    assert config.refusal.message == "Invalid directive"
    assert config.refusal.where == f"{DEFAULT_MAIN}:1"
    assert len(config.fatal) == 1  # chronyd exits there: line 2 is never read


def test_denied_is_could_not_check_never_missing():
    from timesync_audit.gather.snapshot import FileRecord

    snapshot = Snapshot(files={DEFAULT_MAIN: FileRecord(DEFAULT_MAIN, "denied")})
    config, complete = chrony_conf.parse(DEFAULT_MAIN, Reader(snapshot))
    assert complete
    assert config.unreadable == [DEFAULT_MAIN]
    assert not config.main_missing and config.refusal is None


def test_skipped_sourcedir_file_is_reported_not_counted():
    case = {
        "files": {
            DEFAULT_MAIN: "sourcedir /tsa/s\n",
            "/tsa/s/a.sources": {"content": "server 192.0.2.1\n", "mode": "0600"},
            "/tsa/s/b.sources": "server 192.0.2.2\n",
        }
    }
    config, _ = model(case)
    assert [s.host for s in config.sources] == ["192.0.2.2"]
    assert config.skipped_files == [("/tsa/s/a.sources", "not readable by _chrony: /tsa/s/a.sources is 0600")]
    assert any(
        d.where == f"{DEFAULT_MAIN}:1"
        and not d.fatal
        and d.message == "/tsa/s/a.sources: not readable by _chrony: /tsa/s/a.sources is 0600: chronyd skips it"
        for d in config.diagnostics
    )


# glibc's own conversions, where this interpreter runs on glibc: the model's sscanf must read
# exactly what chronyd's sscanf reads


def _glibc():
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    try:
        libc.gnu_get_libc_version
    except AttributeError:
        return None
    return libc


LIBC = _glibc()
needs_glibc = pytest.mark.skipif(LIBC is None, reason="the C library here is not glibc")
_ALPHABET = "0123456789+-.eExXpPaAfFnNiItTyY (),x_"


def _samples(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    fixed = [
        "",
        "1",
        "1e",
        "1e+",
        "1e5x",
        ".",
        ".5",
        "0x",
        "0x.",
        "0x1p",
        "0xg",
        "nan",
        "nan(1)",
        "inf",
        "infinit",
        "INFINITY",
        "-",
        "+.e1",
        "99999999999999999999",
        "-99999999999999999999",
        "4294967296",
        "-1",
        " 7",
        "0x10",
        "1.5.",
        "1_0",
        "F323",
        "0XF323",
        "-F323",
    ]
    return fixed + ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 8))) for _ in range(count)]


@needs_glibc
@pytest.mark.parametrize("conv", ["d", "u", "x", "lf"])
def test_sscanf_reads_as_glibc(conv):
    kinds = {"d": ctypes.c_int, "u": ctypes.c_uint32, "x": ctypes.c_uint32, "lf": ctypes.c_double}
    for text in _samples({"d": 1, "u": 2, "x": 3, "lf": 4}[conv], 3000):
        value, used = kinds[conv](), ctypes.c_int(-1)
        count = LIBC.sscanf(text.encode(), f"%{conv}%n".encode(), ctypes.byref(value), ctypes.byref(used))
        ours = chrony_conf.sscanf(text, f"%{conv}%n")
        if count != 1:
            assert len(ours) == 0, (conv, text, ours)
            continue
        assert len(ours) == 2 and int(ours[1]) == used.value, (conv, text, ours, used.value)
        if conv == "lf":
            assert (math.isnan(ours[0]) and math.isnan(value.value)) or ours[0] == value.value, (text, ours)
        else:
            assert ours[0] == value.value, (conv, text, ours, value.value)


@needs_glibc
def test_inet_pton_and_ntop_as_glibc():
    rng = random.Random(4)
    pton = LIBC.inet_pton
    ntop = LIBC.inet_ntop
    ntop.restype = ctypes.c_char_p
    samples = [
        "1.2.3.4",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.",
        "256.1.1.1",
        "::",
        "::1",
        "1::",
        ":1",
        "1:::2",
        "::ffff:1.2.3.4",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:1.2.3.4",
        "12345::",
        "fe80::1%eth0",
        "::1.2.3",
        "0::0",
    ]
    samples += ["".join(rng.choice("0123456789abcdef:.") for _ in range(rng.randint(1, 16))) for _ in range(5000)]
    for text in samples:
        buf4, buf6 = ctypes.create_string_buffer(4), ctypes.create_string_buffer(16)
        assert (pton(2, text.encode(), buf4) == 1) == (chrony_conf.inet_pton4(text) is not None), text
        if pton(2, text.encode(), buf4) == 1:
            assert chrony_conf.inet_pton4(text) == buf4.raw
        ok6 = pton(10, text.encode(), buf6) == 1
        assert ok6 == (chrony_conf.inet_pton6(text) is not None), text
        if ok6:
            assert chrony_conf.inet_pton6(text) == buf6.raw
            out = ctypes.create_string_buffer(64)
            assert chrony_conf.ip_to_string(6, buf6.raw) == ntop(10, buf6, out, 64).decode(), text


def test_key_file_included_as_configuration_is_never_read():
    """The suite never reads key material; chronyd would read the file as configuration, where
    a key line ("1 SHA1 HEX:...") is an unknown directive: the model says so without reading it."""
    case = {"files": {DEFAULT_MAIN: "include /tsa/chrony.keys\n", "/tsa/chrony.keys": "1 SHA1 HEX:00\n"}}
    config, complete = model(case)
    assert complete
    assert "/tsa/chrony.keys" not in config.files_read
    assert config.refusal.where == f"{DEFAULT_MAIN}:1"
    assert "key material" in config.refusal.message


def test_refusals_after_reading_name_their_startup_step():
    case = {"files": {DEFAULT_MAIN: "allow 10.0.0.0/33\nsched_priority 100\n"}}
    config, _ = model(case)
    assert (config.refusal.stage, config.refusal.message) == ("access", "Bad subnet in 10.0.0.0/33")
    # chronyd looks the user up before it checks subnets: a missing user would be its reason
    order = chrony_conf.STARTUP_ORDER
    assert order.index("user") < order.index(config.refusal.stage)
