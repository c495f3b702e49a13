"""Mistakes of shape the interpreter accepts silently."""

import ast
import pathlib

import pytest

LIBRARY = pathlib.Path(__file__).resolve().parents[2] / "timesync_audit"


@pytest.mark.parametrize("path", sorted(LIBRARY.rglob("*.py")), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_no_module_defines_a_name_twice(path):
    """A second `def pytest_runtest_makereport` in one module replaces the first: pytest then
    never calls the hook that the first one was."""
    seen, twice = set(), []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name in seen:
                twice.append(f"{node.name} (line {node.lineno})")
            seen.add(node.name)
    assert not twice, f"{path.name} defines again: {', '.join(twice)}"
