"""Run the gather's scripts on one host, bounded in time and bytes: the suite's own transport.

testinfra's backends know how to reach a host (ssh_config, identity files, sudo,
`docker exec -u`, paramiko with the suite's host-key check); the suite runs its
gather scripts through them itself, so that:
- the scripts reach the host on standard input (`/bin/sh -s`), never on a command
  line: nothing a script runs can read it (or its framing nonce) in /proc;
- the round trips of one gather go to one remote shell where the suite starts its
  client (Session): one ssh session or `docker exec` per host, not one per round;
- the answer is bytes, read up to `max_bytes`: past that the transport stops reading
  and closes the channel (the host "answered more than N bytes");
- a host that does not start answering within the connect timeout, or does not finish
  within the host timeout (all round trips of one gather together), costs that time and
  no more: the suite kills its own child process with every process it started (ssh's
  ProxyCommand, sshpass's ssh) or closes the paramiko connection. On the target,
  `timeout` (where it exists) ends the script at the same bound, so nothing is left
  behind;
- nothing here logs or raises the script, the command line or what the host printed.
"""

from __future__ import annotations

import atexit
import dataclasses
import math
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import IO, Protocol

from . import hostkeys

KIB, MIB = 1024, 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    connect_timeout: float = 10.0  # until the host's first byte
    host_timeout: float = 120.0  # the whole answer
    max_bytes: int = 16 * MIB  # the whole answer
    #: False when nobody set the connect timeout (the built-in default): an ssh_config
    #: ConnectTimeout for the host is then the bound, as ssh itself would apply it
    connect_timeout_explicit: bool = True


@dataclasses.dataclass(frozen=True)
class Answer:
    stdout: bytes
    stderr: bytes
    rc: int | None  # None: the remote shell goes on (a session's round trip ended at its last frame)


class TransportError(Exception):
    """The host could not be asked or did not answer; `phase` is connect, gather or size."""

    def __init__(self, cause: str, phase: str = "gather", partial: bytes = b""):
        super().__init__(cause)
        self.cause = cause
        self.phase = phase
        self.partial = partial  # what the host had sent (to name the file or command that overflowed)


def child_environment() -> dict[str, str]:
    """The environment a child of a gather thread gets, as a copy of its own. Without one, the
    child's execve reads the C library's `environ` while pytest's thread rewrites it
    (PYTEST_CURRENT_TEST, at every test phase): under vfork, which subprocess uses, the child then
    fails with EFAULT ("Bad address") or gets whatever the freed memory holds."""
    while True:
        try:
            return dict(os.environ)
        except (KeyError, RuntimeError):  # a variable went while it was copied: copy it again
            continue


def remote_shell(limits: Limits, sudo: bool = False, sudo_user: str | None = None, spent: float = 0.0) -> str:
    """The command the host runs: a shell reading the script from stdin, bounded by `timeout`
    where the host has it (a frozen remote side must not keep running after we give up)."""
    seconds = math.ceil(max(0.0, limits.host_timeout - spent)) + 1
    shell = "/bin/sh -s"
    if sudo:
        shell = f"sudo -n -u {shlex.quote(sudo_user)} /bin/sh -s" if sudo_user else "sudo -n /bin/sh -s"
    return f"if command -v timeout >/dev/null 2>&1; then exec timeout -s KILL {seconds} {shell}; else exec {shell}; fi"


_CONTROL_DIR: list[str] = []
#: the longest directory a ControlPath socket fits in: a socket path holds 104 bytes on macOS
#: (108 on Linux), and ssh names it cm-<%C: 40 hex> plus ".<16 random>" while it sets it up
CONTROL_DIR_ROOM = 104 - len("/cm-") - 40 - 17


def control_base(tempdir: str) -> str:
    """Where the ControlPath directory goes: the temporary directory, or /tmp where the socket
    would not fit under it (macOS's per-user TMPDIR is about 50 bytes long)."""
    return tempdir if len(tempdir) + len("/tsa-ssh-12345678") <= CONTROL_DIR_ROOM else "/tmp"


def _control_path() -> str:
    """A ControlPath of this process's own: the suite's shared ssh master is never another run's
    (two runs on one host must not end each other's connections with -O exit), and never the
    user's. The directory goes when the process ends."""
    if not _CONTROL_DIR:
        directory = tempfile.mkdtemp(prefix="tsa-ssh-", dir=control_base(tempfile.gettempdir()))
        atexit.register(shutil.rmtree, directory, True)
        _CONTROL_DIR.append(directory)
    return _CONTROL_DIR[0] + "/cm-%%C"  # %% : testinfra %-formats the command line


def _own_master(backend) -> None:
    backend.controlpath = _control_path()


def _ssh_command(backend, command: str) -> tuple[list[str], list[str]]:
    """testinfra's ssh command line for `command` (%-format parts and their values) with the
    suite's own ControlPath, without the `-o ConnectTimeout` testinfra adds: on the command line
    that would override the user's ssh_config; the suite adds its own (see _ssh_connect)."""
    _own_master(backend)
    cmd, args = backend._build_ssh_command(command)
    if not _extra_args_set_connect_timeout(backend):
        cmd = [part for part in cmd if part != f"-o ConnectTimeout={backend.timeout}"]
    return cmd, args


def _extra_args_set_connect_timeout(backend) -> bool:
    return "connecttimeout" in (getattr(backend, "ssh_extra_args", None) or "").lower()


def _shell_argv(backend, cmd: list[str], args: list[str]) -> list[str]:
    # testinfra quotes for a shell; exec makes ssh itself the suite's child, so killing it ends it
    return ["/bin/sh", "-c", "exec " + backend.quote(" ".join(cmd), *args)]


#: `ssh -G` answers per command line (host, user, port, configuration file, extra options)
_SSH_CONFIGURED: dict[tuple[str, ...], float | None] = {}


def ssh_configured_connect_timeout(backend) -> float | None:
    """The ConnectTimeout ssh itself applies to this host (its configuration: --ssh-config or the
    user's own, Match blocks included, and --ssh-extra-args), as `ssh -G` reports it: seconds,
    0.0 where none is set, None where ssh did not answer. Asked once per host and run."""
    cmd, args = _ssh_command(backend, "true")
    argv = _shell_argv(backend, cmd[:-1] + ["-G %s"], args[:-1])
    key = tuple(argv)
    if key not in _SSH_CONFIGURED:
        _SSH_CONFIGURED[key] = _ask_ssh_g(argv)
    return _SSH_CONFIGURED[key]


def _ask_ssh_g(argv: list[str]) -> float | None:
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            start_new_session=True,
            env=child_environment(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(" ")
        if name == "connecttimeout":
            try:
                return max(0.0, float(value))
            except ValueError:
                return 0.0  # "none"
    return 0.0


def _ssh_connect(backend, limits: Limits) -> tuple[float, str | None]:
    """(the connect bound the suite enforces, the `-o ConnectTimeout` it puts on ssh's command
    line or None). An explicit --connect-timeout (option, ini, inventory) wins; else the host's
    ConnectTimeout from ssh's configuration; else the built-in default. ssh's own timeout is set
    one second past the bound, as a backstop: the suite's bound, and its one message, come first."""
    if limits.connect_timeout_explicit:
        bound = limits.connect_timeout
    else:
        configured = ssh_configured_connect_timeout(backend)
        if configured is None:  # ssh could not say: its configuration applies, the default bounds it
            return limits.connect_timeout, None
        bound = configured or limits.connect_timeout
    if _extra_args_set_connect_timeout(backend):
        return bound, None  # the user's own ssh option stays ssh's (testinfra adds none then)
    return bound, f"-o ConnectTimeout={math.ceil(bound) + 1}"


def ssh_argv(backend, remote: str, limits: Limits) -> tuple[list[str], float]:
    """The local command that runs `remote` over ssh, and the connect bound for it."""
    bound, option = _ssh_connect(backend, limits)
    cmd, args = _ssh_command(backend, remote)
    if option:
        cmd = cmd[:-1] + [option, cmd[-1]]
    return _shell_argv(backend, cmd, args), bound


def command_for(backend, limits: Limits, spent: float = 0.0) -> tuple[list[str], float] | None:
    """The local command that runs the remote shell and its connect bound, or None where the
    backend has no command (paramiko, or backends the suite does not drive itself)."""
    name = getattr(backend, "NAME", "")
    remote = remote_shell(limits, getattr(backend, "sudo", False), getattr(backend, "sudo_user", None), spent)
    if name == "local":
        return ["/bin/sh", "-c", remote], limits.connect_timeout
    if name in ("docker", "podman"):
        argv = [name, "exec", "-i"]
        if getattr(backend, "user", None):
            argv += ["-u", backend.user]
        return argv + [backend.name, "/bin/sh", "-c", remote], limits.connect_timeout
    if name in ("ssh", "safe-ssh"):
        return ssh_argv(backend, remote, limits)
    return None


class _Deadlines:
    """When a round trip must have started answering, and when it must be done. The host timeout
    counts from the gather's start (`spent` seconds ago): it bounds all round trips together."""

    def __init__(self, limits: Limits, connect_bound: float, spent: float = 0.0):
        self.start = time.monotonic()
        self.connect_bound, self.host_timeout = connect_bound, limits.host_timeout
        self.end = self.start + limits.host_timeout - spent
        self.connect_end = min(self.start + connect_bound, self.end)

    def remaining(self, answering: bool) -> float:
        return (self.end if answering else self.connect_end) - time.monotonic()

    def expired(self, answering: bool) -> TransportError:
        """The error for the bound that has passed: the connect bound, or the whole gather's."""
        if not answering and self.connect_end < self.end:
            return TransportError(f"did not answer within {self.connect_bound:g} s", "connect")
        return TransportError(f"did not answer within {self.host_timeout:g} s", "gather")


def _wait_unreaped(proc: subprocess.Popen, seconds: float) -> bool:
    """Wait up to `seconds` for the child to exit, leaving it a zombie: its pid, and so its
    process group id, stays ours until it is reaped."""
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _end_group(proc: subprocess.Popen) -> None:
    """Kill every process the child started in its own process group (ssh's ProxyCommand,
    sshpass's ssh), then reap the child. Called while the child is not reaped yet, so the
    group id cannot be anyone else's. ssh's shared master (ControlPersist) is in a session of
    its own: close() ends it with `-O exit`."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


#: how long a session's remote shell is given to end once its input has ended
CLOSE_GRACE = 5.0


class _Child:
    """The local process that runs the remote shell (ssh, docker exec, sh), its output read
    within the deadlines: one round trip, or every round trip of one gather (a session)."""

    def __init__(self, argv: list[str], limits: Limits, connect_bound: float, spent: float = 0.0):
        self.limits, self.connect_bound = limits, connect_bound
        self.deadlines = _Deadlines(limits, connect_bound, spent)
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env=child_environment(),
            )
        except OSError as exc:
            raise TransportError(f"cannot run {argv[0]}: {exc.strerror or exc}", "connect") from None
        self.stdin, stdout, stderr = _pipes(self.proc)
        self.out, self.err = bytearray(), bytearray()
        self.selector = selectors.DefaultSelector()
        self.selector.register(stdout, selectors.EVENT_READ, self.out)
        self.selector.register(stderr, selectors.EVENT_READ, self.err)
        self.streams = [stdout, stderr]
        self.open_streams = 2
        self.answered = False  # a byte came on stdout: the connect bound is behind
        self.ended = False
        self.failed = False  # a bound passed: nothing more is waited for

    def next_round(self, spent: float) -> None:
        """A later round trip: bounded by what is left of the host timeout, already connected."""
        self.deadlines = _Deadlines(self.limits, self.connect_bound, spent)
        del self.out[:]

    def send(self, script: bytes, last: bool) -> None:
        try:
            self.stdin.write(script)
            self.stdin.flush()
            if last:
                self.stdin.close()
        except (OSError, ValueError):
            pass  # the remote side gave up (its stderr says why), or the input has ended already

    def read(self, until: bytes | None = None) -> Answer:
        """What the host printed, up to a line `until` ends (the round's last frame) or up to the
        end of both streams, when the exit status is known too (rc None: the shell goes on)."""
        try:
            return self._read(until)
        except TransportError:
            self.failed = True
            raise

    def _read(self, until: bytes | None) -> Answer:
        scanned = 0
        while self.open_streams:
            if until is not None and until in self.out[max(0, scanned - len(until)) :]:
                return Answer(bytes(self.out), bytes(self.err), None)
            scanned = len(self.out)
            answering = self.answered or bool(self.out)
            remaining = self.deadlines.remaining(answering)
            if remaining <= 0:
                raise self.deadlines.expired(answering)
            for key, _ in self.selector.select(timeout=min(remaining, 1.0)):
                chunk = os.read(key.fd, 64 * KIB)
                if not chunk:
                    self.selector.unregister(key.fileobj)
                    self.open_streams -= 1
                    continue
                key.data.extend(chunk)
                if len(self.out) > self.limits.max_bytes:
                    raise TransportError(
                        f"answered more than {self.limits.max_bytes} bytes",
                        "size",
                        bytes(self.out[-(self.limits.max_bytes // 4 + 64 * KIB) :]),
                    )
                if len(self.err) > 64 * KIB:
                    del self.err[: -64 * KIB]  # keep the last words: the cause is at the end
            self.answered = self.answered or bool(self.out)
        if not _wait_unreaped(self.proc, self.deadlines.remaining(True)):
            raise self.deadlines.expired(True)
        self._end()
        return Answer(bytes(self.out), bytes(self.err), self.proc.returncode)

    def close(self) -> None:
        """End the input: the remote shell ends at its end, and its client with it. Whatever is
        left then (a frozen host, ssh's ProxyCommand) is killed."""
        if self.ended:
            return
        self.send(b"", last=True)
        try:
            if self.open_streams and not self.failed:
                grace = min(CLOSE_GRACE, max(0.0, self.deadlines.remaining(True)))
                self.deadlines = _Deadlines(dataclasses.replace(self.limits, host_timeout=grace), grace)
                self.read()
        except TransportError:
            pass
        finally:
            self._end()

    def _end(self) -> None:
        if self.ended:
            return
        self.ended = True
        _end_group(self.proc)
        self.selector.close()
        for stream in (self.stdin, *self.streams):
            try:
                stream.close()
            except OSError:
                pass


def run_subprocess(
    argv: list[str], script: bytes, limits: Limits, connect_bound: float | None = None, spent: float = 0.0
) -> Answer:
    """One round trip: the script, then the end of the input; the answer is all the host prints."""
    child = _Child(argv, limits, limits.connect_timeout if connect_bound is None else connect_bound, spent)
    try:
        child.send(script, last=True)
        return child.read()
    finally:
        child.close()


def _pipes(proc: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes], IO[bytes]]:
    """The child's stdin, stdout and stderr: all three are pipes (subprocess.PIPE)."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    return proc.stdin, proc.stdout, proc.stderr


#: an error this close to a bound is that bound's: paramiko's own timeouts are set to it
_AT_THE_BOUND = 0.2


class _Channel(Protocol):
    """What the transport uses of a paramiko Channel (paramiko.channel.Channel)."""

    closed: bool
    eof_received: bool

    def settimeout(self, timeout: float | None) -> None: ...
    def exec_command(self, command: str) -> None: ...
    def sendall(self, s: bytes) -> None: ...
    def shutdown_write(self) -> None: ...
    def recv_ready(self) -> bool: ...
    def recv(self, nbytes: int) -> bytes: ...
    def recv_stderr_ready(self) -> bool: ...
    def recv_stderr(self, nbytes: int) -> bytes: ...
    def exit_status_ready(self) -> bool: ...
    def recv_exit_status(self) -> int: ...
    def close(self) -> None: ...


def _paramiko_connect(backend, deadlines: _Deadlines) -> _Channel:
    """Connect testinfra's paramiko client (known_hosts checked) and open a channel, within the
    connect bound: paramiko's TCP, banner and authentication timeouts each allow the whole
    bound, so the client is closed at the bound whatever phase it is in."""
    try:
        hostkeys.connect(backend, max(0.1, deadlines.remaining(False)))
        transport = backend.client.get_transport()
        if transport is None or not transport.is_active():
            raise TransportError("the SSH session is closed (No existing session)", "connect")
        return transport.open_session(timeout=max(0.1, deadlines.remaining(False)))
    except TransportError:
        raise
    except Exception as exc:  # paramiko and socket errors of every kind
        if type(exc).__name__ == "BadHostKeyException":  # its text is two whole keys in base64
            raise TransportError(
                f"the host key of {getattr(exc, 'hostname', 'the host')} has changed "
                "(it is not the one in known_hosts)",
                "connect",
            ) from None
        if deadlines.remaining(False) <= _AT_THE_BOUND:
            raise deadlines.expired(False) from None  # paramiko's timeout, or the suite closed it at the bound
        raise TransportError(f"{type(exc).__name__}: {exc}".strip().rstrip(":"), "connect") from None


def paramiko_connect_bound(backend, limits: Limits) -> float:
    """The connect bound over paramiko, with ssh's precedence: an explicit --connect-timeout, else
    the host's ConnectTimeout in the ssh_config testinfra's paramiko backend reads, else the default."""
    if limits.connect_timeout_explicit:
        return limits.connect_timeout
    return hostkeys.configured_connect_timeout(backend) or limits.connect_timeout


def run_paramiko(backend, script: bytes, limits: Limits, spent: float = 0.0) -> Answer:
    deadlines = _Deadlines(limits, paramiko_connect_bound(backend, limits), spent)
    remote = remote_shell(limits, getattr(backend, "sudo", False), getattr(backend, "sudo_user", None), spent)
    channel = _paramiko_connect(backend, deadlines)
    out, err = bytearray(), bytearray()
    try:
        channel.settimeout(0.5)
        channel.exec_command(remote)
        channel.sendall(script)
        channel.shutdown_write()
        while True:
            if deadlines.remaining(bool(out)) <= 0:
                raise deadlines.expired(bool(out))
            got = False
            if channel.recv_ready():
                out.extend(channel.recv(64 * KIB))
                got = True
            if channel.recv_stderr_ready():
                err.extend(channel.recv_stderr(64 * KIB))
                del err[: -64 * KIB]
                got = True
            if len(out) > limits.max_bytes:
                raise TransportError(
                    f"answered more than {limits.max_bytes} bytes",
                    "size",
                    bytes(out[-(limits.max_bytes // 4 + 64 * KIB) :]),
                )
            if not got:
                if channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
                    break
                if channel.closed or channel.eof_received and channel.exit_status_ready():
                    break
                time.sleep(0.01)
        return Answer(bytes(out), bytes(err), channel.recv_exit_status())
    except TransportError:
        raise
    except Exception as exc:
        if deadlines.remaining(bool(out)) <= _AT_THE_BOUND:
            raise deadlines.expired(bool(out)) from None
        raise TransportError(f"{type(exc).__name__}: {exc}".strip(), "gather" if out else "connect") from None
    finally:
        channel.close()


def run_other(backend, script: bytes, limits: Limits, spent: float = 0.0) -> Answer:
    """Backends the suite does not drive itself: testinfra runs the command, in a thread the
    suite stops waiting for at the host timeout (the backend's own process may go on)."""
    result: dict = {}

    def target() -> None:
        try:
            remote = "/bin/sh -c " + shlex.quote(
                "exec /bin/sh -s <<'TSA_SCRIPT_END'\n"
                + script.decode("utf-8", "surrogateescape")
                + "\nTSA_SCRIPT_END\n"
            )
            got = backend.run(remote)
            result["answer"] = Answer(got.stdout_bytes, got.stderr_bytes, got.rc)
        except Exception as exc:
            result["error"] = f"{type(exc).__name__}"

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(max(0.0, limits.host_timeout - spent))
    if thread.is_alive():
        raise TransportError(f"did not answer within {limits.host_timeout:g} s", "gather")
    if "error" in result:
        raise TransportError(f"the {backend.NAME} backend failed ({result['error']})", "connect")
    answer = result["answer"]
    if len(answer.stdout) > limits.max_bytes:
        raise TransportError(f"answered more than {limits.max_bytes} bytes", "size")
    return answer


def resolve(backend):
    """The backend that really reaches the host: an ansible:// host is reached through the
    connection its inventory names (ssh, paramiko, docker, local...), which the suite drives
    itself; only `force_ansible` goes through ansible."""
    if getattr(backend, "NAME", "") != "ansible" or getattr(backend, "force_ansible", False):
        return backend
    resolved = getattr(backend, "_timesync_resolved", None)
    if resolved is None:
        host = backend.ansible_runner.get_host(
            backend.host, ssh_config=backend.ssh_config, ssh_identity_file=backend.ssh_identity_file
        )
        if host is None:
            return backend
        resolved = backend._timesync_resolved = host.backend
    return resolved


def run_script(backend, script: bytes, limits: Limits, spent: float = 0.0) -> Answer:
    """One round trip; `spent` is what the host's earlier round trips of this gather took."""
    backend = resolve(backend)
    if getattr(backend, "NAME", "") == "paramiko":
        return run_paramiko(backend, script, limits, spent)
    command = command_for(backend, limits, spent)
    if command is None:
        return run_other(backend, script, limits, spent)
    argv, connect_bound = command
    return run_subprocess(argv, script, limits, connect_bound, spent)


class Session:
    """Every round trip of one gather through one remote shell, where the suite starts the
    shell's client itself (ssh, docker, podman, local): a follow-up round costs the host no new
    connection, session, exec or shell, only its script. Each round's script is one `{ ... }`
    block that the shell reads whole before it runs it, and the round ends at the script's last
    frame (`<marker> DONE`); the shell then waits for the next block, and ends at close(), when
    its input ends. Other backends make a round trip each time."""

    def __init__(self, backend, limits: Limits):
        self.backend, self.limits = resolve(backend), limits
        self.child: _Child | None = None

    def run(self, script: bytes, marker: str, spent: float = 0.0) -> Answer:
        if self.child is None:
            command = None
            if getattr(self.backend, "NAME", "") != "paramiko":
                command = command_for(self.backend, self.limits, spent)
            if command is None:
                return run_script(self.backend, script, self.limits, spent)
            argv, connect_bound = command
            self.child = _Child(argv, self.limits, connect_bound, spent)
        else:
            self.child.next_round(spent)
        self.child.send(script, last=False)
        return self.child.read(b"\n" + marker.encode() + b" DONE\n")

    def close(self) -> None:
        if self.child is not None:
            self.child.close()


def close(backend) -> None:
    """Close what the suite opened on the host: paramiko's client, ssh's shared master."""
    backend = getattr(backend, "_timesync_resolved", None) or backend
    name = getattr(backend, "NAME", "")
    if name == "paramiko" and "client" in vars(backend):
        try:
            backend.client.close()
        except Exception:
            pass
        del backend.__dict__["client"]
    elif name in ("ssh", "safe-ssh"):
        if not _CONTROL_DIR or not str(getattr(backend, "controlpath", "")).startswith(_CONTROL_DIR[0]):
            return  # the suite opened no master of its own for this host
        cmd, args = _ssh_command(backend, "true")
        argv = _shell_argv(backend, cmd[:-1] + ["-O exit %s"], args[:-1])
        try:
            subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                start_new_session=True,
                env=child_environment(),
            )
        except (OSError, subprocess.TimeoutExpired):
            pass
