"""What a fleet's tests hold alike is held once: a rule's properties for all its hosts, a host's
pair for all its rules, and a test's later report shares its earlier one's keywords and
properties where they are equal. The terminal and pytest-html keep every report to the end."""

import json

pytest_plugins = ["pytester", "throwaway_suite"]

_WATCH = """
import json
import pathlib

import pytest

SEEN = {"reports": {}, "items": []}


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    SEEN["items"] = [[id(pair) for pair in item.user_properties] for item in session.items]


def pytest_runtest_logreport(report):
    SEEN["reports"].setdefault(report.nodeid, {})[report.when] = [
        id(report.keywords), id(report.user_properties), report.user_properties == []
    ]


def pytest_sessionfinish(session):
    pathlib.Path(__file__).with_name("seen.json").write_text(json.dumps(SEEN))
"""


def test_alike_is_held_once(suite):
    suite.make({"chrony_set_nts": {"alpha": "fail"}, "chronyd_client_only": {}})
    suite.pytester.makeconftest(_WATCH)
    result = suite.run("-p", "no:randomly")
    assert result.ret == 1, result.stdout.str()
    seen = json.loads((suite.path / "seen.json").read_text())

    items = seen["items"]  # alpha and beta for each of the two rules
    assert len(items) == 4
    assert len({pairs[0] for pairs in items}) == 2  # one ("host", ...) pair per host
    rule_pairs = {tuple(pairs[1:]) for pairs in items}
    assert len(rule_pairs) == 2  # one set of rule pairs per rule, whatever the host

    for nodeid, phases in seen["reports"].items():
        assert set(phases) == {"setup", "call", "teardown"}, nodeid
        keywords = {phase[0] for phase in phases.values()}
        assert len(keywords) == 1, nodeid  # one keywords dict for the three reports
        assert len({phase[1] for phase in phases.values()}) == 1, nodeid  # one property list for the three
