"""Exit codes and the compliance summary, on a throwaway suite whose outcomes are known.

0 compliant (passed, skipped, waived only), 1 non-compliant, 3 could not check (whatever
else); pytest's own codes for usage errors (4), interruption (2) and an empty run (5).
"""

import collections

import pytest

from timesync_audit import categories, verdicts

pytest_plugins = ["pytester", "throwaway_suite"]  # throwaway_suite: the `suite` fixture

FAR = "2999-12-31"


@pytest.mark.parametrize(
    "outcomes, waived, code",
    [
        ({"chronyd_client_only": {}, "package_chrony_installed": {}}, False, 0),
        ({"chronyd_client_only": {}, "chrony_set_nts": {"*": "skip"}}, False, 0),
        ({"chronyd_client_only": {"alpha": "fail"}}, True, 0),
        ({"chronyd_client_only": {"alpha": "fail"}, "chrony_set_nts": {"*": "skip"}}, False, 1),
        ({"chronyd_client_only": {"alpha": "fail", "beta": "fail"}}, True, 1),  # the waiver names alpha only
        ({"chronyd_client_only": {}, "file_owner_etc_chrony_keys": {"beta": "error"}}, False, 3),
        ({"chronyd_client_only": {"alpha": "fail"}, "file_owner_etc_chrony_keys": {"beta": "error"}}, False, 3),
        ({"chronyd_client_only": {"alpha": "fail"}, "file_owner_etc_chrony_keys": {"beta": "error"}}, True, 3),
        ({"chronyd_client_only": {"alpha": "crash"}}, False, 3),  # a rule that crashed gave no verdict
    ],
    ids=[
        "all-pass",
        "pass-and-skip",
        "only-waived",
        "failure",
        "failure-beside-waived",
        "error",
        "failure-and-error",
        "waived-and-error",
        "crash",
    ],
)
def test_exit_code_follows_the_worst_verdict(suite, outcomes, waived, code):
    suite.make(outcomes)
    args = (
        [suite.waivers(f"- {{rule: chronyd_client_only, hosts: alpha, justification: ok, expires: {FAR}}}\n")]
        if waived
        else []
    )
    result = suite.run(*args)
    assert result.ret == code, result.stdout.str()
    result.stdout.fnmatch_lines([f"exit code {code}: *"])
    glob, _ = suite.junit()
    assert glob["exit_code"] == str(code)


def test_summary_has_one_line_per_category_and_host(suite):
    suite.make(
        {
            "chronyd_client_only": {"alpha": "fail"},
            "chrony_set_nts": {"*": "skip"},
            "file_owner_etc_chrony_keys": {"beta": "error"},
            "package_chrony_installed": {},
            "chronyd_run_as_chrony_user": {"beta": "fail"},
        }
    )
    result = suite.run(
        suite.waivers(f"- {{rule: chronyd_run_as_chrony_user, hosts: beta, justification: ok, expires: {FAR}}}\n")
    )
    result.stdout.fnmatch_lines(
        [
            "*= compliance summary =*",
            "compliant *5   (docker://alpha 3, docker://beta 2)",
            "non-compliant *1   (docker://alpha 1)",
            "waived *1   (docker://beta 1)",
            "not applicable *2   (docker://alpha 1, docker://beta 1)",
            "could not check *1   (docker://beta 1)",
            "exit code 3: could not check every rule",
        ]
    )
    glob, _ = suite.junit()
    assert {k: glob[k] for k in ("compliant", "non_compliant", "waived", "not_applicable", "could_not_check")} == {
        "compliant": "5",
        "non_compliant": "1",
        "waived": "1",
        "not_applicable": "2",
        "could_not_check": "1",
    }
    assert (
        "Compliance: compliant 5, non-compliant 1, waived 1, not applicable 2, could not check 1; exit code 3"
        in suite.html()
    )


def test_exit_codes_under_xdist(suite):
    suite.make(
        {"chronyd_client_only": {"alpha": "fail"}, "file_owner_etc_chrony_keys": {}, "package_chrony_installed": {}}
    )
    result = suite.run("-n", "2")
    assert result.ret == 1, result.stdout.str()
    result.stdout.fnmatch_lines(["compliant *5*", "non-compliant *1*", "exit code 1: non-compliant"])


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--policy", "maxpoll_max=99"], 4, "*policy key 'maxpoll_max': must be between*"),
        (["--profile=rhel9-stg"], 4, "*unknown profile 'rhel9-stg'*"),
        (["-m", "ubuntu2204_stig"], 5, "*4 deselected*"),
    ],
)
def test_pytest_codes_stay_for_usage_errors_and_empty_runs(suite, args, code, message):
    suite.make({"chronyd_client_only": {"*": "fail"}, "file_owner_etc_chrony_keys": {"*": "error"}})
    result = suite.run(*args)
    assert result.ret == code
    (result.stderr if code == 4 else result.stdout).fnmatch_lines([message])


def test_bad_waivers_file_is_a_usage_error(suite):
    suite.make({"chronyd_client_only": {"*": "fail"}})
    result = suite.run(suite.waivers("- rule: chronyd_client_only\n  hosts: alpha\n  expires: 2030-01-01\n"))
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*waivers.yml:1: entry 1, field 'justification': required*"])


def test_collection_error_is_an_interruption(suite):
    suite.make({"chronyd_client_only": {"*": "fail"}})
    suite.pytester.makepyfile(test_broken="def test_x(:\n")
    assert suite.run().ret == 2


@pytest.mark.parametrize(
    "categories, code",
    [
        ((), 0),
        ((categories.COMPLIANT, categories.NOT_APPLICABLE, categories.WAIVED), 0),
        ((categories.COMPLIANT, categories.NON_COMPLIANT), 1),
        ((categories.NON_COMPLIANT, categories.COULD_NOT_CHECK), 3),
        ((categories.COULD_NOT_CHECK,), 3),
    ],
)
def test_exit_code_table(categories, code):
    assert verdicts.exit_code(collections.Counter(categories)) == code
