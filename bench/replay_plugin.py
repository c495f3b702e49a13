"""Simulated hosts for bench/fleet.py: the suite's gather answered from recorded snapshots.

Loaded with `PYTHONPATH=bench python -m pytest -p replay_plugin --hosts=docker://sim0001,...`.
A host whose name starts with `sim` (docker://sim0001 ...) is never contacted:
`timesync_audit.gather_pool.gather(config, host)` returns the facts of a recorded layout
(selftests/recorded/<layout>), the layouts taken in turn by the host's number. Every host is
still collected (timesync_audit.collector.collect over the recorded host, all its round trips),
parsed and judged on its own, so what is measured is the controller: parsing, judging, reports.
Any other host is gathered as usual.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import time
from pathlib import Path

from timesync_audit import collector, gather_pool
from timesync_audit.gather.recorded import RecordedFile, RecordedHost
from timesync_audit.gather.snapshot import CommandOutput
from timesync_audit.identity import host_identity

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "selftests"))
import support  # noqa: E402  # selftests/support.py: the recorded layouts, read once for both

#: layouts replayed in turn (TSA_BENCH_LAYOUTS=a,b,... to choose others)
LAYOUTS = tuple(
    (os.environ.get("TSA_BENCH_LAYOUTS") or "debian12-chrony,rhel9-chrony,debian12-ntpsec,debian12-timesyncd").split(
        ","
    )
)
_SIMULATED = re.compile(r"^docker://sim(\d+)$")
_real_gather = gather_pool.gather


@functools.cache
def _layout(name: str) -> tuple[dict[str, RecordedFile], dict[str, CommandOutput]]:
    """A recorded layout's files and command outputs, read as the selftests read them."""
    return support.layout_files(name)


def replayed_gather(config, host):
    """The facts of the host's recorded layout, collected as a live host's are; other hosts: gathered."""
    match = _SIMULATED.match(host_identity(host.backend))
    if not match:
        return _real_gather(config, host)
    started = time.monotonic()
    files, commands = _layout(LAYOUTS[int(match.group(1)) % len(LAYOUTS)])
    facts = collector.collect(RecordedHost(files, commands).execute)
    facts.seconds = time.monotonic() - started
    return facts


gather_pool.gather = replayed_gather  # the pool looks the function up when it submits a gather
