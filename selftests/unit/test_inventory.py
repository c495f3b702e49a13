"""Inventories: policy variables with Ansible's precedence, precise errors, one read per run."""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent


def suite(*args, env=None, cwd=ROOT):
    """The compliance suite as a user runs it, in a subprocess."""
    env = dict(os.environ, **(env or {}))
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}" if "PATH" not in (env or {}) else env["PATH"]
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def write(base: pathlib.Path, files: dict) -> pathlib.Path:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return base


YAML_INVENTORY = """\
    all:
      vars:
        timesync_audit_approved_servers: [a.example, b.example]
      hosts:
        h1:
          ansible_connection: local
          timesync_audit_min_sources: 3
      children:
        stig:
          hosts:
            h2:
              ansible_connection: local
    """


def policies(tmp_path, inventory_name="inv.yml"):
    from timesync_audit import inventory
    from timesync_audit.policy import default_policy

    class Config:
        _options = {"ansible_inventory": str(tmp_path / inventory_name), "hosts": "ansible://all"}

        def getoption(self, name, default=None):
            return self._options.get(name, default)

    return inventory.host_policies(Config(), default_policy(), {"require_nts": "false"})


def test_group_and_host_variables_with_ansible_precedence(tmp_path):
    write(
        tmp_path,
        {
            "inv.yml": YAML_INVENTORY,
            "group_vars/stig.yml": "timesync_audit_maxpoll_max: 16\n",
            "host_vars/h2.yml": "timesync_audit_min_sources: 4\n",
        },
    )
    result = policies(tmp_path)
    assert result["h1"].min_sources == 3 and result["h1"].maxpoll_max == 10
    assert result["h2"].maxpoll_max == 16 and result["h2"].min_sources == 4
    assert result["h1"].approved_servers == ("a.example", "b.example")
    assert result["h2"].require_nts is False  # --policy wins over the inventory
    assert result["h2"].origin["maxpoll_max"].startswith(f"inventory {tmp_path}/group_vars/stig.yml:1 (group stig)")


def test_ini_inventory(tmp_path):
    write(
        tmp_path,
        {
            "hosts.ini": """\
        [web]
        w1 ansible_connection=local timesync_audit_maxpoll_max=12

        [web:vars]
        timesync_audit_require_nts=false
        """
        },
    )
    result = policies(tmp_path, "hosts.ini")
    assert result["w1"].maxpoll_max == 12 and result["w1"].require_nts is False


@pytest.mark.parametrize(
    "files, message",
    [
        (
            {"group_vars/stig.yml": "timesync_audit_maxpoll_max: lots\n"},
            "group_vars/stig.yml:1 (group stig): timesync_audit_maxpoll_max: expected an integer, got 'lots'",
        ),
        (
            {"group_vars/all.yml": "timesync_audit_maxpol_max: 16\n"},
            "group_vars/all.yml:1 (group all): unknown variable 'timesync_audit_maxpol_max'",
        ),
        (
            {"host_vars/h1.yml": "x: 1\ntimesync_audit_min_sources: 0\n"},
            "host_vars/h1.yml:2 (host h1): timesync_audit_min_sources: must be between 1 and 64",
        ),
    ],
)
def test_bad_variables_name_file_line_scope_and_key(tmp_path, files, message):
    from timesync_audit.policy import PolicyError

    write(tmp_path, {"inv.yml": YAML_INVENTORY, **files})
    with pytest.raises(PolicyError) as exc:
        policies(tmp_path)
    assert message in str(exc.value)


def test_bad_input_stops_the_run_before_any_host_is_contacted(tmp_path):
    write(tmp_path, {"inv.yml": YAML_INVENTORY + "    bogus: [\n"})
    run = suite(f"--ansible-inventory={tmp_path}/inv.yml", "--hosts=ansible://all")
    assert run.returncode == 4 and "inv.yml" in run.stderr + run.stdout
    write(tmp_path, {"inv.yml": YAML_INVENTORY})
    run = suite(f"--ansible-inventory={tmp_path}/inv.yml", "--hosts=ansible://nosuchgroup")
    assert run.returncode == 4 and "no host of" in run.stderr + run.stdout


def test_inventory_is_read_once_per_run_even_with_xdist(tmp_path):
    write(tmp_path, {"inv.yml": YAML_INVENTORY})
    log = tmp_path / "calls.log"
    real = subprocess.run(
        ["which", "ansible-inventory"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"),
    ).stdout.strip()
    wrapper = tmp_path / "bin" / "ansible-inventory"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho call >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    env = {"PATH": f"{wrapper.parent}{os.pathsep}{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    run = suite(
        f"--ansible-inventory={tmp_path}/inv.yml",
        "--hosts=ansible://all",
        "-n",
        "2",
        f"--junitxml={tmp_path}/j.xml",
        f"--html={tmp_path}/r.html",
        env=env,
    )
    assert "passed" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
    assert log.read_text().count("call") == 1


def test_an_unreadable_inventory_is_named_by_file_line_and_column(tmp_path):
    """ansible-inventory explains each of its plugins' failures; the one with a line comes first."""
    write(tmp_path, {"inv.yml": "all:\n  hosts:\n    web1:\n      ansible_host: [a\n    web2: {}\n"})
    proc = suite("--hosts=ansible://all", f"--ansible-inventory={tmp_path / 'inv.yml'}")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    line = next(l for l in proc.stderr.splitlines() if "cannot be read" in l)
    assert line.startswith(f"ERROR: {tmp_path}/inv.yml:5:9: the inventory cannot be read"), line
    assert len(line) <= 420 and "Traceback" not in proc.stderr


def test_the_cause_survives_a_long_ansible_message():
    from timesync_audit.inventory import unreadable_inventory

    noise = "[WARNING]: Failed to parse inventory with 'ini' plugin: " + "x" * 2000 + "\nOrigin: /i.yml\n"
    text = unreadable_inventory(
        "/i.yml",
        "[WARNING]: Failed to parse inventory with 'auto' plugin: YAML parsing "
        "failed: bad indent\n\nOrigin: /i.yml:3:7\n\n" + noise,
    )
    assert text == "/i.yml:3:7: the inventory cannot be read (auto plugin): YAML parsing failed: bad indent"
