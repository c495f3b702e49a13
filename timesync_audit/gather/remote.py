"""Run the gather script on a testinfra host; turn transport failures into CouldNotCheck."""
from __future__ import annotations

from ..outcomes import CouldNotCheck
from . import hostkeys, script
from .snapshot import Request, Snapshot

_HINTS = (
    ("No such container", "is the container running? (docker ps)"),
    ("Permission denied (publickey", "check the SSH user and key (--ssh-identity-file, --ssh-config)"),
    ("Host key verification failed", "the host key is not in known_hosts (see --ssh-config)"),
    ("not found in known_hosts", "the host key is not in known_hosts (UserKnownHostsFile in --ssh-config)"),
    ("Could not resolve hostname", "check the host name in --hosts or the inventory"),
    ("Connection refused", "is sshd running and the port right?"),
    ("timed out", "the host did not answer in time: network, firewall, or host down"),
    ("No route to host", "the host is not reachable on this network"),
)


def _hint(text: str) -> str:
    for needle, hint in _HINTS:
        if needle.lower() in text.lower():
            return f" ({hint})"
    return ""


def executor(host, host_id: str):
    def execute(request: Request, secret_paths: tuple[str, ...]) -> Snapshot:
        marker = script.new_marker()
        text = script.render(request, marker, secret_paths)
        try:
            hostkeys.check_host_keys(host)
            result = host.run(text)
        except Exception as exc:  # transports raise anything from socket errors to paramiko's own
            message = f"{type(exc).__name__}: {exc}".strip()
            raise CouldNotCheck(f"could not run commands on {host_id}: {message}{_hint(message)}") from None
        try:
            return script.parse(result.stdout, marker)
        except script.ProtocolError as exc:
            detail = (result.stderr or result.stdout or "").strip().splitlines()
            detail_text = detail[-1] if detail else f"exit status {result.rc}"
            raise CouldNotCheck(
                f"could not gather facts on {host_id}: {detail_text}{_hint(detail_text)} [{exc}]") from None
    return execute
