"""Host-key checking for testinfra's paramiko backend.

testinfra builds its paramiko client with WarningPolicy and never loads
known_hosts, so paramiko:// would talk to any impostor. Before the first
connection we let it build the client with known_hosts loaded (the user's
and the ssh_config's UserKnownHostsFile) and unknown keys rejected, as
ssh:// does. An explicit `StrictHostKeyChecking no` is still honoured.
"""
from __future__ import annotations

import os
from unittest import mock

import paramiko


def _known_hosts_files(backend) -> list[str]:
    files = ["~/.ssh/known_hosts"]
    if getattr(backend, "ssh_config", None):
        config = paramiko.SSHConfig.from_path(backend.ssh_config)
        files += config.lookup(backend.host.name).get("userknownhostsfile", "").split()
    return [os.path.expanduser(f) for f in files]


def check_host_keys(host) -> None:
    connect(host.backend)


def connect(backend, timeout: float | None = None) -> None:
    """Build and connect testinfra's paramiko client, with known_hosts checked and every phase of
    the connection (TCP, SSH banner, authentication) bounded by `timeout`."""
    if getattr(backend, "NAME", "") != "paramiko" or "client" in vars(backend):
        return
    files = _known_hosts_files(backend)

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
            if timeout is not None:
                kwargs["timeout"] = timeout
                kwargs.setdefault("banner_timeout", timeout)
                kwargs.setdefault("auth_timeout", timeout)
                kwargs.setdefault("channel_timeout", timeout)
            super().connect(*args, **kwargs)

    with mock.patch.object(paramiko, "SSHClient", CheckedClient):
        backend.client  # builds and connects testinfra's cached client
