"""Dead hosts (every rule ended in the host's own could-not-check): one line per host in the
terminal's short summary, ERRORS section and compliance summary, in HTML and in JUnit; errors of
single rules on a live host stay per rule; no could-not-check anywhere carries a traceback or
more than one line."""

import html
import json
import re

import pytest

pytest_plugins = ["pytester", "throwaway_suite"]  # throwaway_suite: the `suite` fixture

CAUSE = "did not answer within 10 s (connect) (the host is frozen, paused, or the network drops packets)"
DEAD_LINE = f"docker://beta: {CAUSE} - 3 rules not checked"
# alpha: one unreadable file (a live host's error); beta: never answered
OUTCOMES = {
    "chronyd_client_only": {"alpha": "error", "beta": "dead"},
    "chrony_set_nts": {"beta": "dead"},
    "package_chrony_installed": {"beta": "dead"},
}
XDIST = [pytest.param((), id="serial"), pytest.param(("-n", "2"), id="xdist")]


def html_logs(page: str) -> dict[str, str]:
    """test id -> the log pytest-html shows for it (from the report's data blob)."""
    blob = json.loads(html.unescape(re.search(r'data-jsonblob="([^"]*)"', page).group(1)))
    return {test_id: run["log"] for test_id, runs in blob["tests"].items() for run in runs}


def section(out: str, title: str) -> list[str]:
    """The lines of one "=== title ===" section of pytest's terminal output."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(rf"=+ {re.escape(title)} =+", line))
    end = next((i for i in range(start + 1, len(lines)) if re.fullmatch(r"=+ .* =+", lines[i])), len(lines))
    return lines[start + 1 : end]


def assert_one_line_everywhere(result, suite) -> None:
    """No could-not-check is a traceback or more than one line: terminal, JUnit, HTML."""
    out = result.stdout.str()
    assert "Traceback" not in out and not re.search(r"test_rules\.py:\d+", out), out
    assert not [line for line in out.splitlines() if line.startswith("E ")], out
    _, cases = suite.junit()
    for outcome, message, _ in cases.values():
        if outcome == "error":
            attribute, text = message.split("\n", 1)
            assert "\n" not in text.strip() and "Traceback" not in text, text
            assert attribute == f'failed on setup with "{text.strip()}"'
    for test_id, log in html_logs(suite.html()).items():
        assert "\n" not in log.strip() and "Traceback" not in log, (test_id, log)


@pytest.mark.parametrize("args", XDIST)
def test_a_dead_host_is_one_line_everywhere(suite, args):
    suite.make(OUTCOMES)
    result = suite.run(*args)
    assert result.ret == 3, result.stdout.str()
    out = result.stdout.str()
    errors = section(out, "ERRORS")  # hosts in the order they ended (xdist: either)
    assert [line for line in errors if "_ ERROR " in line] == [
        line
        for line in errors
        if re.search(
            r"_ ERROR at (gather of docker://beta|setup of "
            r"test_chronyd_client_only\[docker://alpha\]) _",
            line,
        )
    ]
    assert len([line for line in errors if "_ ERROR " in line]) == 2
    assert f"could not check: {DEAD_LINE}" in errors
    assert "could not check: permission denied reading /etc/chrony/chrony.keys on alpha" in errors
    assert not [line for line in errors if "[docker://beta]" in line]
    result.stdout.fnmatch_lines(
        [
            "*= compliance summary =*",
            "could not check *4   (docker://alpha 1, docker://beta 3)",
            "dead hosts *1",
            f"  {DEAD_LINE}",
            "exit code 3: could not check every rule",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*= short test summary info =*",
            "ERROR test_rules.py::test_chronyd_client_only[[]docker://alpha[]]*",  # xdist adds @<group>
            f"ERROR {DEAD_LINE}",
            "*= 2 passed, 4 errors in *",  # pytest's own counts stay per rule
        ]
    )
    assert out.count("short test summary info") == 1
    assert out.count(DEAD_LINE) == 3  # ERRORS block, compliance summary, short summary
    assert not [line for line in section(out, "short test summary info") if "[docker://beta]" in line]

    glob, cases = suite.junit()
    assert (glob["dead_hosts"], glob["dead_host_1"]) == ("1", f"docker://beta: {CAUSE}")
    assert "dead_host_2" not in glob
    for rule in OUTCOMES:  # each test keeps its own short message
        outcome, message, _ = cases[(rule, "beta")]
        assert outcome == "error" and message.split("\n", 1)[1].strip() == f"could not check: docker://beta: {CAUSE}"
    assert cases[("chronyd_client_only", "alpha")][0] == "error"
    assert f"<p>Dead host: {html.escape(DEAD_LINE)}</p>" in suite.html()
    assert_one_line_everywhere(result, suite)


def test_dead_hosts_alone_still_get_the_short_summary(suite):
    """With nothing else to list, pytest writes no short summary section: the dead hosts' lines
    come with their own header."""
    suite.make(
        {"chronyd_client_only": {"beta": "dead", "gamma": "dead"}, "chrony_set_nts": {"beta": "dead", "gamma": "dead"}}
    )
    result = suite.run(hosts="docker://alpha,docker://beta,docker://gamma")
    assert result.ret == 3
    line = f"docker://{{}}: {CAUSE} - 2 rules not checked"
    result.stdout.fnmatch_lines(
        [
            "*= short test summary info =*",
            "ERROR " + line.format("beta"),
            "ERROR " + line.format("gamma"),
            "*= 2 passed, 4 errors in *",
        ]
    )
    assert result.stdout.str().count("short test summary info") == 1
    result.stdout.fnmatch_lines(["dead hosts *2", "  " + line.format("beta"), "  " + line.format("gamma")])
    glob, _ = suite.junit()
    assert (glob["dead_hosts"], glob["dead_host_1"], glob["dead_host_2"]) == (
        "2",
        f"docker://beta: {CAUSE}",
        f"docker://gamma: {CAUSE}",
    )
    assert_one_line_everywhere(result, suite)


@pytest.mark.parametrize(
    "beta",
    [
        {"chronyd_client_only": "dead", "chrony_set_nts": "dead", "package_chrony_installed": "pass"},
        {"chronyd_client_only": "error", "chrony_set_nts": "error", "package_chrony_installed": "error"},
    ],
    ids=["one-rule-gave-a-verdict", "rule-level-errors"],
)
def test_a_host_with_other_outcomes_stays_per_rule(suite, beta):
    suite.make({rule: {"beta": outcome} for rule, outcome in beta.items()})
    result = suite.run()
    assert result.ret == 3
    errors = [rule for rule, outcome in beta.items() if outcome != "pass"]
    result.stdout.fnmatch_lines(
        ["*= short test summary info =*"]
        + [f"ERROR test_rules.py::test_{rule}[[]docker://beta[]]*" for rule in sorted(errors)]
    )
    out = result.stdout.str()
    assert "dead hosts" not in out and "rules not checked" not in out and "ERROR at gather" not in out
    glob, _ = suite.junit()
    assert glob["dead_hosts"] == "0"
    assert "Dead host" not in suite.html()
    assert_one_line_everywhere(result, suite)
