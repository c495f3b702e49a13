"""A hostile target, for real: a doctored chronyc that forges frames and hunts for the nonce,
bytes that are not UTF-8, a file name with a newline, and a chronyc that prints megabytes.
None of it may change a verdict the host's real state decides; each is named in the result.

Runs on the lab host chrony-unreachable, which it restores exactly (the real chronyc and the
configuration files), also when the test fails.
"""

import subprocess

import pytest
from runner import container, run_suite

pytestmark = pytest.mark.e2e

HOST = "chrony-unreachable"
POLICY = ["--policy", "approved_servers=nts-server,nts-server2"]

FORGER = r"""#!/bin/sh
# what a compromised chronyc could do: look for the framing nonce, print forged frames
n=$(cat /proc/$PPID/cmdline /proc/$PPID/environ 2>/dev/null | tr '\0' '\n' | grep -o '@@TSA-[0-9a-f]*' | head -n 1)
[ -n "$n" ] || n=@@TSA-guess
/usr/bin/chronyc.real "$@"
r=$?
printf '%s RC 0\n%s FILE ok|0|0|root|root|644|regular file|7||/etc/chrony/conf.d/99-forged.conf\nport 0\n\n%s END\n' "$n" "$n" "$n"
printf '%s CMD chronyc_tracking\n:7F7F0101,LOCAL,1,0\n' "$n"
exit $r
"""
LOUD = "#!/bin/sh\nhead -c 20000000 /dev/zero | tr '\\0' 'x'\n"


def sh(command: str) -> str:
    return subprocess.run(
        ["docker", "exec", container(HOST), "sh", "-c", command], check=True, capture_output=True, text=True
    ).stdout


def put(path: str, data: bytes, mode: str = "0644") -> None:
    subprocess.run(
        ["docker", "exec", "-i", container(HOST), "sh", "-c", f"cat > '{path}' && chmod {mode} '{path}'"],
        input=data,
        check=True,
    )


@pytest.fixture
def hostile(lab):
    sh("cp -a /usr/bin/chronyc /usr/bin/chronyc.real")
    try:
        yield
    finally:
        sh(
            "mv -f /usr/bin/chronyc.real /usr/bin/chronyc; rm -f /etc/chrony/conf.d/20-latin1.conf "
            "'/etc/chrony/conf.d/new\nline.conf' /etc/chrony/conf.d/99-forged.conf"
        )


def outcomes(run) -> dict:
    return {rule: v.outcome for (host, rule), v in run.verdicts.items() if host == HOST}


def test_forged_frames_non_utf8_and_huge_output_change_nothing_they_should_not(hostile, tmp_path):
    before = run_suite("docker", [HOST], tmp_path / "before", POLICY)
    baseline = outcomes(before)
    assert baseline and baseline["chronyd_client_only"] == "passed" and baseline["chrony_synchronized"] == "failed"

    put("/usr/bin/chronyc", FORGER.encode(), "0755")
    put("/etc/chrony/conf.d/20-latin1.conf", b"# r\xe9glage : client seulement, caf\xe9 cr\xe8me \xff\xfe\n")
    forged = run_suite("docker", [HOST], tmp_path / "forged", POLICY)
    got = outcomes(forged)
    # the forged frames are chronyc's output, nothing else: the live rules cannot read it (could not
    # check), and no other verdict moves; the Latin-1 comment is a comment
    changed = {rule: (baseline[rule], got[rule]) for rule in baseline if got[rule] != baseline[rule]}
    assert changed and all(rule.startswith("chrony_") and now == "error" for rule, (_, now) in changed.items()), changed
    assert set(changed) <= {
        "chrony_synchronized",
        "chrony_offset_within_limit",
        "chrony_sources_reachable",
        "chrony_nts_authenticated",
    }
    assert "99-forged.conf" not in forged.output and "UnicodeDecodeError" not in forged.output

    put("/etc/chrony/conf.d/new\nline.conf", b"# a pool, against the STIG\npool pool.example.org iburst\n")
    named = run_suite("docker", [HOST], tmp_path / "named", POLICY)
    verdict = named.verdicts[(HOST, "chronyd_server_directive")]
    assert verdict.outcome == "failed" and "/etc/chrony/conf.d/new\\nline.conf:2" in verdict.message, verdict.message

    put("/usr/bin/chronyc", LOUD.encode(), "0755")
    loud = run_suite("docker", [HOST], tmp_path / "loud", POLICY + ["--max-host-bytes=1000000"])
    verdict = loud.verdicts[(HOST, "chrony_synchronized")]
    assert verdict.outcome == "error", verdict.message
    assert "could not check" in verdict.message and "more than" in verdict.message
    assert len(verdict.message) < 1000
    # the configuration rules still judge the configuration (only the live answers were too big)
    assert loud.verdicts[(HOST, "chronyd_server_directive")].outcome == "failed"  # the newline-named file
    assert (tmp_path / "loud" / "junit-docker.xml").stat().st_size < 400_000
