"""Hosts are gathered concurrently, at most --gather-concurrency at a time, each once per run; under
xdist each worker gathers the hosts the scheduler gives it, and all tests of a host run there.

The gather itself is replaced (conftest below) by one that sleeps and notes when it ran, in which
process and thread: what is checked is the pool and the plan, not a transport."""

import json

import pytest

from timesync_audit import gather_pool, scheduling

pytest_plugins = ["pytester"]

CONFTEST = """
import json, os, pathlib, threading, time
import timesync_audit.gather_pool as pool

LOG = pathlib.Path(__file__).parent / "gathers.jsonl"
lock = threading.Lock()

def fake_gather(config, host):
    started = time.monotonic()
    with lock, (LOG.parent / "started.txt").open("a") as out:
        out.write(host.backend.get_pytest_id() + "\\n")
    time.sleep(0.4)
    entry = {"host": host.backend.get_pytest_id(), "start": started, "end": time.monotonic(),
             "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "thread": threading.current_thread().name}
    with lock, LOG.open("a") as out:
        out.write(json.dumps(entry) + "\\n")
    return object()

pool.gather = fake_gather
"""

TESTS = """
import os, pathlib

def judge(host, n):
    name = host.backend.get_pytest_id()
    here = pathlib.Path(__file__).parent
    started = (here / "started.txt").read_text().count("\\n") if (here / "started.txt").exists() else 0
    with (here / "order.txt").open("a") as out:
        out.write(f"{name} {n} {started}\\n")
    (pathlib.Path(__file__).parent / "ran").mkdir(exist_ok=True)
    (pathlib.Path(__file__).parent / "ran" / f"{name.split('://')[1]}-{n}").write_text(
        os.environ.get("PYTEST_XDIST_WORKER", "main"))

# like the suite's rules: the host is a test's only parameter (its id is the host's identity)
def test_first(gathered, host):
    judge(host, 0)

def test_second(gathered, host):
    judge(host, 1)

def test_third(gathered, host):
    judge(host, 2)
"""

HOSTS = [f"docker://h{i}" for i in range(6)]


def _run(pytester, *args, hosts=HOSTS):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_pool=TESTS)
    result = pytester.runpytest_subprocess(f"--hosts={','.join(hosts)}", "-p", "no:cacheprovider", *args)
    log = [json.loads(line) for line in (pytester.path / "gathers.jsonl").read_text().splitlines()]
    return result, log


def _most_at_once(log):
    events = sorted([(e["start"], 1) for e in log] + [(e["end"], -1) for e in log], key=lambda x: (x[0], x[1]))
    now = most = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def test_hosts_are_gathered_together_each_once(pytester):
    result, log = _run(pytester, "--gather-concurrency=3")
    result.assert_outcomes(passed=18)
    assert sorted(e["host"] for e in log) == HOSTS  # once each, 3 tests apiece
    assert _most_at_once(log) == 3
    assert all(e["thread"].startswith("tsa-gather") for e in log)


def test_only_hosts_whose_commands_the_suite_starts_are_gathered_in_threads(pytester):
    """testinfra's own backends start their commands with the process's environment, which
    pytest's thread rewrites at every test phase: their hosts are gathered on that thread."""
    hosts = ["docker://d1", "kubectl://k1", "ssh://s1", "paramiko://p1", "lxc://l1", "podman://o1"]
    result, log = _run(pytester, "--gather-concurrency=4", hosts=hosts)
    result.assert_outcomes(passed=18)
    threads = {e["host"]: e["thread"] for e in log}
    assert sorted(threads) == sorted(hosts)
    assert {h for h, t in threads.items() if t.startswith("tsa-gather")} == {"docker://d1", "ssh://s1", "podman://o1"}
    assert {h for h, t in threads.items() if t == "MainThread"} == {"kubectl://k1", "paramiko://p1", "lxc://l1"}
    assert set(gather_pool.CONCURRENT) == {"local", "docker", "podman", "ssh", "safe-ssh"}


INVENTORY = """
all:
  hosts:
    web1: {ansible_connection: docker, ansible_host: c1}
    web2: {ansible_connection: docker, ansible_host: c2}
    old1: {ansible_connection: paramiko, ansible_host: 192.0.2.1}
"""


def test_an_ansible_host_is_gathered_as_its_inventory_connection_is(pytester):
    """ansible:// hosts are reached through the connection their inventory names: over docker or
    ssh in threads, over paramiko on pytest's thread."""
    pytester.makefile(".yml", inventory=INVENTORY)
    result, log = _run(pytester, "--gather-concurrency=4", "--ansible-inventory=inventory.yml", hosts=["ansible://all"])
    result.assert_outcomes(passed=9)
    threads = {e["host"]: e["thread"] for e in log}
    assert {h for h, t in threads.items() if t.startswith("tsa-gather")} == {"ansible://web1", "ansible://web2"}
    assert {h for h, t in threads.items() if t == "MainThread"} == {"ansible://old1"}


SECOND_MODULE = """
def test_fourth(gathered, host):
    import pathlib
    with (pathlib.Path(__file__).parent / "order.txt").open("a") as out:
        out.write(f"{host.backend.get_pytest_id()} 3 0\\n")
"""


def test_a_hosts_tests_run_together_and_few_hosts_are_gathered_ahead(pytester):
    pytester.makepyfile(test_zz_more=SECOND_MODULE)
    result, log = _run(pytester, "--gather-concurrency=2", "-p", "no:randomly")
    result.assert_outcomes(passed=24)
    order = [line.split() for line in (pytester.path / "order.txt").read_text().splitlines()]
    hosts = [host for host, _, _ in order]
    assert hosts == [h for h in HOSTS for _ in range(4)], hosts  # each host's 4 tests in a row
    # a host is gathered at most 2 x concurrency ahead of the one judged: facts of few hosts held
    first_tests = [int(started) for host, n, started in order if n == "0"]
    assert all(started <= index + 1 + 4 for index, started in enumerate(first_tests)), first_tests
    assert sorted(e["host"] for e in log) == HOSTS  # and still once each


def test_concurrency_one_gathers_one_after_the_other(pytester):
    result, log = _run(pytester, "--gather-concurrency=1")
    result.assert_outcomes(passed=18)
    assert sorted(e["host"] for e in log) == HOSTS
    assert _most_at_once(log) == 1


def test_under_xdist_each_worker_gathers_its_own_hosts(pytester):
    result, log = _run(pytester, "-n", "2", "--gather-concurrency=8")
    result.assert_outcomes(passed=18)
    assert sorted(e["host"] for e in log) == HOSTS  # each host once, in one process
    ran = {p.name: p.read_text() for p in (pytester.path / "ran").iterdir()}
    for host in HOSTS:
        workers = {ran[f"{host.split('://')[1]}-{n}"] for n in range(3)}
        gathered_by = {e["worker"] for e in log if e["host"] == host}
        assert workers == gathered_by and len(workers) == 1, host  # judged where it was gathered
    assert {e["worker"] for e in log} == {"gw0", "gw1"}  # 3 hosts a worker
    assert _most_at_once(log) >= 4  # both workers gather their hosts at once


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_concurrency_below_one_is_a_usage_error(pytester, value):
    pytester.makepyfile(test_pool=TESTS)
    result = pytester.runpytest_subprocess(f"--gather-concurrency={value}", "--hosts=docker://h0")
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"ERROR: --gather-concurrency must be 1 or more, got {value}"])


def test_the_plan_places_every_host_once_and_evenly():
    nodeids = [f"t.py::test_{r}[docker://h{h}]" for h in range(7) for r in range(48)] + ["t.py::test_plain"]
    for workers in (1, 2, 3, 8):
        placed = scheduling.plan(nodeids, workers)
        assert set(placed) == {f"docker://h{h}" for h in range(7)} | {"t.py::test_plain"}
        loads = [sum(48 for u, w in placed.items() if w == i and u.startswith("docker")) for i in range(workers)]
        assert max(loads) - min(loads) <= 48  # hosts are the unit: at most one host apart
        assert placed == scheduling.plan(nodeids, workers)  # the same on every worker


@pytest.mark.parametrize(("cpus", "expected"), [(1, 8), (2, 16), (3, 24), (4, 32), (64, 32)])
def test_the_default_concurrency_follows_the_cpus_this_process_may_use(monkeypatch, cpus, expected):
    """A gather costs the controller CPU too: 8 in flight per CPU, at most 32."""
    monkeypatch.setattr(gather_pool.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    assert gather_pool.default_concurrency() == expected
