"""The lab of real target hosts, started once for the end-to-end tests and stopped after them.

Set TSA_LAB_KEEP=1 to leave a lab running after the tests (and to reuse one
that is already running); by default the lab is stopped even when tests fail.
"""
import os
import subprocess

import pytest

from runner import LAB, ROOT


@pytest.fixture(scope="session")
def lab():
    keep = os.environ.get("TSA_LAB_KEEP") == "1"
    started = subprocess.run([str(LAB / "lab.sh"), "start"], cwd=ROOT, capture_output=True, text=True)
    if started.returncode != 0:
        subprocess.run([str(LAB / "lab.sh"), "stop"], cwd=ROOT, capture_output=True)
        pytest.fail(f"the lab did not start:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}", pytrace=False)
    try:
        from live_wait import wait_for_live_states
        from test_lab_verdicts import expected_cells
        wait_for_live_states(list(expected_cells()))
        yield LAB
    finally:
        if not keep:
            stopped = subprocess.run([str(LAB / "lab.sh"), "stop"], cwd=ROOT, capture_output=True, text=True)
            assert stopped.returncode == 0, stopped.stderr
