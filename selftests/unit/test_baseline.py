"""--baseline and --fail-on=regression: what changed since a previous run, per host and rule, and an
exit code that follows only what got worse. Hosts, rules and results in one run only are listed,
never compared."""

import json
import shutil

import pytest

from timesync_audit import baseline, results

pytest_plugins = ["pytester", "throwaway_suite"]  # throwaway_suite: the `suite` fixture

LAST_NIGHT = {
    "chronyd_client_only": {"alpha": "fail", "beta": "pass"},
    "chrony_set_nts": {"*": "pass"},
    "file_owner_etc_chrony_keys": {"*": "pass"},
}


@pytest.fixture
def last_night(suite):
    """The first run's results.json, kept as the baseline of the next."""
    suite.make(LAST_NIGHT)
    assert suite.run().ret == 1
    kept = suite.path / "baseline.json"
    shutil.copy(suite.path / "reports" / "results.json", kept)
    return kept


def _document(suite) -> dict:
    document = json.loads((suite.path / "reports" / "results.json").read_text())
    assert results.problems(document) == []
    return document


def test_each_change_is_named_in_results_terminal_and_junit(suite, last_night):
    suite.make(
        {
            "chronyd_client_only": {"alpha": "pass", "beta": "pass"},  # alpha fixed
            "chrony_set_nts": {"beta": "fail"},  # a regression
            "file_owner_etc_chrony_keys": {"beta": "error"},  # new could not check
        }
    )
    run = suite.run(f"--baseline={last_night}")
    assert run.ret == 3  # --fail-on=any: every verdict counts
    document = _document(suite)
    section = document["baseline"]
    assert section["path"] == str(last_night)
    assert section["counts"] == {"regression": 1, "new could not check": 1, "fixed": 1, "unchanged": 3, "new": 0}
    assert section["regressions"] == [
        {"host": "docker://beta", "rule": "chrony_set_nts", "was": "compliant", "now": "non-compliant"}
    ]
    assert section["fixed"] == [
        {"host": "docker://alpha", "rule": "chronyd_client_only", "was": "non-compliant", "now": "compliant"}
    ]
    beta = {h["name"]: h for h in document["hosts"]}["beta"]["results"]
    assert beta["file_owner_etc_chrony_keys"]["change"] == {"kind": "new could not check", "was": "compliant"}
    assert beta["chronyd_client_only"]["change"] == {"kind": "unchanged", "was": "compliant"}
    run.stdout.fnmatch_lines(
        [
            "*= since the baseline =*",
            "since * (*baseline.json): 1 regression, 1 new could not check, 1 fixed, 3 unchanged, 0 new",
            "  regression          docker://beta chrony_set_nts: compliant -> non-compliant",
            "  new could not check docker://beta file_owner_etc_chrony_keys: compliant -> could not check",
            "  fixed               docker://alpha chronyd_client_only: non-compliant -> compliant",
        ]
    )
    props, _ = suite.junit()
    assert props["regressions"] == "1" and props["fixed"] == "1" and props["new_could_not_check"] == "1"
    assert props["regression_1"] == "docker://beta chrony_set_nts: compliant -> non-compliant"
    assert props["baseline"] == str(last_night)


@pytest.mark.parametrize(
    "tonight, any_code, regression_code",
    [
        (LAST_NIGHT, 1, 0),  # the same failure as last night: nothing got worse
        ({**LAST_NIGHT, "chronyd_client_only": {}}, 0, 0),  # fixed
        ({**LAST_NIGHT, "chrony_set_nts": {"beta": "fail"}}, 1, 1),  # a new failure
        ({**LAST_NIGHT, "chrony_set_nts": {"beta": "error"}}, 3, 3),  # new could not check
        ({**LAST_NIGHT, "chrony_set_nts": {"beta": "skip"}}, 1, 0),  # not applicable now: not worse
        ({**LAST_NIGHT, "chronyd_client_only": {"alpha": "error"}}, 3, 3),  # a known failure now unchecked
        (
            {
                **LAST_NIGHT,
                "chrony_set_nts": {"beta": "dead"},
                "file_owner_etc_chrony_keys": {"beta": "dead"},
                "chronyd_client_only": {"alpha": "fail", "beta": "dead"},
            },
            3,
            3,
        ),
    ],
    ids=[
        "same-failure",
        "fixed",
        "regression",
        "new-could-not-check",
        "now-not-applicable",
        "failure-unchecked",
        "host-died",
    ],
)
def test_fail_on_regression_follows_what_got_worse(suite, last_night, tonight, any_code, regression_code):
    suite.make(tonight)
    assert suite.run(f"--baseline={last_night}").ret == any_code
    run = suite.run(f"--baseline={last_night}", "--fail-on=regression")
    assert run.ret == regression_code, run.stdout.str()
    assert _document(suite)["run"]["exit_code"] == regression_code
    run.stdout.fnmatch_lines([f"exit code {regression_code}: {baseline.EXIT_TEXT[regression_code]}"])


def test_hosts_and_rules_of_one_run_only_are_listed_not_compared(suite, last_night):
    tonight = {**LAST_NIGHT, "chronyd_minpoll_configured": {"gamma": "fail"}}
    del tonight["file_owner_etc_chrony_keys"]
    suite.make(tonight)
    run = suite.run(f"--baseline={last_night}", "--fail-on=regression", hosts="docker://alpha,docker://gamma")
    section = _document(suite)["baseline"]
    assert section["only_in_baseline"] == {
        "hosts": ["docker://beta"],
        "rules": ["file_owner_etc_chrony_keys"],
        "results": [],
    }
    assert section["only_in_run"]["hosts"] == ["docker://gamma"]
    assert section["only_in_run"]["rules"] == ["chronyd_minpoll_configured"]
    assert section["counts"]["new"] == 3 + 1  # gamma's three rules, and alpha's new rule
    gamma = {h["name"]: h for h in _document(suite)["hosts"]}["gamma"]["results"]
    assert gamma["chronyd_minpoll_configured"]["change"] == {"kind": "new", "was": None}
    # a new host's failure is not vouched for by any baseline: it is what got worse
    assert run.ret == 1
    run.stdout.fnmatch_lines(
        [
            "  only in this run, hosts (not compared): docker://gamma",
            "  only in this run, rules (not compared): chronyd_minpoll_configured",
            "  only in the baseline, hosts (not compared): docker://beta",
            "  only in the baseline, rules (not compared): file_owner_etc_chrony_keys",
        ]
    )


def test_a_rule_missing_on_one_host_only_is_listed(suite, last_night):
    suite.make(LAST_NIGHT)
    suite.run(f"--baseline={last_night}", "-k", "not (chrony_set_nts and beta)")
    section = _document(suite)["baseline"]
    assert section["only_in_baseline"]["results"] == [{"host": "docker://beta", "rule": "chrony_set_nts"}]
    assert section["only_in_baseline"]["hosts"] == section["only_in_baseline"]["rules"] == []


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"format": "timesync-audit-results"', "*baseline.json:1:*: not JSON*"),
        ("[]", "*baseline.json: not a results file of this suite*"),
        (None, "*baseline.json: cannot read it*"),
    ],
    ids=["truncated", "not-results", "missing"],
)
def test_a_bad_baseline_stops_the_run_before_any_host(suite, content, message):
    suite.make({"chronyd_client_only": {"*": "hang"}})
    path = suite.path / "baseline.json"
    if content is not None:
        path.write_text(content)
    run = suite.run(f"--baseline={path}")
    assert run.ret == 4
    run.stderr.fnmatch_lines([f"ERROR: --baseline: {message}"])
    assert not list(suite.path.glob("hanging-*")), "a host was contacted"
    assert "Traceback" not in run.stderr.str()


def test_fail_on_regression_needs_a_baseline(suite):
    suite.make({"chronyd_client_only": {}})
    run = suite.run("--fail-on=regression")
    assert run.ret == 4
    run.stderr.fnmatch_lines(["ERROR: --fail-on=regression compares with a previous run: give it --baseline=PATH"])


def test_change_kinds():
    table = {
        (None, "non-compliant"): "new",
        ("compliant", "non-compliant"): "regression",
        ("waived", "non-compliant"): "regression",  # the waiver expired
        ("could not check", "non-compliant"): "regression",
        ("non-compliant", "could not check"): "new could not check",
        ("non-compliant", "compliant"): "fixed",
        ("could not check", "not applicable"): "fixed",
        ("compliant", "waived"): "unchanged",
        ("non-compliant", "non-compliant"): "unchanged",
    }
    assert {key: baseline.change_of(*key) for key in table} == table
