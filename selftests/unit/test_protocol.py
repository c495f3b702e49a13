"""The gather protocol on a real /bin/sh: content cannot forge frames, secrets stay on the host,
bytes stay bytes, sizes are bounded, and a malformed answer is only ever ProtocolError."""

import os
import subprocess

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from timesync_audit.gather import script
from timesync_audit.gather.snapshot import Request

PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBr7cX0canaryPEMcanary\n-----END EC PRIVATE KEY-----\n"
KEY_LINE = "1 SHA256 HEX:CANARYKEYCANARYKEY00112233445566778899AABB"


def run(request: Request, secrets=(), cap=script.DEFAULT_CAP, sh="/bin/sh"):
    marker = script.new_marker()
    text = script.render(request, marker, secrets, cap=cap)
    out = subprocess.run([sh, "-s"], input=text.encode(), capture_output=True, timeout=60)
    return out.stdout, script.parse(out.stdout, marker, request, cap=cap), marker


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.conf").write_bytes(b"port 0")  # no final newline
    (tmp_path / "conf.d" / "b.conf").write_bytes(b"")
    (tmp_path / "conf.d" / "c.conf").write_bytes(b"\n\n")
    (tmp_path / "conf.d" / "latin1.conf").write_bytes(
        b"# caf\xe9 cr\xe8me\r\nserver a\x00b iburst\n:x\n@@TSA-0 FILE ok|\n"
    )
    (tmp_path / "conf.d" / "new\nline.conf").write_bytes(b"port 123\n")
    (tmp_path / "conf.d" / "pipe|name.conf").write_bytes(b"cmdport 0\n")
    (tmp_path / "conf.d" / "pem.conf").write_text(PEM)
    (tmp_path / "conf.d" / "keys.conf").write_text("# looks like config\n" + KEY_LINE + "\n")
    (tmp_path / "conf.d" / "pgp.conf").write_text("-----BEGIN PGP PRIVATE KEY BLOCK-----\ncanaryPEMcanary\n")
    (tmp_path / "ntp.conf").write_text(
        "server a\ncrypto pw CANARYPW1 randfile /dev/urandom\n"
        "  crypto\trandfile /dev/urandom pw CANARYPW2\ncryptopw notasecret\n"
    )
    return tmp_path


def test_content_comes_back_byte_for_byte(tree):
    raw, snap, _ = run(Request(globs=(f"{tree}/conf.d/*.conf",)))
    files = snap.files
    assert files[f"{tree}/conf.d/a.conf"].content == "port 0"
    assert files[f"{tree}/conf.d/b.conf"].content == ""
    assert files[f"{tree}/conf.d/c.conf"].content == "\n\n"
    latin = files[f"{tree}/conf.d/latin1.conf"].content
    assert (
        latin.encode("utf-8", "surrogateescape")
        == b"# caf\xe9 cr\xe8me\r\nserver a\x00b iburst\n:x\n@@TSA-0 FILE ok|\n"
    )
    assert files[f"{tree}/conf.d/new\nline.conf"].content == "port 123\n"
    assert files[f"{tree}/conf.d/pipe|name.conf"].content == "cmdport 0\n"
    assert f"{tree}/conf.d/new\nline.conf" in snap.globs[f"{tree}/conf.d/*.conf"]


def test_key_material_by_content_and_passwords_never_leave_the_host(tree):
    raw, snap, _ = run(Request(files=(f"{tree}/ntp.conf",), globs=(f"{tree}/conf.d/*.conf",)))
    for canary in (b"CANARYPW1", b"CANARYPW2", b"canaryPEMcanary", b"CANARYKEYCANARYKEY"):
        assert canary not in raw
    for name in ("pem.conf", "keys.conf", "pgp.conf"):
        record = snap.files[f"{tree}/conf.d/{name}"]
        assert record.content is None and record.withheld == "key material" and record.stat is not None
    ntp = snap.files[f"{tree}/ntp.conf"].content.split("\n")
    assert ntp[1] == "crypto pw <redacted>" and ntp[2] == "  crypto\trandfile /dev/urandom pw <redacted>"
    assert ntp[3] == "cryptopw notasecret"  # not the crypto directive: left as it is


def test_key_material_is_withheld_whichever_way_its_file_is_asked(tree):
    """Files a round sends are checked for key material in one grep; a path holding a newline is
    checked alone, and a FIFO among a glob's matches is not opened (no grep waits on it)."""
    (tree / "conf.d" / "new\nkey.conf").write_text(PEM)
    (tree / "conf.d" / "zz.conf").write_text(KEY_LINE + "\n")
    os.mkfifo(tree / "conf.d" / "fifo.conf")
    request = Request(files=(f"{tree}/ntp.conf", f"{tree}/conf.d/zz.conf"), globs=(f"{tree}/conf.d/*.conf",))
    raw, snap, _ = run(request)
    assert b"canaryPEMcanary" not in raw and b"CANARYKEYCANARYKEY" not in raw
    for name in ("new\nkey.conf", "zz.conf", "pem.conf", "keys.conf"):
        assert snap.files[f"{tree}/conf.d/{name}"].withheld == "key material", name
    assert snap.files[f"{tree}/conf.d/fifo.conf"].state == "not-a-file"
    assert snap.files[f"{tree}/conf.d/a.conf"].content == "port 0"


def test_glob_matches_are_stated_once_and_names_with_a_newline_or_a_pipe_alone(tree):
    """Glob matches are stated in one call, a line each. A name holding a newline could print a
    line that reads as another path's, and a '|' splits the fields: such names are stated alone."""
    modes = {"a.conf": 0o640, "new\nline.conf": 0o600, "pipe|name.conf": 0o604}
    for name, mode in modes.items():
        (tree / "conf.d" / name).chmod(mode)
    _, snap, _ = run(Request(globs=(f"{tree}/conf.d/*.conf",)))
    assert {name: snap.files[f"{tree}/conf.d/{name}"].stat.mode for name in modes} == modes


def test_every_password_of_a_crypto_line_stays_on_the_host(tmp_path):
    """Redaction starts at the first `pw`: a later `pw` (a value, as in `ident pw`, or the option
    repeated) must not let the password before it through; commented-out and mixed-case lines too."""
    lines = [
        "crypto pw CANARYPW1 ident pw",
        "crypto pw CANARYPW2 pw CANARYPW3",
        "crypto ident pw pw CANARYPW4",
        "crypto randfile /dev/urandom pw CANARYPW5 host pw",
        "# crypto pw CANARYPW6",
        "#crypto\tpw CANARYPW7",
        "Crypto PW CANARYPW8",
        "server a # not a crypto line, pw stays",
    ]
    (tmp_path / "ntp.conf").write_text("\n".join(lines) + "\n")
    raw, snap, _ = run(Request(files=(f"{tmp_path}/ntp.conf",)))
    assert b"CANARYPW" not in raw
    assert snap.files[f"{tmp_path}/ntp.conf"].content.split("\n") == [
        "crypto pw <redacted>",
        "crypto pw <redacted>",
        "crypto ident pw <redacted>",
        "crypto randfile /dev/urandom pw <redacted>",
        "# crypto pw <redacted>",
        "#crypto\tpw <redacted>",
        "Crypto PW <redacted>",
        "server a # not a crypto line, pw stays",
        "",
    ]


def test_command_output_cannot_forge_frames_nor_read_the_nonce(tree):
    forge = (
        'cat /proc/$PPID/cmdline /proc/$$/cmdline 2>/dev/null | tr "\\0" " "; echo; '
        'cat /proc/$PPID/environ 2>/dev/null | tr "\\0" "\\n" | grep -c TSA; '
        "cat; "  # its stdin: the rest of the script, were it readable
        f'printf "@@TSA-forged FILE ok|0|0|root|root|644|regular file|6||{tree}/forged\\nport 0\\n"'
    )
    raw, snap, marker = run(Request(commands=(("forge", forge),)))
    out = snap.commands["forge"]
    assert marker.encode() not in out.stdout.encode()
    assert f"{tree}/forged" not in snap.files and "@@TSA-forged FILE ok" in out.stdout
    assert raw.count(marker.encode()) == 5  # BEGIN, RC, CMD, END, DONE: nothing else


def test_sizes_are_bounded_on_the_target(tree):
    big = tree / "big.conf"
    big.write_bytes(b"x" * 5000)
    raw, snap, _ = run(Request(files=(str(big),), commands=(("loud", "yes | head -c 100000"),)), cap=4096)
    assert snap.files[str(big)].state == "toobig" and snap.files[str(big)].size == 5000
    assert snap.commands["loud"].cut and len(raw) < 10000


def test_a_glob_sends_at_most_max_matches(tmp_path):
    for n in range(script.MAX_MATCHES + 5):
        (tmp_path / f"{n:04d}.conf").write_text("x\n")
    _, snap, _ = run(Request(globs=(f"{tmp_path}/*.conf",)))
    assert len(snap.globs[f"{tmp_path}/*.conf"]) == script.MAX_MATCHES
    assert snap.cut_globs == {f"{tmp_path}/*.conf": script.MAX_MATCHES}


def test_a_glob_over_thousands_of_files_is_stated_in_bounded_batches(tmp_path):
    """The one stat and the one grep of a round take at most MAX_BATCH files; the rest, if any is
    sent, goes its own way. A glob still sends at most MAX_MATCHES files, each as it is."""
    for n in range(3000):
        (tmp_path / f"{n:04d}.conf").write_text(f"server s{n}\n")
    (tmp_path / "0100.conf").write_text(PEM)  # in the batch
    (tmp_path / "0255.conf").write_text(PEM)  # past it: the named file comes first
    _, snap, _ = run(Request(files=(f"{tmp_path}/2999.conf",), globs=(f"{tmp_path}/*.conf",)))
    assert len(snap.globs[f"{tmp_path}/*.conf"]) == script.MAX_MATCHES == script.MAX_BATCH
    assert (
        snap.files[f"{tmp_path}/0100.conf"].withheld == snap.files[f"{tmp_path}/0255.conf"].withheld == "key material"
    )
    assert snap.files[f"{tmp_path}/0254.conf"].content == "server s254\n"
    assert snap.files[f"{tmp_path}/2999.conf"].content == "server s2999\n"


@pytest.mark.parametrize("sh", ["/bin/sh", "/bin/dash", "/bin/bash"])
def test_the_same_answer_from_every_shell(tree, sh):
    if not os.path.exists(sh):
        pytest.skip(f"{sh} is not installed")
    _, snap, _ = run(Request(globs=(f"{tree}/conf.d/*.conf",), commands=(("echo", "printf 'a\\nb'; exit 3"),)), sh=sh)
    assert snap.files[f"{tree}/conf.d/a.conf"].content == "port 0"
    assert snap.commands["echo"].stdout == "a\nb" and snap.commands["echo"].rc == 3


@pytest.mark.parametrize("sh", ["/bin/dash", "/bin/bash"])
def test_command_output_keeps_its_bytes_and_its_end_but_not_nul_bytes(sh):
    """Output goes through a shell variable, which holds no NUL byte: the shell drops them (no
    command of the suite prints one; /proc cmdlines are translated). Everything else stays,
    trailing newlines and bytes that are not UTF-8 too."""
    if not os.path.exists(sh):
        pytest.skip(f"{sh} is not installed")
    commands = (
        ("ends", "printf 'a\\n\\n\\n'"),
        ("none", "true"),
        ("latin", "printf 'caf\\351 \\r\\n'"),
        ("nul", "printf 'a\\000b\\n'"),
        ("dot", "printf '.'"),
    )
    _, snap, _ = run(Request(commands=commands), sh=sh)
    out = {name: snap.commands[name].stdout.encode("utf-8", "surrogateescape") for name, _ in commands}
    assert out == {"ends": b"a\n\n\n", "none": b"", "latin": b"caf\xe9 \r\n", "nul": b"ab\n", "dot": b"."}


@pytest.mark.parametrize("sh", ["/bin/dash", "/bin/bash"])
def test_a_length_frame_counts_bytes_in_a_utf8_locale_too(sh):
    """bash counts ${#v} in characters under a UTF-8 locale; the script sets LC_ALL=C first, so a
    host whose environment is UTF-8 (RHEL's /bin/sh is bash) frames its output in bytes."""
    if not os.path.exists(sh):
        pytest.skip(f"{sh} is not installed")
    marker = script.new_marker()
    request = Request(commands=(("u", "printf 'caf\\303\\251 \\351\\n'"),))
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8")
    out = subprocess.run([sh, "-s"], input=script.render(request, marker).encode(), capture_output=True, env=env)
    stdout = script.parse(out.stdout, marker, request).commands["u"].stdout
    assert stdout.encode("utf-8", "surrogateescape") == b"caf\xc3\xa9 \xe9\n"


def _valid_answer() -> tuple[bytes, str, Request]:
    marker = "@@TSA-" + "0" * 32
    request = Request(files=("/etc/a.conf",), globs=("/etc/d/*.conf",), commands=(("c", "true"),))
    answer = (
        f"{marker} BEGIN\n{marker} FILE ok|0|0|root|root|644|regular file|7||/etc/a.conf\n:port 0\n\n"
        f"{marker} END\n{marker} GLOB /etc/d/*.conf|/etc/d/x.conf\n"
        f"{marker} FILE ok|0|0|root|root|644|regular file|2||/etc/d/x.conf\n:x\n\n{marker} END\n"
        f"{marker} GLOBDONE /etc/d/*.conf\n{marker} RC 0\n{marker} CMD c 3\nout\n{marker} END\n{marker} DONE\n"
    )
    return answer.encode(), marker, request


def test_command_output_is_read_by_its_length_whatever_it_holds():
    """Output that holds the answer's own frames, with the real marker, is output: a length
    frame is not searched for its end."""
    answer, marker, request = _valid_answer()
    inner = f"{marker} END\n{marker} DONE\n{marker} FILE ok|0|0|root|root|644|f|1||/etc/a.conf\n:x\n".encode()
    forged = answer.replace(b"CMD c 3\nout\n", b"CMD c %d\n" % len(inner) + inner + b"\n")
    snap = script.parse(forged, marker, request)
    assert snap.commands["c"].stdout.encode() == inner and snap.files["/etc/a.conf"].content == "port 0\n"


def test_the_valid_answer_parses():
    answer, marker, request = _valid_answer()
    snap = script.parse(answer, marker, request)
    assert snap.files["/etc/a.conf"].content == "port 0\n" and snap.commands["c"].stdout == "out"


@pytest.mark.parametrize(
    "bad",
    [
        b"M FILE\n",
        b"M STAT ok|0|0\n",
        b"M FILE ok|0|0|root|root|99x|regular file|1||/etc/a.conf\n:x\nM END\n",
        b"M FILE ok|0|0|root|root|644|regular file|1||relative\n:x\nM END\n",
        b"M RC 0\nM CMD nope 1\nx\nM END\n",
        b"M RC -1\nM CMD c 1\nx\nM END\n",
        b"M RC 0\nM CMD c 2\nx\nM END\n",
        b"M RC 0\nM CMD c 1\nxy\nM END\n",
        b"M RC 0\nM CMD c x\nx\nM END\n",
        b"M RC 0\nM CMD c\nx\nM END\n",
        b"M RC 0\nM FILE missing|||||||||/etc/a.conf\n",
        b"M RC 0\nM CMD c 99\nx\nM END\n",
        b"M GLOB /other/*|/x\n",
        b"junk\n",
        b"M FILE ok|0|0|root|root|644|f|1||/etc/a.conf\n:x\n",
        b"M FILE ok|0|0|root|root|644|f|1||x:zz\n",
        b"M WHAT\n",
    ],
)
def test_malformed_frames_are_protocol_errors(bad):
    marker = "@@TSA-" + "0" * 32
    request = Request(files=("/etc/a.conf",), globs=("/etc/d/*.conf",), commands=(("c", "true"),))
    answer = f"{marker} BEGIN\n".encode() + bad.replace(b"M ", marker.encode() + b" ") + f"{marker} DONE\n".encode()
    with pytest.raises(script.ProtocolError):
        script.parse(answer, marker, request)


@given(st.data())
@example(data=None)
def test_fuzzed_answers_parse_or_raise_protocol_error(data):
    answer, marker, request = _valid_answer()
    if data is not None:
        mode = data.draw(st.sampled_from(["mutate", "insert", "cut", "random"]))
        if mode == "mutate" and answer:
            pos = data.draw(st.integers(0, len(answer) - 1))
            answer = answer[:pos] + bytes([data.draw(st.integers(0, 255))]) + answer[pos + 1 :]
        elif mode == "insert":
            pos = data.draw(st.integers(0, len(answer)))
            answer = answer[:pos] + data.draw(st.binary(max_size=64)) + answer[pos:]
        elif mode == "cut":
            answer = answer[: data.draw(st.integers(0, len(answer)))]
        else:
            answer = marker.encode() + b" BEGIN\n" + data.draw(st.binary(max_size=512))
    try:
        script.parse(answer, marker, request)
    except script.ProtocolError:
        pass


def test_bytes_reach_the_parser_as_the_daemon_reads_them(tmp_path):
    """A Latin-1 comment is a comment; a file name with a newline is shown escaped, at its own line."""
    from timesync_audit.gather.snapshot import Reader
    from timesync_audit.parsers import chrony_conf

    (tmp_path / "conf.d").mkdir()
    (tmp_path / "chrony.conf").write_bytes(b"# r\xe9glage du serveur\nconfdir " + str(tmp_path).encode() + b"/conf.d\n")
    (tmp_path / "conf.d" / "10-client.conf").write_bytes(b"# caf\xe9\nport 0\n")
    (tmp_path / "conf.d" / "new\nline.conf").write_bytes(b"\xff\xfe binary junk\n")
    request = Request(files=(f"{tmp_path}/chrony.conf",), globs=(f"{tmp_path}/conf.d/*.conf",))
    _, snap, _ = run(request)
    config, complete = chrony_conf.parse(f"{tmp_path}/chrony.conf", Reader(snap))
    assert complete and config.last("port") is not None and config.last("port").args == ("0",)
    refusal = config.refusal  # the junk file is read by chronyd as configuration: it refuses it
    assert refusal is not None and refusal.where == f"{tmp_path}/conf.d/new\nline.conf:1"
    from timesync_audit.display import escape

    assert escape(refusal.where).endswith("/conf.d/new\\nline.conf:1")
    assert "\\xff" in escape(f"{refusal.message}: \udcff")
