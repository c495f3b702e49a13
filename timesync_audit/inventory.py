"""Ansible inventories: hosts, groups and per-host policy.

Policy comes from inventory variables named `timesync_audit_<policy key>`
(the linux-system-roles `timesync` role already owns `timesync_*`), set in the
inventory file (YAML or INI), in group_vars/ or host_vars/ beside it, with
Ansible's precedence (host over child group over parent group over all).

The inventory is read once per run (`configure`): the controller runs
`ansible-inventory --list` once, keeps its answer in config.stash and in a run
file, and pytest-xdist workers read that file; testinfra's own inventory
function is pointed at it too.
Every variable is validated before any host is contacted, and a bad one is
reported with its file, line, group or host, and key.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from typing import Any

import pytest
import yaml

from . import limits
from .display import shorten
from .policy import POLICY_KEYS, PolicyError, convert_value
from .stash_keys import INVENTORY, INVENTORY_FILE

PREFIX = "timesync_audit_"
_WORKER_KEY = "timesync_inventory_json"


@dataclasses.dataclass(frozen=True)
class VarSource:
    path: str
    line: int
    scope: str  # "group web", "host web1"
    key: str
    value: Any

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line} ({self.scope})"


# ---- reading the inventory once -------------------------------------------------------------


def _run_ansible_inventory(path: str) -> dict:
    env = dict(
        os.environ,
        ANSIBLE_VERBOSITY="0",
        ANSIBLE_INVENTORY_UNPARSED_FAILED="True",
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="True",
        ANSIBLE_NOCOLOR="1",
    )
    # on PATH first; else beside this Python (a virtualenv used without activating it)
    command = shutil.which("ansible-inventory") or str(pathlib.Path(sys.executable).parent / "ansible-inventory")
    try:
        proc = subprocess.run([command, "--list", "-i", path], capture_output=True, text=True, env=env, timeout=120)
    except FileNotFoundError:
        raise PolicyError("--ansible-inventory needs ansible-inventory (pip install -r requirements.txt)") from None
    if proc.returncode != 0:
        raise PolicyError(shorten(unreadable_inventory(path, proc.stderr), 400))
    return json.loads(proc.stdout)


_PLUGIN_FAILED = re.compile(r"Failed to parse inventory with '([\w.]+)' plugin: (.*)")
_ORIGIN = re.compile(r"^Origin: (.*?):(\d+)(?::(\d+))?\s*$", re.M)


def unreadable_inventory(path: str, stderr: str) -> str:
    """ansible-inventory's reason, file:line:column first: it tries every inventory plugin and
    says why each failed; the one that names a line (YAML's), else the plugin for the file's
    kind, is the reason a person needs, not the last plugin's guess."""
    failures = []  # (plugin, message, origin)
    for match in _PLUGIN_FAILED.finditer(stderr):
        tail = stderr[match.end() :]
        nxt = _PLUGIN_FAILED.search(tail)
        origin = _ORIGIN.search(tail[: nxt.start()] if nxt else tail)
        where = (
            f"{origin.group(1)}:{origin.group(2)}" + (f":{origin.group(3)}" if origin.group(3) else "")
            if origin
            else path
        )
        failures.append((match.group(1), match.group(2).strip(), where))
    kind = "yaml" if path.endswith((".yml", ".yaml", ".json")) else "ini"
    chosen = (
        next((f for f in failures if f[2] != path), None)
        or next((f for f in failures if f[0] == kind), None)
        or (failures[-1] if failures else None)
    )
    if chosen is None:
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        return f"{path}: the inventory cannot be read: {lines[-1] if lines else 'ansible-inventory failed'}"
    plugin, message, where = chosen
    return f"{where}: the inventory cannot be read ({plugin} plugin): {message}"


def read(path: str) -> dict:
    """The inventory as `ansible-inventory --list` gives it."""
    if not os.path.exists(path):
        raise PolicyError(f"{path}: inventory file does not exist")
    return _run_ansible_inventory(path)


def configure(config: pytest.Config) -> dict | None:
    """Read the run's inventory once and keep it (config.stash): an xdist worker reads the run
    file its controller wrote instead of running ansible-inventory again."""
    path = config.getoption("ansible_inventory", None)
    if not path:
        return None
    shared = getattr(config, "workerinput", {}).get(_WORKER_KEY)
    if shared:
        data = json.loads(pathlib.Path(shared).read_text())
    else:
        data = read(path)
        fd, shared = tempfile.mkstemp(prefix="timesync-inventory-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        config.stash[INVENTORY_FILE] = shared
    config.stash[INVENTORY] = data
    _point_testinfra_at(path, data)
    return data


def _point_testinfra_at(path: str, data: dict) -> None:
    import testinfra.utils.ansible_runner as runner  # testinfra's internals: loaded only with an inventory

    original = getattr(runner.get_ansible_inventory, "__wrapped__", runner.get_ansible_inventory)
    wanted = os.path.abspath(path)

    def cached(ansible_config, inventory_file):
        if inventory_file and os.path.abspath(inventory_file) == wanted:
            return data
        return original(ansible_config, inventory_file)

    cached.__wrapped__ = original  # type: ignore[attr-defined]  # testinfra's original, for the next patch
    runner.get_ansible_inventory = cached


class XdistHooks:
    """Hand the controller's inventory file to every worker."""

    def __init__(self, config: pytest.Config):
        self.config = config

    def pytest_configure_node(self, node) -> None:
        path = self.config.stash.get(INVENTORY_FILE, None)
        if path:
            node.workerinput[_WORKER_KEY] = path


def unconfigure(config: pytest.Config) -> None:
    path = config.stash.get(INVENTORY_FILE, None)
    if path and os.path.exists(path):
        os.unlink(path)


# ---- groups --------------------------------------------------------------------------------


def _members(data: dict, group: str, seen: set | None = None) -> set[str]:
    seen = seen or set()
    if group in seen or group not in data:
        return set()
    seen.add(group)
    hosts = set(data[group].get("hosts", []))
    for child in data[group].get("children", []):
        hosts |= _members(data, child, seen)
    return hosts


def host_groups(config: pytest.Config, host_name: str) -> set[str]:
    """Inventory groups of a host (empty without an inventory)."""
    data = config.stash.get(INVENTORY, None)
    if not data:
        return set()
    return {g for g in data if g != "_meta" and host_name in _members(data, g)}


def hosts_matching(data: dict, pattern: str) -> set[str]:
    """Hosts of a testinfra ansible:// pattern (group or host glob), as testinfra selects them."""
    result: set[str] = set()
    for group in data:
        if group == "_meta":
            continue
        if fnmatch.fnmatch(group, pattern):
            result |= _members(data, group)
        result |= {h for h in data[group].get("hosts", []) if fnmatch.fnmatch(h, pattern)}
    return result


# ---- where each timesync_audit_* variable is written ----------------------------------------


def _yaml_mapping(node) -> list[tuple[str, Any, int]]:
    if not isinstance(node, yaml.MappingNode):
        return []
    out = []
    for key, value in node.value:
        out.append((str(key.value), value, key.start_mark.line + 1))
    return out


def _yaml_value(node) -> Any:
    return yaml.safe_load(yaml.serialize(node)) if node is not None else None


def _vars_of(path: str, node, scope: str) -> list[VarSource]:
    return [
        VarSource(path, line, scope, key, _yaml_value(value))
        for key, value, line in _yaml_mapping(node)
        if key.startswith(PREFIX)
    ]


def _yaml_inventory(path: str, root) -> list[VarSource]:
    found: list[VarSource] = []

    def group(name: str, node) -> None:
        for key, value, _ in _yaml_mapping(node):
            if key == "vars":
                found.extend(_vars_of(path, value, f"group {name}"))
            elif key == "hosts":
                for host, host_node, _ in _yaml_mapping(value):
                    found.extend(_vars_of(path, host_node, f"host {host}"))
            elif key == "children":
                for child, child_node, _ in _yaml_mapping(value):
                    group(child, child_node)

    for name, node, _ in _yaml_mapping(root):
        group(name, node)
    return found


def _ini_inventory(path: str, text: str) -> list[VarSource]:
    found: list[VarSource] = []
    section = "ungrouped"
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section.endswith(":vars"):
            key, _, value = line.partition("=")
            if key.strip().startswith(PREFIX):
                found.append(VarSource(path, lineno, f"group {section[:-5]}", key.strip(), _ini_value(value)))
        elif not section.endswith(":children"):
            words = shlex.split(line, comments=True)
            for word in words[1:]:
                key, sep, value = word.partition("=")
                if sep and key.startswith(PREFIX):
                    found.append(VarSource(path, lineno, f"host {words[0]}", key, _ini_value(value)))
    return found


def _ini_value(text: str) -> Any:
    text = text.strip()
    try:
        return yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        return text


def _vars_files(base: pathlib.Path) -> list[VarSource]:
    found: list[VarSource] = []
    for kind, scope in (("group_vars", "group"), ("host_vars", "host")):
        directory = base / kind
        if not directory.is_dir():
            continue
        for entry in sorted(directory.iterdir()):
            files = sorted(entry.iterdir()) if entry.is_dir() else [entry]
            name = (
                entry.name
                if entry.is_dir()
                else entry.name.rsplit(".", 1)[0]
                if entry.suffix in (".yml", ".yaml", ".json")
                else entry.name
            )
            for file in files:
                if file.is_file() and (file.suffix in (".yml", ".yaml", ".json", "") and not file.name.startswith(".")):
                    found.extend(_vars_of(str(file), _compose(file), f"{scope} {name}"))
    return found


def _compose(path: pathlib.Path):
    try:
        return yaml.compose(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise PolicyError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None


def variable_sources(path: str) -> list[VarSource]:
    """Every timesync_audit_* variable of an inventory (file or directory) and its vars dirs."""
    root = pathlib.Path(path)
    files = sorted(p for p in root.iterdir() if p.is_file()) if root.is_dir() else [root]
    found: list[VarSource] = []
    for file in files:
        text = file.read_text()
        if file.suffix in (".yml", ".yaml") or (file.suffix == "" and text.lstrip().startswith(("all:", "---"))):
            found.extend(_yaml_inventory(str(file), _compose(file)))
        elif file.suffix in ("", ".ini", ".cfg", ".hosts"):
            found.extend(_ini_inventory(str(file), text))
    found.extend(_vars_files(root if root.is_dir() else root.parent))
    return found


# ---- per-host policy -------------------------------------------------------------------------


def _origin(sources: list[VarSource], host: str, groups: set[str], key: str) -> str:
    for s in sources:
        if s.key == key and s.scope == f"host {host}":
            return f"inventory {s.where}"
    for s in sources:
        if s.key == key and s.scope.startswith("group ") and s.scope[6:] in groups:
            return f"inventory {s.where}"
    return "inventory"


def host_policies(config: pytest.Config, base, overrides: dict, data: dict | None = None) -> dict:
    """Inventory host name -> resolved Policy; validated before any host is contacted. `data`:
    the run's inventory (`configure`), read here when it is not given."""
    path = config.getoption("ansible_inventory", None)
    if not path:
        return {}
    if data is None:
        data = read(path)
    sources = variable_sources(path)
    problems = []
    for s in sources:
        name = s.key[len(PREFIX) :]
        try:
            if name in limits.LIMIT_KEYS:
                limits.convert(name, s.value, f"{s.where}: {s.key}")
            elif name in POLICY_KEYS:
                convert_value(name, s.value, s.where)
            else:
                known = ", ".join(PREFIX + k for k in sorted({*POLICY_KEYS, *limits.LIMIT_KEYS}))
                problems.append(f"{s.where}: unknown variable {s.key!r} (known: {known})")
        except PolicyError as exc:
            problems.append(str(exc).replace(f"policy key {name!r}", s.key))
    if problems:
        raise PolicyError("invalid policy in the inventory:\n  " + "\n  ".join(problems))
    hosts_option = config.getoption("hosts") or ""
    for spec in hosts_option.split(","):
        if spec.startswith("ansible://") and not hosts_matching(data, spec[len("ansible://") :]):
            raise PolicyError(f"--hosts {spec}: no host of {path} matches {spec[len('ansible://') :]!r}")
    policies = {}
    hostvars = data.get("_meta", {}).get("hostvars", {})
    for host in sorted(hosts_matching(data, "*")):
        groups = {g for g in data if g != "_meta" and host in _members(data, g)}
        policy = base
        for key, value in sorted((hostvars.get(host) or {}).items()):
            if key.startswith(PREFIX) and key[len(PREFIX) :] not in limits.LIMIT_KEYS:
                origin = _origin(sources, host, groups, key)
                policy = policy.with_overrides({key[len(PREFIX) :]: value}, origin)
        policies[host] = policy.with_overrides(overrides, "--policy")
    return policies


def host_bounds(config: pytest.Config, base: limits.Bounds, command_line: limits.Bounds, data: dict | None) -> dict:
    """Inventory host name -> its gather bounds. host_policies runs first and has validated every
    timesync_audit_* variable with its file and line, so these values convert."""
    if not data:
        return {}
    result = {}
    for host, hostvars in sorted(data.get("_meta", {}).get("hostvars", {}).items()):
        values = {
            k[len(PREFIX) :]: v
            for k, v in (hostvars or {}).items()
            if k.startswith(PREFIX) and k[len(PREFIX) :] in limits.LIMIT_KEYS
        }
        if values:
            result[host] = limits.resolve(base, values, lambda k: f"inventory: {PREFIX}{k}", command_line)
    return result
