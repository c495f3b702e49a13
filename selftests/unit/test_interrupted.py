"""Interrupted runs (Ctrl-C, SIGTERM from a cancelled CI job), serial and under xdist: exit code
2, every result already known kept in JUnit and HTML, and the terminal, JUnit and HTML saying
after how many hosts the run stopped and which hosts it did not finish."""

import html
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from timesync_audit import interruption, results

pytest_plugins = ["pytester", "throwaway_suite"]  # throwaway_suite: the `suite` fixture

HOSTS = "docker://alpha,docker://beta,docker://gamma,docker://delta"
# alpha: one failure, one pass; beta: one pass, then a rule that hangs
OUTCOMES = {"chrony_set_nts": {"alpha": "fail"}, "chronyd_client_only": {"beta": "hang"}}
XDIST = ("-n", "2")
RULES_PER_HOST = 2
_HOST = re.compile(r"\[docker://(\w+)\]")


def _as_in_a_terminal() -> None:
    """A run started from a terminal gets Ctrl-C; one started in the background of a
    non-interactive shell (some CI runners) inherits SIGINT ignored, and Python then keeps
    ignoring it. The run under test gets SIGINT's default, as in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Run:
    """The suite as its own process group, interrupted once the hanging rule sleeps."""

    def __init__(self, suite, *args):
        self.suite, self.out = suite, suite.path / "out.txt"
        command = [
            sys.executable,
            "-m",
            "pytest",
            f"--hosts={HOSTS}",
            f"--junitxml={suite.path / 'junit.xml'}",
            f"--html={suite.path / 'report.html'}",
            "--self-contained-html",
            "-rfE",
            "-v",
            *args,
        ]
        with self.out.open("w") as out:
            self.process = subprocess.Popen(
                command,
                cwd=suite.path,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
                preexec_fn=_as_in_a_terminal,
            )

    def results(self) -> dict[str, int]:
        """host -> how many of its results the controller printed so far (-v lines)."""
        counts = {}
        for line in self.output().splitlines():
            found = _HOST.search(line)
            if found and re.search(r"\b(PASSED|FAILED)\b", line):
                counts[found.group(1)] = counts.get(found.group(1), 0) + 1
        return counts

    def wait_for(self, finished_hosts: int, timeout: float = 50) -> list[str]:
        """Until beta hangs after one result and `finished_hosts` hosts have all of theirs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            counts = self.results()
            done = [h for h, n in counts.items() if n == RULES_PER_HOST]
            if (self.suite.path / "hanging-beta").exists() and counts.get("beta") == 1 and len(done) >= finished_hosts:
                return done
            time.sleep(0.1)
        pytest.fail(f"the run never reached its hanging rule:\n{self.output()}")

    def interrupt(self, signum: int, group: bool) -> tuple[int, float]:
        started = time.monotonic()
        (os.killpg if group else os.kill)(self.process.pid, signum)
        return self.process.wait(timeout=45), time.monotonic() - started

    def group_ended(self, within: float) -> bool:
        """Whether every process of the run (xdist workers included) is gone within `within` s."""
        deadline = time.monotonic() + within
        while True:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    def stop(self) -> None:
        """Whatever happened, nothing of the run is left behind."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the run and its workers all ended
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def output(self) -> str:
        return self.out.read_text(errors="replace")


@pytest.mark.parametrize(
    "signum, group",
    [
        (signal.SIGINT, True),  # Ctrl-C in a terminal: the whole foreground process group
        (signal.SIGTERM, True),  # a CI runner cancelling the job's process group
        (signal.SIGTERM, False),  # `kill <pid>`, docker stop: the main process only
    ],
    ids=["sigint-group", "sigterm-group", "sigterm-process"],
)
@pytest.mark.parametrize("args", [(), XDIST], ids=["serial", "xdist"])
def test_interrupted_run_keeps_what_it_found(suite, signum, group, args):
    """Serial: alpha finished, beta cut off, delta and gamma never started. loadgroup: each
    worker gets two hosts at once (two rules each); one worker finishes both, the other hangs
    on beta with a host queued behind it that never reports anything."""
    suite.make(OUTCOMES)
    run = Run(suite, *args)
    try:
        done = run.wait_for(finished_hosts=2 if args else 1)
        code, took = run.interrupt(signum, group)
        assert run.group_ended(within=5), "a process of the interrupted run is still running"
    finally:
        run.stop()
    out, cause = run.output(), signal.Signals(signum).name
    order = ["alpha", "beta", "delta", "gamma"]  # testinfra sorts hosts by test id
    unfinished = [f"docker://{h}" for h in order if h not in done]
    n = 4 - len(unfinished)
    assert n == (2 if args else 1) and "alpha" in done, out
    assert code == 2, out
    assert took < 30, out  # not the hanging rule's minute

    summary = f"interrupted after {n} of 4 hosts ({cause}); not finished: {', '.join(unfinished)}"
    lines = out.splitlines()
    assert summary in lines and "exit code 2: interrupted" in lines, out
    assert [line for line in lines if re.fullmatch(r"non-compliant +1 .*", line)], out
    assert "Traceback" not in out, out

    assert (suite.path / "junit.xml").is_file() and (suite.path / "report.html").is_file(), out
    glob, cases = suite.junit()
    assert {
        k: glob[k]
        for k in (
            "interrupted",
            "interrupted_by",
            "hosts_finished",
            "hosts_total",
            "unfinished_hosts",
            "exit_code",
            "non_compliant",
        )
    } == {
        "interrupted": "true",
        "interrupted_by": cause,
        "hosts_finished": str(n),
        "hosts_total": "4",
        "unfinished_hosts": ",".join(unfinished),
        "exit_code": "2",
        "non_compliant": "1",
    }
    known = {
        ("chrony_set_nts", "alpha"): "failure",
        ("chronyd_client_only", "alpha"): "passed",
        ("chrony_set_nts", "beta"): "passed",
    }
    for host in set(done) - {"alpha"}:
        known.update({("chrony_set_nts", host): "passed", ("chronyd_client_only", host): "passed"})
    # every result already known, and nothing else: the rule cut off mid-way has none
    assert {key: outcome for key, (outcome, _, _) in cases.items()} == known
    assert f'tests="{len(known)}"' in (suite.path / "junit.xml").read_text()

    page = suite.html()
    assert f"<p>Run {html.escape(summary)}.</p>" in page
    assert "Compliance: compliant " in page and "exit code 2 (interrupted)" in page
    assert "test_chronyd_client_only[docker://beta]" not in page
    assert "test_chrony_set_nts[docker://alpha]" in page

    document = json.loads((suite.path / "reports" / "results.json").read_text())
    assert results.problems(document) == []
    run_part = document["run"]
    assert (run_part["interrupted"], run_part["exit_code"], run_part["hosts_total"]) == (cause, 2, 4)
    assert (run_part["hosts_finished"], run_part["unfinished_hosts"]) == (n, unfinished)
    recorded = {
        (rule, host["name"]): result["category"]
        for host in document["hosts"]
        for rule, result in host["results"].items()
    }
    category = {"failure": "non-compliant", "passed": "compliant"}
    assert recorded == {key: category[outcome] for key, outcome in known.items()}
    assert [h["finished"] for h in document["hosts"]] == [h not in unfinished for h in (f"docker://{o}" for o in order)]


def test_sigterm_handler_lives_only_as_long_as_the_session():
    before = signal.getsignal(signal.SIGTERM)
    state = interruption.Interruption(progress=None)
    state.pytest_sessionstart(session=None)
    try:
        assert signal.getsignal(signal.SIGTERM) == state._on_sigterm
        with pytest.raises(KeyboardInterrupt):
            state._on_sigterm(signal.SIGTERM, None)
        assert state.cause == "SIGTERM"
        state.pytest_keyboard_interrupt(excinfo=None)  # pytest took its interrupt path
        state._on_sigterm(signal.SIGTERM, None)  # a second SIGTERM: the reports get written whole
    finally:
        state.pytest_unconfigure(config=None)
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_collection_error_interrupts_before_any_host(suite):
    suite.make({"chronyd_client_only": {}})
    suite.pytester.makepyfile(test_broken="def test_x(:\n")
    result = suite.run()
    assert result.ret == 2
    result.stdout.fnmatch_lines(
        [
            "interrupted after 0 of 2 hosts (1 error during collection); not finished: docker://alpha, docker://beta",
            "exit code 2: interrupted",
        ]
    )
    glob, _ = suite.junit()
    assert (glob["interrupted"], glob["hosts_finished"], glob["hosts_total"]) == ("true", "0", "2")


_INTERRUPT_AFTER_A_RESULT = """
import pytest


@pytest.hookimpl(trylast=True)  # every other plugin has the result
def pytest_runtest_logreport(report):
    if report.when == "call" and report.nodeid.endswith("test_chrony_set_nts[docker://beta]"):
        raise KeyboardInterrupt  # as a signal between a test's result and its teardown report
"""


def test_a_result_whose_teardown_never_reported_is_kept(suite):
    """Under xdist a test's teardown report comes after its result, and a signal can fall between
    the two: the terminal printed the result, so every report holds it, and its host's other
    test, never started, is the one left out."""
    suite.make(OUTCOMES | {"chronyd_client_only": {}})
    suite.pytester.makeconftest(_INTERRUPT_AFTER_A_RESULT)
    result = suite.run("-v", "-p", "no:randomly", hosts=HOSTS)
    assert result.ret == 2, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["interrupted after 1 of 4 hosts (SIGINT); not finished: docker://beta, docker://delta, docker://gamma"]
    )
    glob, cases = suite.junit()
    assert glob["hosts_finished"] == "1"
    assert {key: outcome for key, (outcome, _, _) in cases.items()} == {
        ("chrony_set_nts", "alpha"): "failure",
        ("chronyd_client_only", "alpha"): "passed",
        ("chrony_set_nts", "beta"): "passed",
    }
    page = suite.html()
    assert "test_chrony_set_nts[docker://beta]" in page
    assert "test_chronyd_client_only[docker://beta]" not in page
    document = json.loads((suite.path / "reports" / "results.json").read_text())
    assert {h["name"]: sorted(h["results"]) for h in document["hosts"] if h["results"]} == {
        "alpha": ["chrony_set_nts", "chronyd_client_only"],
        "beta": ["chrony_set_nts"],
    }
