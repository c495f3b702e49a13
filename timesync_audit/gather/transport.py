"""Run one script on one host, bounded in time and bytes: the suite's own transport.

testinfra's backends know how to reach a host (ssh_config, identity files, sudo,
`docker exec -u`, paramiko with the suite's host-key check); the suite runs its
gather script through them itself, so that:
- the script reaches the host on standard input (`/bin/sh -s`), never on a command
  line: nothing the script runs can read it (or its framing nonce) in /proc;
- the answer is bytes, read up to `max_bytes`: past that the transport stops reading
  and closes the channel (the host "answered more than N bytes");
- a host that does not start answering within the connect timeout, or does not finish
  within the host timeout, costs that time and no more: the suite kills its own child
  process (ssh, docker, podman...) or closes the paramiko channel. On the target,
  `timeout` (where it exists) ends the script at the same bound, so nothing is left
  behind;
- nothing here logs or raises the script, the command line or what the host printed.
"""
from __future__ import annotations

import dataclasses
import os
import selectors
import shlex
import signal
import subprocess
import threading
import time

KIB, MIB = 1024, 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    connect_timeout: float = 10.0   # until the host's first byte
    host_timeout: float = 120.0     # the whole answer
    max_bytes: int = 16 * MIB       # the whole answer


@dataclasses.dataclass(frozen=True)
class Answer:
    stdout: bytes
    stderr: bytes
    rc: int


class TransportError(Exception):
    """The host could not be asked or did not answer; `phase` is connect, gather or size."""

    def __init__(self, cause: str, phase: str = "gather", partial: bytes = b""):
        super().__init__(cause)
        self.cause = cause
        self.phase = phase
        self.partial = partial  # what the host had sent (to name the file or command that overflowed)


def remote_shell(limits: Limits, sudo: bool = False, sudo_user: str | None = None) -> str:
    """The command the host runs: a shell reading the script from stdin, bounded by `timeout`
    where the host has it (a frozen remote side must not keep running after we give up)."""
    seconds = int(limits.host_timeout) + 1
    shell = "/bin/sh -s"
    if sudo:
        shell = f"sudo -n -u {shlex.quote(sudo_user)} /bin/sh -s" if sudo_user else "sudo -n /bin/sh -s"
    return (f"if command -v timeout >/dev/null 2>&1; then exec timeout -s KILL {seconds} {shell}; "
            f"else exec {shell}; fi")


_CONTROL_DIR: list[str] = []


def _control_path() -> str:
    """A ControlPath of this process's own: the suite's shared ssh master is never another run's
    (two runs on one host must not end each other's connections with -O exit), and never the
    user's. The directory goes when the process ends."""
    if not _CONTROL_DIR:
        import atexit
        import shutil
        import tempfile
        directory = tempfile.mkdtemp(prefix="tsa-ssh-")
        atexit.register(shutil.rmtree, directory, True)
        _CONTROL_DIR.append(directory)
    return _CONTROL_DIR[0] + "/cm-%%C"  # %% : testinfra %-formats the command line


def _own_master(backend) -> None:
    backend.controlpath = _control_path()


def _ssh_argv(backend, remote: str, limits: Limits) -> list[str]:
    _own_master(backend)
    timeout_before = backend.timeout
    backend.timeout = max(1, int(round(limits.connect_timeout)))
    try:
        cmd, args = backend._build_ssh_command(remote)
    finally:
        backend.timeout = timeout_before
    # testinfra quotes for a shell; exec makes ssh itself the suite's child, so killing it ends it
    return ["/bin/sh", "-c", "exec " + backend.quote(" ".join(cmd), *args)]


def command_for(backend, limits: Limits) -> list[str] | None:
    """The local command that runs the remote shell, or None where the backend has no command
    (paramiko, or backends the suite does not drive itself)."""
    name = getattr(backend, "NAME", "")
    remote = remote_shell(limits, getattr(backend, "sudo", False), getattr(backend, "sudo_user", None))
    if name == "local":
        return ["/bin/sh", "-c", remote]
    if name in ("docker", "podman"):
        argv = [name, "exec", "-i"]
        if getattr(backend, "user", None):
            argv += ["-u", backend.user]
        return argv + [backend.name, "/bin/sh", "-c", remote]
    if name in ("ssh", "safe-ssh"):
        return _ssh_argv(backend, remote, limits)
    return None


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def run_subprocess(argv: list[str], script: bytes, limits: Limits) -> Answer:
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:
        raise TransportError(f"cannot run {argv[0]}: {exc.strerror or exc}", "connect") from None
    out, err = bytearray(), bytearray()
    try:
        try:
            proc.stdin.write(script)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # the remote side gave up at once: its stderr says why
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ, out)
        selector.register(proc.stderr, selectors.EVENT_READ, err)
        open_streams = 2
        while open_streams:
            elapsed = time.monotonic() - start
            limit = limits.host_timeout if out else limits.connect_timeout
            remaining = limit - elapsed
            if remaining <= 0:
                raise TransportError(f"did not answer within {limit:g} s", "gather" if out else "connect")
            for key, _ in selector.select(timeout=min(remaining, 1.0)):
                chunk = os.read(key.fileobj.fileno(), 64 * KIB)
                if not chunk:
                    selector.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                key.data.extend(chunk)
                if len(out) > limits.max_bytes:
                    raise TransportError(f"answered more than {limits.max_bytes} bytes", "size", bytes(out[-(limits.max_bytes // 4 + 64 * KIB):]))
                if len(err) > 64 * KIB:
                    del err[:-64 * KIB]  # keep the last words: the cause is at the end
        remaining = max(0.1, limits.host_timeout - (time.monotonic() - start))
        try:
            rc = proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            raise TransportError(f"did not answer within {limits.host_timeout:g} s", "gather") from None
        return Answer(bytes(out), bytes(err), rc)
    finally:
        _kill(proc)
        for stream in (proc.stdout, proc.stderr):
            stream.close()


def run_paramiko(backend, script: bytes, limits: Limits) -> Answer:
    from . import hostkeys
    start = time.monotonic()
    remote = remote_shell(limits, getattr(backend, "sudo", False), getattr(backend, "sudo_user", None))
    try:
        hostkeys.connect(backend, limits.connect_timeout)
        transport = backend.client.get_transport()
        if transport is None or not transport.is_active():
            raise TransportError("the SSH session is closed (No existing session)", "connect")
        channel = transport.open_session(timeout=max(0.1, limits.connect_timeout - (time.monotonic() - start)))
    except TransportError:
        raise
    except Exception as exc:  # paramiko and socket errors of every kind
        raise TransportError(f"{type(exc).__name__}: {exc}".strip(), "connect") from None
    out, err = bytearray(), bytearray()
    try:
        channel.settimeout(0.5)
        channel.exec_command(remote)
        channel.sendall(script)
        channel.shutdown_write()
        while True:
            elapsed = time.monotonic() - start
            limit = limits.host_timeout if out else limits.connect_timeout
            if elapsed >= limit:
                raise TransportError(f"did not answer within {limit:g} s", "gather" if out else "connect")
            got = False
            if channel.recv_ready():
                out.extend(channel.recv(64 * KIB))
                got = True
            if channel.recv_stderr_ready():
                err.extend(channel.recv_stderr(64 * KIB))
                del err[:-64 * KIB]
                got = True
            if len(out) > limits.max_bytes:
                raise TransportError(f"answered more than {limits.max_bytes} bytes", "size", bytes(out[-(limits.max_bytes // 4 + 64 * KIB):]))
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
        raise TransportError(f"{type(exc).__name__}: {exc}".strip(), "gather") from None
    finally:
        channel.close()


def run_other(backend, script: bytes, limits: Limits) -> Answer:
    """Backends the suite does not drive itself: testinfra runs the command, in a thread the
    suite stops waiting for at the host timeout (the backend's own process may go on)."""
    result: dict = {}

    def target() -> None:
        try:
            remote = "/bin/sh -c " + shlex.quote("exec /bin/sh -s <<'TSA_SCRIPT_END'\n" + script.decode(
                "utf-8", "surrogateescape") + "\nTSA_SCRIPT_END\n")
            got = backend.run(remote)
            result["answer"] = Answer(got.stdout_bytes, got.stderr_bytes, got.rc)
        except Exception as exc:
            result["error"] = f"{type(exc).__name__}"
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limits.host_timeout)
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
        host = backend.ansible_runner.get_host(backend.host, ssh_config=backend.ssh_config,
                                               ssh_identity_file=backend.ssh_identity_file)
        if host is None:
            return backend
        resolved = backend._timesync_resolved = host.backend
    return resolved


def run_script(backend, script: bytes, limits: Limits) -> Answer:
    backend = resolve(backend)
    if getattr(backend, "NAME", "") == "paramiko":
        return run_paramiko(backend, script, limits)
    argv = command_for(backend, limits)
    if argv is None:
        return run_other(backend, script, limits)
    return run_subprocess(argv, script, limits)


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
        cmd, args = backend._build_ssh_command("true")
        text = " ".join(cmd).replace(" %s %s", " -O exit %s", 1)
        try:
            subprocess.run(["/bin/sh", "-c", backend.quote(text, *args[:-1])], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
