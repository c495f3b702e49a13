"""--hosts values checked before any host is resolved or contacted: one precise message each.

testinfra takes `scheme://[user@]host[:port][?options]`, a bare name (paramiko), and
`local://`; what it does with a malformed value is a traceback deep in a backend, or a
surprise (`local` without `://` is a host named "local" over SSH).
"""

from __future__ import annotations

import urllib.parse

SCHEMES = (
    "local",
    "ssh",
    "safe-ssh",
    "paramiko",
    "docker",
    "podman",
    "kubectl",
    "openshift",
    "winrm",
    "lxc",
    "ansible",
    "salt",
    "chroot",
)
_NO_HOST = ("local",)


class HostSpecError(ValueError):
    """A --hosts value that cannot name a host; the message says which and why."""


def check(value: str | None, has_inventory: bool) -> list[str]:
    """The --hosts items, or HostSpecError for the first one that cannot work."""
    if value is None:
        return []
    items = value.split(",")
    if not value.strip() or not any(i.strip() for i in items):
        raise HostSpecError("--hosts is empty: name at least one host (e.g. --hosts=ssh://root@web1)")
    for item in items:
        _check_one(item.strip(), has_inventory)
    return [i.strip() for i in items]


def _check_one(item: str, has_inventory: bool) -> None:
    where = f"--hosts {item!r}"
    if not item:
        raise HostSpecError("--hosts has an empty item (two commas, or a trailing comma)")
    if "://" not in item:
        if item in SCHEMES:
            raise HostSpecError(f"{where}: did you mean {item}:// ? (without it, {item!r} is a host name)")
        if any(c in item for c in "/ ") or item.startswith(("-", "[")) and "]" not in item:
            raise HostSpecError(f"{where}: not a host name (expected scheme://[user@]host[:port])")
        return
    scheme, _, rest = item.partition("://")
    if scheme not in SCHEMES:
        raise HostSpecError(f"{where}: unknown scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    netloc = rest.split("?", 1)[0].split("/", 1)[0]
    if scheme in _NO_HOST:
        return
    if scheme == "ansible":
        if not has_inventory:
            raise HostSpecError(f"{where}: ansible:// needs --ansible-inventory=FILE")
        if not netloc:
            raise HostSpecError(f"{where}: name a host or group of the inventory (ansible://all)")
        return
    host = netloc.rsplit("@", 1)[-1]
    if "@" in netloc and not netloc.rsplit("@", 1)[0]:
        raise HostSpecError(f"{where}: empty user before '@'")
    if not host:
        raise HostSpecError(f"{where}: no host after {scheme}://")
    port = None
    if host.startswith("["):
        if "]" not in host:
            raise HostSpecError(f"{where}: unbalanced '[' in an IPv6 address (expected [addr] or [addr]:port)")
        address, _, tail = host[1:].partition("]")
        if not address:
            raise HostSpecError(f"{where}: empty IPv6 address")
        if tail:
            if not tail.startswith(":"):
                raise HostSpecError(f"{where}: unexpected text after ']'")
            port = tail[1:]
    elif "]" in host:
        raise HostSpecError(f"{where}: unbalanced ']'")
    elif host.count(":") == 1:
        host, port = host.split(":")
        if not host:
            raise HostSpecError(f"{where}: no host before ':'")
    if port is not None:
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise HostSpecError(f"{where}: port {port!r} is not a number from 1 to 65535")
        if scheme in ("docker", "podman", "lxc", "kubectl", "openshift"):
            raise HostSpecError(f"{where}: {scheme}:// takes a container name, not a port")
    try:
        urllib.parse.urlparse(item)
    except ValueError as exc:
        raise HostSpecError(f"{where}: {exc}") from None
