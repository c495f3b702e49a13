"""The terminal summary keeps what it prints (a failure's teardown output) once pytest's passing
setup and teardown reports are let go (terminal_cost.py)."""

pytest_plugins = ["pytester"]

SUITE = """
import pytest

@pytest.fixture
def noisy():
    yield
    print("said in teardown")

@pytest.mark.parametrize("n", range(50))
def test_fails(noisy, n):
    assert n < 0

@pytest.mark.parametrize("n", range(50))
def test_passes(n):
    pass
"""


COUNT = """
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    print("reports kept for the summary:", len(terminalreporter.stats.get("", [])))
"""


def test_a_failures_teardown_output_is_still_shown(pytester):
    pytester.makepyfile(test_many=SUITE)
    pytester.makeconftest(COUNT)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.stdout.fnmatch_lines(["*- Captured stdout teardown -*", "said in teardown"])
    assert result.stdout.str().count("Captured stdout teardown") == 50
    result.stdout.fnmatch_lines(["*50 failed, 50 passed*"])
    # 150 passing setups and teardowns were scanned once per failure; the 50 that print are kept
    result.stdout.fnmatch_lines(["reports kept for the summary: 50"])
