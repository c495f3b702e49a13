"""Whose processes: this machine is a container host (the lab's containers run chronyd,
ntpd and timesyncd, all visible in its /proc). Audited as itself, it has none of those
daemons: the daemons of other PID namespaces are not its own."""

import shutil

import pytest
from runner import run_pytest

pytestmark = pytest.mark.e2e


def test_the_container_host_is_audited_as_itself(lab, tmp_path):
    if shutil.which("chronyd") or shutil.which("ntpd"):
        pytest.skip("this machine has a time daemon of its own installed")
    run = run_pytest(["--hosts=local://"], tmp_path, "container-host")
    verdicts = {rule: v for (_, rule), v in run.verdicts.items()}
    assert verdicts, run.output[-2000:]
    for rule in ("chronyd_client_only", "chronyd_specify_remote_server", "ntpd_run_as_ntp_user"):
        assert verdicts[rule].outcome == "skipped", verdicts[rule].message
        assert "is not installed" in verdicts[rule].message
    # rivals seen in /proc belong to containers: no time service is active on this machine
    assert verdicts["ntp_single_service_active"].outcome == "failed"
    assert "no time service is active" in verdicts["ntp_single_service_active"].message
