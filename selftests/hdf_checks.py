"""What Heimdall must show for a results document: the status inspecjs (MITRE's parser, read by
selftests/browser/hdf_check.mjs) gives each host's control, from results.json alone. Shared by
the HDF unit tests and the lab's end-to-end runs."""

from __future__ import annotations

from collections import Counter

from browser_tools import run_node

from timesync_audit import hdf
from timesync_audit.categories import COMPLIANT, COULD_NOT_CHECK, NON_COMPLIANT, NOT_APPLICABLE, WAIVED

#: what Heimdall shows for a category: inspecjs's status of the control, and whether it is waived
HEIMDALL = {
    COMPLIANT: ("Passed", False),
    NON_COMPLIANT: ("Failed", False),
    WAIVED: ("Not Applicable", True),
    NOT_APPLICABLE: ("Not Applicable", False),
    COULD_NOT_CHECK: ("Profile Error", False),
}
#: an info rule has impact 0.0: Heimdall shows it Not Applicable unless it could not be checked
INFO_SHOWN = {category: HEIMDALL[NOT_APPLICABLE] for category in HEIMDALL} | {
    COULD_NOT_CHECK: HEIMDALL[COULD_NOT_CHECK]
}


def shown(doc: dict, host_entry: dict, rule_id: str) -> tuple[str, bool]:
    """What Heimdall must show for a rule on a host, from results.json alone."""
    category = COULD_NOT_CHECK if host_entry["dead"] else host_entry["results"][rule_id]["category"]
    table = INFO_SHOWN if doc["rules"][rule_id]["severity"] == "info" else HEIMDALL
    return table[category]


def expected_counts(doc: dict, host_entry: dict) -> Counter:
    counts: Counter = Counter()
    for rule_id in hdf.rule_ids(doc, host_entry):
        status, waived = shown(doc, host_entry, rule_id)
        counts[status] += 1
        counts["Waived"] += waived
    return counts


def inspecjs(doc: dict, directory) -> dict[str, dict]:
    """target_id -> what hdf_check.mjs answers for that host's file (written here from `doc`)."""
    return read_files(hdf.write(doc, directory))


def read_files(paths) -> dict[str, dict]:
    """target_id -> what hdf_check.mjs answers for that HDF file."""
    paths = list(paths)
    answer = run_node("hdf_check.mjs", *map(str, paths), timeout=120)
    assert [entry["file"] for entry in answer] == [str(p) for p in paths]
    return {entry["host"]: entry for entry in answer}


def assert_heimdall_shows_the_document(doc: dict, read: dict[str, dict]) -> None:
    assert sorted(read) == sorted(h["id"] for h in doc["hosts"])
    for host_entry in doc["hosts"]:
        entry = read[host_entry["id"]]
        assert entry["profiles"] == ["timesync-audit"]
        wanted = {rule_id: shown(doc, host_entry, rule_id) for rule_id in hdf.rule_ids(doc, host_entry)}
        got = {rule_id: (c["status"], c["waived"]) for rule_id, c in entry["controls"].items()}
        assert got == wanted, host_entry["id"]
        nonzero = {status: n for status, n in entry["counts"].items() if n}
        assert nonzero == {status: n for status, n in expected_counts(doc, host_entry).items() if n}
