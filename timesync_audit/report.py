"""Rule metadata in the HTML report (columns, details) and the run's policy in its header.

JUnit gets the same metadata as <properties> from item.user_properties (set
at collection), so both reports read one source.
"""
from __future__ import annotations

import html

import pytest

from .policy import POLICY_KEYS
from .rules import REGISTRY


def _props(report) -> dict[str, str]:
    return dict(getattr(report, "user_properties", []) or [])


class HtmlColumns:
    def pytest_html_report_title(self, report):
        report.title = "Time synchronization compliance"

    def pytest_html_results_table_header(self, cells):
        cells.insert(1, '<th class="sortable" data-column-type="rule">Rule</th>')
        cells.insert(2, '<th class="sortable" data-column-type="severity">Severity</th>')
        cells.insert(3, '<th class="sortable" data-column-type="host">Host</th>')

    def pytest_html_results_table_row(self, report, cells):
        props = _props(report)
        cells.insert(1, f'<td class="col-rule">{html.escape(props.get("rule_id", "-"))}</td>')
        cells.insert(2, f'<td class="col-severity">{html.escape(props.get("severity", "-"))}</td>')
        cells.insert(3, f'<td class="col-host">{html.escape(props.get("host", "-"))}</td>')

    def pytest_html_results_table_html(self, report, data):
        """A finding's log is its own line. Under xdist pytest's text of a report starts with the
        worker's platform and Python path, which says nothing about the host."""
        if isinstance(report.longrepr, str) and data and data[0] == html.escape(report.longreprtext) + "\n":
            data[0] = html.escape(report.longrepr.strip()) + "\n"


def configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(HtmlColumns(), "timesync-html-columns")
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:
        return
    policy = config._timesync_policy
    config.stash.setdefault(metadata_key, {})["Policy"] = {
        k: policy.describe(k) for k in POLICY_KEYS}


def details_html(report) -> str | None:
    rule = REGISTRY.get(_props(report).get("rule_id", ""))
    if rule is None:
        return None
    rows = [("Title", rule.title), ("Identifiers", rule.identifier_text()), ("Rationale", rule.rationale),
            ("Remediation", rule.remediation)]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="rule-details">{body}</table>'


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" or (rep.when == "setup" and not rep.passed):
        text = details_html(rep)
        if text:
            try:
                from pytest_html import extras
            except ImportError:
                return
            rep.extras = getattr(rep, "extras", []) + [extras.html(text)]
