"""One identity per host: backend, user, address, port and sudo tell targets apart."""

import pytest
import testinfra

from timesync_audit.identity import bare_name, host_identity


@pytest.mark.parametrize(
    "url, expected",
    [
        ("ssh://web1", "ssh://web1"),
        ("ssh://root@h:2200", "ssh://root@h:2200"),
        ("paramiko://auditor@h:22", "paramiko://auditor@h:22"),
        ("docker://c1", "docker://c1"),
        ("docker://auditor@c1", "docker://auditor@c1"),
        ("podman://auditor@c1", "podman://auditor@c1"),
        ("ssh://[::1]:2222", "ssh://[::1]:2222"),
        ("local://", "local://local"),
    ],
)
def test_identity_keeps_every_part_written(url, expected):
    assert host_identity(testinfra.get_host(url).backend) == expected


def test_targets_on_one_address_are_different_hosts():
    urls = [
        "ssh://root@h:2200",
        "ssh://root@h:2299",
        "ssh://h:2200",
        "ssh://auditor@h:2200",
        "docker://c",
        "docker://auditor@c",
    ]
    assert len({host_identity(testinfra.get_host(u).backend) for u in urls}) == len(urls)


def test_sudo_is_part_of_the_identity():
    plain = host_identity(testinfra.get_host("ssh://auditor@h").backend)
    sudo = host_identity(testinfra.get_host("ssh://auditor@h", sudo=True).backend)
    sudo_user = host_identity(testinfra.get_host("ssh://auditor@h", sudo=True, sudo_user="ops").backend)
    assert len({plain, sudo, sudo_user}) == 3 and sudo.endswith("?sudo") and sudo_user.endswith("?sudo=ops")


@pytest.mark.parametrize(
    "identity, name",
    [
        ("ssh://root@web1:22?sudo", "web1"),
        ("docker://c1", "c1"),
        ("ansible://web1", "web1"),
        ("ssh://[::1]:2222", "::1"),
        ("ssh://fe80::1", "fe80::1"),
    ],
)
def test_bare_name(identity, name):
    assert bare_name(identity) == name
