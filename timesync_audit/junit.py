"""pytest's JUnit file, as the suite adds to it: suite properties, and testcases left out.

The writer is pytest's own (junitxml, on the controller); what the suite reaches of its
internals is here only. Each call is a no-op without --junitxml.
"""

from __future__ import annotations

import os

import pytest
from _pytest.junitxml import xml_key


def junit_property(config: pytest.Config, name: str, value: object) -> None:
    """A property of the whole JUnit test suite (before junitxml writes the file; controller only)."""
    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.add_global_property(name, str(value))


def drop_open_testcases(config: pytest.Config) -> None:
    """Leave out the tests that started and never reported their end (an interrupted run): they
    have no result, and junitxml would write each as a bare, passing testcase."""
    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    for key, reporter in list(xml.node_reporters.items()):
        del xml.node_reporters[key]
        xml.node_reporters_ordered.remove(reporter)


def write_nothing(config: pytest.Config) -> str | None:
    """Point the JUnit writer at nothing and unregister it; the path it would have written, or None.

    Called from a pytest_sessionfinish that runs before the writer's: pluggy still calls the
    implementations it had when the call began, so the writer runs, and writes to os.devnull."""
    xml = config.stash.get(xml_key, None)
    if xml is None:
        return None
    xml.logfile = os.devnull
    config.pluginmanager.unregister(xml)
    del config.stash[xml_key]
    return config.option.xmlpath
