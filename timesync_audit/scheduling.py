"""Under xdist: every test of one host on one worker, the hosts spread over the workers before any
test runs, so that each worker knows its hosts and gathers them together (gather_pool.py).

The plan is a pure function of the collection (which every worker has too) and the number of
workers: the controller's scheduler sends each worker its hosts' tests at once, and each worker
computes the same plan to know which hosts to gather. Nothing depends on pytest-xdist's
`xdist_group` marks (`--dist loadgroup`), whose grouping pytest 9 broke.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

import pytest
from xdist.scheduler import LoadScopeScheduling

from .progress import host_in_test_id


def unit_of(nodeid: str) -> str:
    """A host's tests are one unit; a test of no host is a unit of its own."""
    return host_in_test_id(nodeid) or nodeid


def plan(nodeids: Iterable[str], workers: int) -> dict[str, int]:
    """unit -> worker index: units in the order of their first test, each to the worker with the
    fewest tests so far (the lowest index on a tie). Deterministic, so a worker can compute it."""
    sizes: OrderedDict[str, int] = OrderedDict()
    for nodeid in nodeids:
        unit = unit_of(nodeid)
        sizes[unit] = sizes.get(unit, 0) + 1
    load = [0] * max(workers, 1)
    placed = {}
    for unit, size in sizes.items():
        index = min(range(len(load)), key=lambda i: (load[i], i))
        placed[unit] = index
        load[index] += size
    return placed


def worker_index(worker_id: str) -> int | None:
    """gw3 -> 3 (xdist names its workers gw0, gw1...)."""
    return int(worker_id[2:]) if worker_id.startswith("gw") and worker_id[2:].isdigit() else None


def hosts_of_worker(config: pytest.Config, nodeids: Sequence[str]) -> list[str] | None:
    """On an xdist worker: the hosts the plan gives it, in test order; None elsewhere."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return None
    index = worker_index(str(workerinput.get("workerid", "")))
    if index is None:
        return None
    hosts = {host_in_test_id(nodeid) for nodeid in nodeids}
    placed = plan(nodeids, int(workerinput.get("workercount", 1)))
    return [unit for unit, worker in placed.items() if worker == index and unit in hosts]


class HostScheduling(LoadScopeScheduling):
    """LoadScopeScheduling whose scope is the host, all units placed at once by `plan`."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:  # type: ignore[has-type]  # xdist's attribute; a node added later: nothing is left to give it
            for node in self.nodes:
                self._reschedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.registered_collections.values())))
        if not self.collection:
            return
        for nodeid in self.collection:
            self.workqueue.setdefault(unit_of(nodeid), {})[nodeid] = False
        nodes = {worker_index(node.gateway.id): node for node in self.nodes}
        positions = {
            node: {nodeid: i for i, nodeid in enumerate(self.registered_collections[node])} for node in self.nodes
        }
        for unit, index in plan(self.collection, len(self.nodes)).items():
            node = nodes.get(index) or self.nodes[index % len(self.nodes)]
            self._give(node, unit, positions[node])
        for node in self.nodes:  # every unit is placed: each worker ends after its queue
            node.shutdown()

    def _give(self, node, unit: str, positions: dict[str, int]) -> None:
        work = self.workqueue.pop(unit)
        self.assigned_work.setdefault(node, {})[unit] = work
        node.send_runtest_some([positions[nodeid] for nodeid in work])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """The suite's scheduler for every load-balancing mode (load, loadscope, loadgroup...);
    `--dist each` (every test on every worker) stays xdist's."""
    if config.getoption("dist", "no") in ("each", "no"):
        return None
    return HostScheduling(config, log)
