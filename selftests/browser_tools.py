"""Node.js scripts of selftests/browser/ (MITRE's inspecjs, Heimdall Lite, headless Chromium),
run from the project's own tests: each prints one JSON document, which is returned."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

BROWSER = pathlib.Path(__file__).resolve().parent / "browser"
CHROMIUM = "/usr/bin/chromium"
_SETUP = "npm ci --prefix selftests/browser (and Debian's nodejs and chromium packages); .ci/run does both"


class BrowserToolsMissing(AssertionError):
    """The tools are part of the test command's requirements: missing, the test fails, saying how to fix it."""


def require() -> None:
    if shutil.which("node") is None:
        raise BrowserToolsMissing(f"node is not installed: {_SETUP}")
    if not (BROWSER / "node_modules" / "playwright-core").is_dir():
        raise BrowserToolsMissing(f"{BROWSER / 'node_modules'} is missing: {_SETUP}")
    if not pathlib.Path(CHROMIUM).exists():
        raise BrowserToolsMissing(f"{CHROMIUM} is missing: {_SETUP}")


def run_node(script: str, *args: str, timeout: float = 120) -> object:
    """Run selftests/browser/<script> with `args`; its JSON answer (a failure shows its stderr)."""
    require()
    done = subprocess.run(
        ["node", str(BROWSER / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=BROWSER,
    )
    if done.returncode != 0:
        raise AssertionError(f"{script} exited {done.returncode}:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
