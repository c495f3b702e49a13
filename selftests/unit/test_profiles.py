"""Profiles: the data (tests/profiles.yaml and the rules' `profiles:`) says what section 7 of the
rules reference says, its variables are valid policy, and selection works in a real run."""

import re

import pytest
from support import ROOT, load_rule_modules

from timesync_audit import profiles, rules
from timesync_audit.policy import default_policy
from timesync_audit.rules import REGISTRY

pytest_plugins = ["pytester", "throwaway_suite"]  # throwaway_suite: the `suite` fixture

REFERENCE = ROOT.parent / "shared" / "reference" / "rules.md"  # the catalog, where it sits beside the project
RECORDED = ROOT / "selftests" / "recorded" / "profiles-section-7.md"  # its section 7, kept in the repo


def _package_and_service_rules() -> set[str]:
    return {
        r
        for r in rules.catalog()
        if r.startswith(("package_", "service_")) and r.endswith(("_installed", "_removed", "_enabled", "_disabled"))
    }


#: how section 7 names groups of rules, as sets of rule ids
PHRASES = {
    "the three chrony.keys rules": lambda: {r for r in rules.catalog() if r.endswith("_etc_chrony_keys")},
    "package/service rules for the chosen service and its rivals disabled": _package_and_service_rules,
}


def section_7(text: str) -> dict[str, tuple[set[str], str]]:
    """rules.md section 7 as {profile title as it names it: (rule ids, the line's values in parentheses)}."""
    body = text.split("## 7.", 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in body.splitlines():
        bullet = re.match(r"- (.+?): (.+)\.$", line)
        if not bullet:
            continue
        title, items = bullet.groups()
        values = " ".join(re.findall(r"\(([^)]*)\)", items))
        selected = set()
        for item in re.sub(r" \([^)]*\)", "", items).split(", "):
            if item in PHRASES:
                selected |= PHRASES[item]()
            else:
                assert re.fullmatch(r"[a-z0-9_]+", item), f"section 7 names {item!r}: add it to PHRASES"
                selected.add(item)
        found[title] = (selected, values)
    return found


@pytest.fixture(scope="module")
def reference() -> dict[str, tuple[set[str], str]]:
    return section_7(RECORDED.read_text())


def test_the_recorded_section_7_is_the_catalogs():
    """Where the catalog sits beside the project, the recording must not have drifted from it."""
    if not REFERENCE.exists():
        return  # a clone on its own: the recording is the reference
    assert section_7(REFERENCE.read_text()) == section_7(RECORDED.read_text()), "re-record section 7"


def _named(profile) -> str:
    """A profile's title as section 7 writes it ("RHEL 9 STIG" for "RHEL 9 DISA STIG")."""
    return profile.title.replace("DISA ", "")


def test_each_profile_selects_exactly_the_rules_of_section_7(reference):
    assert {_named(p): set(p.rules) for p in profiles.PROFILES.values()} == {t: r for t, (r, _) in reference.items()}


def test_the_values_section_7_gives_are_the_profiles(reference):
    for p in profiles.PROFILES.values():
        values = reference[_named(p)][1]
        if re.search(r"\b16\b", values):  # "(maxpoll 16)", "chronyd_or_ntpd_set_maxpoll (16)"
            assert p.variables.get("maxpoll_max") == 16, p.name
        if "`1 -1`" in values:
            assert (p.variables.get("makestep_threshold_max"), p.variables.get("makestep_limit")) == (1, -1), p.name


def test_every_rule_of_a_profile_exists():
    load_rule_modules()
    for name, p in profiles.PROFILES.items():
        assert p.rules <= set(REGISTRY), f"{name}: {sorted(p.rules - set(REGISTRY))} not defined"


def test_ubuntu_cis_takes_every_package_and_service_rule():
    load_rule_modules()
    wanted = {
        r
        for r in REGISTRY
        if r.startswith(("package_", "service_")) and r.endswith(("_installed", "_removed", "_enabled", "_disabled"))
    }
    assert wanted <= profiles.PROFILES["ubuntu2204-cis"].rules


def test_a_rule_naming_an_unknown_profile_is_refused(monkeypatch):
    meta = next(iter(rules.catalog().values()))
    monkeypatch.setattr(
        rules, "catalog", lambda: {"x": rules.RuleMeta(**{**meta.__dict__, "profiles": ("rhel9-stg",)})}
    )
    with pytest.raises(ValueError, match="profile 'rhel9-stg' is not in .*profiles.yaml"):
        profiles.load()


@pytest.mark.parametrize(
    "name, values",
    [
        ("rhel9-stig", {"maxpoll_max": 16, "time_service": "chronyd", "makestep_limit": None}),
        ("rhel9-cis", {"maxpoll_max": 10, "time_service": "chronyd"}),
        ("ubuntu2204-cis", {"maxpoll_max": 10, "time_service": None}),
        (
            "ubuntu2204-stig",
            {"maxpoll_max": 16, "makestep_threshold_max": 1.0, "makestep_limit": -1, "time_service": "chronyd"},
        ),
    ],
)
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
        "rhel9_stig",
        "rhel9_cis",
        "rhel9_ospp",
        "rhel9_anssi",
        "rhel9_pci_dss",
        "ubuntu2204_cis",
        "ubuntu2204_stig",
    ]


# ---- selection in a real run ------------------------------------------------------------------

SELECTS = {name: set(p.rules) for name, p in profiles.PROFILES.items()}
ALL = sorted(set().union(*SELECTS.values()) | {"chrony_set_nts"})


def _ran(suite) -> set[str]:
    _, cases = suite.junit()
    return {rule for rule, _host in cases}


@pytest.mark.parametrize("name", ["rhel9-stig", "ubuntu2204-cis", "rhel9-anssi"])
def test_profile_deselects_every_other_rule(suite, name):
    suite.make({}, rules=ALL)
    result = suite.run(f"--profile={name}")
    assert result.ret == 0, result.stdout.str()
    assert _ran(suite) == SELECTS[name]
    result.stdout.fnmatch_lines([f"profile: {name} *", f"*{2 * (len(ALL) - len(SELECTS[name]))} deselected*"])
    glob, _ = suite.junit()
    assert glob["profile"] == name


def test_marker_selects_the_same_rules_without_the_variables(suite):
    suite.make({"chronyd_or_ntpd_set_maxpoll": {"*": "policy"}}, rules=ALL)
    result = suite.run("-m", "ubuntu2204_stig")
    assert _ran(suite) == SELECTS["ubuntu2204-stig"]
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
    assert _ran(suite) == SELECTS["rhel9-stig"] - SELECTS["rhel9-ospp"]


def test_profile_under_xdist(suite):
    suite.make({}, rules=ALL)
    result = suite.run("--profile=rhel9-cis", "-n", "2")
    assert result.ret == 0, result.stdout.str()
    assert _ran(suite) == SELECTS["rhel9-cis"]


def test_profile_list(suite):
    suite.make({}, rules=ALL)
    result = suite.run("--profile=list")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["known profiles*", "  rhel9-stig *-m rhel9_stig *RHEL 9 DISA STIG: 8 rules*"])
    assert not (suite.path / "junit.xml").exists()  # nothing ran
