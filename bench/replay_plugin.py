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
import time
from pathlib import Path

import yaml

from timesync_audit import collector, gather_pool
from timesync_audit.gather.recorded import RecordedFile, RecordedHost
from timesync_audit.gather.snapshot import CommandOutput, Stat
from timesync_audit.identity import host_identity

RECORDED = Path(__file__).resolve().parent.parent / "selftests" / "recorded"
#: layouts replayed in turn (TSA_BENCH_LAYOUTS=a,b,... to choose others)
LAYOUTS = tuple(
    (os.environ.get("TSA_BENCH_LAYOUTS") or "debian12-chrony,rhel9-chrony,debian12-ntpsec,debian12-timesyncd").split(
        ","
    )
)
_SIMULATED = re.compile(r"^docker://sim(\d+)$")
_real_gather = gather_pool.gather


def _stat(spec: dict) -> Stat:
    return Stat(
        int(spec.get("uid", 0)),
        int(spec.get("gid", 0)),
        spec.get("user", "root"),
        spec.get("group", "root"),
        int(str(spec.get("mode", "0644")), 8),
        spec.get("kind", "regular file"),
    )


@functools.cache
def _layout(name: str) -> tuple[dict[str, RecordedFile], dict[str, CommandOutput]]:
    """A recorded layout's files and command outputs, as selftests/support.py reads them."""
    base = RECORDED / name
    meta = yaml.safe_load((base / "layout.yaml").read_text())
    files = {}
    for path in (base / "root").rglob("*"):
        if path.is_file():
            files["/" + str(path.relative_to(base / "root"))] = RecordedFile(path.read_text())
    for path, spec in (meta.get("stats") or {}).items():
        files[path] = RecordedFile(None, _stat(spec))
    commands = {n: CommandOutput(n, 0, out) for n, out in (meta.get("commands") or {}).items()}
    return files, commands


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
