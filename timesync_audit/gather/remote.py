"""Run the gather script on a testinfra host through the suite's own transport.

Every failure becomes CouldNotCheck with one short line: the host, the cause in
a few words, and a hint that matches the cause. No command text, no script, no
gathered output and no transport object ever goes into a message or a log.
"""

from __future__ import annotations

import re
import time

from ..display import MAX_MESSAGE, escape, shorten
from ..outcomes import CouldNotCheck
from . import script, transport
from .snapshot import Request, Snapshot

_CHANGED = "the host key changed: check the host, then update known_hosts"
_FROZEN = "the host is frozen, paused, or the network drops packets"
_STALLED = "the host began to answer, then stopped: frozen, overloaded, or a command hangs on it"

#: (what ssh, docker, paramiko or the transport says, the hint), first match wins: a changed host
#: key is named before the "Host key verification failed." that ends ssh's warning about it
_HINTS = tuple(
    (re.compile(pattern, re.IGNORECASE), words)
    for pattern, words in (
        (r"REMOTE HOST IDENTIFICATION HAS CHANGED|host key .*has changed", _CHANGED),
        (r"No such container", "is the container running? (docker ps)"),
        (r"is not running", "is the container running? (docker ps)"),
        (r"is paused", "the container is paused (docker unpause)"),
        (
            r"Permission denied \(publickey|Authentication failed",
            "check the SSH user and key (--ssh-identity-file, --ssh-config)",
        ),
        (
            r"host key is known for|Host key verification failed",
            "the host key is not in known_hosts (see --ssh-config)",
        ),
        (r"not found in known_hosts", "the host key is not in known_hosts (UserKnownHostsFile in --ssh-config)"),
        (
            r"Could not resolve hostname|Name or service not known|Temporary failure in name resolution",
            "check the host name in --hosts or the inventory",
        ),
        (r"Connection refused|Unable to connect to port", "is sshd running and the port right?"),
        (r"a password is required", "sudo needs a password: allow the audit user NOPASSWD for /bin/sh"),
        (r"did not answer within \S+ s \(gather\)", _STALLED),
        (
            r"did not answer within|No existing session|SSH session not active|during banner exchange|"
            r"Timeout opening channel|Authentication timeout",
            _FROZEN,
        ),
        # the port closed the connection before any SSH (a timeout at the bound is "did not answer")
        (
            r"kex_exchange_identification: Connection closed|Error reading SSH protocol banner",
            "the port closed the connection before SSH began: is it sshd's, and is sshd refusing (MaxStartups)?",
        ),
        (r"timed out", "the host did not answer in time: network, firewall, or host down"),
        (r"No route to host", "the host is not reachable on this network"),
        (r"answered more than", "raise --max-host-bytes if this much is expected"),
    )
)

#: lines that state why ssh or docker gave up, preferred to the last line (ssh ends a changed
#: host key's warning with "Host key verification failed.", which alone reads as an unknown key)
_CAUSE_LINES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"Host key for .* has changed",
        r"host key is known for",
        r"Permission denied",
        r"Could not resolve hostname",
        r"kex_exchange_identification",
        r"Connection refused",
        r"Connection timed out",
        r"No route to host",
        r"a password is required",
        r"Error response from daemon",
    )
)
_NOISE = ("Warning: Permanently added", "debug")
_HOST_KEY_CHANGED = re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED", re.IGNORECASE)
#: a line shorter than this is no evidence that stderr quotes the script or the command
_QUOTE_MIN = 12
#: a host identity is shown whole up to this; the message's room goes to the cause and the hint
_HOST_ROOM = 100


def hint(text: str) -> str:
    for pattern, words in _HINTS:
        if pattern.search(text):
            return words
    return ""


def _quotes(line: str, ours: tuple[str, ...]) -> bool:
    """Whether a line of stderr repeats what the suite sent (a shell echoing the script or the
    command it could not run): such a line never goes into a message."""
    for text in ours:
        if len(line) >= _QUOTE_MIN and line in text:
            return True
        parts = {p.strip() for p in re.split(r"[\n;]", text)}
        if line in parts or any(len(part) >= _QUOTE_MIN and part in line for part in parts):
            return True
    return False


def _lines(stderr: bytes, ours: tuple[str, ...] = ()) -> list[str]:
    # a line without a word (a shell's "^^" under the text it quotes) says nothing
    lines = [l.strip() for l in stderr.decode("utf-8", "replace").splitlines() if re.search(r"\w", l)]
    return [l for l in lines if not l.startswith(_NOISE) and not _quotes(l, ours)]


def _cause(stderr: bytes, ours: tuple[str, ...] = ()) -> str:
    """The line of what the transport said on stderr that says why (never the script): the
    first line that states a known cause, else the last line."""
    useful = _lines(stderr, ours)
    if not useful:
        return ""
    cause = next((l for pattern in _CAUSE_LINES for l in useful if pattern.search(l)), useful[-1])
    if _HOST_KEY_CHANGED.search("\n".join(useful)) and "changed" not in cause.lower():
        cause = f"the host key has changed: {cause}"
    return cause


def _last_item(partial: bytes, marker: str) -> str:
    """Which file or command was being sent when the answer passed the cap: ' (in NAME)'."""
    head = marker.encode() + b" "
    at = partial.rfind(b"\n" + head)
    while at >= 0:
        line = partial[at + 1 : partial.find(b"\n", at + 1)]
        kind, _, rest = line[len(head) :].partition(b" ")
        if kind == b"CMD":  # CMD name LENGTH
            return f" (in the output of {rest.split(b' ')[0].decode('ascii', 'replace')})"
        if kind == b"FILE":
            path = rest.rsplit(b"|", 1)[-1].decode("utf-8", "surrogateescape")
            return f" (in {path})"
        at = partial.rfind(b"\n" + head, 0, at)
    return ""


def could_not_check(host_id: str, cause: str, evidence: str = "") -> CouldNotCheck:
    """One line of at most MAX_MESSAGE characters: "<host>: <cause> (<hint>)". The hint comes
    from the cause and everything the transport said (`evidence`); it is kept whole, and a long
    cause is cut in the middle, so that what it is and how it ends both survive."""
    found = hint(f"{cause}\n{evidence}")
    tail = f" ({found})" if found else ""
    host = shorten(escape(host_id), _HOST_ROOM)
    room = max(40, MAX_MESSAGE - len(host) - len(": ") - len(tail))
    return CouldNotCheck(shorten(f"{host}: {shorten(escape(cause), room)}{tail}"))


class Executor:
    """The gather's round trips through one transport session, bounded together by the host
    timeout; close() ends the session (its remote shell), whatever happened."""

    def __init__(self, host, host_id: str, limits: transport.Limits | None = None):
        self.host_id = host_id
        self.limits = limits or transport.Limits()
        self.session = transport.Session(host.backend, self.limits)
        self.started: float | None = None

    def __call__(self, request: Request, secret_paths: tuple[str, ...]) -> Snapshot:
        if self.started is None:
            self.started = time.monotonic()
        spent = time.monotonic() - self.started
        marker = script.new_marker()
        # one file or command may fill a quarter of an answer: a chronyc that prints megabytes
        # costs its own rules, not the whole host's
        cap = max(1, self.limits.max_bytes // 4)
        text = script.render(request, marker, secret_paths, cap=cap)
        try:
            answer = self.session.run(text.encode(), marker, spent)
        except transport.TransportError as exc:
            cause = f"{exc.cause} ({exc.phase})" if exc.phase in ("connect", "gather") else exc.cause
            if exc.phase == "size":
                cause += _last_item(exc.partial, marker)
            raise could_not_check(self.host_id, cause) from None
        try:
            return script.parse(answer.stdout, marker, request, cap=cap)
        except script.ProtocolError as exc:
            ours = (marker, text, transport.remote_shell(self.limits))
            cause = _cause(answer.stderr, ours)
            if cause and marker.encode() + b" BEGIN" not in answer.stdout:
                evidence = "\n".join(_lines(answer.stderr, ours))
                status = "" if answer.rc is None else f" (exit status {answer.rc})"
                raise could_not_check(self.host_id, f"{cause}{status}", evidence) from None
            raise could_not_check(self.host_id, f"the host's answer is malformed: {exc}") from None

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def close(host) -> None:
    transport.close(host.backend)
