"""The garbage collector during a run (heap.py): fewer young collections, no forced full pass at
the end, the heap frozen at exit; a run inside another process gives back what it found."""

import sys

from timesync_audit import heap

pytest_plugins = ["pytester"]

PROBE = """
import atexit, gc

# a conftest is loaded before the plugins are configured: atexit runs this after heap.py's hook
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0, flush=True))

def pytest_collection_finish(session):
    print("thresholds during the run:", gc.get_threshold())
    print("forced passes at the end:", session.config.stash[heap.gc_collect_iterations_key])
"""

NESTED = """
import gc, sys, pytest
before, frozen = gc.get_threshold(), gc.get_freeze_count()
for _ in range(2):
    pytest.main(["-p", "no:cacheprovider", "-q", "test_nothing.py"])
print("given back:", gc.get_threshold() == before, "frozen inside:", gc.get_freeze_count() != frozen)
"""


def test_a_run_raises_the_thresholds_skips_the_forced_pass_and_freezes_at_exit(pytester):
    pytester.makeconftest("from timesync_audit import heap\n" + PROBE)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.stdout.fnmatch_lines(
        [
            f"thresholds during the run: {heap.THRESHOLDS}",
            "forced passes at the end: 0",
            "*1 passed*",
            "frozen at exit: True",
        ]
    )


def test_runs_inside_a_process_give_back_the_thresholds_and_freeze_nothing(pytester):
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    pytester.makepyfile(nested=NESTED)
    result = pytester.run(sys.executable, "nested.py")
    result.stdout.fnmatch_lines(["given back: True frozen inside: False"])
