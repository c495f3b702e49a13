"""Per-distribution facts in one table: paths, users, unit names.

Chosen from os-release (ID, then ID_LIKE), and, where that says nothing we
know, from which main configuration file exists, in the spirit of
testinfra's per-platform module classes.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ChronyLayout:
    family: str
    main_conf: str
    default_keyfile: str
    options_file: str
    options_var: str
    unit: str
    unit_aliases: tuple[str, ...]
    user: str
    group: str


CHRONY_LAYOUTS = {
    "debian": ChronyLayout(
        "debian",
        "/etc/chrony/chrony.conf",
        "/etc/chrony/chrony.keys",
        "/etc/default/chrony",
        "DAEMON_OPTS",
        "chrony.service",
        ("chronyd.service",),
        "_chrony",
        "_chrony",
    ),
    "redhat": ChronyLayout(
        "redhat",
        "/etc/chrony.conf",
        "/etc/chrony.keys",
        "/etc/sysconfig/chronyd",
        "OPTIONS",
        "chronyd.service",
        ("chrony.service",),
        "chrony",
        "chrony",
    ),
    "suse": ChronyLayout(
        "suse",
        "/etc/chrony.conf",
        "/etc/chrony.keys",
        "/etc/sysconfig/chronyd",
        "OPTIONS",
        "chronyd.service",
        ("chrony.service",),
        "chrony",
        "chrony",
    ),
}

_FAMILY_OF_ID = {
    "debian": "debian",
    "ubuntu": "debian",
    "linuxmint": "debian",
    "raspbian": "debian",
    "pop": "debian",
    "rhel": "redhat",
    "centos": "redhat",
    "fedora": "redhat",
    "rocky": "redhat",
    "almalinux": "redhat",
    "ol": "redhat",
    "amzn": "redhat",
    "scientific": "redhat",
    "eurolinux": "redhat",
    "sles": "suse",
    "sled": "suse",
    "opensuse": "suse",
    "opensuse-leap": "suse",
    "opensuse-tumbleweed": "suse",
    "suse": "suse",
}


@dataclasses.dataclass(frozen=True)
class OsRelease:
    id: str
    id_like: tuple[str, ...]
    version_id: str
    pretty_name: str

    @property
    def family(self) -> str | None:
        for candidate in (self.id,) + self.id_like:
            if candidate in _FAMILY_OF_ID:
                return _FAMILY_OF_ID[candidate]
        return None


def parse_os_release(content: str | None) -> OsRelease:
    values: dict[str, str] = {}
    for line in (content or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip("\"'")
    return OsRelease(
        values.get("ID", "").lower(),
        tuple(values.get("ID_LIKE", "").lower().split()),
        values.get("VERSION_ID", ""),
        values.get("PRETTY_NAME", values.get("ID", "unknown")),
    )


def chrony_layout(os_release: OsRelease, existing: set[str]) -> ChronyLayout:
    family = os_release.family
    if family is None:
        family = "debian" if "/etc/chrony/chrony.conf" in existing else "redhat"
    return CHRONY_LAYOUTS[family]
