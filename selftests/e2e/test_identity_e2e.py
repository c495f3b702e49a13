"""One host, one identity, on a real lab host: the same container as root and as nobody are
two targets with their own gather and their own verdicts."""

import pytest
from runner import host_url, run_pytest

pytestmark = pytest.mark.e2e


def test_same_address_other_user_is_another_host(lab, tmp_path):
    hosts = ",".join(host_url("docker", h) for h in ("chrony-hardened", "nobody@chrony-hardened"))
    run = run_pytest([f"--hosts={hosts}", "--policy", "approved_servers=nts-server,nts-server2"], tmp_path, "identity")
    as_root = {rule: v for (host, rule), v in run.verdicts.items() if host == "chrony-hardened"}
    as_user = {rule: v for (host, rule), v in run.verdicts.items() if host == "nobody@chrony-hardened"}
    assert as_root and set(as_root) == set(as_user), run.output[-2000:]
    gathers = {
        h: {v.properties.get("gather_id") for (host, _), v in run.verdicts.items() if host == h}
        for h in ("chrony-hardened", "nobody@chrony-hardened")
    }
    assert (
        all(len(ids) == 1 for ids in gathers.values())
        and gathers["chrony-hardened"] != gathers["nobody@chrony-hardened"]
    )
    # root reads chronyd's socket; nobody is refused by chronyc ("could not check")
    assert as_root["chrony_synchronized"].outcome == "passed"
    assert as_user["chrony_synchronized"].outcome == "error", as_user["chrony_synchronized"].message
    assert all(v.properties["host"] == host_url("docker", "nobody@chrony-hardened") for v in as_user.values())
