"""Build recorded hosts and run a rule on them exactly as the suite does on a live host; read the
rules' scenarios (their data files, their templates' data)."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import pathlib

import pytest
import yaml

from timesync_audit import collector, views
from timesync_audit.gather.recorded import RecordedFile, RecordedHost
from timesync_audit.gather.snapshot import CommandOutput, Stat
from timesync_audit.outcomes import CouldNotCheck
from timesync_audit.policy import default_policy
from timesync_audit.rules import FUNCTIONS, data_files, load_data
from timesync_audit.services import BY_NAME, TIME_SERVICES

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
RECORDED = HERE / "recorded"


def load_rule_modules() -> None:
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        name = "rules_" + "_".join(path.relative_to(ROOT / "tests").with_suffix("").parts)
        if name in _loaded:
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _loaded.add(name)


_loaded: set[str] = set()


# -- scenarios: each rule's own (its data file) and its template's --------------------------------


def template_file(name: str) -> pathlib.Path:
    """A template's data: tests/<family>/templates/<name>.yaml."""
    found = sorted((ROOT / "tests").glob(f"*/templates/{name}.yaml"))
    if len(found) != 1:
        raise LookupError(f"template {name}: expected one tests/*/templates/{name}.yaml, found {found}")
    return found[0]


def template_context(rule_id: str, variables: dict) -> dict:
    """What a template's scenarios may name, as {placeholder}: the rule's id and template
    variables and, for a `service` variable, that service's facts (timesync_audit/services.py):
    label, first package, unit, process name and init script, and `other`, another time service."""
    context = {"rule_id": rule_id, **variables}
    if "service" in variables:
        service = BY_NAME[variables["service"]]
        context.update(
            label=service.label,
            package=service.packages[0],
            unit=service.units[0],
            comm=service.comms[0],
            init_script=service.init_scripts[0],
            other=next(s for s in TIME_SERVICES if s != service.name),
        )
    return context


def _filled(value, context: dict):
    if isinstance(value, str):
        return value.format_map(context)
    if isinstance(value, dict):
        return {_filled(k, context): _filled(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, context) for v in value]
    return value


def rule_cases() -> list[tuple[str, str, dict]]:
    """(rule id, case id, case) of every scenario: each rule's own, then its template's, filled in
    with the rule's context."""
    cases = []
    for path in data_files():
        data = load_data(path)
        rule_id = data["id"]
        cases += [(rule_id, f"{rule_id}: {case['name']}", case) for case in data["scenarios"]]
        spec = data.get("template")
        if spec:
            context = template_context(rule_id, spec.get("vars") or {})
            for case in load_data(template_file(spec["name"]))["scenarios"]:
                filled = _filled(case, context)
                cases.append((rule_id, f"{rule_id}: {spec['name']} template: {filled['name']}", filled))
    return cases


def _stat(spec: dict, kind: str = "regular file") -> Stat:
    return Stat(
        int(spec.get("uid", 0)),
        int(spec.get("gid", 0)),
        spec.get("user", "root"),
        spec.get("group", "root"),
        int(str(spec.get("mode", "0644")), 8),
        spec.get("kind", kind),
    )


def layout_files(layout: str) -> tuple[dict[str, RecordedFile], dict[str, CommandOutput]]:
    base = RECORDED / layout
    meta = yaml.safe_load((base / "layout.yaml").read_text())
    files = {}
    for path in (base / "root").rglob("*"):
        if path.is_file():
            files["/" + str(path.relative_to(base / "root"))] = RecordedFile(path.read_text())
    for path, spec in (meta.get("stats") or {}).items():
        files[path] = RecordedFile(None, _stat(spec))
    commands = {n: CommandOutput(n, 0, out) for n, out in (meta.get("commands") or {}).items()}
    return files, commands


def recorded_host(layout: str, files: dict | None = None, commands: dict | None = None) -> RecordedHost:
    """A layout with scenario changes: a path maps to text, to a spec dict, or to None (removed)."""
    base_files, base_commands = layout_files(layout)
    for path, spec in (files or {}).items():
        if spec is None:
            base_files.pop(path, None)
        elif isinstance(spec, str):
            base_files[path] = RecordedFile(spec)
        else:
            content = spec.get("content")
            if "append" in spec:
                content = (base_files[path].content or "") + spec["append"]
            base_files[path] = RecordedFile(
                content,
                _stat(spec),
                spec.get("link"),
                spec.get("readable", True),
                spec.get("searchable", True),
                spec.get("dangling", False),
            )
    for name, out in (commands or {}).items():
        base_commands[name] = CommandOutput(name, 0, out)
    return RecordedHost(base_files, base_commands)


@dataclasses.dataclass
class Outcome:
    status: str  # passed, failed, skipped, error
    message: str


def run_rule(rule_id: str, host: RecordedHost, policy: dict | None = None) -> Outcome:
    load_rule_modules()
    func = FUNCTIONS[rule_id]
    resolved = default_policy().with_overrides(policy or {}, "scenario")
    try:
        gathered = collector.collect(host.execute)
        fixed = {"policy": resolved, "gathered": gathered}
        kwargs = {
            name: fixed[name] if name in fixed else views.VIEWS[name](gathered, resolved)
            for name in inspect.signature(func).parameters
        }
        func(**kwargs)
    except CouldNotCheck as exc:
        return Outcome("error", str(exc))
    except pytest.skip.Exception as exc:
        return Outcome("skipped", str(exc))
    except (pytest.fail.Exception, AssertionError) as exc:
        return Outcome("failed", str(exc))
    return Outcome("passed", "")
