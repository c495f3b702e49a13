"""--hosts values are checked before any host is contacted: one precise message, exit 4."""

import subprocess
import sys

import pytest

from timesync_audit.hostspec import HostSpecError, check

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "value, words",
    [
        ("", "empty"),
        (",", "empty"),
        ("ssh://a,,ssh://b", "empty item"),
        ("ftp://h", "unknown scheme 'ftp'"),
        ("ssh://", "no host"),
        ("docker://", "no host"),
        ("ssh://[::1", "unbalanced '['"),
        ("ssh://h:99999", "port"),
        ("ssh://h:abc", "port 'abc'"),
        ("ssh://h:0", "port"),
        ("local", "did you mean local://"),
        ("docker", "did you mean docker://"),
        ("ansible://all", "needs --ansible-inventory"),
        ("docker://c:22", "container name"),
        ("ssh://@h", "empty user"),
        ("ssh://:22", "no host before"),
    ],
)
def test_bad_values_are_refused_with_why(value, words):
    with pytest.raises(HostSpecError, match=None) as found:
        check(value, has_inventory=False)
    assert words in str(found.value)


@pytest.mark.parametrize(
    "value",
    [
        "ssh://root@h:2200",
        "paramiko://auditor@h",
        "docker://c",
        "docker://auditor@c",
        "local://",
        "web1",
        "ssh://[::1]:2222",
        "ssh://[fe80::1]",
        "ssh://h?sudo=true",
        "podman://c1,ssh://h",
    ],
)
def test_good_values_pass(value):
    assert check(value, has_inventory=False)


def test_ansible_with_an_inventory_passes():
    assert check("ansible://all", has_inventory=True) == ["ansible://all"]


def test_the_suite_stops_with_exit_4_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--hosts=ssh://[::1",
            "-p",
            "no:cacheprovider",
            f"--junitxml={tmp_path}/j.xml",
            f"--html={tmp_path}/r.html",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 4
    assert "unbalanced '['" in proc.stderr and "Traceback" not in proc.stdout + proc.stderr
