"""Each rule lives in one place: its data file (tests/<family>/rules/<rule id>.yaml) beside the
check that judges it (`test_<rule id>` in a module of the same family). The data is valid against
its JSON Schema, every check has its data and every data file its check, a templated rule is
judged by its template only, and the README's generated tables say what the data says."""

import ast
import importlib.util
import json
import pathlib

import jsonschema
import pytest
import referencing
from support import ROOT, load_rule_modules

from timesync_audit import profiles, rules

SUITE = ROOT / "tests"
SCHEMAS = {name: json.loads((SUITE / f"{name}.schema.json").read_text()) for name in ("rule", "template", "profiles")}
REGISTRY = referencing.Registry().with_resources(
    (schema["$id"], referencing.Resource.from_contents(schema)) for schema in SCHEMAS.values()
)
RULE_FILES = sorted(SUITE.glob("*/rules/*.yaml"))
TEMPLATE_FILES = sorted(SUITE.glob("*/templates/*.yaml"))


def _relative(path: pathlib.Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_is_a_valid_schema(name):
    jsonschema.Draft202012Validator.check_schema(SCHEMAS[name])


@pytest.mark.parametrize(
    "path, schema",
    [(p, "rule") for p in RULE_FILES]
    + [(p, "template") for p in TEMPLATE_FILES]
    + [(SUITE / "profiles.yaml", "profiles")],
    ids=lambda v: _relative(v) if isinstance(v, pathlib.Path) else v,
)
def test_each_data_file_is_valid(path, schema):
    validator = jsonschema.Draft202012Validator(SCHEMAS[schema], registry=REGISTRY)
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in validator.iter_errors(rules.load_data(path))
    ]
    assert not errors, f"{_relative(path)} against tests/{schema}.schema.json:\n" + "\n".join(errors)


def test_the_schema_knows_the_products_the_library_names():
    assert SCHEMAS["rule"]["$defs"]["product"]["enum"] == list(rules.PRODUCTS)


# ---- data and check: one each, side by side -----------------------------------------------------


def _decorated(node, name: str):
    """The function's `@name` or `@name(...)` decorator, or None."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id == name:
            return decorator
    return None


def _checks() -> dict[str, tuple[pathlib.Path, ast.FunctionDef]]:
    """rule id -> (module, function) of every `@rule def test_<id>` under tests/, read with ast."""
    found = {}
    for module in sorted(SUITE.rglob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and _decorated(node, "rule"):
                found[node.name[len("test_") :]] = (module, node)
    return found


def _templates() -> dict[str, pathlib.Path]:
    """template name -> module of every `@template` function under tests/."""
    found = {}
    for module in sorted(SUITE.rglob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.FunctionDef) and _decorated(node, "template"):
                found[node.name] = module
    return found


def test_every_check_has_its_data_and_every_data_file_its_check():
    checks = {rule_id: module.parent for rule_id, (module, _) in _checks().items()}  # rule id -> family
    data = {path.stem: path.parent.parent for path in RULE_FILES}
    without_data = [
        f"{_relative(family)}: test_{r} (no rules/{r}.yaml beside it)"
        for r, family in checks.items()
        if data.get(r) != family
    ]
    without_check = [
        f"{_relative(family)}/rules/{r}.yaml (no test_{r} in {_relative(family)}/test_*.py)"
        for r, family in data.items()
        if checks.get(r) != family
    ]
    assert not without_data and not without_check, (
        "a rule is its data file and its check, in one family (CONTRIBUTING.md, 'Adding a rule'):\n"
        + "\n".join(["checks without data:"] + without_data + ["data without a check:"] + without_check)
    )


def test_the_decorator_carries_no_metadata_in_the_suite():
    """The data file says it all: `@rule`, never `@rule(title=...)`, in tests/."""
    inline = [
        f"{_relative(m)}::{node.name}"
        for m, node in _checks().values()
        if isinstance(_decorated(node, "rule"), ast.Call)
    ]
    assert not inline, f"metadata belongs in the rule's data file: {inline}"


def test_each_data_file_names_its_check():
    wrong = []
    for rule_id, (module, _) in _checks().items():
        path = module.parent / "rules" / f"{rule_id}.yaml"
        first = path.read_text().splitlines()[0] if path.exists() else ""
        if first != f"# check: ../{module.name}::test_{rule_id}":
            wrong.append(f"{_relative(path)}: first line {first!r}")
    assert not wrong, "\n".join(wrong)


def test_the_loaded_rules_are_the_catalog():
    load_rule_modules()
    assert set(rules.REGISTRY) == set(rules.catalog())
    assert all(rules.REGISTRY[r] == meta for r, meta in rules.catalog().items())


def _is_ellipsis(node: ast.FunctionDef) -> bool:
    return (
        len(node.body) == 1
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and node.body[0].value.value is Ellipsis
    )


def test_a_templated_rule_is_judged_by_its_template_only():
    """Its body is `...` (any code there would never run) and its template is of its family; a rule
    without a template has a body of its own."""
    templates = _templates()
    problems = []
    for rule_id, (module, node) in _checks().items():
        spec = rules.load_data(module.parent / "rules" / f"{rule_id}.yaml").get("template")
        if spec and not _is_ellipsis(node):
            problems.append(f"{rule_id}: judged by template {spec['name']}, its body must be `...`")
        if spec and templates.get(spec["name"], module).parent != module.parent:
            problems.append(f"{rule_id}: template {spec['name']} is not of its family ({module.parent.name})")
        if not spec and _is_ellipsis(node):
            problems.append(f"{rule_id}: no template in its data, and no check in its body")
    assert not problems, "\n".join(problems)


def test_every_template_has_its_data_and_rules():
    templates = _templates()
    data = {p.stem: p for p in TEMPLATE_FILES}
    used = {spec["name"] for p in RULE_FILES if (spec := rules.load_data(p).get("template"))}
    assert set(templates) == set(data) == used, (sorted(templates), sorted(data), sorted(used))
    for name, module in templates.items():
        assert data[name].parent.parent == module.parent, f"{name}: its data belongs in {module.parent}/templates/"
        assert rules.load_data(data[name])["name"] == name
        assert {c["expect"] for c in rules.load_data(data[name])["scenarios"]} >= {"passed", "failed"}


@pytest.mark.parametrize("path", RULE_FILES + TEMPLATE_FILES, ids=_relative)
def test_scenario_names_are_unique(path):
    names = [case["name"] for case in rules.load_data(path)["scenarios"]]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


# ---- the decorator refuses a rule that is not one place ---------------------------------------------


@pytest.fixture
def family(tmp_path, monkeypatch):
    """An empty family directory; rules registered while importing its module stay out of the session."""
    for name in ("REGISTRY", "FUNCTIONS", "TEMPLATES"):
        monkeypatch.setattr(rules, name, {})
    (tmp_path / "rules").mkdir()
    return tmp_path


def _import(family, source: str):
    path = family / "test_family.py"
    path.write_text("from timesync_audit.rules import rule, template\n" + source)
    spec = importlib.util.spec_from_file_location(f"family_{id(family)}", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


def _data(family, rule_id: str, **extra) -> None:
    data = dict(
        id=rule_id,
        title="t",
        description="d",
        rationale="r",
        severity="low",
        service="chronyd",
        judges="configuration",
        remediation="m",
        profiles=[],
        scenarios=[],
        **extra,
    )
    (family / "rules" / f"{rule_id}.yaml").write_text(json.dumps(data))


def test_a_check_without_data_is_refused(family):
    with pytest.raises(ValueError, match=r"test_lonely: no data file .*rules/lonely.yaml"):
        _import(family, "@rule\ndef test_lonely(chrony): pass\n")


def test_a_data_file_naming_another_rule_is_refused(family):
    _data(family, "other")
    (family / "rules" / "mine.yaml").write_text((family / "rules" / "other.yaml").read_text())
    with pytest.raises(ValueError, match=r"mine.yaml: id 'other' is not the file's name"):
        _import(family, "@rule\ndef test_mine(chrony): pass\n")


def test_metadata_beside_a_data_file_is_refused(family):
    _data(family, "twice")
    with pytest.raises(ValueError, match=r"the decorator takes no metadata"):
        _import(family, "@rule(title='t')\ndef test_twice(chrony): pass\n")


@pytest.mark.parametrize(
    "rule_def, vars_, message",
    [
        ("def test_x(host_facts): ...", {"service": "chronyd"}, r"judges \(host_facts, policy\): name exactly those"),
        ("def test_x(host_facts, policy): ...", {}, r"variables: missing service"),
        ("def test_x(host_facts, policy): ...", {"service": "chronyd", "colour": "red"}, r"variables: unknown colour"),
    ],
)
def test_a_templated_rule_must_fit_its_template(family, rule_def, vars_, message):
    _data(family, "x", template={"name": "installed", "vars": vars_})
    with pytest.raises(ValueError, match=message):
        _import(family, f"@template\ndef installed(host_facts, policy, *, service): pass\n@rule\n{rule_def}\n")


def test_a_templated_rule_runs_its_template_with_its_variables(family):
    _data(family, "x", template={"name": "installed", "vars": {"service": "chronyd"}})
    _import(
        family,
        "@template\ndef installed(host_facts, policy, *, service):\n"
        "    raise AssertionError(f'{host_facts} {policy} {service}')\n@rule\ndef test_x(host_facts, policy): ...\n",
    )
    with pytest.raises(AssertionError, match="^facts policy chronyd$"):
        rules.FUNCTIONS["x"](host_facts="facts", policy="policy")


# ---- the README's generated sections --------------------------------------------------------------


@pytest.mark.parametrize("name", profiles.README_SECTIONS)
def test_readme_section_is_the_generated_one(name):
    found = profiles.readme_section((ROOT / "README.md").read_text(), name)
    assert found is not None, f"README.md has no '<!-- {name}: ... -->' ... '<!-- end of {name} -->' section"
    assert found == profiles.README_SECTIONS[name](), (
        f"README's {name} drifted from the data: run `python -m timesync_audit.profiles README.md`"
    )
