"""The code checks of the trade, as tests, so the one test command runs them: ruff (lint and
format) on all Python of the project, mypy on the library (pyproject.toml holds their settings).
Shell scripts: selftests/unit/test_shell_scripts.py (shellcheck)."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYTHON_TREES = ["timesync_audit", "tests", "selftests", "bench", "conftest.py"]


def _tool(name: str) -> str:
    found = pathlib.Path(sys.executable).parent / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -r requirements-dev.txt", pytrace=False)
    return path


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_lint():
    proc = _run(_tool("ruff"), "check", "--no-cache", "--output-format", "concise", *PYTHON_TREES)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format():
    proc = _run(_tool("ruff"), "format", "--no-cache", "--check", *PYTHON_TREES)
    assert proc.returncode == 0, "run `ruff format`:\n" + proc.stdout + proc.stderr


def test_mypy_on_the_library():
    proc = _run(_tool("mypy"), "--no-error-summary", "--cache-dir", "/dev/null")
    assert proc.returncode == 0, proc.stdout + proc.stderr
