"""The gather script, run by a real /bin/sh on a temporary tree, and the round-trip bound."""

import os
import shutil
import subprocess

import pytest
from support import recorded_host, run_rule

from timesync_audit import collector
from timesync_audit.gather import script
from timesync_audit.gather.snapshot import Request

KEY_LINE = "1 SHA256 HEX:00112233445566778899AABBCCDDEEFF"


def run_sh(request: Request, secrets=()):
    marker = script.new_marker()
    text = script.render(request, marker, secrets)
    out = subprocess.run(["/bin/sh", "-s"], input=text.encode(), capture_output=True, timeout=30)
    return out.stdout.decode("utf-8", "surrogateescape"), script.parse(out.stdout, marker, request)


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "main.conf").write_text("server a iburst\nconfdir %s/conf.d\n" % tmp_path)
    (tmp_path / "conf.d" / "10 spaced name.conf").write_text("port 0")  # no final newline
    (tmp_path / "conf.d" / "20.conf").write_text("@@TSA-forged BEGIN\n")
    (tmp_path / "conf.d" / "chrony.keys").write_text(KEY_LINE + "\n")
    (tmp_path / "conf.d" / "secret.conf").write_text(KEY_LINE + "\n")
    (tmp_path / "keys").write_text(KEY_LINE + "\n")
    os.chmod(tmp_path / "keys", 0o640)
    return tmp_path


def test_files_globs_stats_and_commands_round_trip(tree):
    request = Request(
        files=(f"{tree}/main.conf", f"{tree}/absent"),
        globs=(f"{tree}/conf.d/*.conf",),
        stats=(f"{tree}/keys",),
        commands=(("echo", "printf 'a\\nb'; exit 3"),),
    )
    _, snap = run_sh(request)
    assert snap.files[f"{tree}/main.conf"].content.startswith("server a iburst\n")
    assert snap.files[f"{tree}/absent"].state == "missing"
    assert snap.files[f"{tree}/conf.d/10 spaced name.conf"].content == "port 0"
    assert snap.files[f"{tree}/conf.d/20.conf"].content == "@@TSA-forged BEGIN\n"
    assert f"{tree}/conf.d/10 spaced name.conf" in snap.globs[f"{tree}/conf.d/*.conf"]
    key = snap.stats[f"{tree}/keys"]
    assert key.content is None and key.stat.mode == 0o640 and key.stat.uid == os.getuid()
    assert snap.commands["echo"].stdout == "a\nb" and snap.commands["echo"].rc == 3


def test_key_material_never_leaves_the_host(tree):
    request = Request(files=(f"{tree}/keys", f"{tree}/conf.d/chrony.keys"), globs=(f"{tree}/conf.d/*",))
    request = request.without_secrets((f"{tree}/keys", f"{tree}/conf.d/secret.conf"))
    raw, snap = run_sh(request, (f"{tree}/conf.d/secret.conf",))
    assert KEY_LINE not in raw
    assert snap.stats[f"{tree}/keys"].stat is not None


def test_glob_matching_nothing_is_empty(tree):
    _, snap = run_sh(Request(globs=(f"{tree}/nowhere/*.conf",)))
    assert snap.globs[f"{tree}/nowhere/*.conf"] == ()


def test_output_cut_short_is_a_protocol_error(tree):
    marker = script.new_marker()
    with pytest.raises(script.ProtocolError):
        script.parse(f"{marker} BEGIN\n{marker} FILE ok|0|0|root|root|644|regular file||/x\nabc", marker)
    with pytest.raises(script.ProtocolError):
        script.parse("sh: 1: Syntax error\n", marker)


def test_includes_outside_usual_places_stay_within_bounded_round_trips():
    host = recorded_host(
        "debian12-chrony",
        files={
            "/etc/chrony/chrony.conf": {"append": "include /opt/site/chrony/*.conf\n"},
            "/opt/site/chrony/a.conf": "confdir /srv/chrony/d1 /srv/chrony/d2\nsourcedir /srv/chrony/src\n",
            "/srv/chrony/d1/x.conf": "include /srv/deeper/y.conf\n",
            "/srv/deeper/y.conf": "port 0\n",
            "/srv/chrony/src/s.sources": "server b iburst\n",
        },
    )
    gathered = collector.collect(host.execute)
    assert gathered.round_trips <= 4 and host.round_trips == gathered.round_trips
    assert gathered.chrony.config.last("port").line.where == "/srv/deeper/y.conf:1"
    assert [s.host for s in gathered.chrony.config.sources][-1] == "b"


def test_stock_host_needs_one_round_trip():
    host = recorded_host("debian12-chrony")
    collector.collect(host.execute)
    assert host.round_trips == 1


def test_nesting_beyond_the_bound_is_an_error_not_a_partial_verdict():
    files = {"/etc/chrony/chrony.conf": {"append": "include /n1/*.conf\n"}}
    for level in range(1, 6):
        files[f"/n{level}/a.conf"] = f"include /n{level + 1}/*.conf\n"
    files["/n6/a.conf"] = "port 0\n"
    gathered = collector.collect(recorded_host("debian12-chrony", files=files).execute)
    assert gathered.round_trips == collector.MAX_ROUNDS
    assert any("nested deeper" in p for p in gathered.problems)


def test_stat_glob_never_fetches_key_directory_contents(tree):
    """An Autokey keysdir is expanded with stat only: no file under it is ever read, whatever its name."""
    crypto = tree / "crypto"
    crypto.mkdir()
    (crypto / "ntpkey_RSAhost_h.3913458011").write_text(KEY_LINE + "\n")
    (crypto / "other-secret").write_text("crypto pw s3cret-value\n")
    os.chmod(crypto / "ntpkey_RSAhost_h.3913458011", 0o600)
    pattern = f"{tree}/crypto/*"
    raw, snap = run_sh(Request(stat_globs=(pattern,)))
    assert KEY_LINE not in raw and "s3cret-value" not in raw
    assert snap.globs[pattern] == (f"{tree}/crypto/ntpkey_RSAhost_h.3913458011", f"{tree}/crypto/other-secret")
    for path in snap.globs[pattern]:
        assert path not in snap.files and snap.stats[path].content is None
    assert snap.stats[f"{tree}/crypto/ntpkey_RSAhost_h.3913458011"].stat.mode == 0o600


def test_ntpd_keys_and_autokey_password_never_kept():
    """Recorded RHEL 7 Autokey host: key files are stat'ed, the `crypto pw` value is redacted
    even in the gathered snapshot, and gathering stays within two round trips."""
    host = recorded_host(
        "rhel7-ntp",
        files={
            "/etc/ntp/crypto/ntpkey_host_rhel7": {"content": KEY_LINE + "\n", "mode": "0600"},
            "/etc/ntp/keys": {"content": KEY_LINE + "\n", "mode": "0600"},
        },
    )
    gathered = collector.collect(host.execute)
    snap = gathered.snapshot
    assert gathered.round_trips <= 2
    for record in list(snap.files.values()) + list(snap.stats.values()):
        assert KEY_LINE not in (record.content or "") and "Autokey-Secret-7f3a" not in (record.content or "")
    assert snap.stats["/etc/ntp/crypto/ntpkey_host_rhel7"].content is None
    assert "/etc/ntp/keys" not in snap.files
    assert gathered.ntpd.starts[0].secret_files[0].line.text == "crypto pw <redacted>"


def run_sh_as_nobody(request: Request):
    marker = script.new_marker()
    text = script.render(request, marker, ())
    out = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-s"],
        input=text.encode(),
        capture_output=True,
        timeout=30,
    )
    return script.parse(out.stdout, marker, request)


@pytest.fixture
def private_tree():
    import pathlib
    import tempfile

    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="tsa-gather-", dir="/tmp"))  # /tmp: searchable by all
    os.chmod(tmp_path, 0o755)
    yield from _private(tmp_path)
    shutil.rmtree(tmp_path)


def _private(tmp_path):
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "a.conf").write_text("port 0\n")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "b.conf").write_text("port 0\n")
    (tmp_path / "private" / "sub").mkdir()
    os.chmod(tmp_path / "private", 0o700)
    (tmp_path / "listless").mkdir()
    (tmp_path / "listless" / "c.conf").write_text("port 0\n")
    os.chmod(tmp_path / "listless", 0o711)  # searchable, not listable
    yield tmp_path


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the script as another user")
def test_a_file_behind_a_directory_the_auditor_cannot_search_is_denied_not_missing(private_tree):
    t = private_tree
    snap = run_sh_as_nobody(
        Request(
            files=(f"{t}/private/b.conf", f"{t}/private/sub/x.conf", f"{t}/open/none.conf"),
            stats=(f"{t}/private/b.conf",),
        )
    )
    for path in (f"{t}/private/b.conf", f"{t}/private/sub/x.conf"):
        record = snap.files[path]
        assert record.state == "denied" and record.blocked_by == f"{t}/private" and not record.exists
    assert snap.stats[f"{t}/private/b.conf"].state == "denied"
    assert snap.files[f"{t}/open/none.conf"].state == "missing"  # a searchable directory: really missing


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the script as another user")
def test_a_glob_in_a_directory_the_auditor_cannot_list_is_denied(private_tree):
    t = private_tree
    globs = (f"{t}/private/*.conf", f"{t}/listless/*.conf", f"{t}/open/*.conf", f"{t}/nowhere/*.conf")
    snap = run_sh_as_nobody(Request(globs=globs))
    assert snap.denied_globs == {f"{t}/private/*.conf": f"{t}/private", f"{t}/listless/*.conf": f"{t}/listless"}
    assert snap.globs[f"{t}/open/*.conf"] == (f"{t}/open/a.conf",)
    assert snap.globs[f"{t}/nowhere/*.conf"] == ()
    # as root, the same tree holds no secret from the auditor
    _, root_snap = run_sh(Request(globs=globs))
    assert root_snap.denied_globs == {} and root_snap.globs[f"{t}/private/*.conf"] == (f"{t}/private/b.conf",)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the script as another user")
def test_processes_carry_their_pid_namespace():
    from timesync_audit.facts import host

    out = subprocess.run(["/bin/sh", "-c", host._PROCESSES_SH], capture_output=True, text=True, timeout=30)
    for line in out.stdout.splitlines():
        assert line.split("\t")[-1] in ("own", "other", "unknown")


def test_a_configuration_too_long_to_parse_is_could_not_check_not_a_memory_bill():
    """A 440,000-line chrony.conf cost 1.2 GB of controller memory; past MAX_LINES nothing is parsed."""
    import resource

    from support import run_rule

    big = "".join(f"server ntp{i}.example.com iburst maxpoll 10\n" for i in range(collector.MAX_LINES + 10))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = run_rule("chronyd_client_only", recorded_host("debian12-chrony", {"/etc/chrony/conf.d/big.conf": big}))
    assert (
        outcome.status == "error"
        and f"more than the audit parses for one host ({collector.MAX_LINES})" in outcome.message
    )
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB: far below a parse
    small = "".join(f"server ntp{i}.example.com iburst maxpoll 10\n" for i in range(100))
    assert (
        run_rule("chronyd_client_only", recorded_host("debian12-chrony", {"/etc/chrony/conf.d/big.conf": small})).status
        == "failed"
    )


def test_long_lines_under_the_line_bound_are_bounded_by_bytes():
    from support import run_rule

    line = "server ntp.example.com iburst maxpoll 10 " + "minpoll 6 " * 190 + "\n"  # about 2 kB, valid
    big = {f"/etc/chrony/conf.d/big{i}.conf": line * 1100 for i in range(4)}  # 8.8 MB, 4,400 lines
    outcome = run_rule("chronyd_client_only", recorded_host("debian12-chrony", big))
    assert outcome.status == "error" and "bytes, more than the audit parses for one host" in outcome.message


def test_a_trust_anchor_and_the_directories_above_it_come_in_one_round_trip():
    """chronyd's user must search every directory above an ntstrustedcerts file: they are asked
    for with the file, not one round trip later."""
    host = recorded_host(
        "debian12-chrony",
        files={
            "/etc/chrony/chrony.conf": {"append": "ntstrustedcerts /etc/chrony/site/ca.crt\n"},
            "/etc/chrony/site/ca.crt": "a certificate",
            "/etc/chrony/site": {"kind": "directory", "mode": "0700"},
        },
    )
    gathered = collector.collect(host.execute)
    assert host.round_trips == 2  # the configuration names the file: it cannot be asked for sooner
    (anchor,) = gathered.chrony.starts[0].trust_anchors
    assert (
        anchor.unreadable_by_user
        == "directory /etc/chrony/site is root:root 0700, no search permission: not readable by _chrony"
    )


def batched_and_alone(request: Request, tool: str, step: str, tmp_path_factory):
    """The round's answer and how many times it ran `tool`, then the same for the round without
    its batch call `step`, where every path goes its own way: (marker, answer, calls, answer, calls)."""
    bindir = tmp_path_factory.mktemp("bin")
    log = bindir / f"{tool}.log"
    (bindir / tool).write_text(f'#!/bin/sh\necho x >> {log}\nexec {shutil.which(tool)} "$@"\n')
    (bindir / tool).chmod(0o755)
    marker = script.new_marker()
    text = script.render(request, marker).replace("PATH=/usr/sbin:", f"PATH={bindir}:/usr/sbin:", 1)
    without = text.replace(f"\n{step} ", "\n: ", 1)
    assert without != text
    answers = []
    for variant in (text, without):
        log.write_text("")
        out = subprocess.run(["/bin/sh", "-s"], input=variant.encode(), capture_output=True, timeout=30).stdout
        answers += [out, len(log.read_text().splitlines())]
    return (marker, *answers)


def test_paths_asked_for_by_name_are_stated_by_one_process(tree, tmp_path_factory):
    """One stat for every path a round names and every file its globs match; the frames are those
    of one stat per path, for files, stats, links, odd names and missing paths alike."""
    os.symlink(tree / "keys", tree / "link")
    os.symlink(tree / "nowhere", tree / "dangling")
    (tree / "a|pipe").write_text("x\n")
    (tree / "new\nline").write_text("y\n")
    (tree / "sub").mkdir()
    (tree / "sub" / "f").write_text("z\n")
    named = ("main.conf", "absent", "link", "dangling", "a|pipe", "new\nline", "sub/f", "keys", "conf.d")
    request = Request(
        files=tuple(f"{tree}/{n}" for n in named),
        stats=tuple(f"{tree}/{n}" for n in named),
        globs=(f"{tree}/conf.d/*.conf",),
    )
    marker, batched, calls, alone, alone_calls = batched_and_alone(request, "stat", "prestat", tmp_path_factory)
    assert batched == alone  # the same frames, byte for byte
    snap = script.parse(batched, marker, request)
    assert snap.files[f"{tree}/new\nline"].content == "y\n"
    assert snap.files[f"{tree}/a|pipe"].content == "x\n"
    assert snap.stats[f"{tree}/link"].stat.mode == 0o640
    # the batch (the glob's 3 matches too), the two names it cannot carry (twice each: a file and a stat)
    assert calls == 1 + 4, batched.decode("utf-8", "replace")
    assert alone_calls > calls


def test_the_files_a_round_sends_are_checked_for_key_material_by_one_process(tree, tmp_path_factory):
    """One grep for every file a round sends (named or matched by a glob); a name holding a newline
    is checked alone. The frames are those of one grep per file."""
    (tree / "new\nline").write_text(KEY_LINE + "\n")
    request = Request(
        files=(f"{tree}/main.conf", f"{tree}/keys", f"{tree}/new\nline"), globs=(f"{tree}/conf.d/*.conf",)
    )
    marker, batched, calls, alone, alone_calls = batched_and_alone(request, "grep", "prekey", tmp_path_factory)
    assert batched == alone
    snap = script.parse(batched, marker, request)
    assert [p for p, r in snap.files.items() if r.withheld] == [
        f"{tree}/keys",
        f"{tree}/new\nline",
        f"{tree}/conf.d/secret.conf",
    ]
    assert calls == 1 + 1 and alone_calls == 6  # the batch and the name it cannot carry; one per file


def test_a_link_to_nothing_is_missing_as_chronyd_opens_it(tree):
    """chronyd's confdir glob lists a dangling link and opening it fails (ENOENT): the frames
    say missing, with the link's target, not a malformed answer."""
    os.symlink(tree / "gone.conf", tree / "conf.d" / "30.conf")
    request = Request(globs=(f"{tree}/conf.d/*.conf",), stats=(f"{tree}/conf.d/30.conf",))
    _, snap = run_sh(request)
    assert f"{tree}/conf.d/30.conf" in snap.globs[f"{tree}/conf.d/*.conf"]
    for record in (snap.files[f"{tree}/conf.d/30.conf"], snap.stats[f"{tree}/conf.d/30.conf"]):
        assert record.state == "missing" and record.link_target == f"{tree}/gone.conf"


def test_the_facts_are_built_once_per_round_trip(monkeypatch):
    """Parsing a host is most of the controller's work per host: the facts of the last round's
    snapshot are the facts, not built again."""
    builds = []
    real = collector._build
    monkeypatch.setattr(collector, "_build", lambda snapshot: builds.append(1) or real(snapshot))
    stock = recorded_host("debian12-chrony")
    collector.collect(stock.execute)
    assert (stock.round_trips, len(builds)) == (1, 1)
    builds.clear()
    anchored = recorded_host(
        "debian12-chrony", files={"/etc/chrony/chrony.conf": {"append": "ntstrustedcerts /etc/chrony/ca.crt\n"}}
    )
    gathered = collector.collect(anchored.execute)
    assert (anchored.round_trips, len(builds)) == (2, 2)
    assert gathered.chrony.starts[0].trust_anchors[0].path == "/etc/chrony/ca.crt"


@pytest.mark.parametrize(
    "rule_id", ["chronyd_run_as_chrony_user", "chronyd_specify_remote_server", "chronyd_sync_clock"]
)
def test_a_dangling_confdir_entry_fails_rules_that_pass_without_it(rule_id):
    """chronyd stops at a conf.d link to nothing: every configuration rule that passes on the
    stock host fails with chronyd's own words, none is could-not-check."""
    assert run_rule(rule_id, recorded_host("debian12-chrony")).status == "passed"
    dangling = {"/etc/chrony/conf.d/30.conf": {"link": "/etc/chrony/gone.conf", "dangling": True}}
    outcome = run_rule(rule_id, recorded_host("debian12-chrony", files=dangling))
    assert outcome.status == "failed"
    assert "Could not open /etc/chrony/conf.d/30.conf : No such file or directory" in outcome.message
