"""The spooling JUnit writer writes pytest's own document: the same runs, written by junitxml
and by junit_spool, give the same file but for the times."""

import re

import pytest
from writer_sample import TEST_COUNT, TESTS, run_invariant

pytest_plugins = ["pytester"]


SPOOLING = """
import pytest
from _pytest.junitxml import xml_key

from timesync_audit import junit_spool


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    junit_spool.install(session.config)
    if not hasattr(session.config, "workerinput"):  # the controller writes the file
        assert isinstance(session.config.stash[xml_key], junit_spool.SpoolingLogXML)
"""


def _junit(pytester, spooling: bool, name: str, *args: str) -> str:
    if spooling:
        pytester.makeconftest(SPOOLING)
    else:
        (pytester.path / "conftest.py").unlink(missing_ok=True)
    path = pytester.path / f"{name}.xml"
    pytester.runpytest_subprocess("-p", "no:timesync_audit", "-p", "no:cacheprovider", f"--junitxml={path}", *args)
    return run_invariant(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "options",
    [
        (),
        ("-o", "junit_logging=all", "-o", "junit_log_passing_tests=true"),
        ("-o", "junit_family=xunit2", "-o", "junit_logging=system-err", "-o", "junit_duration_report=call"),
        ("-o", "junit_suite_name=named", "--continue-on-collection-errors"),
    ],
    ids=["default", "all-output", "xunit2", "collection-error"],
)
def test_the_document_is_junitxml_s(pytester, options):
    pytester.makepyfile(test_sample=TESTS)
    if "--continue-on-collection-errors" in options:
        pytester.makepyfile(test_broken="def test_x(:\n")
    own = _junit(pytester, False, "own", *options)
    spooled = _junit(pytester, True, "spooled", *options)
    assert spooled == own
    assert own.count("<testcase ") >= TEST_COUNT


def test_under_xdist_the_same_testcases(pytester):
    """Workers finish in any order; the testcases are the same, each whole."""
    pytester.makepyfile(test_sample=TESTS)
    cases = re.compile(r"<testcase .*?(?:</testcase>|/>)(?=<testcase|</testsuite>)", re.S)
    own = _junit(pytester, False, "own", "-n", "2", "-o", "junit_logging=all")
    spooled = _junit(pytester, True, "spooled", "-n", "2", "-o", "junit_logging=all")
    assert sorted(cases.findall(spooled)) == sorted(cases.findall(own))
    assert len(cases.findall(own)) == own.count("<testcase ") >= TEST_COUNT


def test_an_empty_run_is_junitxml_s(pytester):
    pytester.makepyfile(test_sample="")
    assert _junit(pytester, True, "spooled") == _junit(pytester, False, "own")


_NO_TEMPORARY_FILE = """

def _refused(*args, **kwargs):
    raise PermissionError(13, "Permission denied")


junit_spool.tempfile.TemporaryFile = _refused
"""


def test_without_a_temporary_file_the_testcases_stay_in_memory(pytester):
    pytester.makepyfile(test_sample=TESTS)
    own = _junit(pytester, False, "own")
    pytester.makeconftest(SPOOLING + _NO_TEMPORARY_FILE)
    path = pytester.path / "refused.xml"
    result = pytester.runpytest_subprocess("-p", "no:timesync_audit", "-p", "no:cacheprovider", f"--junitxml={path}")
    assert "INTERNALERROR" not in result.stdout.str()
    assert run_invariant(path.read_text(encoding="utf-8")) == own
