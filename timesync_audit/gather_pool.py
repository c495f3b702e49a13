"""Every host of the run (of an xdist worker) gathered concurrently, a bounded number at a time,
while the first hosts' tests already judge: a rule test only waits for its own host's facts.

On a fleet the cost of a host is waiting for its answers (network latency, a slow or dead host),
which threads overlap; judging is local and stays in pytest's one thread. Each gather keeps its
own bounds (limits.py), so a dead host costs its timeout on one thread, not the run. Which hosts
a worker gathers comes from the scheduler's plan (scheduling.py); a host the plan did not give
the worker (a worker restarted) is gathered when its first test asks.
"""

from __future__ import annotations

import concurrent.futures
import time

import pytest

from . import collector, limits, scheduling
from .gather import remote
from .identity import bare_name, host_identity
from .outcomes import CouldNotCheck
from .stash_keys import BOUNDS, GATHER_POOL, GATHERED, HOST_BOUNDS

#: hosts gathered at once unless --gather-concurrency says otherwise
DEFAULT_CONCURRENCY = 32
_HOST_PARAM = "_testinfra_host"  # testinfra's parameter: the host of a test


def add_options(group) -> None:
    group.addoption(
        "--gather-concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"how many hosts are gathered at once, per process (default {DEFAULT_CONCURRENCY}; 1: one at a time)",
    )


def bounds_of(config: pytest.Config, host_id: str) -> limits.Bounds:
    """The gather bounds of one host: its inventory variables, else the run's."""
    return config.stash[HOST_BOUNDS].get(bare_name(host_id)) or config.stash[BOUNDS]


def gather(config: pytest.Config, host) -> collector.Gathered | CouldNotCheck:
    """One host's facts, or why it could not be checked; never raises for the host's sake."""
    host_id = host_identity(host.backend)
    started = time.monotonic()
    try:
        facts = collector.collect(remote.executor(host, host_id, bounds_of(config, host_id).transport_limits()))
        facts.seconds = time.monotonic() - started
        return facts
    except CouldNotCheck as exc:
        return exc
    finally:
        remote.close(host)  # no connection or shared SSH master left behind


class GatherPool:
    """The gathers of one process: started at the end of the collection, read by the fixture."""

    def __init__(self, config: pytest.Config, concurrency: int) -> None:
        self.config = config
        self.concurrency = max(1, concurrency)
        self.executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.futures: dict[str, concurrent.futures.Future] = {}

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        hosts = _hosts_of(session.items)
        mine = scheduling.hosts_of_worker(self.config, [item.nodeid for item in session.items])
        if mine is not None:
            hosts = {host_id: hosts[host_id] for host_id in mine if host_id in hosts}
        if len(hosts) < 2 or self.concurrency < 2:
            return  # nothing to overlap: the fixture gathers as its tests ask
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(hosts)), thread_name_prefix="tsa-gather"
        )
        for host_id, host in hosts.items():  # in test order: the first host's tests start first
            self.futures[host_id] = self.executor.submit(gather, self.config, host)

    def facts(self, host) -> collector.Gathered | CouldNotCheck:
        """The host's facts, gathered once per process: from the pool, else here and now."""
        host_id = host_identity(host.backend)
        cache = self.config.stash[GATHERED]
        if host_id not in cache:
            future = self.futures.pop(host_id, None)
            cache[host_id] = future.result() if future is not None else gather(self.config, host)
        return cache[host_id]

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Gathers not yet started are dropped (an interrupted run); running ones end within their bounds."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)


def _hosts_of(items) -> dict[str, object]:
    """host identity -> testinfra host, in the order of the tests that ask for its facts."""
    hosts: dict[str, object] = {}
    for item in items:
        if "gathered" not in getattr(item, "fixturenames", ()):
            continue  # a test that judges no facts (a throwaway suite's) never makes a host gathered
        callspec = getattr(item, "callspec", None)
        host = callspec.params.get(_HOST_PARAM) if callspec is not None else None
        if host is not None:
            hosts.setdefault(host_identity(host.backend), host)
    return hosts


def pool(config: pytest.Config) -> GatherPool:
    found = config.stash[GATHER_POOL]
    assert isinstance(found, GatherPool)
    return found


def configure(config: pytest.Config) -> None:
    concurrency = config.getoption("gather_concurrency", DEFAULT_CONCURRENCY)
    if concurrency is None or concurrency < 1:
        raise pytest.UsageError(f"--gather-concurrency must be 1 or more, got {concurrency}")
    config.stash[GATHER_POOL] = made = GatherPool(config, concurrency)
    config.pluginmanager.register(made, "timesync-gather-pool")
