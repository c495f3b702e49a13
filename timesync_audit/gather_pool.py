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
import os
import time
from typing import Any

import pytest

from . import collector, limits, scheduling
from .gather import remote, transport
from .identity import bare_name, host_identity
from .outcomes import CouldNotCheck
from .stash_keys import BOUNDS, GATHER_POOL, GATHERED, HOST_BOUNDS

#: hosts gathered at once unless --gather-concurrency says otherwise: this many per CPU the process
#: may use, and at most that many. A gather costs the controller CPU as well (ssh's key exchange,
#: parsing the answer), shared with the rules that judge: more gathers in flight than the CPUs
#: serve make every host's answer later without ending the fleet sooner. Measured with
#: bench/fleet.py on 2 CPUs, 100 SSH hosts at +50 ms: 14.5 s with 16, 15.4 s with 32, 16.6 s with
#: 64 (medians); far-away fleets (long round trips, idle CPUs) may ask for more.
PER_CPU, MOST = 8, 32


def default_concurrency() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))  # the CPUs this process may run on (a cpuset, taskset)
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MOST, PER_CPU * cpus))


#: backends whose hosts are gathered in threads: those whose processes the suite's own transport
#: starts, each with its own copy of the environment (transport.child_environment). The others
#: are gathered one at a time, as their tests ask, on pytest's thread: testinfra's paramiko
#: client is built under a patch of paramiko's module (gather.hostkeys), which threads would
#: share, and testinfra's other backends start their processes with the process's environment,
#: which pytest's thread rewrites at every test phase (a child then fails to start)
CONCURRENT = ("local", "docker", "podman", "ssh", "safe-ssh")
_HOST_PARAM = "_testinfra_host"


def _gathered_in_threads(host) -> bool:
    """By the backend that really reaches the host: an ansible:// host by its inventory's
    connection (docker, ssh...), as the transport drives it. Where that cannot be said (the
    inventory cannot be read), one at a time: the host's own gather reports why."""
    try:
        backend = transport.resolve(host.backend)
    except Exception:
        return False
    return getattr(backend, "NAME", "") in CONCURRENT  # testinfra's parameter: the host of a test


def add_options(group) -> None:
    group.addoption(
        "--gather-concurrency",
        type=int,
        default=None,
        metavar="N",
        help=(
            f"how many hosts are gathered at once, per process (default {PER_CPU} per CPU, at most {MOST}: "
            f"{default_concurrency()} here; 1: one at a time)"
        ),
    )


def bounds_of(config: pytest.Config, host_id: str) -> limits.Bounds:
    """The gather bounds of one host: its inventory variables, else the run's."""
    return config.stash[HOST_BOUNDS].get(bare_name(host_id)) or config.stash[BOUNDS]


def gather(config: pytest.Config, host) -> collector.Gathered | CouldNotCheck:
    """One host's facts, or why it could not be checked; never raises for the host's sake."""
    host_id = host_identity(host.backend)
    started = time.monotonic()
    try:
        with remote.Executor(host, host_id, bounds_of(config, host_id).transport_limits()) as execute:
            facts = collector.collect(execute)
            facts.seconds = time.monotonic() - started
        return facts
    except CouldNotCheck as exc:
        exc.seconds = time.monotonic() - started  # type: ignore[attr-defined]  # what the bound cost
        return exc
    finally:
        remote.close(host)  # no connection or shared SSH master left behind


class GatherPool:
    """The gathers of one process: started at the end of the collection, read by the fixture.

    A host's tests run one after the other (the items are ordered by host), so its facts are let
    go after its last test, and at most `lookahead` hosts are gathered ahead of the one being
    judged: the memory of a run is that of a few hosts, not of the fleet."""

    def __init__(self, config: pytest.Config, concurrency: int) -> None:
        self.config = config
        self.concurrency = max(1, concurrency)
        self.lookahead = 2 * self.concurrency
        self.executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.futures: dict[str, concurrent.futures.Future] = {}
        self.order: list[str] = []  # the hosts to gather, in test order
        self.hosts: dict[str, Any] = {}
        self.last_test: dict[str, str] = {}  # nodeid of a host's last test -> the host
        self.submitted = 0  # hosts of `order` handed to the executor
        self.finished = 0  # hosts whose last test ended

    @pytest.hookimpl(trylast=True)  # after pytest's own reordering and every selection
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """One host's tests after the other's, each host's in their order."""
        first: dict[str | None, int] = {}
        for item in items:
            first.setdefault(_host_id_of(item), len(first))
        items[:] = sorted(items, key=lambda item: first[_host_id_of(item)])  # sorted() is stable

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        hosts = _hosts_of(session.items)
        mine = scheduling.hosts_of_worker(self.config, [item.nodeid for item in session.items])
        if mine is not None:
            hosts = {host_id: hosts[host_id] for host_id in mine if host_id in hosts}
        last = {}
        for item in session.items:
            host_id = _host_id_of(item)
            if host_id in hosts:
                last[host_id] = item.nodeid
        self.last_test = {nodeid: host_id for host_id, nodeid in last.items()}
        hosts = {h: host for h, host in hosts.items() if _gathered_in_threads(host)}
        if len(hosts) < 2 or self.concurrency < 2:
            return  # nothing to overlap: the fixture gathers as its tests ask
        self.order, self.hosts = list(hosts), hosts
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(hosts)), thread_name_prefix="tsa-gather"
        )
        self._fill()

    def _fill(self) -> None:
        """Hand the executor the next hosts, up to `lookahead` ahead of the first unfinished one."""
        while self.executor is not None and self.submitted < min(len(self.order), self.finished + self.lookahead):
            host_id = self.order[self.submitted]
            self.submitted += 1
            if host_id not in self.config.stash[GATHERED]:
                self.futures[host_id] = self.executor.submit(gather, self.config, self.hosts[host_id])

    def facts(self, host) -> collector.Gathered | CouldNotCheck:
        """The host's facts, gathered once per process: from the pool, else here and now."""
        host_id = host_identity(host.backend)
        cache = self.config.stash[GATHERED]
        if host_id not in cache:
            future = self.futures.pop(host_id, None)
            cache[host_id] = future.result() if future is not None else gather(self.config, host)
        return cache[host_id]

    def pytest_runtest_logreport(self, report) -> None:
        """After a host's last test, its facts go (the reports keep what they said of them)."""
        if report.when != "teardown" or report.nodeid not in self.last_test:
            return
        host_id = self.last_test.pop(report.nodeid)
        self.config.stash[GATHERED].pop(host_id, None)
        future = self.futures.pop(host_id, None)
        if future is not None:
            future.cancel()  # its tests never asked (all skipped before their fixtures)
        self.finished += 1
        self._fill()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Gathers not yet started are dropped (an interrupted run); running ones end within their bounds."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)


def _host_id_of(item) -> str | None:
    callspec = getattr(item, "callspec", None)
    host = callspec.params.get(_HOST_PARAM) if callspec is not None else None
    return host_identity(host.backend) if host is not None else None


def _hosts_of(items) -> dict[str, Any]:
    """host identity -> testinfra host, in the order of the tests that ask for its facts."""
    hosts: dict[str, Any] = {}
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
    concurrency = config.getoption("gather_concurrency", None)
    if concurrency is None:
        concurrency = default_concurrency()
    if concurrency < 1:
        raise pytest.UsageError(f"--gather-concurrency must be 1 or more, got {concurrency}")
    config.stash[GATHER_POOL] = made = GatherPool(config, concurrency)
    config.pluginmanager.register(made, "timesync-gather-pool")
