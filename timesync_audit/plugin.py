"""The pytest plugin: options, the run's state, the fixtures rule tests ask for, report metadata.

An installed pytest plugin (pyproject.toml's pytest11 entry point), so its options are
known before pytest reads the command line. Rule tests ask for `chrony` (and
`policy`); everything about hosts, gathering and applicability happens here. The
run's state is kept in config.stash (stash_keys.py); what each test's report says is
decided in one place (outcome_chain.py).
"""

from __future__ import annotations

import functools
import logging
import sys

import pytest

from . import (
    collector,
    findings,
    fleet_reports,
    gather_pool,
    heap,
    hostspec,
    html_stream,
    identity,
    inventory,
    junit_spool,
    limits,
    live_verdicts,
    outcome_chain,
    profiles,
    report,
    report_matrix,
    scheduling,
    sharding,
    terminal_cost,
    usage,
    verdicts,
    views,
    waivers,
)
from .identity import bare_name, host_id
from .outcomes import CouldNotCheck
from .policy import PolicyError, default_policy, parse_assignments
from .policy import listing as policy_listing
from .rules import meta_of
from .stash_keys import BOUNDS, GATHERED, HOST_BOUNDS, HOST_POLICIES, POLICY


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("timesync-audit")
    group.addoption(
        "--policy",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a policy value for every host (repeatable), e.g. --policy maxpoll_max=16",
    )
    profiles.add_options(group)
    waivers.add_options(group)
    limits.add_options(parser, group)
    fleet_reports.add_options(group)
    gather_pool.add_options(group)
    sharding.add_options(group)


def pytest_configure(config: pytest.Config) -> None:
    heap.configure(config)  # before collection: a fleet's items are most of the heap
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
    config.pluginmanager.register(profiles, "timesync-profiles")
    config.pluginmanager.register(waivers, "timesync-waivers")
    config.pluginmanager.register(verdicts, "timesync-verdicts")
    fleet_reports.configure(config)  # results.json and what is made from it; needs the verdicts' parts
    report_matrix.configure(config)
    config.pluginmanager.register(outcome_chain, "timesync-outcome-chain")
    config.pluginmanager.register(live_verdicts, "timesync-live-verdicts")
    config.addinivalue_line("markers", "rule(meta): the compliance rule a test checks")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(inventory.XdistHooks(config), "timesync-inventory-xdist")
        config.pluginmanager.register(scheduling, "timesync-scheduling")
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
        config.stash[POLICY] = base.with_overrides(overrides, "--policy")
        inventory_data = inventory.configure(config)  # read once per run
        config.stash[HOST_POLICIES] = inventory.host_policies(config, base, overrides, inventory_data)
        # precedence: defaults < pytest.ini < inventory variables < command line
        bounds, command_line = limits.from_config(config)
        config.stash[BOUNDS] = limits.resolve(bounds, {}, None, command_line)
        config.stash[HOST_BOUNDS] = inventory.host_bounds(config, bounds, command_line, inventory_data)
    except PolicyError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[GATHERED] = {}
    gather_pool.configure(config)
    sharding.configure(config)
    terminal_cost.configure(config)
    report.configure(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    # junitxml and pytest-html made their writers in their pytest_configure, after ours
    junit_spool.install(session.config)
    html_stream.install(session.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    junit_spool.uninstall(config)
    inventory.unconfigure(config)
    heap.unconfigure(config)


def pytest_itemcollected(item: pytest.Item) -> None:
    """The host and the rule's metadata, on the item as it is collected (before any plugin's
    collection_modifyitems)."""
    hid = host_id(item)
    if hid is not None:  # under xdist a host's tests stay on one worker (scheduling.py)
        item.user_properties.append(_host_property(hid))
    meta = meta_of(item)
    if meta is not None:
        item.user_properties.extend(meta.properties())


@functools.lru_cache(maxsize=4096)
def _host_property(hid: str) -> tuple[str, str]:
    """One pair for all of a host's tests."""
    return ("host", hid)


def policy_of(config: pytest.Config, host_id: str | None):
    """The policy of one host: its inventory variables', else the run's."""
    if host_id is not None:
        found = config.stash[HOST_POLICIES].get(bare_name(host_id))
        if found is not None:
            return found
    return config.stash[POLICY]


# -- fixtures: what rule tests name as their parameters -------------------------------------------


@pytest.fixture
def policy(request: pytest.FixtureRequest):
    """The policy of the host under test: defaults, profile, inventory variables, --policy."""
    return policy_of(request.config, host_id(request.node))


@pytest.fixture
def gathered(host, request: pytest.FixtureRequest) -> collector.Gathered:
    """The host's facts, gathered once per run (per worker), concurrently with the other hosts'
    (gather_pool.py), and shared by all its tests."""
    result = gather_pool.pool(request.config).facts(host)
    if isinstance(result, CouldNotCheck):
        raise result
    return result


@pytest.fixture
def chrony(gathered, policy):
    """Every start of chronyd (facts.chrony.ChronyFacts): not applicable where chrony is not
    installed or not the time service in use, could not check where its files could not be read."""
    return views.chrony_view(gathered, policy)


@pytest.fixture
def ntpd(gathered, policy):
    """Every start of ntpd, classic or ntpsec (facts.ntpd.NtpdFacts): not applicable where ntpd
    is not installed or not the time service in use, could not check where its files could not be read."""
    return views.ntpd_view(gathered, policy)


@pytest.fixture
def timesyncd(gathered, policy):
    """systemd-timesyncd's configuration and live state (facts.timesyncd.TimesyncdFacts): not
    applicable where it is not installed or not the time service in use."""
    return views.timesyncd_view(gathered, policy)


@pytest.fixture
def time_daemons(gathered, policy):
    """Every start of chronyd and of ntpd that apply on the host, for the rules SSG shares
    between them (chronyd_or_ntpd_*): not applicable where neither does."""
    return views.time_daemons(gathered, policy)


@pytest.fixture
def host_facts(gathered, policy):
    """What every rule family shares (facts.host.HostFacts): OS, packages, units, processes;
    could not check where the gather could not read them."""
    return views.host_facts(gathered, policy)
