"""Baseline profiles: which rules a baseline selects and the variable values it sets.

The table is section 7 of the rules reference (which rules ComplianceAsCode's
profiles select) with the variable values of section 6. One profile is chosen
with `--profile NAME`: the rule tests it does not select are deselected and
its variables become the run's policy, below inventory variables and
--policy. Every rule test also carries one marker per profile that selects it
(`-m rhel9_stig`), for pytest's own selection; a marker selects rules only.
"""
from __future__ import annotations

import dataclasses
import sys
from typing import Any, Mapping

import pytest

from .rules import meta_of

_CHRONY_KEYS = ("file_owner_etc_chrony_keys", "file_groupowner_etc_chrony_keys", "file_permissions_etc_chrony_keys")
# Ubuntu 22.04 CIS: the package and service rules of the chosen service and of its rivals
_PACKAGES_AND_SERVICES = (
    "package_chrony_installed", "package_ntp_installed", "package_timesyncd_installed",
    "package_ntp_removed", "package_timesyncd_removed", "package_ntpdate_removed",
    "service_chronyd_enabled", "service_ntpd_enabled", "service_ntp_enabled", "service_timesyncd_enabled",
    "service_chronyd_or_ntpd_enabled", "service_chronyd_disabled", "service_timesyncd_disabled",
    "service_ntpdate_disabled",
)


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    title: str
    rules: frozenset[str]
    variables: Mapping[str, Any]

    @property
    def marker(self) -> str:
        """The pytest marker of the profile's rules: rhel9-pci-dss -> rhel9_pci_dss."""
        return self.name.replace("-", "_")


def _profile(name: str, title: str, rules: tuple[str, ...], **variables: Any) -> Profile:
    return Profile(name, title, frozenset(rules), dict(variables))


# RHEL 9 ships chrony only and every RHEL 9 profile selects package_chrony_installed: the
# service is chronyd (SSG var_timesync_service), so a host without chrony fails that rule
# instead of having it skipped as "another time service is in use".
PROFILES: dict[str, Profile] = {p.name: p for p in (
    _profile("rhel9-stig", "RHEL 9 DISA STIG", (
        "package_chrony_installed", "service_chronyd_enabled", "chronyd_client_only", "chronyd_no_chronyc_network",
        "chronyd_configure_local_socket", "chronyd_or_ntpd_set_maxpoll", "chronyd_server_directive",
        "chronyd_specify_remote_server"),
        maxpoll_max=16, time_service="chronyd"),
    _profile("rhel9-cis", "RHEL 9 CIS (all levels)", (
        "package_chrony_installed", "chronyd_specify_remote_server", "chronyd_run_as_chrony_user"),
        time_service="chronyd"),
    _profile("rhel9-ospp", "RHEL 9 OSPP", (
        "chronyd_client_only", "package_chrony_installed"),
        time_service="chronyd"),
    _profile("rhel9-anssi", "RHEL 9 ANSSI BP-028 enhanced/high", (
        "package_chrony_installed", "chronyd_specify_remote_server", *_CHRONY_KEYS),
        time_service="chronyd"),
    _profile("rhel9-pci-dss", "RHEL 9 PCI-DSS", (
        "package_chrony_installed", "chronyd_specify_remote_server", "chronyd_run_as_chrony_user"),
        time_service="chronyd"),
    _profile("ubuntu2204-cis", "Ubuntu 22.04 CIS", (
        "ntp_single_service_active", *_PACKAGES_AND_SERVICES, "service_timesyncd_configured",
        "chronyd_configure_pool_and_server", "chronyd_run_as_chrony_user")),
    _profile("ubuntu2204-stig", "Ubuntu 22.04 DISA STIG", (
        "package_chrony_installed", "package_timesyncd_removed", "package_ntp_removed",
        "chronyd_or_ntpd_set_maxpoll", "chronyd_sync_clock"),
        maxpoll_max=16, makestep_threshold_max=1, makestep_limit=-1, time_service="chronyd"),
)}


def add_options(group) -> None:
    group.addoption("--profile", default=None, metavar="NAME",
                    help="run only the rules of a baseline profile and apply its variable values "
                         f"({', '.join(PROFILES)}; 'list' shows them)")


def listing() -> str:
    lines = ["known profiles (--profile NAME, or -m MARKER to select the rules only):"]
    for p in PROFILES.values():
        values = ", ".join(f"{k}={v}" for k, v in p.variables.items()) or "no variables"
        lines.append(f"  {p.name:<16} -m {p.marker:<16} {p.title}: {len(p.rules)} rules; {values}")
    return "\n".join(lines)


def by_name(name: str) -> Profile:
    try:
        return PROFILES[name.strip().lower()]
    except KeyError:
        raise pytest.UsageError(
            f"--profile: unknown profile {name!r} (known: {', '.join(PROFILES)}; --profile list describes them)"
        ) from None


def selected(config: pytest.Config) -> Profile | None:
    """The profile chosen for this run, or None (all rules, SSG defaults)."""
    name = config.getoption("profile", None)
    if not name or name.strip().lower() == "list":
        return None
    return by_name(name)


# -- plugin hooks (registered by plugin.pytest_configure) ---------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    for p in PROFILES.values():
        config.addinivalue_line("markers", f"{p.marker}: a rule selected by the {p.title} profile")
    name = config.getoption("profile", None)
    if name and name.strip().lower() == "list":
        sys.stdout.write(listing() + "\n")
        sys.stdout.flush()
        pytest.exit("profiles listed", returncode=0)
    profile = selected(config)  # an unknown name stops the run here, before anything else
    if profile is not None:
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        config.stash.setdefault(metadata_key, {})["Profile"] = f"{profile.name} ({profile.title})"


def pytest_report_header(config: pytest.Config) -> str | None:
    profile = selected(config)
    if profile is None:
        return None
    values = ", ".join(f"{k}={v}" for k, v in profile.variables.items()) or "no variables"
    return f"profile: {profile.name} ({profile.title}): {len(profile.rules)} rules; {values}"


def pytest_itemcollected(item: pytest.Item) -> None:
    meta = meta_of(item)
    if meta is None:
        return
    for p in PROFILES.values():
        if meta.rule_id in p.rules:
            item.add_marker(p.marker)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    profile = selected(config)
    if profile is None:
        return
    keep, drop = [], []
    for item in items:
        meta = meta_of(item)
        (drop if meta is not None and meta.rule_id not in profile.rules else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_sessionstart(session: pytest.Session) -> None:
    profile = selected(session.config)
    if profile is not None:
        from .verdicts import junit_property
        junit_property(session.config, "profile", profile.name)
