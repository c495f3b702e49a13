"""The lab's shell scripts pass `shellcheck -x` (Debian's shellcheck; .ci/run installs it)."""

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "lab").rglob("*.sh") if ".run" not in p.parts)


def test_the_lab_has_scripts():
    assert {"lab/lab.sh", "lab/check.sh", "lab/instance.sh", "lab/lib/table.sh"} <= set(SCRIPTS)


@pytest.mark.skipif(
    shutil.which("shellcheck") is None,
    reason="shellcheck is not installed (apt-get install -y shellcheck; .ci/run installs it)",
)
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_passes_shellcheck(script):
    # each file on its own: shellcheck -x reads sourced files but reports only on the files it is given
    checked = subprocess.run(["shellcheck", "-x", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
