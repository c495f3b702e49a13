"""The lab of real target hosts, started once for the end-to-end tests and stopped after them.

The session has a lab instance of its own (lab/README.md, "Instances"): a fresh run id
(TSA_LAB_ID, set here for the whole session before runner is imported, so every test and every
lab.sh it runs follows it), its own containers, network and run dir lab/.run/<id>/. A lab
started by hand, or another session's, is never touched.

Set TSA_LAB_KEEP=1 to leave the session's instance running after the tests; to reuse a
running instance, name it with TSA_LAB_ID. By default the instance is stopped even when tests fail.
"""

import os
import secrets

if not os.environ.get("TSA_LAB_ID"):
    os.environ["TSA_LAB_ID"] = "e" + secrets.token_hex(3)[:5]  # a fresh instance for this session

import pytest  # noqa: E402
from runner import INSTANCE  # noqa: E402


def _keep() -> bool:
    return os.environ.get("TSA_LAB_KEEP") == "1"


@pytest.fixture(scope="session")
def lab():
    started = INSTANCE.lab_sh("start")  # every host (TSA_LAB_HOSTS is not passed on)
    if started.returncode != 0:
        INSTANCE.lab_sh("stop")
        pytest.fail(
            f"lab instance {INSTANCE.id} did not start:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}",
            pytrace=False,
        )
    try:
        from live_wait import wait_for_live_states
        from test_lab_verdicts import expected_cells

        wait_for_live_states(list(expected_cells()))
        yield INSTANCE
    finally:
        if not _keep():
            stopped = INSTANCE.lab_sh("stop")
            assert stopped.returncode == 0, stopped.stderr


def pytest_terminal_summary(terminalreporter):
    if _keep() and INSTANCE.run_dir.exists():
        terminalreporter.write_line(
            f"lab instance kept (TSA_LAB_KEEP=1): TSA_LAB_ID={INSTANCE.id} "
            f"(run dir {INSTANCE.run_dir}); stop it with "
            f"TSA_LAB_ID={INSTANCE.id} lab/lab.sh stop"
        )
