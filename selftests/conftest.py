"""The project's own tests: the repository root must be importable.

Hypothesis profiles for the property tests (selftests/unit/test_fuzz_parsers.py):
- "ci", loaded by default: 100 examples per test, the same ones every run (derandomized), so that
  the whole fuzz file stays well under 30 s;
- "long", chosen with `--hypothesis-profile=long`: 10,000 new random examples per test.
Neither keeps an example database (nothing is written into the work tree): a failure prints the
input and a `@reproduce_failure` blob instead.
"""

import atexit
import pathlib
import shutil
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_SHARED = dict(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Hypothesis keeps a cache of constants even without a database: in a directory of the run's own,
# removed at exit, not in the work tree
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="tsa-hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, True)
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
settings.register_profile("ci", max_examples=100, derandomize=True, **_SHARED)
settings.register_profile("long", max_examples=10_000, **_SHARED)
settings.load_profile("ci")


def pytest_addoption(parser) -> None:
    parser.addini(
        "e2e", "run the end-to-end tests (they start and stop a lab of Docker hosts)", type="bool", default=False
    )


def pytest_collection_modifyitems(config, items) -> None:
    """The end-to-end tests start a lab of containers: only a run under selftests/pytest.ini
    (which says `e2e = true`) starts it, never a run that found these files some other way."""
    if config.getini("e2e"):
        return
    skip = pytest.mark.skip(reason="end-to-end tests run only under selftests/pytest.ini (e2e = true)")
    for item in items:
        if item.get_closest_marker("e2e") is not None:
            item.add_marker(skip)
