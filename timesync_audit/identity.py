"""One identity per host: backend, user, address, port (and sudo).

testinfra names a host by backend and address only (`ssh://h` for both
`ssh://root@h:2200` and `ssh://root@h:2299`), so two targets on one address
would share a test id, a gather and a verdict. The identity keeps every part
that makes a different target; the parts a user did not write stay out, so
`ssh://web1` is still `ssh://web1`.
"""

from __future__ import annotations

#: the parameter testinfra gives each test of a host: its testinfra host
_HOST_PARAM = "_testinfra_host"


def host_identity(backend) -> str:
    scheme = getattr(backend, "NAME", "") or backend.get_connection_type()
    spec = getattr(backend, "host", None)
    if spec is not None and hasattr(spec, "name") and hasattr(spec, "port"):  # ssh, paramiko, ...
        address, user, port = spec.name, spec.user, spec.port
    else:  # docker, podman, lxc ... (`user@container`), local, ansible
        address = getattr(backend, "name", None) or backend.get_hostname()
        user, port = getattr(backend, "user", None), None
    text = f"{scheme}://"
    if user:
        text += f"{user}@"
    text += f"[{address}]" if ":" in str(address) and not str(address).startswith("[") else str(address)
    if port:
        text += f":{port}"
    if getattr(backend, "sudo", False):
        sudo_user = getattr(backend, "sudo_user", None)
        text += f"?sudo={sudo_user}" if sudo_user else "?sudo"
    return text


def host_id(item) -> str | None:
    """The host identity of a test item, or None for a test that is not run on a host."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or _HOST_PARAM not in callspec.params:
        return None
    return host_identity(callspec.params[_HOST_PARAM].backend)


def bare_name(identity: str) -> str:
    """The host name of an identity: web1 for ssh://root@web1:22?sudo, c1 for docker://c1."""
    name = identity.split("://", 1)[-1].split("?", 1)[0]
    name = name.rsplit("@", 1)[-1]
    if name.startswith("["):
        return name[1:].split("]", 1)[0]
    return name.split(":", 1)[0] if name.count(":") == 1 else name


def install() -> None:
    """Make testinfra's test ids the identity (pytest ids, sorting, the suite's caches)."""
    from testinfra.backend import base  # testinfra's internals, loaded when the plugin is configured

    if getattr(base.BaseBackend.get_pytest_id, "_timesync_identity", False):
        return

    def get_pytest_id(self) -> str:
        return host_identity(self)

    get_pytest_id._timesync_identity = True  # type: ignore[attr-defined]  # marks testinfra's patched method
    base.BaseBackend.get_pytest_id = get_pytest_id
