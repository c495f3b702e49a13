"""A process's command line is one field of one line of the answer, whatever it holds: a newline
or a tab in an argument cannot add a made-up process (a fake chronyd) or shift a field."""

import pathlib
import subprocess
import time

from timesync_audit.facts import host

FORGED = "x\n99999999\tchronyd\t0\troot\t/usr/sbin/chronyd\town"  # beyond any pid_max


def test_a_forged_command_line_is_one_argument_of_its_own_process(tmp_path):
    script = tmp_path / "chronyd"  # a script's process is named for the script: comm chronyd
    script.write_text("#!/bin/sh\nsleep 30\n")
    script.chmod(0o755)
    proc = subprocess.Popen([str(script), FORGED, "a\tb"])
    try:
        deadline = time.monotonic() + 5
        while pathlib.Path(f"/proc/{proc.pid}/comm").read_text().strip() != "chronyd":
            assert time.monotonic() < deadline, "the script never ran as chronyd"
            time.sleep(0.05)
        snippet = dict(host.REQUEST.commands)["processes"]
        answer = subprocess.run(["sh", "-c", snippet], capture_output=True, text=True, timeout=30).stdout
    finally:
        proc.kill()
        proc.wait()
    processes = host.parse_processes(answer)  # other containers' daemons may be listed too
    found = [p for p in processes if p.pid == proc.pid]
    assert len(found) == 1 and found[0].comm == "chronyd", answer
    assert found[0].argv[-2:] == (FORGED, "a\tb")
    assert all(p.pid != 99999999 for p in processes), answer  # no made-up process
