"""pytest's JUnit writer, with each testcase kept on disk from the moment it ends.

junitxml keeps every testcase's element tree until the session ends, then builds the whole
document as one string: about 5 KB a test, 270 MB of a 1,000-host run's controller. Here its
own code still makes each testcase (families, properties, captured output, xdist's report
order) and the document around them; a finished testcase is serialized once, to a spool file
that is deleted as it is made, and copied into the document in junitxml's order. The file is
byte for byte junitxml's. Where no temporary file can be made or written, the testcases stay in
memory, as junitxml keeps them.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from typing import IO

import pytest
from _pytest.junitxml import LogXML, _NodeReporter, xml_key

#: stands in for the testcases in the document junitxml writes around them
_MARK = "timesync-audit-spooled-testcases"
#: a spooled testcase's length takes the low bits of its entry, where it starts the others
_SIZE_BITS = 24


class SpoolingLogXML(LogXML):
    """junitxml's LogXML whose finished testcases wait in a spool file.

    In junitxml's list of testcases, in its order, a finished one is an int: where its text
    starts in the spool, and how long it is (_SIZE_BITS).
    """

    _spool: IO[bytes] | None = None
    _spooled = 0  # bytes written to the spool
    _unspooled = False  # the spool could not be made or written: junitxml keeps the rest
    _places: dict[tuple[str, object], int]  # (test id, xdist worker) -> its place in that list

    def node_reporter(self, report):  # junitxml's signature
        count = len(self.node_reporters_ordered)
        reporter = super().node_reporter(report)
        if len(self.node_reporters_ordered) > count:  # a new testcase, the last one junitxml keyed
            self.__dict__.setdefault("_places", {})[next(reversed(self.node_reporters))] = count
        return reporter

    def finalize(self, report: pytest.TestReport) -> None:
        key = (report.id, getattr(report, "node", None))
        reporter = self.node_reporters.get(key)
        super().finalize(report)
        place = self.__dict__.get("_places", {}).pop(key, None)
        if reporter is None or place is None or self.node_reporters_ordered[place] is not reporter:
            return  # a testcase this writer did not see begin: junitxml keeps it
        spool = self._spool
        if spool is None:
            if self._unspooled:
                return
            try:
                spool = self._spool = tempfile.TemporaryFile()  # noqa: SIM115  # closed at the session's end
            except OSError:  # no writable temporary directory: junitxml keeps them, as it does
                self._unspooled = True
                return
            self._spooled = 0
        text = ET.tostring(reporter.to_xml(), encoding="unicode").encode("utf-8")
        if len(text) >= 1 << _SIZE_BITS:
            return  # kept as junitxml keeps it
        try:
            spool.write(text)  # at the end: only the document's writing reads the spool
        except OSError:  # the temporary directory is full: the rest stays in memory
            self._unspooled = True
            return
        self.node_reporters_ordered[place] = self._spooled << _SIZE_BITS | len(text)  # type: ignore[call-overload]
        self._spooled += len(text)

    def _read(self, spooled: int) -> bytes:
        assert self._spool is not None
        self._spool.seek(spooled >> _SIZE_BITS)
        return self._spool.read(spooled & ((1 << _SIZE_BITS) - 1))

    def pytest_sessionfinish(self) -> None:
        """junitxml writes the document with one mark for its testcases; the mark is replaced by them."""
        cases, path = self.node_reporters_ordered, self.logfile
        if not any(isinstance(case, int) for case in cases):  # nothing spooled: junitxml's own writing
            super().pytest_sessionfinish()
            self.close()
            return
        try:
            self.node_reporters_ordered = [_Mark()]
            super().pytest_sessionfinish()  # the document around the mark, where it goes
        finally:
            self.node_reporters_ordered = cases
        if path == os.devnull:  # a run that keeps the last run's file (junit.write_nothing)
            self.close()
            return
        with open(path, encoding="utf-8") as written:
            head, tail = written.read().split(f"<{_MARK} />", 1)
        with open(path, "wb") as out:
            out.write(head.encode("utf-8"))
            for case in cases:
                if isinstance(case, int):
                    out.write(self._read(case))
                else:
                    out.write(ET.tostring(case.to_xml(), encoding="unicode").encode("utf-8"))
            out.write(tail.encode("utf-8"))
        self.close()

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


class _Mark(_NodeReporter):
    def __init__(self) -> None:
        pass

    def to_xml(self) -> ET.Element:
        return ET.Element(_MARK)


def install(config: pytest.Config) -> None:
    """Once junitxml made its writer (controller only): the same writer, spooling."""
    xml = config.stash.get(xml_key, None)
    if type(xml) is not LogXML:
        return  # no --junitxml, or a writer that is not pytest's own
    config.pluginmanager.unregister(xml)
    xml.__class__ = SpoolingLogXML
    config.pluginmanager.register(xml)


def uninstall(config: pytest.Config) -> None:
    xml = config.stash.get(xml_key, None)
    if isinstance(xml, SpoolingLogXML):
        xml.close()
