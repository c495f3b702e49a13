"""The HDF files (timesync_audit/hdf.py): the mapping of a results document, on small documents
made here (every category, waivers applied and expired, a dead host, hostile text), the files'
names and the directory write() keeps; then the files as MITRE's inspecjs (Heimdall's parser,
selftests/browser/hdf_check.mjs) reads them: for every host and rule of a synthetic fleet, the
status Heimdall shows is the one the category means, and the counts are the document's."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter

import pytest
from browser_tools import run_node
from hdf_checks import assert_heimdall_shows_the_document, inspecjs
from synthetic_results import assemble
from synthetic_results import document as synthetic_document

from timesync_audit import hdf, results
from timesync_audit.categories import COMPLIANT, COULD_NOT_CHECK, NON_COMPLIANT, NOT_APPLICABLE, WAIVED

STARTED = "2026-12-01T02:00:00+00:00"
HOSTILE = '</script><script>alert(1)</script> "quoted" \\back\\slash \u202eevil \\x1b[31m ${x} {{x}}'
WAIVER = {"status": "applied", "justification": "lab network", "expires": "2999-12-31", "source": "waivers.yml:3"}
EXPIRED = {"status": "expired", "justification": "old exception", "expires": "2020-01-31", "source": "waivers.yml:9"}


# -- documents made here -----------------------------------------------------------------------


def rule(severity: str = "medium", family: str = "chrony", **more) -> dict:
    return results.bare_rule_entry(
        title=f"a {severity} rule",
        severity=severity,
        family=family,
        service="chronyd",
        description="Passes when it does.",
        rationale="Because.",
        remediation="Fix it.",
        source=f"{family}/rules/x.yaml",
        **more,
    )


def outcome(category: str, message: str = "", waiver: dict | None = None, host: str = "h") -> dict:
    return {
        "category": category,
        "message": message,
        "evidence": results.evidence_of(message),
        "waiver": waiver,
        "test": f"tests/x/test_x.py::test_x[{host}]",
        "duration_s": 0.25,
    }


def host(host_id: str, outcomes: dict, dead: str | None = None, os: dict | None = None) -> dict:
    return {
        "id": host_id,
        "name": host_id.split("://")[-1],
        "backend": host_id.split("://")[0],
        "groups": [],
        "policy": {},
        "policy_differs": [],
        "gather": None if dead else {"round_trips": 2, "seconds": 0.5, "id": "g1"},
        "os": None if dead else (os or {"id": "rhel", "version_id": "9.4", "pretty_name": "RHEL 9.4"}),
        "dead": dead,
        "finished": True,
        "results": outcomes,
    }


def make_document(rules: dict, hosts: list) -> dict:
    return assemble(rules, hosts, suite_version="9.8.7", started=STARTED, command_line=[], policy={})


RULES = {
    "r_compliant": rule(
        "high", identifiers={"rhel9": {"cce": "CCE-84215-3", "stig": "RHEL-09-252010", "cis": "2.3.1"}}
    ),
    "r_failed": rule(
        "medium",
        family="ntpd",
        references={"nist": ["CM-6(a)", "AU-8(1)(a)"]},
        identifiers={
            "rhel9": {"cce": "CCE-88648-1", "stig": "RHEL-09-252020"},
            "ubuntu2204": {"stig": "UBTU-22-252010"},
        },
    ),
    "r_waived": rule("low"),
    "r_expired": rule("high"),
    "r_na": rule("high", family="timesyncd"),
    "r_error": rule("unknown"),
    "r_info": rule("info"),
}
FINDING = "maxpoll 17 is above 10 (/etc/chrony.conf:7)"


def every_category_host(host_id: str = "ssh://root@web1:2222") -> dict:
    return host(
        host_id,
        {
            "r_compliant": outcome(COMPLIANT),
            "r_failed": outcome(NON_COMPLIANT, FINDING),
            "r_waived": outcome(
                WAIVED, f"waived until 2999-12-31: lab network (waiver 1, waivers.yml:3)\n{FINDING}", WAIVER
            ),
            "r_expired": outcome(NON_COMPLIANT, FINDING, EXPIRED),
            "r_na": outcome(NOT_APPLICABLE, "not applicable: systemd-timesyncd is not installed"),
            "r_error": outcome(COULD_NOT_CHECK, "could not check: permission denied reading /etc/chrony.keys"),
            "r_info": outcome(NON_COMPLIANT, FINDING),
        },
    )


def dead_host(host_id: str = "docker://c1") -> dict:
    cause = f"{host_id}: did not answer within 10 s (connect)"
    return host(host_id, {"r_compliant": outcome(COULD_NOT_CHECK, f"could not check: {cause}")}, dead=cause)


def controls_of(hdf_document: dict) -> dict[str, dict]:
    (profile,) = hdf_document["profiles"]
    return {c["id"]: c for c in profile["controls"]}


def only(documents: dict) -> dict:
    (found,) = documents.values()
    return found


# -- the mapping ---------------------------------------------------------------------------------


def test_the_execution_names_the_host_the_suite_and_the_run():
    doc = make_document(RULES, [every_category_host()])
    found = only(hdf.host_documents(doc))
    assert found["platform"] == {"name": "rhel", "release": "9.4", "target_id": "ssh://root@web1:2222"}
    assert found["version"] == "9.8.7"
    assert found["statistics"]["duration"] == 60.0
    assert found["statistics"]["controls"] == {"passed": {"total": 1}, "failed": {"total": 4}, "skipped": {"total": 2}}
    (profile,) = found["profiles"]
    assert profile["name"] == "timesync-audit"
    assert profile["version"] == "9.8.7"
    assert profile["status"] == "loaded"
    assert profile["supports"] == [] and profile["attributes"] == []
    assert re.fullmatch(r"[0-9a-f]{64}", profile["sha256"])
    assert profile["groups"] == [
        {
            "id": "chrony",
            "title": "chrony rules",
            "controls": ["r_compliant", "r_error", "r_expired", "r_info", "r_waived"],
        },
        {"id": "ntpd", "title": "ntpd rules", "controls": ["r_failed"]},
        {"id": "timesyncd", "title": "timesyncd rules", "controls": ["r_na"]},
    ]
    assert [c["id"] for c in profile["controls"]] == sorted(RULES)


def test_the_profile_checksum_is_the_catalogs_not_the_hosts():
    one = make_document(RULES, [every_category_host("ssh://a"), dead_host("ssh://b")])
    documents = list(hdf.host_documents(one).values())
    assert documents[0]["profiles"][0]["sha256"] == documents[1]["profiles"][0]["sha256"]
    changed = copy.deepcopy(one)
    changed["rules"]["r_failed"]["remediation"] = "Fix it otherwise."
    other = only(hdf.host_documents(make_document(changed["rules"], [every_category_host()])))
    assert other["profiles"][0]["sha256"] != documents[0]["profiles"][0]["sha256"]


def test_a_control_carries_the_rules_metadata():
    doc = make_document(RULES, [every_category_host()])
    failed = controls_of(only(hdf.host_documents(doc)))["r_failed"]
    assert failed["title"] == "a medium rule"
    assert failed["desc"] == "Passes when it does."
    labels = {d["label"]: d["data"] for d in failed["descriptions"]}
    assert labels["default"] == "Passes when it does."
    assert labels["rationale"] == "Because."
    assert labels["fix"] == "Fix it."
    assert "tests/x/test_x.py::test_x[h]" in labels["check"]
    assert failed["refs"] == []
    assert failed["source_location"] == {"ref": "ntpd/rules/x.yaml", "line": 1}
    assert "ntpd/rules/x.yaml" in failed["code"]
    assert failed["tags"]["severity"] == "medium"
    assert failed["tags"]["nist"] == ["CM-6(a)", "AU-8(1)(a)"]
    assert failed["tags"]["cce"] == ["CCE-88648-1"]
    assert failed["tags"]["stig_id"] == ["RHEL-09-252020", "UBTU-22-252010"]
    assert "cis" not in failed["tags"]
    assert failed["tags"]["identifiers"] == {
        "rhel9": {"cce": "CCE-88648-1", "stig": "RHEL-09-252020"},
        "ubuntu2204": {"stig": "UBTU-22-252010"},
    }
    compliant = controls_of(only(hdf.host_documents(doc)))["r_compliant"]
    assert compliant["tags"]["cis"] == ["2.3.1"]
    assert compliant["tags"]["nist"] == []


@pytest.mark.parametrize(
    "rule_id, status, impact",
    [
        ("r_compliant", "passed", 0.7),
        ("r_failed", "failed", 0.5),
        ("r_waived", "skipped", 0.3),
        ("r_expired", "failed", 0.7),
        ("r_na", "skipped", 0.0),
        ("r_error", "error", 0.5),
        ("r_info", "failed", 0.0),
    ],
)
def test_each_category_is_one_result(rule_id, status, impact):
    doc = make_document(RULES, [every_category_host()])
    control = controls_of(only(hdf.host_documents(doc)))[rule_id]
    assert control["impact"] == impact
    (result,) = control["results"]
    assert result["status"] == status
    assert result["code_desc"] == f"{RULES[rule_id]['title']} on ssh://root@web1:2222"
    assert result["start_time"] == STARTED
    assert result["run_time"] == 0.25
    message = doc["hosts"][0]["results"][rule_id]["message"]
    if status == "passed":
        assert "message" not in result and "skip_message" not in result
    elif status == "skipped":
        assert result["skip_message"] == message
    else:
        assert result["message"] == message


def test_a_waived_finding_is_inspecs_control_skipped_under_a_waiver():
    doc = make_document(RULES, [every_category_host()])
    control = controls_of(only(hdf.host_documents(doc)))["r_waived"]
    assert control["waiver_data"] == {
        "justification": "lab network",
        "run": False,
        "skipped_due_to_waiver": True,
        "expiration_date": "2999-12-31",
        "message": doc["hosts"][0]["results"]["r_waived"]["message"],
    }
    assert FINDING in control["results"][0]["skip_message"]


def test_an_expired_waiver_is_recorded_and_the_finding_counts():
    doc = make_document(RULES, [every_category_host()])
    control = controls_of(only(hdf.host_documents(doc)))["r_expired"]
    assert control["results"][0]["status"] == "failed"
    assert control["waiver_data"] == {
        "justification": "old exception",
        "run": True,
        "skipped_due_to_waiver": False,
        "expiration_date": "2020-01-31",
        "message": "Waiver expired on 2020-01-31, evaluating control normally (waivers.yml:9)",
    }


def test_no_waiver_no_waiver_data():
    doc = make_document(RULES, [every_category_host()])
    controls = controls_of(only(hdf.host_documents(doc)))
    assert {rule_id for rule_id, c in controls.items() if "waiver_data" in c} == {"r_waived", "r_expired"}


def test_a_dead_host_gets_a_file_every_rule_an_error():
    doc = make_document(RULES, [dead_host()])
    found = only(hdf.host_documents(doc))
    assert found["platform"] == {"name": "unknown", "release": "", "target_id": "docker://c1"}
    controls = controls_of(found)
    assert sorted(controls) == sorted(RULES)  # every rule of the run, not only those with a result
    for rule_id, control in controls.items():
        (result,) = control["results"]
        assert result["status"] == "error", rule_id
        assert "did not answer within 10 s (connect)" in result["message"]
    assert controls["r_compliant"]["results"][0]["message"] == doc["hosts"][0]["results"]["r_compliant"]["message"]
    assert controls["r_na"]["results"][0]["message"] == doc["hosts"][0]["dead"]


def test_hostile_text_is_copied_as_it_is_and_only_where_it_was():
    os_release = {"id": f"deb<b>{HOSTILE}", "version_id": '12"><img src=x onerror=alert(1)>', "pretty_name": "x"}
    hostile = host(
        "ssh://root@evil",
        {
            "r_failed": outcome(NON_COMPLIANT, f"bad value {HOSTILE}"),
            "r_na": outcome(NOT_APPLICABLE, f"not applicable: {HOSTILE}"),
            "r_error": outcome(COULD_NOT_CHECK, f"could not check: {HOSTILE}"),
        },
        os=os_release,
    )
    doc = make_document(RULES, [hostile])
    name, found = next(iter(hdf.host_documents(doc).items()))
    assert found["platform"]["name"] == os_release["id"]
    assert found["platform"]["release"] == os_release["version_id"]
    controls = controls_of(found)
    assert controls["r_failed"]["results"][0]["message"] == f"bad value {HOSTILE}"
    assert controls["r_na"]["results"][0]["skip_message"] == f"not applicable: {HOSTILE}"
    assert controls["r_error"]["results"][0]["message"] == f"could not check: {HOSTILE}"
    places = []

    def walk(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}/{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{where}/{index}")
        elif isinstance(value, str) and HOSTILE in value:
            places.append(where)

    walk(found, "")
    index = {rule_id: n for n, rule_id in enumerate(controls)}
    assert sorted(places) == sorted(
        [
            "/platform/name",
            f"/profiles/0/controls/{index['r_failed']}/results/0/message",
            f"/profiles/0/controls/{index['r_na']}/results/0/skip_message",
            f"/profiles/0/controls/{index['r_error']}/results/0/message",
        ]
    )


def test_the_file_is_ascii_json_that_reads_back_the_same(tmp_path):
    text = f"{HOSTILE} \udcff undecodable, caf\u00e9, \U0001f600"
    doc = make_document(RULES, [host("ssh://root@evil", {"r_failed": outcome(NON_COMPLIANT, text)})])
    (path,) = hdf.write(doc, tmp_path)
    raw = path.read_bytes()
    assert raw.isascii()
    assert json.loads(raw)["profiles"][0]["controls"][0]["results"][0]["message"] == text
    assert json.loads(raw) == only(hdf.host_documents(doc))


def test_a_rule_without_metadata_still_makes_a_control():
    doc = make_document(RULES, [every_category_host()])
    del doc["rules"]["r_failed"]
    control = controls_of(only(hdf.host_documents(doc)))["r_failed"]
    assert control["title"] == "r_failed"
    assert control["impact"] == 0.5
    assert control["results"][0]["status"] == "failed"


# -- the files -----------------------------------------------------------------------------------

IDS = [
    "ssh://root@web1:2222",
    "ssh://root@web1:22",
    "ssh://admin@web1:2222",
    "ssh://root@web1",
    "ssh://root@web1/2222",
    "docker://c1",
    "podman://c1",
    "paramiko://root@[::1]:22?sudo",
    "paramiko://root@[::1]:22",
    "local://",
    "ssh://../../etc/passwd",
    "ssh://" + "x" * 300,
]


def test_file_names_are_safe_unique_and_deterministic():
    names = [hdf.file_name(host_id) for host_id in IDS]
    assert len(set(names)) == len(IDS)
    assert names == [hdf.file_name(host_id) for host_id in IDS]
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*-[0-9a-f]{12}\.json", name), name
        assert len(name) <= 80
        assert hdf._FILE_NAME.match(name), name  # write() recognizes every name it makes
    assert hdf.file_name("ssh://root@web1:2222").startswith("ssh-root-web1-2222-")
    assert hdf.file_name("paramiko://root@[::1]:22?sudo").startswith("paramiko-root-1-22-sudo-")


def test_host_documents_are_keyed_by_file_name_in_the_hosts_order():
    doc = make_document(RULES, [every_category_host(i) for i in IDS])
    documents = hdf.host_documents(doc)
    assert list(documents) == [hdf.file_name(i) for i in IDS]
    assert [d["platform"]["target_id"] for d in documents.values()] == IDS
    assert hdf.host_documents(doc) == documents  # deterministic


def test_a_host_twice_is_refused():
    doc = make_document(RULES, [every_category_host("docker://c1"), dead_host("docker://c1")])
    with pytest.raises(ValueError, match="docker://c1"):
        hdf.host_documents(doc)


def test_write_makes_the_directory_and_one_file_per_host(tmp_path):
    target = tmp_path / "reports" / "hdf"
    doc = make_document(RULES, [every_category_host("ssh://a"), dead_host("ssh://b")])
    written = hdf.write(doc, target)
    assert written == [target / hdf.file_name("ssh://a"), target / hdf.file_name("ssh://b")]
    assert sorted(p.name for p in target.iterdir()) == sorted([hdf.MANIFEST, *(p.name for p in written)])
    assert (target / hdf.MANIFEST).read_text().splitlines() == sorted(p.name for p in written)


def test_write_removes_only_the_stale_files_it_wrote(tmp_path):
    three = make_document(RULES, [every_category_host(i) for i in ("ssh://a", "ssh://b", "ssh://c")])
    hdf.write(three, tmp_path)
    ours_but_unlisted = tmp_path / hdf.file_name("ssh://d")  # named as write() names, not written by it
    foreign = {
        "heimdall-export.json": '{"profiles": []}',
        "notes.txt": "keep me",
        ours_but_unlisted.name: "{}",
        "sub/inner.json": "{}",
    }
    for name, text in foreign.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_text("{}")
    with (tmp_path / hdf.MANIFEST).open("a") as manifest:  # an edited manifest: never followed out
        manifest.write(f"../{outside.name}\nsub/inner.json\nnotes.txt\n")
    try:
        one = make_document(RULES, [every_category_host("ssh://b")])
        assert hdf.write(one, tmp_path) == [tmp_path / hdf.file_name("ssh://b")]
        left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
        assert left == sorted([hdf.MANIFEST, hdf.file_name("ssh://b"), *foreign])
        assert outside.read_text() == "{}"
        assert (tmp_path / hdf.MANIFEST).read_text() == hdf.file_name("ssh://b") + "\n"
        for name, text in foreign.items():
            assert (tmp_path / name).read_text() == text
    finally:
        outside.unlink()


def test_write_replaces_a_file_whole(tmp_path):
    doc = make_document(RULES, [every_category_host("ssh://a")])
    (path,) = hdf.write(doc, tmp_path)
    path.write_text("garbage")
    assert hdf.write(doc, tmp_path) == [path]
    assert json.loads(path.read_text()) == only(hdf.host_documents(doc))
    assert not list(tmp_path.glob(".*.partial"))


# -- as inspecjs (Heimdall) reads them ---------------------------------------------------------------


def test_inspecjs_reads_every_category_as_heimdall_shows_it(tmp_path):
    doc = make_document(RULES, [every_category_host(), dead_host()])
    read = inspecjs(doc, tmp_path)
    assert_heimdall_shows_the_document(doc, read)
    live = read["ssh://root@web1:2222"]["controls"]
    assert live["r_failed"]["nist"] == ["CM-6(a)", "AU-8(1)(a)"]
    assert live["r_compliant"]["nist"] == []  # inspecjs maps no tag to UM-1 itself
    assert {rule_id: c["severity"] for rule_id, c in live.items()} == {
        "r_compliant": "high",
        "r_failed": "medium",
        "r_waived": "low",
        "r_expired": "high",
        "r_na": "high",  # the severity tag wins over the impact 0.0 of not applicable
        "r_error": "medium",  # unknown is no inspecjs severity: from impact 0.5
        "r_info": "none",  # info is none either: from impact 0.0
    }
    assert read["docker://c1"]["platform"] == {"name": "unknown", "release": ""}


def test_inspecjs_reads_a_synthetic_fleet_as_results_json_counts_it(tmp_path):
    doc = synthetic_document(20, seed=7, dead_every=8)
    assert results.problems(doc) == []
    read = inspecjs(doc, tmp_path)
    assert_heimdall_shows_the_document(doc, read)
    total: Counter = Counter()
    for entry in read.values():
        total.update(entry["counts"])
    counts = doc["run"]["counts"]
    assert total["Passed"] == counts[COMPLIANT]
    assert total["Failed"] == counts[NON_COMPLIANT]
    assert total["Not Applicable"] == counts[NOT_APPLICABLE] + counts[WAIVED]
    assert total["Waived"] == counts[WAIVED]
    assert total["Profile Error"] == counts[COULD_NOT_CHECK]
    assert total["Not Reviewed"] == total["From Profile"] == 0
    assert all(counts.values()), "the fleet has every category"


def test_inspecjs_refuses_what_is_not_an_execution(tmp_path):
    doc = make_document(RULES, [every_category_host()])
    (path,) = hdf.write(doc, tmp_path)
    broken = json.loads(path.read_text())
    del broken["profiles"][0]["controls"][0]["id"]  # a control without its id
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps(broken))
    with pytest.raises(AssertionError, match="not read it as an execution"):
        run_node("hdf_check.mjs", str(bad))
    (tmp_path / "not-hdf.json").write_text('{"format": "timesync-audit-results"}')
    with pytest.raises(AssertionError, match="not an HDF execution"):
        run_node("hdf_check.mjs", str(tmp_path / "not-hdf.json"))
