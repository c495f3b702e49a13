"""The fleet matrix and fleet.html as rendered from small hand-built results documents: each
category's letter and class, the totals, the families, the change badges and the baseline, the
policy where it differs; text from hostile hosts never reaches the page as markup; fleet.html
needs nothing from outside; and the page of 500 synthetic hosts stays small."""

from __future__ import annotations

import copy
import html.parser
import re
import types

import pytest
from synthetic_results import assemble
from synthetic_results import document as synthetic_document

from timesync_audit import fleet_html, report, report_matrix, results
from timesync_audit.policy import default_policy
from timesync_audit.stash_keys import RESULTS_DOCUMENT

STARTED = "2026-12-01T02:00:00+00:00"
BASELINE_STARTED = "2026-11-30T02:00:00+00:00"
#: fleet.html of the 500-host synthetic document (24,000 results) stays below this (measured: 3.8 MB)
MAX_PAGE_BYTES = 4_500_000
#: the matrix fragment of the same document (measured: 1.2 MB, most of it the cells' messages)
MAX_FRAGMENT_BYTES = 1_400_000
HOSTILE_NAME = '<script>alert("name")</script>'
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'
MESSAGES = {
    "compliant": "",
    "non-compliant": "maxpoll 17 is above 16 (/etc/chrony/chrony.conf:7)",
    "waived": "waived until 2999-12-31: lab (waivers.yml:1)",
    "not applicable": "chrony is not installed",
    "could not check": "permission denied reading /etc/chrony/chrony.keys",
}


def _rule(family: str, severity: str = "medium") -> dict:
    entry = results.bare_rule_entry(title=f"a {family} rule", severity=severity, family=family, service="chronyd")
    del entry["source"]  # optional in the schema: a document without it stays valid
    return entry


def _result(host_id: str, rule: str, category: str, message: str | None = None, change=None) -> dict:
    text = MESSAGES[category] if message is None else message
    found = {
        "category": category,
        "message": text,
        "evidence": results.evidence_of(text),
        "waiver": {"status": "applied", "justification": "lab", "expires": "2999-12-31", "source": "waivers.yml:1"}
        if category == "waived"
        else None,
        "test": f"tests/x/test_{rule}.py::test_{rule}[{host_id}]",
        "duration_s": 0.01,
    }
    if change:
        found["change"] = {"kind": change[0], "was": change[1]}
    return found


def _host(name: str, outcomes: dict, groups=("web",), policy=None, dead=None, os_name="Debian GNU/Linux 12") -> dict:
    host_id = f"ssh://root@{name}"
    run_policy = results.policy_entry(default_policy())
    own = copy.deepcopy(run_policy)
    own.update(policy or {})
    return {
        "id": host_id,
        "name": name,
        "backend": "ssh",
        "groups": list(groups),
        "policy": own,
        "policy_differs": results.policy_differs(own, run_policy),
        "gather": None if dead else {"round_trips": 2, "seconds": 0.25, "id": "0001"},
        "os": None if dead else {"id": "debian", "version_id": "12", "pretty_name": os_name},
        "dead": dead,
        "finished": True,
        "results": {
            rule: _result(host_id, rule, *(o if isinstance(o, tuple) else (o,))) for rule, o in outcomes.items()
        },
    }


def make_document(hosts: list[dict], rules: dict[str, dict], baseline: dict | None = None) -> dict:
    """A results document valid against the schema (checked), of these hosts and rules."""
    return assemble(rules, hosts, baseline, suite_version="0.11.0", started=STARTED, profile="stig")


ALL_FIVE = {
    "package_chrony_installed": "compliant",
    "chronyd_client_only": "non-compliant",
    "chrony_set_nts": "waived",
    "ntpd_run_as_ntp_user": "not applicable",
    "file_owner_etc_chrony_keys": "could not check",
}
RULES = {
    "package_chrony_installed": _rule("packages", "high"),
    "chronyd_client_only": _rule("chrony", "low"),
    "chrony_set_nts": _rule("chrony"),
    "ntpd_run_as_ntp_user": _rule("ntpd"),
    "file_owner_etc_chrony_keys": _rule("chrony"),
}


class Matrix(html.parser.HTMLParser):
    """The matrix as its markup says it: families, rule columns, per host row its cells (tag,
    class, title, text), and the footer rows. End tags the page leaves out are implied."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.families: list[tuple[str, int]] = []
        self.rules: list[str] = []
        self.rows: dict[str, dict] = {}
        self.footer: list[list[str]] = []
        self._part = ""
        self._row: dict | None = None
        self._cell: dict | None = None
        start = page.index('<table class="tsa-m">')
        self.feed(page[start : page.index("</table>", start)])
        self.close()
        self._flush()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("thead", "tbody", "tfoot"):
            self._part = tag
        if tag in ("td", "th", "tr"):
            self._flush()
        if tag == "tr":
            self._row = {"group": a.get("data-g"), "cells": []} if self._part == "tbody" else None
            if self._part == "tfoot":
                self.footer.append([])
        if tag == "th" and "data-r" in a:
            self.rules.append(a["data-r"])
        if tag == "th" and self._part == "thead" and "colspan" in a:
            self.families.append((a.get("title", ""), int(a["colspan"])))
        if tag in ("td", "th"):
            self._cell = {"tag": tag, "class": a.get("class", ""), "title": a.get("title"), "text": ""}

    def handle_endtag(self, tag):
        if tag in ("td", "th", "tr", "thead", "tbody", "tfoot"):
            self._flush()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def _flush(self):
        cell, self._cell = self._cell, None
        if cell is None:
            return
        cell["text"] = cell["text"].strip()
        if self._part == "tbody" and self._row is not None:
            if cell["tag"] == "th":
                self.rows[cell["text"]] = self._row
            else:
                self._row["cells"].append(cell)
        elif self._part == "tfoot":
            self.footer[-1].append(cell["text"])


def _cells(matrix: Matrix, host: str) -> dict[str, dict]:
    row = matrix.rows[host]
    return dict(zip(matrix.rules, row["cells"][: len(matrix.rules)]))


def _totals(matrix: Matrix, host: str) -> list[int]:
    return [int(c["text"]) for c in matrix.rows[host]["cells"][len(matrix.rules) :]]


@pytest.fixture
def five() -> dict:
    return make_document([_host("web1", ALL_FIVE), _host("db1", {"chronyd_client_only": "compliant"}, ("db",))], RULES)


@pytest.mark.parametrize("render", [fleet_html.matrix_fragment, fleet_html.fleet_page], ids=["fragment", "page"])
def test_each_category_has_its_letter_and_class(five, render):
    matrix = Matrix(render(five))
    cells = _cells(matrix, "web1")
    expected = {"compliant": "P", "non-compliant": "F", "waived": "W", "not applicable": "N", "could not check": "E"}
    for rule, category in ALL_FIVE.items():
        letter = expected[category]
        assert cells[rule]["text"] == letter and cells[rule]["class"] == letter, (rule, cells[rule])
    missing = _cells(matrix, "db1")["chrony_set_nts"]
    assert (missing["text"], missing["class"]) == ("-", "X")  # no result for that rule on db1
    assert cells["chronyd_client_only"]["title"] == MESSAGES["non-compliant"]
    assert cells["package_chrony_installed"]["title"] is None  # compliant: nothing to say


def test_waived_and_could_not_check_look_unlike_failed():
    css = (fleet_html.TEMPLATES / "matrix.css.j2").read_text()
    colours = {
        letter: re.search(rf"\.tsa-fleet \.{letter},\.tsa-page \.{letter}\{{background:(#\w+)", css).group(1)
        for letter in "PFWNE"
    }
    assert len(set(colours.values())) == 5, colours


def test_families_group_their_rules_in_order(five):
    matrix = Matrix(fleet_html.matrix_fragment(five))
    families = [(title.split(":")[0], span) for title, span in matrix.families]
    assert families == [("packages", 1), ("chrony", 3), ("ntpd", 1), ("totals", 5)]
    assert matrix.rules == [
        "package_chrony_installed",
        "chrony_set_nts",
        "chronyd_client_only",
        "file_owner_etc_chrony_keys",
        "ntpd_run_as_ntp_user",
    ]


def test_rule_headers_carry_id_title_and_severity(five):
    page = fleet_html.matrix_fragment(five)
    assert 'data-r="package_chrony_installed" title="package_chrony_installed\na packages rule\nseverity: high"' in page
    assert '<th class="sH" title="severity: high">H</th>' in page
    assert '<th class="sL" title="severity: low">L</th>' in page


def test_totals_per_host_and_per_rule(five):
    matrix = Matrix(fleet_html.matrix_fragment(five))
    # failed, could not check, waived, n/a, passed
    assert _totals(matrix, "web1") == [1, 1, 1, 1, 1]
    assert _totals(matrix, "db1") == [0, 0, 0, 0, 1]
    footer = {row[0]: row[1 : 1 + len(matrix.rules)] for row in matrix.footer}
    client_only = matrix.rules.index("chronyd_client_only")
    assert footer["F failed"][client_only] == "1" and footer["P passed"][client_only] == "1"
    assert [footer[k][matrix.rules.index("chrony_set_nts")] for k in footer] == ["0", "0", "1", "0", "0"]


def test_sort_buttons_and_legend(five):
    page = fleet_html.matrix_fragment(five)
    for key in ("failures", "name", "group"):
        assert f'data-sort="{key}"' in page
    for name in ("compliant", "non-compliant", "waived", "not applicable", "could not check"):
        assert f"</span> {name}</li>" in page
    assert 'data-g="db"' in page and 'data-g="web"' in page


HOSTILE_TEXTS = (HOSTILE_NAME, HOSTILE_ATTR, "</script><script>alert(3)</script>", "\"'><svg onload=alert(4)>")


def _hostile_document() -> dict:
    bad_host = _host(
        "x" + HOSTILE_NAME,
        {
            "chronyd_client_only": ("non-compliant", f"maxpoll {HOSTILE_ATTR} </script><script>alert(3)</script>"),
            "chrony_set_nts": ("could not check", "\"'><svg onload=alert(4)>"),
        },
        groups=(HOSTILE_ATTR,),
        os_name=HOSTILE_NAME,
        policy={"maxpoll_max": {"value": 12, "origin": f"inventory:3 ({HOSTILE_ATTR})"}},
    )
    bad_host["results"]["chrony_set_nts"]["evidence"] = [HOSTILE_ATTR + ":1"]
    baseline = _baseline(only_hosts=[HOSTILE_NAME], path=HOSTILE_ATTR)
    return make_document([bad_host, _host("web1", ALL_FIVE)], RULES, baseline)


@pytest.mark.parametrize("render", [fleet_html.matrix_fragment, fleet_html.fleet_page], ids=["fragment", "page"])
def test_hostile_text_is_escaped_everywhere(render):
    page = render(_hostile_document())
    for text in HOSTILE_TEXTS:
        assert text not in page
    assert "<img" not in page and "<svg" not in page
    assert page.count("<script") == (2 if render is fleet_html.matrix_fragment else 1)  # the matrix's own
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in page  # shown, as text
    matrix = Matrix(page)
    assert "x" + HOSTILE_NAME in matrix.rows  # the name reads back as it is


def test_test_ids_in_the_fragment_are_json_a_script_cannot_end(five):
    five["hosts"][0]["results"]["chrony_set_nts"]["test"] = "tests/odd.py::test_odd[</script><b>]"
    page = fleet_html.matrix_fragment(five)
    data = re.search(r'<script type="application/json" class="tsa-tests">(.*?)</script>', page, re.S).group(1)
    assert "</" not in data and "\\u003c/script\\u003e" in data


def test_every_cell_finds_its_node_id(five):
    """What the fragment's script does: a rule's template with the host id put in, or the cell's own."""
    five["hosts"][1]["results"]["chronyd_client_only"]["test"] = "tests/odd.py::test_odd[elsewhere]"
    cols = fleet_html.columns(five)
    ids = fleet_html.node_ids(five, cols)
    for h, host in enumerate(five["hosts"]):
        for r, col in enumerate(cols):
            if col.id in host["results"]:
                own = ids["cells"].get(f"{h}_{r}")
                found = own if own is not None else ids["rules"][r].replace(ids["mark"], ids["hosts"][h])
                assert found == host["results"][col.id]["test"]
    assert len(ids["cells"]) == 1


def _baseline(only_hosts=(), only_rules=(), path="reports/last-night.json") -> dict:
    return {
        "path": path,
        "started": BASELINE_STARTED,
        "suite_version": "0.10.0",
        "counts": {"regression": 1, "new could not check": 1, "fixed": 1, "unchanged": 1, "new": 1},
        "only_in_baseline": {"hosts": list(only_hosts), "rules": list(only_rules), "results": []},
        "only_in_run": {
            "hosts": ["ssh://root@new1"],
            "rules": [],
            "results": [{"host": "ssh://root@web1", "rule": "ntpd_run_as_ntp_user"}],
        },
        "regressions": [
            {"host": "ssh://root@web1", "rule": "chronyd_client_only", "was": "compliant", "now": "non-compliant"}
        ],
        "new_could_not_check": [
            {
                "host": "ssh://root@web1",
                "rule": "file_owner_etc_chrony_keys",
                "was": "compliant",
                "now": "could not check",
            }
        ],
        "fixed": [
            {"host": "ssh://root@web1", "rule": "package_chrony_installed", "was": "non-compliant", "now": "compliant"}
        ],
    }


@pytest.fixture
def since() -> dict:
    changed = {
        "package_chrony_installed": ("compliant", None, ("fixed", "non-compliant")),
        "chronyd_client_only": ("non-compliant", None, ("regression", "compliant")),
        "chrony_set_nts": ("waived", None, ("unchanged", "waived")),
        "file_owner_etc_chrony_keys": ("could not check", None, ("new could not check", "compliant")),
    }
    new = {"ntpd_run_as_ntp_user": ("not applicable", None, ("new", None))}
    hosts = [_host("web1", changed), _host("new1", new, ("db",))]
    return make_document(hosts, RULES, _baseline(only_hosts=["ssh://root@gone1"], only_rules=["old_rule"]))


@pytest.mark.parametrize("render", [fleet_html.matrix_fragment, fleet_html.fleet_page], ids=["fragment", "page"])
def test_change_badges_and_since_legend(since, render):
    page = render(since)
    cells = _cells(Matrix(page), "web1")
    assert cells["chronyd_client_only"]["class"] == "F r"
    assert cells["package_chrony_installed"]["class"] == "P x"
    assert cells["file_owner_etc_chrony_keys"]["class"] == "E q"
    assert cells["chrony_set_nts"]["class"] == "W"  # unchanged: no badge
    assert _cells(Matrix(page), "new1")["ntpd_run_as_ntp_user"]["class"] == "N n"
    tip = cells["chronyd_client_only"]["title"]
    assert tip.endswith("regression since 2026-11-30 02:00 UTC (was compliant)")
    assert "since 2026-11-30 02:00 UTC:" in page  # the legend of the badges
    assert "Changes since the baseline of <b>2026-11-30 02:00 UTC</b>" in page


def test_the_page_says_what_changed_and_what_is_in_one_run_only(since):
    page = fleet_html.fleet_page(since)
    baseline = page[page.index('<section id="baseline">') : page.index('id="tsa-fleet"')]
    assert "<h2>Since 2026-11-30 02:00 UTC</h2>" in baseline
    assert (
        "<b>1</b> regressions" in baseline
        and "<b>1</b> fixed" in baseline
        and "<b>1</b> new could not check" in baseline
    )
    for title in ("Regressions (1)", "New could not check (1)", "Fixed (1)"):
        assert f"<summary>{title}</summary>" in baseline
    assert "<td>ssh://root@web1</td><td>chronyd_client_only</td><td>compliant</td><td>non-compliant</td>" in baseline
    assert "<li><b>Hosts only in the baseline</b>: ssh://root@gone1</li>" in baseline
    assert "<li><b>Rules only in the baseline</b>: old_rule</li>" in baseline
    assert "<li><b>Hosts only in this run</b>: ssh://root@new1</li>" in baseline
    assert "<li><b>Results only in this run</b>: ssh://root@web1 ntpd_run_as_ntp_user</li>" in baseline
    assert "regression since 2026-11-30 02:00 UTC (was compliant)" in page  # the host's detail row


def test_no_baseline_no_since(five):
    page = fleet_html.fleet_page(five)
    assert 'id="baseline"' not in page and "Changes since the baseline" not in page
    assert not any("since" in (c["title"] or "") for c in Matrix(page).rows["web1"]["cells"])


def test_fleet_page_summary_and_host_detail(five):
    page = fleet_html.fleet_page(five)
    assert "exit code <b>3</b>: could not check every rule" in page
    assert "<dt>profile</dt><dd>stig</dd>" in page and "<dt>interrupted</dt><dd>no</dd>" in page
    assert "<dt>started</dt><dd>2026-12-01 02:00 UTC</dd>" in page
    web1 = page[page.index('id="h0"') : page.index('id="h1"')]
    assert "<dd>Debian GNU/Linux 12 (debian 12)</dd>" in web1 and "<dd>2 round trips, 0.25 s</dd>" in web1
    assert "<dt>groups</dt><dd>web</dd>" in web1
    opened, folded = web1.split("<details>", 1)
    for rule in ("chronyd_client_only", "chrony_set_nts", "ntpd_run_as_ntp_user", "file_owner_etc_chrony_keys"):
        assert f"<td class=rule>{rule}" in opened  # non-passing: open
    assert "<summary>1 compliant</summary>" in folded and ">package_chrony_installed" in folded  # passed: folded
    assert "<div class=ev>/etc/chrony/chrony.conf:7</div>" in opened
    assert "<div class=wv>waived until 2999-12-31: lab (waivers.yml:1)</div>" in opened
    # the failure comes before what is only waived or not applicable
    assert opened.index("chronyd_client_only") < opened.index("chrony_set_nts") < opened.index("ntpd_run_as_ntp_user")


def test_a_click_target_exists_for_every_cell(five):
    page = fleet_html.fleet_page(five)
    cols = fleet_html.columns(five)
    for h, host in enumerate(five["hosts"]):
        for r, col in enumerate(cols):
            assert (f"id=d{h}_{r}>" in page) == (col.id in host["results"])


def test_an_interrupted_run_shows_what_is_missing():
    host = _host("slow1", {"chronyd_client_only": "compliant"})
    host["finished"] = False
    document = make_document([host, _host("web1", ALL_FIVE)], RULES)
    document["run"].update(interrupted="SIGTERM", hosts_finished=1, unfinished_hosts=[host["id"]])
    page = fleet_html.fleet_page(document)
    assert "<dt>interrupted</dt><dd>SIGTERM</dd>" in page and "<b>interrupted</b>: SIGTERM" in page
    assert "unfinished: ssh://root@slow1" in page and "<dt>unfinished</dt>" in page
    cells = _cells(Matrix(page), "slow1")
    assert {rule: c["text"] for rule, c in cells.items()} == {
        rule: "P" if rule == "chronyd_client_only" else "-" for rule in RULES
    }


def test_a_dead_host_is_said_once_and_folded():
    dead = "ssh://root@gone: did not answer within 10 s (connect)"
    rows = {rule: ("could not check", f"could not check: {dead}") for rule in RULES}
    document = make_document([_host("gone", rows, dead=dead), _host("web1", ALL_FIVE)], RULES)
    page = fleet_html.fleet_page(document)
    gone = page[page.index('id="h0"') : page.index('id="h1"')]
    assert f'<dd class="deadwhy">{dead}</dd>' in gone and "<dd>not read</dd>" in gone
    assert '<table class="res">' not in gone  # nothing open: all in one folded list
    assert f"<summary>5 could not check: could not check: {dead}</summary>" in gone
    assert gone.count(dead) == 2


def test_policy_where_it_differs_per_group_else_per_host():
    higher = {"maxpoll_max": {"value": 12, "origin": "inventory.yml:4 (group db)"}}
    own = {"maxpoll_max": {"value": 14, "origin": "inventory.yml:9 (host db3)"}}
    nts = {"require_nts": {"value": False, "origin": "inventory.yml:12 (host web2)"}}
    hosts = [
        _host("db1", {"chronyd_client_only": "compliant"}, ("db",), higher),
        _host("db2", {"chronyd_client_only": "compliant"}, ("db",), higher),
        _host("db3", {"chronyd_client_only": "compliant"}, ("db3only",), own),
        _host("web1", {"chronyd_client_only": "compliant"}, ("web",)),
        _host("web2", {"chronyd_client_only": "compliant"}, ("web",), nts),
    ]
    document = make_document(hosts, RULES)
    scopes = fleet_html.policy_scopes(document)
    assert [(s.kind, s.name, s.hosts) for s in scopes] == [
        ("group", "db", 2),
        ("group", "db3only", 1),
        ("host", "web2", 1),
    ]
    assert scopes[0].items == [fleet_html.PolicyItem("maxpoll_max", "12", "inventory.yml:4 (group db)", "10")]
    assert scopes[2].items == [fleet_html.PolicyItem("require_nts", "false", "inventory.yml:12 (host web2)", "true")]
    fragment = fleet_html.matrix_fragment(document)
    assert '<th rowspan="1">group db (2 hosts)</th><td>maxpoll_max</td><td>12</td>' in fragment
    assert '<th rowspan="1">host web2</th><td>require_nts</td><td>false</td>' in fragment
    page = fleet_html.fleet_page(document)
    db1 = page[page.index('id="h0"') : page.index('id="h1"')]
    assert "<tr><td>maxpoll_max</td><td>12</td><td>inventory.yml:4 (group db)</td><td>10</td></tr>" in db1


def test_every_host_on_the_run_policy_says_so(five):
    assert "Every host was audited with the run's policy." in fleet_html.matrix_fragment(five)


def test_environment_policy_names_each_key_once():
    shown = report.policy_environment(default_policy().with_overrides({"maxpoll_max": 16}, "--policy"))
    assert shown["maxpoll_max"] == "16 (--policy)"
    assert shown["require_nts"] == "true (default)"
    assert not any(key in value for key, value in shown.items())


EXTERNAL = re.compile(r"""(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|//)""", re.I)


def test_fleet_page_needs_nothing_from_outside(since):
    page = fleet_html.fleet_page(since)
    assert not EXTERNAL.findall(page)
    assert "@import" not in page and "url(" not in page and "<link" not in page
    assert not re.search(r"https?://", page)


def test_write_fleet_page_replaces_it_whole(five, tmp_path):
    target = tmp_path / "reports" / "fleet.html"
    fleet_html.write_fleet_page(five, target)
    assert target.read_text(encoding="utf-8") == fleet_html.fleet_page(five)
    assert [p.name for p in target.parent.iterdir()] == ["fleet.html"]


def test_a_fleet_of_500_hosts_stays_small(capsys):
    document = synthetic_document(500)
    page = fleet_html.fleet_page(document).encode()
    fragment = fleet_html.matrix_fragment(document).encode()
    with capsys.disabled():
        print(f"\n500 hosts x 48 rules: fleet.html {len(page):,} bytes, matrix fragment {len(fragment):,} bytes")
    assert len(page) < MAX_PAGE_BYTES
    assert len(fragment) < MAX_FRAGMENT_BYTES


def test_the_report_hook_puts_the_matrix_first(five):
    config = types.SimpleNamespace(stash={RESULTS_DOCUMENT: lambda: five})
    prefix = ["<p>Dead host: x</p>"]
    report_matrix.ReportMatrix().pytest_html_results_summary(prefix, [], [], types.SimpleNamespace(config=config))
    assert prefix[0] == fleet_html.matrix_fragment(five) and prefix[1] == "<p>Dead host: x</p>"


class _Plugins:
    def __init__(self, html: bool) -> None:
        self.html, self.registered = html, []

    def hasplugin(self, name):
        return self.html and name == "html"

    def register(self, plugin, name):
        self.registered.append(name)


@pytest.mark.parametrize("html, worker, registered", [(True, False, True), (False, False, False), (True, True, False)])
def test_the_report_hook_only_where_a_report_is_written(html, worker, registered):
    config = types.SimpleNamespace(pluginmanager=_Plugins(html))
    if worker:
        config.workerinput = {}
    report_matrix.configure(config)
    assert bool(config.pluginmanager.registered) is registered
