"""The pytest plugin: options, per-host facts cache, outcomes, report metadata.

Loaded by the top-level conftest.py. Rule tests ask for `chrony` (and
`policy`); everything about hosts, gathering and applicability happens here.
"""
from __future__ import annotations

import logging

import pytest

from . import hostspec, identity, inventory, profiles, report, verdicts, views, waivers
from .gather import collector, remote, transport
from .outcomes import CouldNotCheck
from .policy import PolicyError, default_policy, parse_assignments
from .display import MAX_MESSAGE, escape, shorten
from .rules import meta_of

_HOST_PARAM = "_testinfra_host"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("timesync-audit")
    group.addoption("--policy", action="append", default=[], metavar="KEY=VALUE",
                    help="override a policy value for every host (repeatable), e.g. --policy maxpoll_max=16")
    profiles.add_options(group)
    waivers.add_options(group)
    for name, default, meaning in _LIMITS:
        group.addoption(f"--{name}", default=None, metavar="N", help=f"{meaning} (default {default}; ini: {name.replace('-', '_')})")
        parser.addini(name.replace("-", "_"), meaning, default=str(default))


#: the bounds of one host's gather: option, default, meaning
_LIMITS = (
    ("connect-timeout", 10, "seconds a host may take to start answering"),
    ("host-timeout", 120, "seconds one host's whole gather may take"),
    ("max-host-bytes", 16 * 1024 * 1024, "bytes one answer of a host may carry"),
)


def limits_of(config: pytest.Config):
    """The transport's bounds: option, else pytest.ini, else the default; checked once."""
    values = {}
    for name, default, _ in _LIMITS:
        raw = config.getoption(name.replace("-", "_")) or config.getini(name.replace("-", "_")) or str(default)
        try:
            number = float(raw) if name.endswith("timeout") else int(raw)
        except ValueError:
            raise pytest.UsageError(f"--{name}: expected a number, got {raw!r}") from None
        if number <= 0:
            raise pytest.UsageError(f"--{name}: expected a positive number, got {raw!r}")
        values[name] = number
    return transport.Limits(values["connect-timeout"], values["host-timeout"], int(values["max-host-bytes"]))


def pytest_configure(config: pytest.Config) -> None:
    # testinfra logs every command result at DEBUG (stdout included): captured by pytest, that would
    # put gathered output in report.html and JUnit. The suite's commands never go through it, and
    # nothing of testinfra's or paramiko's below WARNING is kept, at any verbosity.
    for name in ("testinfra", "paramiko"):
        logging.getLogger(name).setLevel(logging.WARNING)
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
    except PolicyError as exc:
        raise pytest.UsageError(str(exc)) from None
    config._timesync_cache = {}
    config._timesync_limits = limits_of(config)
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
            cache[hid] = collector.collect(remote.executor(host, hid, request.config._timesync_limits))
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
    if call.excinfo is not None and call.excinfo.errisinstance(CouldNotCheck):
        # an error a person can act on, not a traceback through the fixtures
        rep.longrepr = shorten(escape(f"could not check: {call.excinfo.value}"), 2 * MAX_MESSAGE)
        if rep.when == "call":
            rep.when = "setup"  # found while judging, still not a verdict: report an error
    elif call.excinfo is not None and call.excinfo.errisinstance(AssertionError) and call.when == "call":
        rep.longrepr = "non-compliant: " + str(call.excinfo.value).split("\nassert ")[0]
