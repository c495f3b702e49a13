"""Waivers: the file's validation (one message per bad entry), matching, and waived reports
in the terminal, JUnit and HTML, with and without xdist."""

import datetime
import textwrap

import pytest

from timesync_audit import waivers

pytest_plugins = ["pytester", "throwaway_suite"]  # throwaway_suite: the `suite` fixture

KNOWN = {"chronyd_client_only", "chronyd_run_as_chrony_user", "package_chrony_installed"}
FAR, PAST = "2999-12-31", "2001-01-01"


def _load(tmp_path, text):
    path = tmp_path / "waivers.yml"
    path.write_text(textwrap.dedent(text))
    return waivers.load(str(path), KNOWN), str(path)


# ---- the file ---------------------------------------------------------------------------------


def test_valid_file(tmp_path):
    loaded, path = _load(
        tmp_path,
        """\
        # accepted exceptions
        - rule: chronyd_client_only
          hosts: [Web1, "db-*", "group:dmz"]
          justification: >
            serves time to the lab,
            ticket SEC-1
          expires: 2030-06-30
        - rule: test_package_chrony_installed
          hosts: ssh://root@web2
          justification: being replaced
          expires: "2031-01-15"
        """,
    )
    first, second = loaded
    assert first == waivers.Waiver(
        1,
        f"{path}:2",
        "chronyd_client_only",
        ("web1", "db-*", "group:dmz"),
        "serves time to the lab, ticket SEC-1",
        datetime.date(2030, 6, 30),
    )
    assert (second.index, second.source, second.rule, second.hosts, second.expires) == (
        2,
        f"{path}:8",
        "package_chrony_installed",
        ("ssh://root@web2",),
        datetime.date(2031, 1, 15),
    )


@pytest.mark.parametrize("text", ["[]\n", "waivers: []\n", "waivers:\n"])
def test_a_deliberately_empty_list_has_no_waivers(tmp_path, text):
    assert _load(tmp_path, text)[0] == []


@pytest.mark.parametrize("text", ["", "# nothing waived yet\n", "\n\n"])
def test_an_empty_file_is_a_mistake_said_once(tmp_path, text):
    """An empty file is more often a wrong path or an unfinished edit than a decision."""
    with pytest.raises(waivers.WaiverError, match=r"the file holds no waivers .*write `\[\]`"):
        _load(tmp_path, text)


ENTRY = "- rule: chronyd_client_only\n  hosts: web1\n  justification: ok\n  expires: 2030-01-01\n"


@pytest.mark.parametrize(
    "text, where, message",
    [
        (
            ENTRY + "- rule: chronyd_client_only\n  hosts: web1\n  expires: 2030-01-01\n",
            ":5: entry 2, field 'justification'",
            "required",
        ),
        (
            ENTRY + "- rule: chronyd_client_only\n  hosts: web1\n  justification: '  '\n  expires: 2030-01-01\n",
            ":7: entry 2, field 'justification'",
            "required: say why the failure is accepted",
        ),
        (
            "- rule: chronyd_client_only\n  hosts: web1\n  justification: ok\n",
            ":1: entry 1, field 'expires'",
            "required",
        ),
        (
            "- rule: chronyd_client_only\n  hosts: web1\n  justification: ok\n  expires: 31/12/2030\n",
            ":4: entry 1, field 'expires'",
            "expected a date YYYY-MM-DD, got '31/12/2030'",
        ),
        (
            "- rule: chronyd_client_only\n  hosts: web1\n  justification: ok\n  expires: 2030-02-30\n",
            ":4: entry 1, field 'expires'",
            "cannot be read (day is out of range for month)",
        ),
        (
            "- rule: chronyd_client_only\n  hosts: web1\n  justification: ok\n  expires: '2030-02-30'\n",
            ":4: entry 1, field 'expires'",
            "day is out of range for month, got '2030-02-30'",
        ),
        (
            "- rule: chronyd_client_only\n  hosts: web1\n  justification: ok\n  expires: 2030-01-01 10:00:00\n",
            ":4: entry 1, field 'expires'",
            "expected a date YYYY-MM-DD, got 2030-01-01 10:00:00",
        ),
        (
            "- rule: chronyd_client_onyl\n  hosts: web1\n  justification: ok\n  expires: 2030-01-01\n",
            ":1: entry 1, field 'rule'",
            "unknown rule id 'chronyd_client_onyl' (did you mean chronyd_client_only?)",
        ),
        ("- hosts: web1\n  justification: ok\n  expires: 2030-01-01\n", ":1: entry 1, field 'rule'", "required"),
        (
            "- rule: chronyd_client_only\n  justification: ok\n  expires: 2030-01-01\n",
            ":1: entry 1, field 'hosts'",
            "required",
        ),
        (
            "- rule: chronyd_client_only\n  hosts: []\n  justification: ok\n  expires: 2030-01-01\n",
            ":2: entry 1, field 'hosts'",
            "non-empty list",
        ),
        (
            "- rule: chronyd_client_only\n  hosts: ['group:']\n  justification: ok\n  expires: 2030-01-01\n",
            ":2: entry 1, field 'hosts'",
            "group: needs a group name",
        ),
        (
            "- rule: chronyd_client_only\n  hosts: [web1, 3]\n  justification: ok\n  expires: 2030-01-01\n",
            ":2: entry 1, field 'hosts'",
            "got 3",
        ),
        (
            "- rule: chronyd_client_only\n  hosts: web1\n  justfication: ok\n  expires: 2030-01-01\n",
            ":3: entry 1, field 'justfication'",
            "unknown field (expected rule, hosts, justification, expires)",
        ),
        ("- rule: chronyd_client_only\n  rule: package_chrony_installed\n", ":2: entry 1, field 'rule'", "given twice"),
        (ENTRY + "- chronyd_client_only\n", ":5: entry 2", "expected a mapping with the fields"),
        ("rule: chronyd_client_only\nhosts: web1\n", ":1", "expected a list of waivers"),
        ("- rule: [unclosed\n", ":2", "not valid YAML"),
    ],
)
def test_each_bad_entry_is_named_with_its_file_line_and_field(tmp_path, text, where, message):
    path = tmp_path / "waivers.yml"
    path.write_text(text)
    with pytest.raises(waivers.WaiverError) as exc:
        waivers.load(str(path), KNOWN)
    assert str(exc.value).startswith(f"--waivers {path}{where}: "), str(exc.value)
    assert message in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(waivers.WaiverError, match="cannot read the file"):
        waivers.load(str(tmp_path / "nope.yml"), KNOWN)


def test_rule_ids_are_read_from_the_suite_without_importing_it(tmp_path):
    (tmp_path / "test_a.py").write_text(
        "from timesync_audit.rules import rule\n@rule(title='t')\ndef test_one(host): pass\n"
        "def test_helper(): pass\n@pytest.mark.x\ndef test_two(): pass\n"
    )
    (tmp_path / "helper.py").write_text("@rule()\ndef test_not_collected(): pass\n")
    assert waivers.rule_ids_in([tmp_path], ["test_*.py"]) == {"one"}


# ---- matching ----------------------------------------------------------------------------------


def _waiver(*hosts, expires=datetime.date(2030, 1, 1)):
    return waivers.Waiver(1, "w.yml:1", "chronyd_client_only", hosts, "ok", expires)


@pytest.mark.parametrize(
    "hosts, host_id, groups, matches",
    [
        (("web1",), "ssh://root@web1:22", set(), True),
        (("web1",), "ssh://root@web10", set(), False),
        (("web*",), "paramiko://web10", set(), True),
        (("docker://c1",), "docker://c1", set(), True),
        (("c1",), "docker://C1", set(), True),
        (("group:dmz",), "ansible://web1", {"dmz", "all"}, True),
        (("group:dmz",), "ansible://web1", {"internal"}, False),
        (("db*", "group:dmz"), "local", set(), False),
        (("local",), "local", set(), True),
    ],
)
def test_host_patterns(hosts, host_id, groups, matches):
    assert _waiver(*hosts).matches_host(host_id, lambda name: groups) is matches


def test_group_membership_comes_from_the_inventory(monkeypatch):
    asked = []
    monkeypatch.setattr(waivers.inventory, "host_groups", lambda config, name: asked.append(name) or {"dmz"})
    st = waivers.WaiverState(object(), "w.yml", [_waiver("group:dmz")])
    assert st.matching("chronyd_client_only", "ssh://root@web1") and not st.matching("other", "ssh://root@web1")
    assert st.matching("chronyd_client_only", "ssh://web1")
    assert asked == ["web1"]  # asked once per host


def test_a_waiver_applies_through_its_expiry_date():
    w = _waiver("web1", expires=datetime.date(2030, 1, 1))
    assert not w.expired(datetime.date(2030, 1, 1)) and w.expired(datetime.date(2030, 1, 2))


# ---- in a run ----------------------------------------------------------------------------------

OUTCOMES = {
    "chronyd_client_only": {"alpha": "fail"},
    "chronyd_run_as_chrony_user": {"*": "fail"},
    "package_chrony_installed": {"beta": "error"},
    "chrony_set_nts": {"*": "skip"},
    "file_owner_etc_chrony_keys": {},
}
WAIVERS = f"""\
- rule: chronyd_client_only
  hosts: alpha
  justification: alpha serves time to the lab, ticket SEC-1
  expires: {FAR}
- rule: chronyd_run_as_chrony_user
  hosts: "*"
  justification: old exception
  expires: {PAST}
- rule: package_chrony_installed
  hosts: [beta]
  justification: errors are never waived
  expires: {FAR}
- rule: chrony_set_nts
  hosts: "*"
  justification: skips are never waived
  expires: {FAR}
- rule: file_owner_etc_chrony_keys
  hosts: group:nowhere
  justification: no host is in that group
  expires: {FAR}
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["in-process", "xdist"])
def test_waived_expired_unmatched_in_terminal_junit_and_html(suite, xdist):
    suite.make(OUTCOMES)
    result = suite.run(suite.waivers(WAIVERS), "-v", *xdist)
    out = result.stdout.str()
    assert result.ret == 3, out  # the error on beta; never waived

    # terminal: WAIVED, the expired waiver beside its failure, the unmatched one
    assert any("WAIVED" in line and "test_chronyd_client_only[docker://alpha]" in line for line in result.outlines)
    result.stdout.fnmatch_lines(
        [
            "*= waivers =*",
            "WAIVED test_rules.py::test_chronyd_client_only[[]docker://alpha[]]: waived: alpha serves time to the lab, "
            f"ticket SEC-1 (until {FAR})",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            f"FAILED test_rules.py::test_chronyd_run_as_chrony_user[[]docker://*]: "
            f"waiver expired on {PAST}: old exception (*waivers.yml:5)"
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "UNMATCHED waiver 5 (*waivers.yml:17): rule file_owner_etc_chrony_keys, "
            "hosts group:nowhere: matched no test of this run"
        ]
    )
    assert "UNMATCHED waiver 3" not in out and "UNMATCHED waiver 4" not in out  # they matched, and did nothing
    result.stdout.fnmatch_lines(["*2 failed, 4 passed, 2 skipped, 1 error, 1 waived in *"])

    glob, cases = suite.junit()
    outcome, message, props = cases[("chronyd_client_only", "alpha")]
    assert outcome == "xfail" and message.startswith(
        f"waived: alpha serves time to the lab, ticket SEC-1 (until {FAR})"
    )
    assert props["waiver"] == "alpha serves time to the lab, ticket SEC-1" and props["waiver_expires"] == FAR
    assert props["waiver_source"].endswith("waivers.yml:1")
    assert props["waived_finding"] == "chronyd_client_only is not met on alpha (/etc/chrony/chrony.conf:7)"
    assert cases[("chronyd_client_only", "beta")][0] == "passed"
    for host in ("alpha", "beta"):
        outcome, message, props = cases[("chronyd_run_as_chrony_user", host)]
        assert outcome == "failure" and f"waiver expired on {PAST}" in message
        assert props["waiver_expired"] == PAST and "waiver_expires" not in props
        assert cases[("chrony_set_nts", host)][0] == "skipped"
    assert cases[("package_chrony_installed", "beta")][0] == "error"
    assert "waiver" not in cases[("package_chrony_installed", "beta")][2]
    assert glob["waivers_unmatched"].startswith("waiver 5 (") and glob["waived"] == "1"

    page = suite.html()
    assert "Waived" in page and "Expected failures" not in page
    assert "alpha serves time to the lab, ticket SEC-1 (until 2999-12-31" in page
    assert "failures waived 1, failures under an expired waiver 2, waivers that matched nothing 1." in page
    assert "Unmatched: waiver 5 (" in page


def test_waived_failures_alone_make_a_compliant_run(suite):
    suite.make({"chronyd_client_only": {"*": "fail"}, "package_chrony_installed": {}})
    result = suite.run(
        suite.waivers(
            f"- rule: chronyd_client_only\n  hosts: [alpha, beta]\n  justification: accepted\n  expires: {FAR}\n"
        )
    )
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["waived *2*", "*2 passed, 2 waived*"])


def test_a_crash_is_not_waived(suite):
    suite.make({"chronyd_client_only": {"alpha": "crash"}})
    result = suite.run(
        suite.waivers(f"- rule: chronyd_client_only\n  hosts: alpha\n  justification: accepted\n  expires: {FAR}\n")
    )
    assert result.ret == 3
    _, cases = suite.junit()
    assert cases[("chronyd_client_only", "alpha")][0] == "failure"


def test_unknown_rule_stops_the_run_before_any_test(suite):
    suite.make({"chronyd_client_only": {"*": "fail"}})
    result = suite.run(
        suite.waivers(
            f"- rule: chronyd_client_only\n  hosts: alpha\n  justification: ok\n  expires: {FAR}\n"
            f"- rule: chrony_set_nst\n  hosts: alpha\n  justification: ok\n  expires: {FAR}\n"
        )
    )
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["ERROR: --waivers *waivers.yml:5: entry 2, field 'rule': unknown rule id 'chrony_set_nst'*"]
    )
    assert not (suite.path / "junit.xml").exists()


def test_waiver_for_a_rule_the_profile_deselects_is_unmatched(suite):
    suite.make({"chronyd_client_only": {"*": "fail"}, "chrony_set_nts": {"*": "fail"}})
    result = suite.run(
        "--profile=rhel9-ospp",
        suite.waivers(f"- rule: chrony_set_nts\n  hosts: '*'\n  justification: ok\n  expires: {FAR}\n"),
    )
    result.stdout.fnmatch_lines(["UNMATCHED waiver 1 (*): rule chrony_set_nts, hosts *: matched no test of this run"])


def test_the_scan_finds_every_rule_of_the_suite():
    from support import ROOT, load_rule_modules

    from timesync_audit.rules import REGISTRY

    load_rule_modules()
    assert waivers.rule_ids_in([ROOT / "tests"], ["test_*.py"]) == set(REGISTRY)
