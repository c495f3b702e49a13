"""The library's imports, read with `ast`: no circle, none hidden in a function, layers that
point one way (transport -> gather -> parsers -> facts -> collector -> rules -> reports, the
shared modules below them all), and no verdict raised below the rules.

A function-level import of the library is how a circle is hidden; one of an optional
dependency (pytest_html, pytest_metadata) or of testinfra's internals is fine, and says so.
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib

import pytest

LIBRARY = pathlib.Path(__file__).resolve().parents[2] / "timesync_audit"
PACKAGE = LIBRARY.name

#: lowest first: a module imports from its own layer and those below it. A name ending in "."
#: is every module of that package (besides those named on their own).
LAYERS = (
    ("shared", ("", "display", "outcomes", "services", "platforms", "policy", "identity", "json_parts")),
    ("transport", ("gather.transport", "gather.hostkeys")),
    ("gather", ("gather.",)),
    ("parsers", ("parsers.",)),
    ("facts", ("facts.",)),
    ("collector", ("collector",)),
    ("rules", ("applicability", "views", "evidence", "rules", "live_verdicts")),
    (
        "reports",
        (
            "plugin",
            "stash_keys",
            "hostspec",
            "usage",
            "inventory",
            "limits",
            "profiles",
            "junit",
            "junit_spool",
            "html_stream",
            "categories",
            "report_properties",
            "findings",
            "outcome_chain",
            "waivers",
            "report",
            "verdicts",
            "deadhosts",
            "deadhosts_terminal",
            "interruption",
            "progress",
            "results",
            "results_recorder",
            "baseline",
            "hdf",
            "fleet_html",
            "report_matrix",
            "fleet_reports",
            "__main__",
            "scheduling",
            "gather_pool",
            "sharding",
            "merge",
            "junit_results",
            "terminal_cost",
            "heap",
        ),
    ),
)
#: layers whose modules find facts and never judge them
BELOW_THE_RULES = ("transport", "gather", "parsers", "facts")
#: functions that decide a test's outcome: only the rule layer (and above) calls them
VERDICTS = {"fail", "skip", "xfail", "non_compliant", "not_applicable"}


@dataclasses.dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: bool


def _name(path: pathlib.Path) -> str:
    """The module's name inside the library: "" for the package, "gather.snapshot"..."""
    parts = path.relative_to(LIBRARY).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(LIBRARY.rglob("*.py"))}


def _in_functions(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside a function or a class body."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.update(id(n) for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
    return found


def _targets(module: str, node: ast.AST) -> list[str]:
    """The library modules an import statement loads ([] for anything else)."""
    if isinstance(node, ast.Import):
        return [
            _module_of(a.name[len(PACKAGE) + 1 :] if a.name != PACKAGE else "")
            for a in node.names
            if a.name == PACKAGE or a.name.startswith(PACKAGE + ".")
        ]
    if node.level == 0:
        if node.module != PACKAGE and not (node.module or "").startswith(PACKAGE + "."):
            return []
        base = node.module[len(PACKAGE) + 1 :] if node.module != PACKAGE else ""
    else:
        package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([p for p in package if p] + ([node.module] if node.module else []))
    found = []
    for alias in node.names:
        submodule = f"{base}.{alias.name}" if base else alias.name
        found.append(submodule if submodule in MODULES else _module_of(base))
    return list(dict.fromkeys(found))


def _module_of(name: str) -> str:
    assert name in MODULES, f"imports {PACKAGE}.{name}, which is no module of the library"
    return name


def _imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        hidden = _in_functions(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found += [
                    Import(module, target, node.lineno, id(node) in hidden)
                    for target in _targets(module, node)
                    if target != module
                ]
    return found


IMPORTS = _imports()


def _layer(module: str) -> int | None:
    """The module's layer (an index into LAYERS), or None where LAYERS does not place it."""
    for index, (_, members) in enumerate(LAYERS):
        if module in members:
            return index
    for index, (_, members) in enumerate(LAYERS):
        if any(m.endswith(".") and (module + ".").startswith(m) for m in members):
            return index
    return None


def _layer_name(module: str) -> str | None:
    index = _layer(module)
    return None if index is None else LAYERS[index][0]


def _shown(module: str) -> str:
    return str(MODULES[module].relative_to(LIBRARY.parent))


def test_every_module_has_a_layer():
    missing = [_shown(m) for m in MODULES if _layer(m) is None]
    assert not missing, f"put each in one of LAYERS (the lowest whose modules it imports): {missing}"


def test_no_import_circle():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in IMPORTS:
        graph[i.importer].add(i.imported)
    circles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append(" -> ".join(path[path.index(module) :] + [module]))
            return
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, path + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert not circles, "import circles:\n" + "\n".join(circles)


_PENDING: dict[str, str] = {}  # known, and to be fixed in the module itself: an XPASS says the mark can go


@pytest.mark.parametrize(
    "module",
    [
        pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=_PENDING[m])) if m in _PENDING else m
        for m in MODULES
    ],
    ids=lambda m: _shown(m),
)
def test_no_function_level_import_of_the_library(module):
    hidden = [
        f"{_shown(i.importer)}:{i.line} imports {i.imported}" for i in IMPORTS if i.importer == module and i.in_function
    ]
    assert not hidden, "import at the top of the module (or break the circle it hides): " + "; ".join(hidden)


def test_layers_point_one_way():
    placed = [i for i in IMPORTS if _layer(i.importer) is not None and _layer(i.imported) is not None]
    upward = [
        f"{_shown(i.importer)}:{i.line} ({_layer_name(i.importer)}) imports {i.imported} ({_layer_name(i.imported)})"
        for i in placed
        if _layer(i.imported) > _layer(i.importer)
    ]
    assert not upward, "a lower layer imports a higher one:\n" + "\n".join(upward)


@pytest.mark.parametrize("module", [m for m in MODULES if _layer_name(m) in BELOW_THE_RULES], ids=lambda m: _shown(m))
def test_facts_never_raise_a_verdict(module):
    """Below the rules a module finds facts, or raises CouldNotCheck; what they mean for a rule
    (fail, skip) is the rule layer's to say."""
    tree = ast.parse(MODULES[module].read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "pytest" for a in node.names):
            found.append(f"line {node.lineno}: import pytest")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pytest":
            found.append(f"line {node.lineno}: from pytest import")
        elif isinstance(node, ast.ImportFrom) and any(a.name in VERDICTS for a in node.names):
            found.append(f"line {node.lineno}: imports {', '.join(a.name for a in node.names if a.name in VERDICTS)}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in VERDICTS
            and isinstance(node.value, ast.Name)
            and node.value.id == "pytest"
        ):
            found.append(f"line {node.lineno}: pytest.{node.attr}")
    assert not found, f"{_shown(module)} judges instead of finding: {'; '.join(found)}"
