"""Gather bounds: one definition; default < pytest.ini < inventory variable < command line."""

import pytest
from test_inventory import suite, write

from timesync_audit import inventory, limits
from timesync_audit.policy import PolicyError, default_policy


class Config:
    """What limits and inventory read from pytest's config."""

    def __init__(self, options=None, ini=None, inventory_path=None):
        self._options = dict(options or {})
        if inventory_path:
            self._options.update(ansible_inventory=str(inventory_path), hosts="ansible://all")
        self._ini = ini or {}
        self.inipath = "/repo/pytest.ini"

    def getoption(self, name, default=None):
        return self._options.get(name, default)

    def getini(self, name):
        return self._ini.get(name, "")


def resolved(config):
    base, command_line = limits.from_config(config)
    return base, command_line, limits.resolve(base, {}, None, command_line)


def test_defaults_are_not_explicit():
    _, _, bounds = resolved(Config())
    assert bounds.values == {"connect_timeout": 10, "host_timeout": 120, "max_host_bytes": 16 * 1024 * 1024}
    assert bounds.explicit == frozenset()
    assert bounds.transport_limits().host_timeout == 120.0
    assert bounds.transport_limits().connect_timeout_explicit is False  # ssh_config's ConnectTimeout may apply


def test_command_line_beats_ini():
    _, _, bounds = resolved(Config({"connect_timeout": "3"}, {"connect_timeout": "7", "host_timeout": "30"}))
    assert bounds.values["connect_timeout"] == 3 and bounds.values["host_timeout"] == 30
    assert bounds.explicit == {"connect_timeout", "host_timeout"}
    assert bounds.transport_limits().connect_timeout_explicit is True


@pytest.mark.parametrize(
    "options, ini, message",
    [
        ({"connect_timeout": "soon"}, {}, "--connect-timeout: expected a number, got 'soon'"),
        ({"host_timeout": "-5"}, {}, "--host-timeout: expected a positive number, got '-5'"),
        ({"host_timeout": "nan"}, {}, "--host-timeout: expected a positive number, got 'nan'"),
        ({"max_host_bytes": "1.5"}, {}, "--max-host-bytes: expected a whole number, got '1.5'"),
        ({}, {"host_timeout": "0"}, "/repo/pytest.ini: host_timeout: expected a positive number, got '0'"),
    ],
)
def test_bad_values_name_where_they_were_written(options, ini, message):
    with pytest.raises(PolicyError) as err:
        resolved(Config(options, ini))
    assert str(err.value) == message


INVENTORY = """\
    all:
      vars:
        timesync_audit_host_timeout: 60
      hosts:
        fast:
          ansible_connection: local
          timesync_audit_connect_timeout: 2
        plain:
          ansible_connection: local
      children:
        slow:
          vars:
            timesync_audit_host_timeout: 300
          hosts:
            far:
              ansible_connection: local
    """


def bounds_by_host(tmp_path, options=None, text=INVENTORY):
    write(tmp_path, {"inv.yml": text})
    config = Config(options, inventory_path=tmp_path / "inv.yml")
    data = inventory.read(str(tmp_path / "inv.yml"))
    inventory.host_policies(config, default_policy(), {}, data)  # validates, as the plugin does
    base, command_line = limits.from_config(config)
    return inventory.host_bounds(config, base, command_line, data)


def test_inventory_sets_bounds_per_host_and_group(tmp_path):
    found = bounds_by_host(tmp_path)
    assert found["fast"].values["connect_timeout"] == 2 and found["fast"].values["host_timeout"] == 60
    assert found["far"].values["host_timeout"] == 300 and found["far"].values["connect_timeout"] == 10
    assert found["plain"].explicit == {"host_timeout"}


def test_command_line_beats_inventory(tmp_path):
    found = bounds_by_host(tmp_path, {"host_timeout": "9"})
    assert {h: b.values["host_timeout"] for h, b in found.items()} == {"fast": 9, "plain": 9, "far": 9}


def test_bad_inventory_bound_names_file_line_and_variable(tmp_path):
    with pytest.raises(PolicyError) as err:
        bounds_by_host(
            tmp_path,
            text=INVENTORY.replace("timesync_audit_connect_timeout: 2", "timesync_audit_connect_timeout: never"),
        )
    assert f"{tmp_path}/inv.yml:7 (host fast): timesync_audit_connect_timeout: expected a number, got 'never'" in str(
        err.value
    )


def test_a_bad_bound_is_a_usage_error_before_any_host(tmp_path):
    proc = suite("--hosts=ssh://192.0.2.1", "--connect-timeout=-1", "--junitxml", str(tmp_path / "j.xml"))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "--connect-timeout: expected a positive number, got '-1'" in proc.stderr
    assert "Traceback" not in proc.stderr
