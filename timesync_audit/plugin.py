"""The pytest plugin: options, per-host facts cache, outcomes, report metadata.

An installed pytest plugin (pyproject.toml's pytest11 entry point), so its options are
known before pytest reads the command line. Rule tests ask for `chrony` (and
`policy`); everything about hosts, gathering and applicability happens here.
"""
from __future__ import annotations

import logging
import sys

import pytest

from . import findings, hostspec, identity, inventory, limits, profiles, report, usage, verdicts, views, waivers
from .gather import collector, remote
from .outcomes import CouldNotCheck
from .policy import PolicyError, default_policy, listing as policy_listing, parse_assignments
from .rules import meta_of

_HOST_PARAM = "_testinfra_host"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("timesync-audit")
    group.addoption("--policy", action="append", default=[], metavar="KEY=VALUE",
                    help="override a policy value for every host (repeatable), e.g. --policy maxpoll_max=16")
    profiles.add_options(group)
    waivers.add_options(group)
    limits.add_options(parser, group)


def pytest_configure(config: pytest.Config) -> None:
    # testinfra logs every command result at DEBUG (stdout included): captured by pytest, that would
    # put gathered output in report.html and JUnit. The suite's commands never go through it, and
    # nothing of testinfra's or paramiko's below WARNING is kept, at any verbosity.
    for name in ("testinfra", "paramiko"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if any(v.strip().lower() == "list" for v in config.getoption("policy")):
        sys.stdout.write(policy_listing() + "\n")
        sys.stdout.flush()
        pytest.exit("policy keys listed", returncode=0)
    usage.configure(config)  # arguments that would silently do something else: exit 4 here
    config.pluginmanager.register(usage, "timesync-usage")
    config.pluginmanager.register(findings, "timesync-findings")
    identity.install()  # one test id, gather and verdict per backend, user, address, port
    config.pluginmanager.register(report, "timesync-report")
    config.pluginmanager.register(profiles, "timesync-profiles")
    config.pluginmanager.register(waivers, "timesync-waivers")
    config.pluginmanager.register(verdicts, "timesync-verdicts")
    config.addinivalue_line("markers", "rule(meta): the compliance rule a test checks")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(inventory.XdistHooks(config), "timesync-inventory-xdist")
    try:
        hostspec.check(config.getoption("hosts", None), bool(config.getoption("ansible_inventory", None)))
    except hostspec.HostSpecError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        # precedence: SSG defaults < profile < inventory variables < --policy
        base = default_policy()
        profile = profiles.selected(config)
        if profile is not None:
            base = base.with_overrides(profile.variables, f"profile {profile.name}")
        overrides = parse_assignments(config.getoption("policy"), "--policy")
        config._timesync_policy = base.with_overrides(overrides, "--policy")
        config._timesync_host_policies = inventory.host_policies(config, base, overrides)
        # precedence: defaults < pytest.ini < inventory variables < command line
        bounds, command_line = limits.from_config(config)
        config._timesync_bounds = limits.resolve(bounds, {}, None, command_line)
        config._timesync_host_bounds = inventory.host_bounds(config, bounds, command_line)
    except PolicyError as exc:
        raise pytest.UsageError(str(exc)) from None
    config._timesync_cache = {}
    report.configure(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    inventory.unconfigure(config)


def host_id(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None or _HOST_PARAM not in callspec.params:
        return None
    return identity.host_identity(callspec.params[_HOST_PARAM].backend)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Group a host's tests for xdist and attach metadata, before any collection_modifyitems
    (xdist reads the group there, and plugin order is not ours to rely on)."""
    hid = host_id(item)
    if hid is not None:
        # keep a host's tests on one xdist worker: one connection, one gather
        item.add_marker(pytest.mark.xdist_group(name=hid.replace("@", "_at_")))
        item.user_properties.append(("host", hid))
    meta = meta_of(item)
    if meta is not None:
        item.user_properties.extend(meta.properties())


def host_name(host_id: str) -> str:
    """Bare host name of a host identity: ansible://web1, ssh://root@web1:22, docker://c1."""
    return identity.bare_name(host_id)


def policy_of(config: pytest.Config, host_id: str | None):
    if host_id is not None:
        found = config._timesync_host_policies.get(host_name(host_id))
        if found is not None:
            return found
    return config._timesync_policy


def bounds_of(config: pytest.Config, host_id: str) -> "limits.Bounds":
    """The gather bounds of one host: its inventory variables, else the run's."""
    return config._timesync_host_bounds.get(host_name(host_id)) or config._timesync_bounds


@pytest.fixture
def policy(request: pytest.FixtureRequest):
    """The policy of the host under test: defaults, profile, inventory variables, --policy."""
    return policy_of(request.config, host_id(request.node))


@pytest.fixture
def gathered(host, request: pytest.FixtureRequest) -> collector.Gathered:
    """The host's facts, gathered once per run (per worker) and shared by all its tests."""
    hid = identity.host_identity(host.backend)
    cache = request.config._timesync_cache
    if hid not in cache:
        try:
            cache[hid] = collector.collect(remote.executor(
                host, hid, bounds_of(request.config, hid).transport_limits()))
        except CouldNotCheck as exc:
            cache[hid] = exc
        finally:
            remote.close(host)  # no connection or shared SSH master left behind
    result = cache[hid]
    if isinstance(result, CouldNotCheck):
        raise result
    return result


def _view_fixture(name: str, view):
    def fixture(gathered, policy):
        return view(gathered, policy)
    fixture.__doc__ = view.__doc__
    return pytest.fixture(name=name)(fixture)


for _name, _view in views.VIEWS.items():
    globals()[f"_fixture_{_name}"] = _view_fixture(_name, _view)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep = outcome.get_result()
    gathered = item.config._timesync_cache.get(host_id(item) or "")
    if isinstance(gathered, collector.Gathered) and not any(k == "gather_id" for k, _ in item.user_properties):
        # on the item: JUnit writes the properties of the teardown report, built from it
        item.user_properties += [("gather_round_trips", str(gathered.round_trips)), ("gather_id", gathered.gather_id)]
