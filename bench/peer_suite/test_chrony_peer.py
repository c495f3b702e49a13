"""The chrony rules written the usual testinfra way: each test asks the host for what it checks.

The peer of the compliance suite in bench/fleet.py: the 14 rules of tests/chrony/rules plus
service_chronyd_enabled (tests/services) and chrony_synchronized (tests/live), judged on a
Debian host with chrony. Each check runs its own remote commands (testinfra caches nothing
but the host's system info), which is what a fleet run of such a suite pays per host.
"""

import re

import pytest

CONF = "/etc/chrony/chrony.conf"
KEYS = "/etc/chrony/chrony.keys"
APPROVED = {"nts-server", "nts-server2"}
#: every file chronyd reads on Debian: the main file, confdir and sourcedir
ALL_CONF = "cat /etc/chrony/chrony.conf /etc/chrony/conf.d/*.conf /etc/chrony/sources.d/*.sources 2>/dev/null"


def directives(host, name=None):
    """(directive, args) of every line of chronyd's configuration files."""
    out = host.run(ALL_CONF).stdout
    found = []
    for line in out.splitlines():
        words = line.split("#", 1)[0].split()
        if words and (name is None or words[0] == name):
            found.append((words[0], words[1:]))
    return found


def sources(host):
    return [(d, args) for d, args in directives(host) if d in ("server", "pool", "peer")]


def last(host, name, default):
    values = [args[0] for _, args in directives(host, name) if args]
    return values[-1] if values else default


def test_chrony_nts_dumpdir(host):
    conf = directives(host)
    if not any("nts" in args for d, args in conf if d in ("server", "pool")):
        pytest.skip("no NTS source")
    assert any(d in ("ntsdumpdir", "ntscachedir") for d, _ in conf)


def test_chrony_nts_trust(host):
    paths = [args[0] for _, args in directives(host, "ntstrustedcerts") if args]
    if not paths:
        pytest.skip("no ntstrustedcerts")
    for path in paths:
        f = host.file(path)
        assert f.exists, path
        assert f.mode & 0o004 or f.group == "_chrony", path


def test_chrony_set_nts(host):
    found = sources(host)
    assert found, "no source"
    for d, args in found:
        if d == "peer":
            assert "key" in args
        else:
            assert "nts" in args, f"{d} {args[0]} without nts"


def test_chronyd_client_only(host):
    assert last(host, "port", "123") == "0"


def test_chronyd_configure_local_socket(host):
    unit = host.file("/lib/systemd/system/chrony-wait.service")
    if not unit.exists:
        pytest.skip("chrony-wait.service is not installed")
    dropins = host.run("cat /etc/systemd/system/chrony-wait.service.d/*.conf 2>/dev/null").stdout
    starts = [line for line in (unit.content_string + dropins).splitlines() if line.startswith("ExecStart=")]
    effective = starts[starts.index("ExecStart=") + 1 :] if "ExecStart=" in starts else starts
    assert effective, "no ExecStart"
    for line in effective:
        assert "chronyc" in line and "waitsync" in line and " -h " not in line, line


def test_chronyd_configure_pool_and_server(host):
    found = sources(host)
    assert found, "no source"
    assert {args[0] for _, args in found} <= APPROVED


def test_chronyd_no_chronyc_network(host):
    assert last(host, "cmdport", "323") == "0"


def test_chronyd_run_as_chrony_user(host):
    assert all(args[0] == "_chrony" for _, args in directives(host, "user") if args)
    assert " -u " not in host.file("/etc/default/chrony").content_string
    for proc in host.process.filter(comm="chronyd"):
        assert proc.user == "_chrony"


def test_chronyd_server_directive(host):
    found = sources(host)
    assert any(d == "server" for d, _ in found), "no server line"
    assert not any(d == "pool" for d, _ in found), "pool line"


def test_chronyd_specify_remote_server(host):
    remote = [
        args
        for d, args in sources(host)
        if d in ("server", "pool") and "noselect" not in args and not re.match(r"^(127\.|::1$|localhost)", args[0])
    ]
    assert remote, "no remote source"


def test_chronyd_sync_clock(host):
    steps = [args for _, args in directives(host, "makestep")]
    assert steps, "no makestep"
    for args in steps:
        assert float(args[0]) <= 1 and int(args[1]) == 3, args


def keyfile(host):
    f = host.file(last(host, "keyfile", KEYS))
    if not f.exists:
        pytest.skip("no key file")
    return f


def test_file_groupowner_etc_chrony_keys(host):
    assert keyfile(host).group == "_chrony"


def test_file_owner_etc_chrony_keys(host):
    assert keyfile(host).uid == 0


def test_file_permissions_etc_chrony_keys(host):
    assert keyfile(host).mode & 0o7137 == 0


def test_service_chronyd_enabled(host):
    assert host.service("chrony").is_enabled


def test_chrony_synchronized(host):
    tracking = host.run("chronyc -n tracking")
    assert tracking.rc == 0, tracking.stderr
    assert "Leap status     : Normal" in tracking.stdout
