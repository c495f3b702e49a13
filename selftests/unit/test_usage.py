"""Arguments a person cannot have meant as written: one message, exit 4, before any host.

Each case runs the real suite from the repository root as a user does; the hosts named are
documentation addresses (192.0.2.0/24) that nothing may contact: every case must stop first.
"""

import pathlib

import pytest
from test_inventory import suite

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOWHERE = "--hosts=ssh://root@192.0.2.1"


def reports(tmp_path):
    return [f"--junitxml={tmp_path / 'junit.xml'}", f"--html={tmp_path / 'report.html'}"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["-c", "pytest.ini", "selftests/unit"], "selftests/unit: selftests/ holds the suite's own tests"),
        (["--ansible-inventory=inventories/staging.yml"], "--ansible-inventory is given but --hosts is not"),
        (["--profile=", NOWHERE], "--profile is empty: give a value"),
        (["--waivers=", NOWHERE], "--waivers is empty: give a value"),
        (["-m", "rhel9-stig", NOWHERE], "'rhel9-stig' is a profile name"),
        (["-m", "not RHEL9-STIG", NOWHERE], "its marker is rhel9_stig"),
        (["--policy", "maxpoll_max=-3", NOWHERE], "policy key 'maxpoll_max': must be between 0 and 24"),
        (["--policy=approved_servers=", NOWHERE], "policy key 'approved_servers': must name at least one host"),
        (["--policy=max_offset=0", NOWHERE], "policy key 'max_offset': must be above 0"),
        (["--hosts=ftp://h"], "unknown scheme 'ftp'"),
        (["--hosts="], "--hosts is empty"),
    ],
)
def test_usage_errors(tmp_path, args, message):
    proc = suite(*args, *reports(tmp_path))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "junit.xml").exists()


@pytest.mark.parametrize("option", ["--waivers", "--ansible-inventory", "--ssh-config", "--html", "--junitxml"])
def test_an_option_value_after_a_space_is_not_a_test_path(tmp_path, option):
    """The plugin is installed (pytest11): pytest knows its options before reading the arguments,
    so `--waivers FILE` is `--waivers=FILE`, never a path to collect."""
    value = tmp_path / "given"
    value.write_text("[]\n")
    proc = suite(option, str(value), "--collect-only", "--hosts=docker://c1")
    assert "file or directory not found" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert "selftests" not in proc.stdout


def test_a_compliance_run_never_collects_selftests(tmp_path):
    proc = suite(".", "--collect-only", "--hosts=docker://c1", *reports(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "selftests" not in proc.stdout and "test_chronyd_client_only" in proc.stdout


def test_policy_list_is_generated_from_the_one_definition():
    from timesync_audit.policy import POLICY_KEYS

    proc = suite("--policy", "list")
    assert proc.returncode == 0, proc.stderr
    for key in POLICY_KEYS.values():
        assert f"  {key.name} = " in proc.stdout and key.origin in proc.stdout


def test_readme_policy_table_is_the_generated_one():
    from timesync_audit.policy import table_markdown

    assert table_markdown() in (ROOT / "README.md").read_text(), "regenerate README's policy table"


@pytest.mark.parametrize(
    "args, why",
    [
        (["--collect-only"], "only collected"),
        (["-m", "rhel9_stgi"], "no test selected"),
        (["-k", "no_such_rule"], "no test selected"),
    ],
)
def test_runs_that_audit_nothing_keep_the_last_reports(tmp_path, args, why):
    for name in ("junit.xml", "report.html"):
        (tmp_path / name).write_text("last night's")
    proc = suite("--hosts=docker://c1", *reports(tmp_path), *args)
    assert proc.returncode in (0, 5), proc.stdout + proc.stderr
    assert f"{why}: reports not written, the last run's stay" in proc.stdout
    assert (tmp_path / "junit.xml").read_text() == "last night's"
    assert (tmp_path / "report.html").read_text() == "last night's"
    if "-m" in args:
        assert "selected no rule: profile markers are rhel9_stig" in proc.stdout
