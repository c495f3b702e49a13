"""The streaming HTML report writes pytest-html's own page: the same runs, written by
pytest-html and by html_stream, give the same page but for the times."""

import re

import pytest
from writer_sample import TEST_COUNT, TESTS, run_invariant

pytest_plugins = ["pytester"]


EXTRAS = """
import pytest
from pytest_html import extras


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        report.extras = [
            extras.html("<table><tr><td>a & b</td></tr></table>"),
            extras.text("some text <b>", name="text"),
            extras.json({"k": [1, "\\u00e9"]}, name="json"),
            extras.url("https://example.invalid/x?a=1&b=2", name="url"),
        ]
    return report
"""

STREAMING = """
@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    from timesync_audit import html_stream

    html_stream.install(session.config)
    if not hasattr(session.config, "workerinput"):  # the controller writes the page
        assert any(isinstance(p, html_stream.StreamingReport) for p in session.config.pluginmanager.get_plugins())
"""


def _page(pytester, streaming: bool, name: str, *args: str) -> str:
    pytester.makeconftest(EXTRAS + (STREAMING if streaming else ""))
    path = pytester.path / name / "report.html"  # the page's title is its file's name
    pytester.runpytest_subprocess("-p", "no:timesync_audit", "-p", "no:cacheprovider", f"--html={path}", *args)
    return run_invariant(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "options",
    [("--self-contained-html",), (), ("-o", "render_collapsed=all", "--self-contained-html")],
    ids=["self-contained", "with-assets", "collapsed"],
)
def test_the_page_is_pytest_html_s(pytester, options):
    pytester.makepyfile(test_sample=TESTS)
    own = _page(pytester, False, "own", *options)
    streamed = _page(pytester, True, "streamed", *options)
    assert streamed == own
    assert own.count("test_sample.py::test_") >= TEST_COUNT


def test_under_xdist_the_page_has_every_row(pytester):
    pytester.makepyfile(test_sample=TESTS)
    streamed = _page(pytester, True, "streamed", "-n", "2", "--self-contained-html")
    rows = re.findall(r"test_sample.py::test_\w+(?:\[[^&]*?\])?&#34;: \[", streamed)
    assert len(rows) == TEST_COUNT, rows
