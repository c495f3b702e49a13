"""Profiles: the exact rule set of each baseline (rules.md section 7), its variables, and selection."""
import pytest

from support import load_rule_modules
from timesync_audit import profiles
from timesync_audit.policy import default_policy
from timesync_audit.rules import REGISTRY

pytest_plugins = ["pytester", "throwaway_suite"]  # throwaway_suite: the `suite` fixture

KEYS = {"file_owner_etc_chrony_keys", "file_groupowner_etc_chrony_keys", "file_permissions_etc_chrony_keys"}

# section 7 of the rules reference, rule by rule
SECTION_7 = {
    "rhel9-stig": {"package_chrony_installed", "service_chronyd_enabled", "chronyd_client_only",
                   "chronyd_no_chronyc_network", "chronyd_configure_local_socket", "chronyd_or_ntpd_set_maxpoll",
                   "chronyd_server_directive", "chronyd_specify_remote_server"},
    "rhel9-cis": {"package_chrony_installed", "chronyd_specify_remote_server", "chronyd_run_as_chrony_user"},
    "rhel9-ospp": {"chronyd_client_only", "package_chrony_installed"},
    "rhel9-anssi": {"package_chrony_installed", "chronyd_specify_remote_server"} | KEYS,
    "rhel9-pci-dss": {"package_chrony_installed", "chronyd_specify_remote_server", "chronyd_run_as_chrony_user"},
    # the package and service rules of the chosen service and its rivals, and four named rules
    "ubuntu2204-cis": {"ntp_single_service_active",
                       "package_chrony_installed", "package_ntp_installed", "package_timesyncd_installed",
                       "package_ntp_removed", "package_timesyncd_removed", "package_ntpdate_removed",
                       "service_chronyd_enabled", "service_ntpd_enabled", "service_ntp_enabled",
                       "service_timesyncd_enabled", "service_chronyd_or_ntpd_enabled", "service_chronyd_disabled",
                       "service_timesyncd_disabled", "service_ntpdate_disabled",
                       "service_timesyncd_configured", "chronyd_configure_pool_and_server",
                       "chronyd_run_as_chrony_user"},
    "ubuntu2204-stig": {"package_chrony_installed", "package_timesyncd_removed", "package_ntp_removed",
                        "chronyd_or_ntpd_set_maxpoll", "chronyd_sync_clock"},
}


def test_each_profile_selects_exactly_the_rules_of_section_7():
    assert {name: set(p.rules) for name, p in profiles.PROFILES.items()} == SECTION_7


def test_every_rule_of_a_profile_exists():
    load_rule_modules()
    for name, p in profiles.PROFILES.items():
        assert p.rules <= set(REGISTRY), f"{name}: {sorted(p.rules - set(REGISTRY))} not defined"


def test_ubuntu_cis_takes_every_package_and_service_rule():
    load_rule_modules()
    wanted = {r for r in REGISTRY if r.startswith(("package_", "service_")) and r.endswith(
        ("_installed", "_removed", "_enabled", "_disabled"))}
    assert wanted <= profiles.PROFILES["ubuntu2204-cis"].rules


@pytest.mark.parametrize("name, values", [
    ("rhel9-stig", {"maxpoll_max": 16, "time_service": "chronyd", "makestep_limit": None}),
    ("rhel9-cis", {"maxpoll_max": 10, "time_service": "chronyd"}),
    ("ubuntu2204-cis", {"maxpoll_max": 10, "time_service": None}),
    ("ubuntu2204-stig", {"maxpoll_max": 16, "makestep_threshold_max": 1.0, "makestep_limit": -1,
                         "time_service": "chronyd"}),
])
def test_profile_variables_are_valid_policy(name, values):
    p = profiles.PROFILES[name]
    policy = default_policy().with_overrides(p.variables, f"profile {name}")
    assert {k: getattr(policy, k) for k in values} == values
    for key in p.variables:
        assert policy.describe(key).endswith(f"(profile {name})")


def test_every_profile_converts_to_a_valid_policy():
    for name, p in profiles.PROFILES.items():
        default_policy().with_overrides(p.variables, f"profile {name}")  # raises PolicyError if not


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(pytest.UsageError) as exc:
        profiles.by_name("rhel9-stg")
    assert "unknown profile 'rhel9-stg'" in str(exc.value)
    assert all(name in str(exc.value) for name in profiles.PROFILES)


def test_marker_names():
    assert profiles.PROFILES["rhel9-pci-dss"].marker == "rhel9_pci_dss"
    assert [p.marker for p in profiles.PROFILES.values()] == [
        "rhel9_stig", "rhel9_cis", "rhel9_ospp", "rhel9_anssi", "rhel9_pci_dss", "ubuntu2204_cis", "ubuntu2204_stig"]


# ---- selection in a real run ------------------------------------------------------------------

ALL = sorted(set().union(*SECTION_7.values()) | {"chrony_set_nts"})


def _ran(suite) -> set[str]:
    _, cases = suite.junit()
    return {rule for rule, _host in cases}


@pytest.mark.parametrize("name", ["rhel9-stig", "ubuntu2204-cis", "rhel9-anssi"])
def test_profile_deselects_every_other_rule(suite, name):
    suite.make({}, rules=ALL)
    result = suite.run(f"--profile={name}")
    assert result.ret == 0, result.stdout.str()
    assert _ran(suite) == SECTION_7[name]
    result.stdout.fnmatch_lines([f"profile: {name} *", f"*{2 * (len(ALL) - len(SECTION_7[name]))} deselected*"])
    glob, _ = suite.junit()
    assert glob["profile"] == name


def test_marker_selects_the_same_rules_without_the_variables(suite):
    suite.make({"chronyd_or_ntpd_set_maxpoll": {"*": "policy"}}, rules=ALL)
    result = suite.run("-m", "ubuntu2204_stig")
    assert _ran(suite) == SECTION_7["ubuntu2204-stig"]
    result.stdout.fnmatch_lines(["*policy maxpoll_max=10 time_service=None makestep_limit=None*"])


def test_profile_applies_its_variables_and_policy_overrides_them(suite):
    suite.make({"chronyd_or_ntpd_set_maxpoll": {"*": "policy"}}, rules=ALL)
    result = suite.run("--profile=ubuntu2204-stig")
    result.stdout.fnmatch_lines(["*policy maxpoll_max=16 time_service=chronyd makestep_limit=-1*"])
    result = suite.run("--profile=ubuntu2204-stig", "--policy=maxpoll_max=12", "--policy=time_service=detect")
    result.stdout.fnmatch_lines(["*policy maxpoll_max=12 time_service=None makestep_limit=-1*"])


def test_profile_combines_with_markers(suite):
    suite.make({}, rules=ALL)
    suite.run("--profile=rhel9-stig", "-m", "not rhel9_ospp")
    assert _ran(suite) == SECTION_7["rhel9-stig"] - SECTION_7["rhel9-ospp"]


def test_profile_under_xdist(suite):
    suite.make({}, rules=ALL)
    result = suite.run("--profile=rhel9-cis", "-n", "2")
    assert result.ret == 0, result.stdout.str()
    assert _ran(suite) == SECTION_7["rhel9-cis"]


def test_profile_list(suite):
    suite.make({}, rules=ALL)
    result = suite.run("--profile=list")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["known profiles*", "  rhel9-stig *-m rhel9_stig *RHEL 9 DISA STIG: 8 rules*"])
    assert not (suite.path / "junit.xml").exists()  # nothing ran
