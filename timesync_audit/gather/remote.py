"""Run the gather script on a testinfra host through the suite's own transport.

Every failure becomes CouldNotCheck with one short line: the host, the cause in
a few words, and a hint that matches the cause. No command text, no script, no
gathered output and no transport object ever goes into a message or a log.
"""
from __future__ import annotations

from ..outcomes import CouldNotCheck
from ..display import escape, shorten
from . import script, transport
from .snapshot import Request, Snapshot

_HINTS = (
    ("No such container", "is the container running? (docker ps)"),
    ("is not running", "is the container running? (docker ps)"),
    ("is paused", "the container is paused (docker unpause)"),
    ("REMOTE HOST IDENTIFICATION HAS CHANGED", "the host key changed: check the host, then update known_hosts"),
    ("Permission denied (publickey", "check the SSH user and key (--ssh-identity-file, --ssh-config)"),
    ("Host key verification failed", "the host key is not in known_hosts (see --ssh-config)"),
    ("not found in known_hosts", "the host key is not in known_hosts (UserKnownHostsFile in --ssh-config)"),
    ("Could not resolve hostname", "check the host name in --hosts or the inventory"),
    ("Name or service not known", "check the host name in --hosts or the inventory"),
    ("Connection refused", "is sshd running and the port right?"),
    ("No existing session", "the SSH session was lost: the host froze or dropped the connection"),
    ("a password is required", "sudo needs a password: allow the audit user NOPASSWD for /bin/sh"),
    ("did not answer within", "the host is frozen, paused, or the network drops packets"),
    ("timed out", "the host did not answer in time: network, firewall, or host down"),
    ("No route to host", "the host is not reachable on this network"),
    ("answered more than", "raise --max-host-bytes if this much is expected"),
)


def hint(text: str) -> str:
    for needle, words in _HINTS:
        if needle.lower() in text.lower():
            return words
    return ""


def _cause(stderr: bytes) -> str:
    """The last meaningful line of what the transport said on stderr (never the script)."""
    lines = [l.strip() for l in stderr.decode("utf-8", "replace").splitlines() if l.strip()]
    useful = [l for l in lines if not l.startswith(("Warning: Permanently added", "debug"))]
    return useful[-1] if useful else ""


def _last_item(partial: bytes, marker: str) -> str:
    """Which file or command was being sent when the answer passed the cap: ' (in NAME)'."""
    head = marker.encode() + b" "
    at = partial.rfind(b"\n" + head)
    while at >= 0:
        line = partial[at + 1:partial.find(b"\n", at + 1)]
        kind, _, rest = line[len(head):].partition(b" ")
        if kind == b"CMD":
            return f" (in the output of {rest.decode('ascii', 'replace')})"
        if kind == b"FILE":
            path = rest.rsplit(b"|", 1)[-1].decode("utf-8", "surrogateescape")
            return f" (in {path})"
        at = partial.rfind(b"\n" + head, 0, at)
    return ""


def could_not_check(host_id: str, cause: str) -> CouldNotCheck:
    found = hint(cause)
    text = escape(f"{host_id}: {cause}") + (f" ({found})" if found else "")
    return CouldNotCheck(shorten(text))


def executor(host, host_id: str, limits: transport.Limits | None = None):
    limits = limits or transport.Limits()

    def execute(request: Request, secret_paths: tuple[str, ...]) -> Snapshot:
        marker = script.new_marker()
        # one file or command may fill a quarter of an answer: a chronyc that prints megabytes
        # costs its own rules, not the whole host's
        cap = max(1, limits.max_bytes // 4)
        text = script.render(request, marker, secret_paths, cap=cap)
        try:
            answer = transport.run_script(host.backend, text.encode(), limits)
        except transport.TransportError as exc:
            cause = f"{exc.cause} ({exc.phase})" if exc.phase in ("connect", "gather") else exc.cause
            if exc.phase == "size":
                cause += _last_item(exc.partial, marker)
            raise could_not_check(host_id, cause) from None
        try:
            return script.parse(answer.stdout, marker, request, cap=cap)
        except script.ProtocolError as exc:
            cause = _cause(answer.stderr)
            if cause and marker.encode() + b" BEGIN" not in answer.stdout:
                raise could_not_check(host_id, f"{cause} (exit status {answer.rc})") from None
            raise could_not_check(host_id, f"the host's answer is malformed: {exc}") from None
    return execute


def close(host) -> None:
    transport.close(host.backend)
