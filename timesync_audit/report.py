"""Rule metadata in the HTML report (columns, details) and the run's policy in its header.

JUnit gets the same metadata as <properties> from item.user_properties (set
at collection), so both reports read one source. A report's rule details are
added where the report is made, by the outcome chain (outcome_chain.py).
"""

from __future__ import annotations

import functools
import html

import pytest

from .policy import POLICY_KEYS, Policy, format_value
from .report_properties import properties
from .rules import REGISTRY
from .stash_keys import POLICY


class HtmlColumns:
    def pytest_html_report_title(self, report):
        report.title = "Time synchronization compliance"

    def pytest_html_results_table_header(self, cells):
        cells.insert(1, '<th class="sortable" data-column-type="rule">Rule</th>')
        cells.insert(2, '<th class="sortable" data-column-type="severity">Severity</th>')
        cells.insert(3, '<th class="sortable" data-column-type="host">Host</th>')

    def pytest_html_results_table_row(self, report, cells):
        props = properties(report)
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
        from pytest_metadata.plugin import metadata_key  # optional: pytest-html's metadata plugin
    except ImportError:
        return
    config.stash.setdefault(metadata_key, {})["Policy"] = policy_environment(config.stash[POLICY])


def policy_environment(policy: Policy) -> dict[str, str]:
    """The run's policy for the environment table, which shows an entry as "key: value": each key
    once, its value with where it came from. Where a group or host of the inventory differs, the
    fleet matrix says so (its "Policy where it differs" table)."""
    return {k: f"{format_value(policy.values[k])} ({policy.origin.get(k, 'default')})" for k in POLICY_KEYS}


def details_html(report) -> str | None:
    """The rule's title, identifiers, rationale and remediation, as a table under its row."""
    return _details_of(properties(report).get("rule_id", ""))


@functools.cache
def _details_of(rule_id: str) -> str | None:
    """One string per rule, shared by all its rows: pytest-html keeps every row until the end."""
    rule = REGISTRY.get(rule_id)
    if rule is None:
        return None
    rows = [
        ("Title", rule.title),
        ("Identifiers", rule.identifier_text()),
        ("Rationale", rule.rationale),
        ("Remediation", rule.remediation),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="rule-details">{body}</table>'
