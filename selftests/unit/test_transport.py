"""The transport: the ssh command line it builds, the bounds it keeps, and the one line a failure
becomes (cause and hint chosen from what ssh, docker and paramiko really print).

The ssh command lines are testinfra's own backends' (nothing connects: `ssh -G` only reads the
configuration). The bounds are measured on local processes. The stderr samples were recorded
from OpenSSH 9.2p1 and docker 27 against containers of the lab's chrony-stock image (addresses
172.31.201.x, a docker network of their own), and the paramiko texts are what the suite printed
for the same hosts; selftests/e2e/test_time_bounds.py replays the changed and unknown host keys
for real.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import threading
import time

import pytest
import testinfra

from timesync_audit.gather import remote, script, transport
from timesync_audit.outcomes import CouldNotCheck

# ------------------------------------------------------------------------------------------------
# ssh's ConnectTimeout: an explicit --connect-timeout wins; else the ssh_config's; else the default


needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="OpenSSH's ssh is not installed")


@pytest.fixture(autouse=True)
def fresh_ssh_answers(monkeypatch):
    monkeypatch.setattr(transport, "_SSH_CONFIGURED", {})


def ssh_backend(spec: str, config_text: str | None, tmp_path, **kwargs):
    config = None
    if config_text is not None:
        config = tmp_path / "ssh_config"
        config.write_text(config_text)
    return testinfra.get_host(spec, ssh_config=str(config) if config else None, **kwargs).backend


def ssh_words(argv: list[str]) -> list[str]:
    assert argv[:2] == ["/bin/sh", "-c"] and argv[2].startswith("exec ")
    return shlex.split(argv[2])[1:]


def connect_options(words: list[str]) -> list[str]:
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w == "-o" and words[i + 1].startswith("ConnectTimeout=")]


def build(backend, connect_timeout: float, explicit: bool):
    limits = transport.Limits(connect_timeout=connect_timeout, connect_timeout_explicit=explicit)
    argv, bound = transport.ssh_argv(backend, "REMOTE", limits)
    return ssh_words(argv), bound


CONFIG_25 = "Host web1\n    ConnectTimeout 25\nHost *\n    User audit\n"


def test_an_explicit_connect_timeout_wins_over_the_ssh_config(tmp_path):
    words, bound = build(ssh_backend("ssh://web1", CONFIG_25, tmp_path), 3, explicit=True)
    # the suite kills ssh at 3 s; ssh's own timeout is a backstop one second later
    assert bound == 3 and connect_options(words) == ["ConnectTimeout=4"]
    assert words[-2:] == ["web1", "REMOTE"] and "-F" in words


@needs_ssh
def test_without_an_explicit_value_the_hosts_ssh_config_timeout_is_the_bound(tmp_path):
    words, bound = build(ssh_backend("ssh://web1", CONFIG_25, tmp_path), 10, explicit=False)
    assert bound == 25 and connect_options(words) == ["ConnectTimeout=26"]
    # testinfra's own -o ConnectTimeout=10 is gone: on the command line it would override the file
    assert "ConnectTimeout=10" not in words


@needs_ssh
def test_a_host_the_ssh_config_sets_no_timeout_for_gets_the_default(tmp_path):
    words, bound = build(ssh_backend("ssh://db1", CONFIG_25, tmp_path), 10, explicit=False)
    assert bound == 10 and connect_options(words) == ["ConnectTimeout=11"]


@needs_ssh
def test_match_blocks_count_as_ssh_counts_them(tmp_path):
    config = "Match user backup\n    ConnectTimeout 40\n"
    assert build(ssh_backend("ssh://backup@web1", config, tmp_path), 10, explicit=False)[1] == 40
    assert build(ssh_backend("ssh://root@web1", config, tmp_path), 10, explicit=False)[1] == 10


@needs_ssh
def test_ssh_extra_args_that_set_connect_timeout_stay_ssh_s(tmp_path):
    backend = ssh_backend("ssh://web1", None, tmp_path, ssh_extra_args="-o ConnectTimeout=7")
    words, bound = build(backend, 3, explicit=True)
    assert bound == 3 and connect_options(words) == ["ConnectTimeout=7"]  # the user's, and only it
    words, bound = build(backend, 10, explicit=False)
    assert bound == 7 and connect_options(words) == ["ConnectTimeout=7"]


def test_where_ssh_cannot_say_its_configuration_applies_and_the_default_bounds_it(tmp_path):
    backend = ssh_backend("ssh://web1", "Host *\n    ConnectTimeout 25\n    NoSuchOption 1\n", tmp_path)
    words, bound = build(backend, 10, explicit=False)  # ssh -G refuses the file: no answer
    assert bound == 10 and connect_options(words) == []


@needs_ssh
def test_ssh_is_asked_once_per_host(tmp_path, monkeypatch):
    asked = []
    real = transport._ask_ssh_g
    monkeypatch.setattr(transport, "_ask_ssh_g", lambda argv: asked.append(argv) or real(argv))
    backend = ssh_backend("ssh://web1", CONFIG_25, tmp_path)
    for _ in range(3):
        build(backend, 10, explicit=False)
    build(ssh_backend("ssh://db1", CONFIG_25, tmp_path), 10, explicit=False)
    assert len(asked) == 2


def test_the_paramiko_bound_follows_the_same_precedence(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text(CONFIG_25)
    backend = testinfra.get_host("paramiko://web1", ssh_config=str(config)).backend
    other = testinfra.get_host("paramiko://db1", ssh_config=str(config)).backend
    assert transport.paramiko_connect_bound(backend, transport.Limits(3, connect_timeout_explicit=True)) == 3
    assert transport.paramiko_connect_bound(backend, transport.Limits(10, connect_timeout_explicit=False)) == 25
    assert transport.paramiko_connect_bound(other, transport.Limits(10, connect_timeout_explicit=False)) == 10


def test_the_control_path_fits_a_unix_socket_whatever_tmpdir_is():
    assert transport.control_base("/tmp") == "/tmp"
    long_tmpdir = "/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T"  # macOS's per-user TMPDIR
    assert transport.control_base(long_tmpdir) == "/tmp"
    assert len("/tmp/tsa-ssh-12345678/cm-") + 40 + 17 <= 104


# ------------------------------------------------------------------------------------------------
# bounds, measured on local processes


def run_local(shell: str, limits: transport.Limits, spent: float = 0.0):
    started = time.monotonic()
    try:
        answer = transport.run_subprocess(["/bin/sh", "-c", shell], b"", limits, limits.connect_timeout, spent)
        return answer, time.monotonic() - started
    except transport.TransportError as exc:
        return exc, time.monotonic() - started


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def ended(pid: int, within: float = 2.0) -> bool:
    """Whether the process is gone (a SIGKILL takes effect when it is next scheduled)."""
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_silence_costs_the_connect_bound():
    error, took = run_local("exec sleep 30", transport.Limits(connect_timeout=0.5, host_timeout=5))
    assert isinstance(error, transport.TransportError)
    assert (error.cause, error.phase) == ("did not answer within 0.5 s", "connect") and 0.45 <= took < 1.5


def test_a_host_that_starts_then_stops_costs_the_host_timeout():
    error, took = run_local("echo started; exec sleep 30", transport.Limits(connect_timeout=0.3, host_timeout=1))
    assert (error.cause, error.phase) == ("did not answer within 1 s", "gather") and 0.95 <= took < 2


def test_the_host_timeout_bounds_all_round_trips_together():
    # 1.5 s of 2 were spent in earlier round trips: this one has 0.5 s, and the bound named is 2 s
    error, took = run_local("echo started; exec sleep 30", transport.Limits(connect_timeout=5, host_timeout=2), 1.5)
    assert (error.cause, error.phase) == ("did not answer within 2 s", "gather") and 0.45 <= took < 1.2


def test_every_process_the_child_started_ends_with_it(tmp_path):
    # a ProxyCommand, or sshpass's ssh: the child's own children, in its process group
    pidfile = tmp_path / "pid"
    error, _ = run_local(f"sleep 30 & echo $! > {pidfile}; wait", transport.Limits(connect_timeout=1))
    assert isinstance(error, transport.TransportError)
    assert ended(int(pidfile.read_text()))
    answer, _ = run_local(f"sleep 30 >/dev/null 2>&1 & echo $! > {pidfile}; echo done", transport.Limits())
    assert answer.stdout == b"done\n" and ended(int(pidfile.read_text()))


def test_an_answer_keeps_its_streams_and_exit_status():
    answer, _ = run_local("cat >/dev/null; echo out; echo err >&2; exit 3", transport.Limits())
    assert (answer.stdout, answer.stderr, answer.rc) == (b"out\n", b"err\n", 3)


# ------------------------------------------------------------------------------------------------
# a session: every round trip of one gather through one remote shell


def shell_pid(session: transport.Session, limits: transport.Limits, spent: float = 0.0) -> int:
    """One round trip that answers the remote shell's pid (`$$` in the command's subshell)."""
    marker = script.new_marker()
    request = script.Request(commands=(("shell", "echo $$"),))
    answer = session.run(script.render(request, marker).encode(), marker, spent)
    assert answer.rc is None  # the round ended at its last frame; the shell waits for the next
    return int(script.parse(answer.stdout, marker, request).commands["shell"].stdout)


def test_the_round_trips_of_a_gather_share_one_remote_shell_which_ends_at_close():
    limits = transport.Limits()
    session = transport.Session(testinfra.get_host("local://").backend, limits)
    pids = {shell_pid(session, limits) for _ in range(3)}
    assert len(pids) == 1 and alive(next(iter(pids)))
    session.close()
    assert ended(next(iter(pids)))


def test_a_later_round_trip_has_what_is_left_of_the_host_timeout_and_close_does_not_wait():
    limits = transport.Limits(connect_timeout=5, host_timeout=2)
    session = transport.Session(testinfra.get_host("local://").backend, limits)
    pid = shell_pid(session, limits)
    marker = script.new_marker()
    hanging = script.render(script.Request(commands=(("hang", "sleep 30"),)), marker).encode()
    started = time.monotonic()
    with pytest.raises(transport.TransportError) as caught:
        session.run(hanging, marker, spent=1.5)
    took = time.monotonic() - started
    assert (caught.value.cause, caught.value.phase) == ("did not answer within 2 s", "gather") and 0.45 <= took < 1.2
    started = time.monotonic()
    session.close()
    assert time.monotonic() - started < 0.5 and ended(pid)


def test_a_shell_that_ends_between_round_trips_gives_an_empty_answer_with_its_exit_status():
    limits = transport.Limits()
    session = transport.Session(testinfra.get_host("local://").backend, limits)
    pid = shell_pid(session, limits)
    os.kill(pid, 15)
    assert ended(pid)
    marker = script.new_marker()
    answer = session.run(script.render(script.Request(files=("/etc/hostname",)), marker).encode(), marker)
    assert answer.stdout == b"" and answer.rc is not None and answer.rc != 0
    session.close()


def test_children_start_while_pytest_rewrites_the_environment(monkeypatch):
    """Gather threads start ssh and docker while pytest's thread sets PYTEST_CURRENT_TEST at every
    test phase. A child that read the process's environ then failed with EFAULT now and then (a
    host reported as could-not-check: "cannot run /bin/sh: Bad address"). Each child gets a
    copy: every start succeeds and sees the environment as it was."""
    monkeypatch.setenv("TSA_SELFTEST_MARK", "kept")
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "x")
    limits = transport.Limits(connect_timeout=10, host_timeout=20)
    stop = threading.Event()
    failures: list[str] = []
    answers: list[bytes] = []

    def starter() -> None:
        while not stop.is_set():
            try:
                answer = transport.run_subprocess(["/bin/sh", "-c", 'printf %s "$TSA_SELFTEST_MARK"'], b"", limits)
                answers.append(answer.stdout)
            except transport.TransportError as exc:
                failures.append(exc.cause)

    threads = [threading.Thread(target=starter) for _ in range(6)]
    for thread in threads:
        thread.start()
    deadline, n = time.monotonic() + 3.0, 0
    try:
        while time.monotonic() < deadline:  # as pytest's runner does, as fast as it can
            n += 1
            os.environ["PYTEST_CURRENT_TEST"] = "tests/t.py::test_x[ssh://h%d] (call)" % (n % 997) * (1 + n % 5)
            if n % 3 == 0:
                del os.environ["PYTEST_CURRENT_TEST"]
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert failures == []
    assert len(answers) > 50 and set(answers) == {b"kept"}


def test_the_host_side_timeout_is_what_is_left_of_the_gather():
    assert "timeout -s KILL 121 /bin/sh -s" in transport.remote_shell(transport.Limits())
    assert "timeout -s KILL 31 /bin/sh -s" in transport.remote_shell(transport.Limits(host_timeout=120), spent=90)


# ------------------------------------------------------------------------------------------------
# cause and hint, from what ssh and docker really print on stderr

CHANGED = (
    b"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
    b"@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n"
    b"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
    b"IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r\n"
    b"Someone could be eavesdropping on you right now (man-in-the-middle attack)!\r\n"
    b"It is also possible that a host key has just been changed.\r\n"
    b"The fingerprint for the ED25519 key sent by the remote host is\n"
    b"SHA256:aDRZ5FDepJGbBqXAytFYkF/zgV1Z4Y09blPEp/NUGB0.\r\n"
    b"Please contact your system administrator.\r\n"
    b"Add correct host key in /tmp/tbx/known_changed to get rid of this message.\r\n"
    b"Offending ED25519 key in /tmp/tbx/known_changed:1\r\n"
    b"  remove with:\r\n"
    b'  ssh-keygen -f "/tmp/tbx/known_changed" -R "172.31.201.10"\r\n'
)
STDERR = {
    # StrictHostKeyChecking yes, a different key in known_hosts
    "changed": CHANGED + b"Host key for 172.31.201.10 has changed and you have requested strict checking.\r\n"
    b"Host key verification failed.\r\n",
    # StrictHostKeyChecking no, a different key in known_hosts, and a key the host refuses
    "changed, then denied": CHANGED + b"Password authentication is disabled to avoid man-in-the-middle attacks.\r\n"
    b"Keyboard-interactive authentication is disabled to avoid man-in-the-middle "
    b"attacks.\r\nroot@172.31.201.10: Permission denied (publickey).\r\n",
    "unknown": b"No ED25519 host key is known for 172.31.201.10 and you have requested strict checking.\r\n"
    b"Host key verification failed.\r\n",
    "denied": b"root@172.31.201.10: Permission denied (publickey).\r\n",
    "added, then denied": b"Warning: Permanently added '172.31.201.10' (ED25519) to the list of known hosts.\r\n"
    b"root@172.31.201.10: Permission denied (publickey).\r\n",
    # ssh's own ConnectTimeout (2 s) against a paused container: the kernel accepts, sshd is silent
    "banner": b"Connection timed out during banner exchange\r\nConnection to 172.31.201.10 port 22 timed out\r\n",
    "tcp timeout": b"ssh: connect to host 172.31.201.99 port 22: Connection timed out\r\n",
    "refused": b"ssh: connect to host 172.31.201.10 port 2222: Connection refused\r\n",
    # a listener that accepts and closes at once
    "closed": b"kex_exchange_identification: Connection closed by remote host\r\nConnection closed by 127.0.0.1 port "
    b"34425\r\n",
    "resolve": b"ssh: Could not resolve hostname no-such-host.invalid: Name or service not known\r\n",
    "docker paused": b"Error response from daemon: Container tbx-a is paused, unpause the container before exec\n",
    "docker missing": b"Error response from daemon: No such container: no-such-container-tbx\n",
    "docker stopped": b"Error response from daemon: Container 4c16bfc8461e55903e2e721dff9db8473086acba480e4f914d965f"
    b"5041f3153d is not running\n",
}
HINT_CHANGED = "the host key changed: check the host, then update known_hosts"
HINT_UNKNOWN = "the host key is not in known_hosts (see --ssh-config)"
HINT_KEY = "check the SSH user and key (--ssh-identity-file, --ssh-config)"
HINT_FROZEN = "the host is frozen, paused, or the network drops packets"
HINT_CLOSED = "the port closed the connection before SSH began: is it sshd's, and is sshd refusing (MaxStartups)?"
EXPECTED = {  # sample: (cause, hint)
    "changed": ("Host key for 172.31.201.10 has changed and you have requested strict checking.", HINT_CHANGED),
    "changed, then denied": (
        "the host key has changed: root@172.31.201.10: Permission denied (publickey).",
        HINT_CHANGED,
    ),
    "unknown": ("No ED25519 host key is known for 172.31.201.10 and you have requested strict checking.", HINT_UNKNOWN),
    "denied": ("root@172.31.201.10: Permission denied (publickey).", HINT_KEY),
    "added, then denied": ("root@172.31.201.10: Permission denied (publickey).", HINT_KEY),
    "banner": ("Connection timed out during banner exchange", HINT_FROZEN),
    "tcp timeout": (
        "ssh: connect to host 172.31.201.99 port 22: Connection timed out",
        "the host did not answer in time: network, firewall, or host down",
    ),
    "refused": (
        "ssh: connect to host 172.31.201.10 port 2222: Connection refused",
        "is sshd running and the port right?",
    ),
    "closed": ("kex_exchange_identification: Connection closed by remote host", HINT_CLOSED),
    "resolve": (
        "ssh: Could not resolve hostname no-such-host.invalid: Name or service not known",
        "check the host name in --hosts or the inventory",
    ),
    "docker paused": (
        "Error response from daemon: Container tbx-a is paused, unpause the container before exec",
        "the container is paused (docker unpause)",
    ),
    "docker missing": (
        "Error response from daemon: No such container: no-such-container-tbx",
        "is the container running? (docker ps)",
    ),
    "docker stopped": (STDERR["docker stopped"].decode().strip(), "is the container running? (docker ps)"),
}


class FakeHost:
    backend = object()


def message_for(
    monkeypatch, stderr: bytes, rc: int = 255, stdout: bytes = b"", host_id: str = "ssh://root@web1"
) -> str:
    """What the suite says of a host whose transport printed `stderr` and nothing on stdout."""
    seen = {}

    def run_script(backend, text, limits, spent=0.0):
        seen["script"] = text.decode()
        return transport.Answer(stdout, stderr(text.decode()) if callable(stderr) else stderr, rc)

    monkeypatch.setattr(transport, "run_script", run_script)
    execute = remote.Executor(FakeHost(), host_id, transport.Limits())
    with pytest.raises(CouldNotCheck) as caught:
        execute(script.Request(files=("/etc/chrony/chrony.conf",)), ())
    return str(caught.value), seen["script"]


@pytest.mark.parametrize("sample", list(EXPECTED))
def test_cause_and_hint_are_chosen_from_all_of_stderr(monkeypatch, sample):
    cause, hint = EXPECTED[sample]
    rc = 1 if sample.startswith("docker") else 255
    message, _ = message_for(monkeypatch, STDERR[sample], rc)
    assert message == f"ssh://root@web1: {cause} (exit status {rc}) ({hint})"


PARAMIKO = {  # what the transport makes of paramiko's errors (recorded through the suite), and the hint
    "the host key of 172.31.201.10 has changed (it is not the one in known_hosts) (connect)": HINT_CHANGED,
    "SSHException: Server '172.31.201.10' not found in known_hosts (connect)": "the host key is not in known_hosts (UserKnownHostsFile in --ssh-config)",
    "AuthenticationException: Authentication failed. (connect)": HINT_KEY,
    "NoValidConnectionsError: [Errno None] Unable to connect to port 2222 on 172.31.201.10 (connect)": "is sshd running and the port right?",
    "gaierror: [Errno -2] Name or service not known (connect)": "check the host name in --hosts or the inventory",
    "SSHException: Error reading SSH protocol banner (connect)": HINT_CLOSED,  # closed at once, not at the bound
    # a frozen host: the session paramiko had is gone
    "the SSH session is closed (No existing session) (connect)": HINT_FROZEN,
    "SSHException: No existing session (connect)": HINT_FROZEN,
    "did not answer within 3 s (connect)": HINT_FROZEN,
    "did not answer within 6 s (gather)": "the host began to answer, then stopped: frozen, overloaded, or a command "
    "hangs on it",
}


@pytest.mark.parametrize("cause", list(PARAMIKO))
def test_paramiko_and_timeout_causes_get_their_hint(cause):
    assert (
        str(remote.could_not_check("paramiko://root@web1", cause))
        == f"paramiko://root@web1: {cause} ({PARAMIKO[cause]})"
    )


# ------------------------------------------------------------------------------------------------
# one short line: the cause's end and the hint survive; the script and the command never appear


def test_a_long_cause_is_cut_in_the_middle_and_keeps_its_end_and_the_hint():
    cause = "ssh: connect to host " + "a-very-long-name." * 30 + "example: Connection refused"
    host = "ssh://auditor@" + "x" * 200 + ":2222"
    message = str(remote.could_not_check(host, cause))
    assert len(message) <= 300
    assert message.endswith("example: Connection refused (is sshd running and the port right?)")
    assert message.startswith("ssh://auditor@x") and "[...]" in message


def test_a_cause_with_control_characters_stays_one_line():
    message = str(remote.could_not_check("ssh://web1", "line one\nline two\r\x1b[31m"))
    assert "\n" not in message and "\r" not in message and "\x1b" not in message


def shell_that_echoes_what_it_got(text: str) -> bytes:
    """A login shell that is not POSIX (fish, csh) repeats the command it could not run, and a
    shell with `set -v` the script: all of it on stderr."""
    command = transport.remote_shell(transport.Limits())
    return (
        f"fish: Unsupported use of '||'. In fish, please use 'COMMAND; or COMMAND'.\n{command}\n        ^\n{text}"
    ).encode()


def test_no_message_carries_the_script_or_the_command(monkeypatch):
    message, text = message_for(monkeypatch, shell_that_echoes_what_it_got, rc=127)
    marker = re.search(r"^M=(\S+)$", text, re.M).group(1)
    command = transport.remote_shell(transport.Limits())
    assert marker not in message and "command -v timeout" not in message and "timeout -s KILL" not in message
    assert not [line for line in text.splitlines() if len(line.strip()) >= 12 and line.strip() in message]
    assert command not in message and len(message) <= 300 and "\n" not in message
    assert (
        message == "ssh://root@web1: fish: Unsupported use of '||'. In fish, please use 'COMMAND; or COMMAND'. "
        "(exit status 127)"
    )


def test_a_shell_that_only_repeats_the_script_is_a_malformed_answer(monkeypatch):
    message, text = message_for(monkeypatch, lambda text: text.encode(), rc=2)
    assert message == "ssh://root@web1: the host's answer is malformed: the gather script printed nothing recognisable"
