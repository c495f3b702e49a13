"""The garbage collector at fleet size: its passes cost what the heap holds, and a fleet's run
holds every test's item and reports until its end.

With CPython's default thresholds, a run of 1,000 hosts (48,000 tests) spent 10.5 s of 53 s
scanning the same long-lived objects again and again; pytest then forces one more full pass at
its end (to surface exceptions raised in `__del__`), and the interpreter's exit walked the whole
heap again (about 4 s at 300 hosts). The suite makes no reference cycles worth collecting early:
young collections run less often, pytest's final forced pass is skipped (the unraisable
exceptions caught so far are still reported), and what is alive at exit is frozen first, so the
exit does not scan it. Measured in bench/fleet.py (docs/benchmarks.md, "Fleet speed").
"""

from __future__ import annotations

import atexit
import gc

import pytest

# how many full passes pytest forces at its end: a stash key it keeps so that pytester may change it
from _pytest.unraisableexception import gc_collect_iterations_key

# allocations between young collections (CPython's default: 700), then the older generations'
THRESHOLDS = (50_000, 20, 10)

_PREVIOUS = pytest.StashKey[tuple[int, int, int]]()
_exit_hook: list[object] = []


def configure(config: pytest.Config) -> None:
    config.stash[_PREVIOUS] = gc.get_threshold()
    gc.set_threshold(*(max(mine, theirs) for mine, theirs in zip(THRESHOLDS, gc.get_threshold())))
    config.stash[gc_collect_iterations_key] = 0
    if not _exit_hook:  # once per process; a run inside another (pytester) changes nothing at exit
        _exit_hook.append(atexit.register(gc.freeze))


def unconfigure(config: pytest.Config) -> None:
    """A run inside another process (pytester) gives back the thresholds it found."""
    previous = config.stash.get(_PREVIOUS, None)
    if previous is not None:
        gc.set_threshold(*previous)
