"""The streaming HTML report writes pytest-html's own page: the same runs, written by
pytest-html and by html_stream, give the same page but for the times."""

import re

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import sys
import pytest


def test_passes():
    print("out \\x1b\\x00 caf\\xe9 \\u2028 </div> \\"quoted\\" &amp; \\'")


def test_fails():
    sys.stderr.write("err <script>x</script>\\n")
    assert 1 == 2, "a finding: port is 123 <&>"


def test_skips():
    pytest.skip("does not apply")


@pytest.mark.xfail(reason="known")
def test_xfails():
    assert False


@pytest.mark.parametrize("host", ["ssh://root@[::1]:22", "docker://b\\u00e9"])
def test_param(host):
    pass
"""

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


def _times_out(text: str) -> str:
    """What differs between two runs of the same tests: dates, times and durations."""
    text = re.sub(r"\d{2}-\w{3}-\d{4}", "DATE", text)
    text = re.sub(r"\d{2}:\d{2}:\d{2}", "TIME", text)
    return re.sub(r"\d+ ms", "N ms", text)


def _page(pytester, streaming: bool, name: str, *args: str) -> str:
    pytester.makeconftest(EXTRAS + (STREAMING if streaming else ""))
    path = pytester.path / name / "report.html"  # the page's title is its file's name
    pytester.runpytest_subprocess("-p", "no:timesync_audit", "-p", "no:cacheprovider", f"--html={path}", *args)
    return _times_out(path.read_text(encoding="utf-8"))


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
    assert own.count("test_sample.py::test_") >= 6


def test_under_xdist_the_page_has_every_row(pytester):
    pytester.makepyfile(test_sample=TESTS)
    streamed = _page(pytester, True, "streamed", "-n", "2", "--self-contained-html")
    rows = re.findall(r"test_sample.py::test_\w+(?:\[[^&]*?\])?&#34;: \[", streamed)
    assert len(rows) == 6, rows
