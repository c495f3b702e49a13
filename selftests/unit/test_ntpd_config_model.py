"""The ntp.conf model (parsers.ntp_conf, parsers.ntp_restrict) against what the real ntpd did.

selftests/recorded/ntpd-config/cases.yaml records, for each case, the files and command line given
to the real NTPsec 1.2.2 and what it did (selftests/e2e/test_ntpd_config_live.py re-runs them). Each
case is laid out as a recorded host and parsed as the suite parses a live host; the model must agree
with the daemon on:

- whether it starts or exits, and with which message (config.refusal.log is the line ntpd logged);
- the configuration messages it logs (syntax errors with ntpd's own line and column, includefile
  failures and depth, restrict messages), in order;
- the associations it makes (the sources, in order);
- the restriction list it builds (`ntpq -c reslist`): every entry, flags included.

The recording container ran ntpd without DAC_OVERRIDE, so a mode 0000 file or directory was
unreadable to ntpd; here it is unreadable to the auditing user as well (could not check, never
missing).
"""

from __future__ import annotations

import collections
import pathlib
import re

import pytest
import yaml

from timesync_audit.facts.ntpd import parse_argv
from timesync_audit.gather.recorded import RecordedFile, RecordedHost
from timesync_audit.gather.snapshot import Reader, Request, Stat
from timesync_audit.parsers import ntp_conf

CASES = pathlib.Path(__file__).resolve().parents[1] / "recorded" / "ntpd-config" / "cases.yaml"
DOC = yaml.safe_load(CASES.read_text())
DIRECTORY = Stat(0, 0, "root", "root", 0o755, "directory")


def _host(case: dict) -> RecordedHost:
    files: dict[str, RecordedFile] = {}
    for path, spec in list(case["files"].items()) + list(DOC["harness_files"].items()):
        spec = spec if isinstance(spec, dict) else {"content": spec}
        mode = int(spec.get("mode", "0755" if spec.get("dir") else "0644"), 8)
        if spec.get("dir"):
            denied = mode & 0o500 != 0o500
            files[path] = RecordedFile(
                None, Stat(0, 0, "root", "root", mode, "directory"), readable=not denied, searchable=not denied
            )
        else:
            files[path] = RecordedFile(
                spec["content"], Stat(0, 0, "root", "root", mode, "regular file"), readable=mode & 0o400 != 0
            )
    # the gather script's sh globs list directories too: give every directory its own entry
    for path in list(files):
        parent = path.rsplit("/", 1)[0]
        while parent and parent not in files:
            files[parent] = RecordedFile(None, DIRECTORY)
            parent = parent.rsplit("/", 1)[0]
    return RecordedHost(files, {})


def model(case: dict) -> ntp_conf.NtpConfig:
    host = _host(case)
    options = parse_argv(["ntpd"] + case["args"], "ntpsec")
    main = options.get("c", "/etc/ntpsec/ntp.conf")
    snapshot = host.execute(Request(files=(main,)))
    for _ in range(8):
        reader = Reader(snapshot)
        config, complete = ntp_conf.parse(main, reader, "ntpsec", options=options)
        if complete and not reader.needs:
            return config
        snapshot.merge(host.execute(reader.needs))
    raise AssertionError("the model kept asking for files")


def _config_lines(messages: list[str]) -> list[str]:
    return [m for m in messages if m.startswith("CONFIG:")]


def _unpredictable(line: str, config: ntp_conf.NtpConfig) -> bool:
    """ntpd messages the model cannot predict, by design: about files the auditing user cannot
    see either (could not check), and DNS answers (this container had none)."""
    if any(f"'{p}'" in line or f"<{p}>" in line for p in config.unreadable):
        return True
    names = {op.address for op in config.restriction_state.unresolved}
    m = re.search(r"address/host '([^']+)' unusable", line)
    return bool(m and m.group(1) in names)


@pytest.mark.parametrize("case", DOC["cases"], ids=[c["name"] for c in DOC["cases"]])
def test_model_agrees_with_ntpd(case):
    observed = case["observed"]
    config = model(case)
    if config.withheld:
        # a file that looks like key material is never fetched: what ntpd makes of it cannot be
        # checked (the audit says so), and the model does not guess
        assert all(p in case["files"] for p in config.withheld)
        return

    if observed["outcome"] == "exited":
        assert config.refusal is not None, f"ntpd exited ({observed['messages'][-1:]}), the model says it starts"
        assert config.refusal.where and config.refusal.message
        if observed["exit_status"] < 0:  # killed by a signal: ntpd crashed and logged nothing about it
            assert config.refusal.log == "" and "crash" in config.refusal.message
        else:
            assert config.refusal.log in observed["messages"], (config.refusal, observed["messages"])
    else:
        assert config.refusal is None, f"ntpd started, the model says it refuses: {config.refusal}"

    predicted = [m for m in _config_lines(config.log) if not _unpredictable(m, config)]
    logged = [m for m in _config_lines(observed["messages"]) if not _unpredictable(m, config)]
    assert predicted == logged

    if observed.get("peers") is not None:
        refclocks = [p for p in observed["peers"] if re.fullmatch(r"[A-Z]+\(\d+\)", p)]
        network = [p for p in observed["peers"] if p not in refclocks]
        assert [s.host for s in config.sources] == network
        assert len(refclocks) == len(config.all("refclock"))

    if observed.get("reslist") is not None:
        daemon = collections.Counter(
            (e["address"], frozenset(e["flags"])) for e in observed["reslist"] if "interface" not in e["flags"]
        )
        ours = collections.Counter((e.address, e.flags | e.match) for e in config.restriction_state.entries)
        assert ours == daemon
        for family, prefix in (("IPv4", "0.0.0.0/0"), ("IPv6", "::/0")):
            entry = config.default_restrictions[family]
            (flags,) = [
                frozenset(e["flags"])
                for e in observed["reslist"]
                if e["address"] == prefix and "ntpport" not in e["flags"]
            ]
            assert entry.flags == flags, family


def test_every_line_ntpd_rejects_is_kept_with_its_reason_and_never_counts():
    """A rejected server line is no source: it is in invalid_sources, with ntpd's reason."""
    case = next(c for c in DOC["cases"] if c["name"] == "server-bad-value")
    config = model(case)
    assert config.sources == []
    assert [d.line.lineno for d in config.invalid_sources] == [7, 8, 9]
    assert all(d.error and "ntpd ignores this line" in d.error for d in config.invalid_sources)
    assert "invalid value 'bogus' for option 'maxpoll'" in config.invalid_sources[0].error


def test_a_partly_read_line_counts_up_to_the_bad_word():
    case = next(c for c in DOC["cases"] if c["name"] == "server-trailing-word")
    config = model(case)
    (source,) = config.sources
    assert source.options == {"iburst": None}  # `prefer` comes after the bad word
    assert any("keeps the line up to there" in d.message for d in config.diagnostics)


def test_denied_directory_is_could_not_check_never_missing():
    case = next(c for c in DOC["cases"] if c["name"] == "include-denied-dir")
    config = model(case)
    assert "/etc/ntpsec/locked/inc.conf" in config.unreadable
    assert not config.main_missing and config.refusal is None


def test_nts_files_read_after_dropping_root():
    """With `nts enable`, the certificate, key and cookie key file are read as the run user."""
    case = {
        "args": ["-c", "/etc/ntpsec/ntp.conf"],
        "files": {
            "/etc/ntpsec/ntp.conf": "nts enable\nnts key /etc/ntpsec/private/key.pem\n",
            "/etc/ntpsec/cert-chain.pem": "-----BEGIN CERTIFICATE-----\n",
            "/etc/ntpsec/private/key.pem": {"content": "-----BEGIN PRIVATE KEY-----\n", "mode": "0600"},
        },
    }
    host = _host(case)
    reader = Reader(host.execute(Request(files=("/etc/ntpsec/ntp.conf",))))
    for _ in range(4):
        config, complete = ntp_conf.parse("/etc/ntpsec/ntp.conf", reader, "ntpsec")
        if complete:
            break
        reader.snapshot.merge(host.execute(reader.needs))
        reader = Reader(reader.snapshot)
    assert config.refusal is None  # as root
    assert [p for p, _ in config.run_user_files] == [
        "/etc/ntpsec/cert-chain.pem",
        "/etc/ntpsec/private/key.pem",
        "/var/lib/ntpsec/nts-keys",
    ]
    denied = {"/etc/ntpsec/private/key.pem": "mode 0600 root:root"}
    config, _ = ntp_conf.parse("/etc/ntpsec/ntp.conf", reader, "ntpsec", run_user_access=denied.get)
    assert config.refusal.where == "/etc/ntpsec/ntp.conf:2"
    assert config.refusal.log == "NTSs: can't load private key from /etc/ntpsec/private/key.pem"


def _classic(text: str) -> ntp_conf.NtpConfig:
    host = RecordedHost({"/etc/ntp.conf": RecordedFile(text)}, {})
    reader = Reader(host.execute(Request(files=("/etc/ntp.conf",))))
    config, complete = ntp_conf.parse("/etc/ntp.conf", reader, "classic")
    assert complete
    return config


def test_classic_restrictions_from_its_source():
    """Classic ntp 4.2.8 (not run here): no built-in flags, every flag effective, no unrestrict,
    no CIDR, -6 allowed before mask, ippeerlimit."""
    config = _classic(
        "restrict default kod nopeer\nunrestrict default kod\nrestrict -6 :: mask :: ippeerlimit 2 notrap\n"
        "restrict 0.0.0.0/0 ignore\n"
    )
    v4, v6 = config.default_restrictions["IPv4"], config.default_restrictions["IPv6"]
    assert v4.flags == {"kod", "nopeer"} and v6.flags == {"kod", "nopeer", "notrap"}
    assert [d.line.lineno for d in config.rejected] == [2]  # `unrestrict` is no classic keyword
    assert config.restriction_state.ignored[0][1] == "address/host '0.0.0.0/0' unusable"
    assert config.log[:2] == ["line 2 column 0 syntax error", "syntax error in /etc/ntp.conf line 2, column 0"]


def test_classic_refusals_and_secrets():
    """Classic exits on a double only when it underflows to exactly 0 (NTPsec: below 1e-10)."""
    config = _classic("crypto pw Secret-123 randfile /dev/urandom\ntos mindist 1e-310\n")
    assert config.refusal is None
    config = _classic("crypto pw Secret-123\ntos mindist 1e-400\n")
    assert config.refusal.log == "Double too large to represent: 1e-400"
    assert config.refusal.where == "/etc/ntp.conf:2"
    assert "Secret-123" not in repr(config) and config.crypto_pw_lines[0].text == "crypto pw <redacted>"
