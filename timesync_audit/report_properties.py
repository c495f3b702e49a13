"""The name/value properties a test's report carries (item.user_properties): the host, the
rule's metadata, the gather's and a waiver's. JUnit writes them; the suite reads them here."""

from __future__ import annotations


def properties(report) -> dict[str, str]:
    return dict(getattr(report, "user_properties", None) or [])


def host_of(report) -> str | None:
    """The host identity of a rule test's report, or None for a test of no host."""
    return properties(report).get("host")
