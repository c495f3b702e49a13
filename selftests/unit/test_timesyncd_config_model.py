"""The timesyncd.conf model agrees with the real systemd-timesyncd 252 on every recorded case.

selftests/recorded/timesyncd-config/cases.yaml holds what the real daemon (Debian 12, run as
systemd-timesync) did with each set of files; selftests/e2e/test_timesyncd_config_live.py re-runs
it against the daemon. Here each case's files become the snapshot the gather script would return to
root on that host (/lib a symlink to usr/lib, as in the image the cases were recorded in), the
daemon's account is judged by the kernel's permission rules, and the parser must end with the same
servers, fallback servers, time spans and warnings.
"""

from __future__ import annotations

import codecs
import fnmatch
import pathlib
import posixpath

import pytest
import yaml

from timesync_audit.gather.snapshot import FileRecord, Reader, Snapshot, Stat
from timesync_audit.parsers import timesyncd_conf

HERE = pathlib.Path(__file__).resolve().parent
CASES = HERE.parent / "recorded" / "timesyncd-config" / "cases.yaml"
STOCK = (HERE.parent / "recorded" / "debian12-timesyncd" / "root" / "etc" / "systemd" / "timesyncd.conf").read_bytes()
VERSION = "252.39-1~deb12u2"
USERS = {"root": 0, "systemd-timesync": 997}
DAEMON = (997, (997,))  # uid, groups of systemd-timesync


def _load() -> list[dict]:
    return yaml.safe_load(CASES.read_text())["cases"]


def _bytes(spec) -> bytes:
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if "bytes" in spec:
        return codecs.escape_decode(spec["bytes"].encode("ascii"))[0]
    if "generate" in spec:
        return "".join(text * count for text, count in spec["generate"]).encode("utf-8")
    return spec.get("content", "").encode("utf-8")


class Tree:
    """A small file system: regular files, directories and symlinks with owners and modes."""

    def __init__(self, case: dict):
        # path -> ("file", bytes) | ("dir",) | ("link", target); plus (mode, uid, gid)
        self.nodes: dict[str, tuple] = {}
        self.meta: dict[str, tuple[int, int, int]] = {}
        for d in (
            "/",
            "/etc",
            "/etc/systemd",
            "/run",
            "/run/systemd",
            "/usr",
            "/usr/lib",
            "/usr/lib/systemd",
            "/srv",
            "/dev",
        ):
            self._dir(d)
        self.nodes["/lib"] = ("link", "usr/lib")
        self.nodes["/dev/null"] = ("char",)
        self.meta["/dev/null"] = (0o666, 0, 0)
        self._put("/etc/systemd/timesyncd.conf", ("file", STOCK), 0o644, 0, 0)
        for path, spec in (case.get("files") or {}).items():
            self.nodes.pop(path, None)
            if spec is None:
                continue
            self._parents(path)
            mode = int(str(spec.get("mode", "0")), 8) if isinstance(spec, dict) else 0
            owner = spec.get("owner", "root:root") if isinstance(spec, dict) else "root:root"
            user, _, group = owner.partition(":")
            uid, gid = USERS[user], USERS[group or user]
            if isinstance(spec, dict) and spec.get("directory"):
                self._put(path, ("dir",), mode or 0o755, uid, gid)
            elif isinstance(spec, dict) and "symlink" in spec:
                self.nodes[path] = ("link", spec["symlink"])
            else:
                self._put(path, ("file", _bytes(spec)), mode or 0o644, uid, gid)

    def _dir(self, path: str) -> None:
        self.nodes.setdefault(path, ("dir",))
        self.meta.setdefault(path, (0o755, 0, 0))

    def _put(self, path: str, node: tuple, mode: int, uid: int, gid: int) -> None:
        self.nodes[path], self.meta[path] = node, (mode, uid, gid)

    def _parents(self, path: str) -> None:
        parent = posixpath.dirname(path)
        while parent not in self.nodes:
            self._dir(parent)
            parent = posixpath.dirname(parent)

    def walk(self, path: str, follow: bool = True) -> tuple[str | None, list[str]]:
        """(the node path reached, or None if missing; the directories searched on the way)."""
        parts = [p for p in path.split("/") if p]
        current, searched, hops = "/", [], 0
        while parts:
            searched.append(current)
            name = parts.pop(0)
            candidate = posixpath.join(current, name)
            node = self.nodes.get(candidate)
            if node is None:
                return None, searched
            if node[0] == "link" and (parts or follow):
                hops += 1
                if hops > 32:
                    return None, searched
                target = node[1]
                base = "/" if target.startswith("/") else current
                parts = [p for p in posixpath.normpath(posixpath.join(base, target)).split("/") if p] + parts
                current = "/"
                continue
            current = candidate
        return current, searched

    def stat(self, path: str) -> Stat | None:
        real, _ = self.walk(path)
        if real is None:
            return None
        node = self.nodes[real]
        mode, uid, gid = self.meta[real]
        kind = {"file": "regular file", "dir": "directory", "char": "character special file"}[node[0]]
        names = {v: k for k, v in USERS.items()}
        return Stat(uid, gid, names[uid], names[gid], mode, kind)

    def lexists(self, path: str) -> bool:
        return self.walk(path, follow=False)[0] is not None

    def link(self, path: str) -> str | None:
        real, _ = self.walk(path, follow=False)
        node = self.nodes.get(real) if real else None
        return node[1] if node and node[0] == "link" else None

    def record(self, path: str) -> FileRecord:
        """What the gather script's file() prints to root for path."""
        if not self.lexists(path):
            return FileRecord(path, "missing")
        stat, link = self.stat(path), self.link(path)
        if stat is None:  # a symbolic link to nothing: missing, with its target
            return FileRecord(path, "missing", None, None, link)
        if stat.kind != "regular file":
            return FileRecord(path, "not-a-file", stat, None, link)
        real, _ = self.walk(path)
        return FileRecord(path, "ok", stat, self.nodes[real][1].decode("utf-8", "surrogateescape"), link)

    def stat_record(self, path: str) -> FileRecord:
        if not self.lexists(path):
            return FileRecord(path, "missing")
        if self.stat(path) is None:
            return FileRecord(path, "missing", None, None, self.link(path))
        return FileRecord(path, "ok", self.stat(path), None, self.link(path))

    def glob(self, pattern: str) -> tuple[str, ...]:
        directory, name = posixpath.split(pattern)
        real, _ = self.walk(directory)
        if real is None or self.nodes[real][0] != "dir":
            return ()
        prefix = real.rstrip("/") + "/"
        names = sorted(p[len(prefix) :] for p in self.nodes if p.startswith(prefix) and "/" not in p[len(prefix) :])
        return tuple(
            posixpath.join(directory, n) for n in names if fnmatch.fnmatchcase(n, name) and not n.startswith(".")
        )

    def snapshot(self) -> Snapshot:
        request = timesyncd_conf.request()
        snap = Snapshot()
        for path in request.files:
            snap.files[path] = self.record(path)
        for path in request.stats:
            snap.stats[path] = self.stat_record(path)
        for pattern in request.globs:
            snap.globs[pattern] = self.glob(pattern)
            for match in snap.globs[pattern]:
                snap.files[match] = self.record(match)
        return snap

    def daemon_access(self, path: str) -> str | None:
        """Why systemd-timesync cannot open path (a file to read, a directory to list), or None."""
        uid, groups = DAEMON
        real, searched = self.walk(path)
        for directory in searched:
            if not self._allows(directory, uid, groups, 0o1):
                return f"not readable by systemd-timesync: directory {directory} is not searchable"
        if real is None:
            return None
        if not self._allows(real, uid, groups, 0o4):
            return f"not readable by systemd-timesync: {path} is mode {self.meta[real][0]:04o}"
        return None

    def _allows(self, path: str, uid: int, groups: tuple[int, ...], bit: int) -> bool:
        mode, owner, group = self.meta[path]
        if owner == uid:
            return bool((mode >> 6) & bit)
        if group in groups:
            return bool((mode >> 3) & bit)
        return bool(mode & bit)


def _model(case: dict):
    tree = Tree(case)
    config, complete = timesyncd_conf.parse(Reader(tree.snapshot()), VERSION, run_user_access=tree.daemon_access)
    return config, complete


@pytest.mark.parametrize("case", _load(), ids=lambda c: c["name"])
def test_model_agrees_with_the_recorded_daemon(case):
    config, complete = _model(case)
    observed = case["observed"]
    assert complete
    assert [s for s, _ in config.servers("NTP")[0]] == observed["system_servers"]
    assert config.fallback_servers() == observed["fallback_servers"]
    assert config.effective_usec("RootDistanceMaxSec") == observed["root_distance_max_usec"]
    assert config.effective_usec("PollIntervalMinSec") == observed["poll_interval_min_usec"]
    assert config.effective_usec("PollIntervalMaxSec") == observed["poll_interval_max_usec"]
    assert config.warnings == observed["warnings"]


def test_the_corpus_covers_what_the_model_claims():
    names = " ".join(c["name"] for c in _load())
    for topic in (
        "cannot read",
        "cannot list",
        "dangling",
        "/dev/null",
        "UTF-8",
        "1 MiB",
        "continu",
        "Servers=",
        "FallbackNTP",
        "infinity",
        "section header",
        "byte order mark",
        "CR",
        "NUL",
        "PollIntervalMinSec",
        "symlink to the /usr/lib one",
    ):
        assert topic in names, topic


def test_run_user_access_decides_what_is_read():
    """Without the daemon's account the audit's own view is used; with it, a file the account cannot
    read stops the parse there and is reported as skipped, not as unreadable."""
    case = {
        "files": {
            "/etc/systemd/timesyncd.conf.d/10-a.conf": "[Time]\nNTP=a.example\n",
            "/etc/systemd/timesyncd.conf.d/20-b.conf": {"content": "[Time]\nNTP=b.example\n", "mode": "0600"},
            "/etc/systemd/timesyncd.conf.d/30-c.conf": "[Time]\nNTP=c.example\n",
        }
    }
    tree = Tree(case)
    as_root, _ = timesyncd_conf.parse(Reader(tree.snapshot()), VERSION)
    assert [s for s, _ in as_root.servers()[0]] == ["a.example", "b.example", "c.example"]
    config, _ = timesyncd_conf.parse(Reader(tree.snapshot()), VERSION, run_user_access=tree.daemon_access)
    assert [s for s, _ in config.servers()[0]] == ["a.example"]
    assert config.unreadable == []
    assert [p for p, _ in config.skipped] == [
        "/etc/systemd/timesyncd.conf.d/20-b.conf",
        "/etc/systemd/timesyncd.conf.d/30-c.conf",
    ]
    assert config.stopped.startswith("/etc/systemd/timesyncd.conf.d/20-b.conf")
    assert any("stops reading its configuration" in note for note in config.ignored)


def test_denied_is_could_not_check_never_missing():
    """A main file or drop-in the audit cannot even stat (a directory on its path is not searchable
    by the auditing user) is unreadable, whatever the daemon's account."""
    tree = Tree({"files": {"/etc/systemd/timesyncd.conf.d/10-a.conf": "[Time]\nNTP=a.example\n"}})
    snap = tree.snapshot()
    snap.files["/etc/systemd/timesyncd.conf"] = FileRecord("/etc/systemd/timesyncd.conf", "denied")
    config, _ = timesyncd_conf.parse(Reader(snap), VERSION)
    assert config.unreadable == ["/etc/systemd/timesyncd.conf"]
    config, _ = timesyncd_conf.parse(Reader(snap), VERSION, run_user_access=lambda path: None)
    assert config.unreadable == ["/etc/systemd/timesyncd.conf"]
    assert [s for s, _ in config.servers()[0]] == ["a.example"]


def test_the_main_file_is_opened_even_where_it_does_not_exist():
    """fopen() fails with EACCES, not ENOENT, when systemd-timesync cannot search /etc/systemd: the
    parse stops before any drop-in, whether or not timesyncd.conf exists."""
    tree = Tree(
        {
            "files": {
                "/etc/systemd/timesyncd.conf": None,
                "/etc/systemd": {"directory": True, "mode": "0700"},
                "/run/systemd/timesyncd.conf.d/10-a.conf": "[Time]\nNTP=a.example\n",
            }
        }
    )
    config, _ = timesyncd_conf.parse(Reader(tree.snapshot()), VERSION, run_user_access=tree.daemon_access)
    assert config.servers()[0] == []
    assert config.warnings == [
        "error: Failed to open configuration file '/etc/systemd/timesyncd.conf': Permission denied",
        "warning: Failed to parse configuration file: Permission denied",
    ]
    assert config.skipped[-1] == (
        "/run/systemd/timesyncd.conf.d/10-a.conf",
        "not read: timesyncd stopped at /etc/systemd/timesyncd.conf: systemd-timesync "
        "cannot open it (not readable by systemd-timesync: directory /etc/systemd is "
        "not searchable)",
    )


@pytest.mark.parametrize(
    "text, usec",
    [
        ("5", 5_000_000),
        ("5s", 5_000_000),
        ("500ms", 500_000),
        ("1min 30s", 90_000_000),
        ("2m", 120_000_000),
        ("1.5min", 90_000_000),
        (" 7 ", 7_000_000),
        ("\v5", 5_000_000),
        ("1y", 31_557_600_000_000),
        ("584541y", 584541 * 31_557_600_000_000),
        ("infinity", timesyncd_conf.USEC_INFINITY),
        ("infinity ", timesyncd_conf.USEC_INFINITY),
        ("1.5ms", 1500),
        ("0.0000019s", 1),
        ("1 2", 3_000_000),
    ],
)
def test_parse_timespan_usec(text, usec):
    assert timesyncd_conf.parse_timespan_usec(text) == usec


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "5x",
        "-1",
        "-0",
        "+.5",
        "3.",
        "3.s",
        "1.2.3",
        "infinitys",
        "5 x",
        "99999999999999999999",
        "584542y",
        "18446744073709s",
        "s",
        "0x10",
        ".",
        "+-5",
    ],
)
def test_parse_timespan_refuses(text):
    with pytest.raises(ValueError):
        timesyncd_conf.parse_timespan_usec(text)


@pytest.mark.parametrize(
    "word, valid",
    [
        ("pool.ntp.org", True),
        ("pool.ntp.org.", True),
        (".", True),
        ("a_b", True),
        ("*", True),
        ("a b", True),
        ('"q"', True),
        ("caf\u00e9.example", True),
        ("::1", True),
        ("192.0.2.1", True),
        ("a\\.b", True),
        ("a\\065b", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("a..b", False),
        (".a", False),
        ("a..", False),
        ("", False),
        ("a\\", False),
        ("a\\x", False),
        ("a\\256", False),
        ("ctl\x01", False),
        ("del\x7f", False),
        (".".join(["a" * 63] * 3 + ["b" * 61]), True),
        (".".join(["a" * 63] * 3 + ["b" * 62]), False),
        (".".join(["a" * 63] * 3 + ["b" * 46 + "\u00e9" * 3]), False),  # re-escaped: each byte of é is \DDD
    ],
)
def test_valid_server(word, valid):
    assert timesyncd_conf.valid_server(word) is valid
