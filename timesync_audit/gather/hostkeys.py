"""Host-key checking and bounded connections for testinfra's paramiko backend.

testinfra builds its paramiko client with WarningPolicy and never loads
known_hosts, so paramiko:// would talk to any impostor. Before the first
connection we let it build the client with known_hosts loaded (the user's
and the ssh_config's UserKnownHostsFile) and unknown keys rejected, as
ssh:// does. An explicit `StrictHostKeyChecking no` is still honoured.

paramiko bounds each phase of a connection (TCP, banner, authentication) on its
own; a host that is slow in each could take their sum. The suite's connect bound
is for the whole connection, so the client is closed when it passes.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING
from unittest import mock

if TYPE_CHECKING:
    import paramiko  # imported where a paramiko:// host is connected: docker-only runs never pay it


def _ssh_config(backend) -> paramiko.SSHConfig | None:
    """The ssh_config testinfra's paramiko backend reads: --ssh-config, else the user's own."""
    import paramiko

    path = getattr(backend, "ssh_config", None) or os.path.expanduser("~/.ssh/config")
    try:
        return paramiko.SSHConfig.from_path(path)
    except OSError:
        return None


def _known_hosts_files(backend) -> list[str]:
    import paramiko

    files = ["~/.ssh/known_hosts"]
    if getattr(backend, "ssh_config", None):
        config = paramiko.SSHConfig.from_path(backend.ssh_config)
        files += config.lookup(backend.host.name).get("userknownhostsfile", "").split()
    return [os.path.expanduser(f) for f in files]


def configured_connect_timeout(backend) -> float | None:
    """The host's ConnectTimeout in that ssh_config (testinfra's paramiko backend ignores it)."""
    config = _ssh_config(backend)
    if config is None:
        return None
    try:
        seconds = float(config.lookup(backend.host.name).get("connecttimeout", ""))
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def check_host_keys(host) -> None:
    connect(host.backend)


class _Watchdog:
    """Closes a client that is still connecting when its time is up (and keeps closing it, in
    case paramiko sets up its transport after the first close, until the connect returns)."""

    def __init__(self, client: paramiko.SSHClient, seconds: float):
        self.fired = False
        self._done = threading.Event()
        self._client, self._seconds = client, seconds
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        if self._done.wait(self._seconds):
            return
        self.fired = True
        while True:
            try:
                self._client.close()
            except Exception:
                pass
            if self._done.wait(0.05):
                return

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


_PATCHING = threading.Lock()


def connect(backend, timeout: float | None = None) -> None:
    """Build and connect testinfra's paramiko client, with known_hosts checked and the whole
    connection (TCP, SSH banner, authentication) bounded by `timeout`."""
    if getattr(backend, "NAME", "") != "paramiko" or "client" in vars(backend):
        return
    import paramiko

    files = _known_hosts_files(backend)
    # the suite reports a failed connection in one line of its own; paramiko's transport thread
    # would log it again at ERROR, with a traceback, into every report of the host's rules
    logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)

    class CheckedClient(paramiko.SSHClient):
        def __init__(self) -> None:
            super().__init__()
            for path in files:
                if os.path.exists(path):
                    self.load_host_keys(path)

        def set_missing_host_key_policy(self, policy) -> None:
            if isinstance(policy, paramiko.WarningPolicy) or policy is paramiko.WarningPolicy:
                policy = paramiko.RejectPolicy()
            super().set_missing_host_key_policy(policy)

        def connect(self, *args, **kwargs) -> None:
            if timeout is None:
                return super().connect(*args, **kwargs)
            for name in ("timeout", "banner_timeout", "auth_timeout", "channel_timeout"):
                kwargs[name] = timeout
            with _Watchdog(self, timeout) as watchdog:
                try:
                    super().connect(*args, **kwargs)
                except Exception:
                    if watchdog.fired:
                        raise TimeoutError(f"no answer within {timeout:g} s") from None
                    raise
            if watchdog.fired:  # connected just as the time ran out: closed, so as good as not
                raise TimeoutError(f"no answer within {timeout:g} s")

    # the patch is of paramiko's module, which every thread sees: hosts gathered concurrently
    # connect one at a time (each within its bound), or one would build another's client
    with _PATCHING, mock.patch.object(paramiko, "SSHClient", CheckedClient):
        backend.client  # noqa: B018 - the property builds and connects testinfra's cached client
