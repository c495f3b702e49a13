"""Rules: each rule's data, attached to its check by one decorator.

A rule lives in one place: its data file `tests/<family>/rules/<rule id>.yaml` (title,
description, severity, identifiers, remediation, profiles, scenarios; tests/rule.schema.json)
beside the family's check module, where `test_<rule id>` judges it. The decorator finds the data
by the test's name, so the id in a report can never disagree with the function that judged it.
A family of near-identical rules is one `@template` check, given each rule's variables from its
data (`template: {name, vars}`), as ComplianceAsCode's templates are.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import yaml

from .display import escape
from .facts.daemon import Start, Starts
from .outcomes import CouldNotCheck

SEVERITIES = ("high", "medium", "low", "unknown", "info")
#: what a rule judges of a daemon: its configuration (every start, and a refused configuration
#: fails), a unit of its own (chrony-wait), or what it does now (live state): judged once
JUDGES = ("configuration", "unit", "live")
#: the compliance suite: tests/<family>/ holds a family's check modules, rules/ and templates/
SUITE = pathlib.Path(__file__).resolve().parent.parent / "tests"
#: products a rule's identifiers are given for, and how a CIS number names its benchmark
PRODUCTS = {"rhel8": "RHEL8", "rhel9": "RHEL9", "ubuntu2204": "U22", "sle15": "SLES15"}
#: identifier schemes, in the order reports show them
SCHEMES = ("cce", "stig", "cis")
_REQUIRED = (
    "id",
    "title",
    "description",
    "rationale",
    "severity",
    "service",
    "judges",
    "remediation",
    "profiles",
    "scenarios",
)

#: every rule the suite defines, by id (filled as test modules are imported)
REGISTRY: dict[str, RuleMeta] = {}
#: the test function of each rule, so the project's own tests can run it on recorded facts
FUNCTIONS: dict[str, Callable] = {}
#: template checks by name (filled as test modules are imported)
TEMPLATES: dict[str, Callable] = {}


@dataclasses.dataclass(frozen=True)
class RuleMeta:
    rule_id: str
    title: str
    severity: str
    identifiers: Mapping[str, str]  # scheme (CCE, STIG, CIS) -> ids of every product, as reports show them
    rationale: str
    remediation: str
    service: str
    judges: str = "configuration"
    description: str = ""
    references: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # nist -> controls
    profiles: tuple[str, ...] = ()
    template: str | None = None
    family: str = ""  # the folder of tests/ that holds the rule
    by_product: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)  # product -> scheme -> id
    source: str = ""  # the data file, relative to tests/

    @functools.cached_property
    def _properties(self) -> tuple[tuple[str, str], ...]:
        return (
            ("rule_id", self.rule_id),
            ("title", self.title),
            ("severity", self.severity),
            ("service", self.service),
            *((k.lower(), v) for k, v in self.identifiers.items()),
        )

    def properties(self) -> tuple[tuple[str, str], ...]:
        """Name/value pairs for JUnit <properties> and the HTML report: the same pairs for every
        test of the rule (a fleet's run holds one test per host)."""
        return self._properties

    def identifier_text(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.identifiers.items()) or "-"


# -- the data files ---------------------------------------------------------------------------

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def load_data(path: pathlib.Path) -> dict[str, Any]:
    """One data file (rule, template or profiles), read once per process."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)


def data_files() -> list[pathlib.Path]:
    """Every rule's data file: tests/<family>/rules/<rule id>.yaml."""
    return sorted(SUITE.glob("*/rules/*.yaml"))


def data_path(func: Callable) -> pathlib.Path:
    """Where the data of `test_<rule id>` is: rules/<rule id>.yaml beside its module."""
    module = pathlib.Path(func.__code__.co_filename)
    return module.parent / "rules" / f"{func.__name__[len('test_') :]}.yaml"


def flat_identifiers(by_product: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """{product: {scheme: id}} as reports show it: {CCE: "CCE-1, CCE-2", CIS: "RHEL9 2.3.2"}."""
    flat = {}
    for scheme in SCHEMES:
        values = [
            f"{PRODUCTS[product]} {ids[scheme]}" if scheme == "cis" else ids[scheme]
            for product, ids in by_product.items()
            if scheme in ids
        ]
        if values:
            flat[scheme.upper()] = ", ".join(values)
    return flat


def meta_from_data(data: Mapping[str, Any], path: pathlib.Path) -> RuleMeta:
    """A rule's metadata from its data file; a malformed file is named with what is wrong."""
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ValueError(f"{path}: no {', '.join(missing)} (tests/rule.schema.json)")
    if data["id"] != path.stem:
        raise ValueError(f"{path}: id {data['id']!r} is not the file's name")
    _check_choice(path, "severity", data["severity"], SEVERITIES)
    _check_choice(path, "judges", data["judges"], JUDGES)
    for product in data.get("identifiers", {}):
        _check_choice(path, "identifiers product", product, tuple(PRODUCTS))
    template = data.get("template")
    return RuleMeta(
        data["id"],
        data["title"],
        data["severity"],
        flat_identifiers(data.get("identifiers", {})),
        data["rationale"],
        data["remediation"],
        data["service"],
        data["judges"],
        description=data["description"],
        references={k: tuple(v) for k, v in data.get("references", {}).items()},
        profiles=tuple(data["profiles"]),
        template=template["name"] if template else None,
        family=path.parent.parent.name,
        by_product={product: dict(ids) for product, ids in data.get("identifiers", {}).items()},
        source=_relative_to_suite(path),
    )


def _relative_to_suite(path: pathlib.Path) -> str:
    try:
        return str(path.resolve().relative_to(SUITE))
    except ValueError:
        return str(path)


def _check_choice(path, field: str, value, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{path}: {field} {value!r} is not one of {choices}")


@functools.cache
def catalog() -> dict[str, RuleMeta]:
    """Every rule's metadata by id, read from the data files (no check module is imported)."""
    found: dict[str, RuleMeta] = {}
    for path in data_files():
        meta = meta_from_data(load_data(path), path)
        if meta.rule_id in found:
            raise ValueError(f"rule {meta.rule_id} has two data files: {path} and another family's")
        found[meta.rule_id] = meta
    return found


def table_markdown() -> str:
    """The README's rule table, generated from the data files (a selftest keeps the README in step)."""
    rows = ["| rule | family | title | severity | judges | identifiers | profiles |", "|---|---|---|---|---|---|---|"]
    for path in data_files():
        meta = catalog()[path.stem]
        family = path.parent.parent.name
        ids = meta.identifier_text()
        rows.append(
            f"| `{meta.rule_id}` | `tests/{family}/` | {meta.title} | {meta.severity} | {meta.judges} | "
            f"{ids} | {', '.join(meta.profiles) or '-'} |"
        )
    return "\n".join(rows)


# -- the decorators ---------------------------------------------------------------------------


def template(func: Callable) -> Callable:
    """Mark `func` as the check of the rule template of its name (tests/<family>/templates/<name>.yaml
    holds its description and scenarios). Its positional parameters are the fixtures it judges;
    its keyword-only parameters are the variables each rule's data gives (`template: {name, vars}`)."""
    if func.__name__ in TEMPLATES:
        raise ValueError(f"template {func.__name__} is defined twice")
    TEMPLATES[func.__name__] = func
    return func


def rule(func: Callable | None = None, /, **inline: Any) -> Callable:
    """Mark a `test_<rule id>` function as the check of that rule; its data is rules/<rule id>.yaml
    beside the module. A templated rule's body is `...`: it is judged by its template's check.

    `@rule(title=..., severity=..., service=..., rationale=..., remediation=..., cce=...)` gives the
    metadata inline instead, for a suite that has no data files (the project's own throwaway suites).
    """
    if func is None:
        return lambda f: _attach(f, inline)
    return _attach(func, inline)


def _attach(func: Callable, inline: Mapping[str, Any]) -> Callable:
    name = func.__name__
    if not name.startswith("test_"):
        raise ValueError(f"{name}: a rule test is named test_<rule id>")
    rule_id = name[len("test_") :]
    if rule_id in REGISTRY:
        raise ValueError(f"rule {rule_id} is defined twice")
    path = data_path(func)
    if inline:
        if path.exists():
            raise ValueError(f"{name}: its data is {path}; the decorator takes no metadata")
        meta, body = _inline_meta(rule_id, **inline), func
    elif not path.exists():
        raise ValueError(f"{name}: no data file {path} (CONTRIBUTING.md, 'Adding a rule')")
    else:
        data = load_data(path)
        meta = meta_from_data(data, path)
        body = _templated(func, data["template"]) if meta.template else func

    @functools.wraps(func)
    def check(**kwargs):
        return judge_starts(body, meta, kwargs)

    REGISTRY[rule_id] = meta
    FUNCTIONS[rule_id] = check
    vars(check)["rule_meta"] = meta  # check.rule_meta: a function attribute, which mypy cannot type
    return pytest.mark.rule(meta)(check)


def _inline_meta(
    rule_id: str,
    *,
    title: str,
    severity: str,
    service: str,
    rationale: str,
    remediation: str,
    judges: str = "configuration",
    **identifiers: str,
) -> RuleMeta:
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {SEVERITIES}")
    if judges not in JUDGES:
        raise ValueError(f"judges {judges!r} is not one of {JUDGES}")
    ids = {k.upper(): v for k, v in identifiers.items() if v}
    return RuleMeta(rule_id, title, severity, ids, rationale, remediation, service, judges)


def _templated(func: Callable, spec: Mapping[str, Any]) -> Callable:
    """The template's check with the rule's variables; the rule's own function only names the
    fixtures, which must be the template's, in its order (so a reader sees what it judges)."""
    name = spec["name"]
    check = TEMPLATES.get(name)
    if check is None:
        raise ValueError(f"{func.__name__}: template {name} is not defined (an @template function above its rules)")
    params = inspect.signature(check).parameters.values()
    fixtures = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    if list(inspect.signature(func).parameters) != fixtures:
        raise ValueError(
            f"{func.__name__}: template {name} judges ({', '.join(fixtures)}): name exactly those parameters"
        )
    variables = dict(spec.get("vars") or {})
    known = {p.name: p for p in params if p.kind is p.KEYWORD_ONLY}
    unknown = sorted(set(variables) - set(known))
    missing = sorted(n for n, p in known.items() if p.default is p.empty and n not in variables)
    if unknown or missing:
        raise ValueError(
            f"{func.__name__}: template {name} variables: "
            + "; ".join(
                filter(
                    None,
                    [
                        f"unknown {', '.join(unknown)}" if unknown else None,
                        f"missing {', '.join(missing)}" if missing else None,
                    ],
                )
            )
        )
    return functools.partial(check, **variables)


# -- judging ----------------------------------------------------------------------------------


def refused(daemon: str, refusal: str) -> str:
    return f"{daemon} refuses this configuration: {escape(refusal)}"


def judge_starts(func: Callable, meta: RuleMeta, kwargs: dict) -> None:
    """Run a check once per start of the daemon it is given (facts.daemon.Starts).

    A rule passes only when every start complies: the running daemon's configuration AND the
    next start's. A start whose configuration the daemon refuses fails a configuration rule
    with the daemon's reason. The message names the failing start when there are several."""
    name = next((k for k, v in kwargs.items() if isinstance(v, Starts)), None)
    if name is None:
        return func(**kwargs)
    starts = kwargs[name]
    if meta.judges != "configuration":  # one state for the whole daemon: judged once
        return func(**dict(kwargs, **{name: starts[0]}))
    failures: list[tuple[Start, str]] = []
    skipped: list[BaseException] = []
    for start in starts:
        if start.refusal:
            failures.append((start, refused(starts.daemon, start.refusal)))
            continue
        try:
            func(**dict(kwargs, **{name: start}))
        except pytest.fail.Exception as exc:
            failures.append((start, str(exc.msg)))
        except AssertionError as exc:
            failures.append((start, str(exc)))
        except pytest.skip.Exception as exc:
            skipped.append(exc)
        except CouldNotCheck:
            raise
    if failures:
        if len(starts) == 1:
            pytest.fail(failures[0][1], pytrace=False)
        pytest.fail("\n".join(f"{start.start.describe()}: {text}" for start, text in failures), pytrace=False)
    if skipped and len(skipped) == len(starts):
        raise skipped[0]


def meta_of(item: pytest.Item) -> RuleMeta | None:
    marker = item.get_closest_marker("rule")
    return marker.args[0] if marker else None
