"""Waivers: a failed rule accepted for named hosts, with a justification, until a date.

`--waivers FILE` names a YAML list of entries:

    - rule: chronyd_client_only          # rule id (required, must exist)
      hosts: [web1, "db-*", "group:dmz"]  # names, globs or inventory groups (required)
      justification: serves time to the lab network, ticket SEC-123   # required
      expires: 2026-06-30                 # required, YYYY-MM-DD; applies through that day

The file is validated when pytest configures, before any host is contacted.
A failed rule test (non-compliance, never an error or a skip) whose rule and
host match an unexpired waiver is turned into a waived report where the report
is made (on the xdist worker), by the outcome chain (outcome_chain.py, `apply`
here): outcome skipped with `wasxfail` "waived: ...", so it does not fail the
run; JUnit shows <skipped type="pytest.xfail" message="waived: ...">,
pytest-html an "XFailed" row under the "Waived" filter, the terminal WAIVED. A
matching waiver past its date leaves the failure a failure and says so. Waivers
that matched no test of the run are reported at the end (terminal, HTML summary,
JUnit global property), by the controller.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import difflib
import fnmatch
import html
import os
import pathlib
import re

import pytest
import yaml

from . import inventory
from .categories import NON_COMPLIANT, WAIVED, category_of, set_category
from .identity import bare_name, host_id
from .junit import junit_property
from .report_properties import properties
from .rules import REGISTRY, meta_of
from .stash_keys import WAIVERS

FIELDS = ("rule", "hosts", "justification", "expires")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclasses.dataclass(frozen=True)
class Waiver:
    index: int  # 1-based position in the file
    source: str  # file:line of the entry
    rule: str
    hosts: tuple[str, ...]
    justification: str
    expires: datetime.date

    def expired(self, today: datetime.date) -> bool:
        return today > self.expires  # a waiver applies through its expiry date

    def matches_host(self, host_id: str | None, groups) -> bool:
        full = (host_id or "").lower()
        bare = bare_name(full) if full else ""
        for pattern in self.hosts:
            if pattern.startswith("group:"):
                if bare and pattern[len("group:") :] in groups(bare):
                    return True
            elif fnmatch.fnmatchcase(bare, pattern) or fnmatch.fnmatchcase(full, pattern):
                return True
        return False

    def describe(self) -> str:
        return f"waiver {self.index} ({self.source}): rule {self.rule}, hosts {', '.join(self.hosts)}"


class WaiverError(ValueError):
    pass


# -- loading and validation ----------------------------------------------------------------------


def _problem(path: str, line: int, index: int | None, field: str | None, text: str) -> WaiverError:
    where = f"--waivers {path}:{line}"
    if index is not None:
        where += f": entry {index}"
    if field is not None:
        where += f", field '{field}'"
    return WaiverError(f"{where}: {text}")


def load(path: str, known_rules: set[str] | None) -> list[Waiver]:
    """Parse and validate a waivers file; the first bad entry raises WaiverError naming it."""
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WaiverError(f"--waivers {path}: cannot read the file ({exc})") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise WaiverError(f"--waivers {path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    finally:
        loader.dispose()
    if root is None or root.tag == "tag:yaml.org,2002:null" and not getattr(root, "value", ""):
        raise WaiverError(
            f"--waivers {path}: the file holds no waivers (it is empty or only comments); "
            "write `[]` for a deliberately empty list, or leave --waivers out"
        )
    if isinstance(root, yaml.MappingNode):  # also accepted: {waivers: [...]}
        keys = {k.value: v for k, v in root.value}
        if set(keys) != {"waivers"}:
            raise _problem(
                path,
                root.start_mark.line + 1,
                None,
                None,
                "expected a list of waivers (or one key 'waivers' holding that list)",
            )
        root = keys["waivers"]
    if isinstance(root, yaml.ScalarNode) and root.tag == "tag:yaml.org,2002:null":
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise _problem(path, root.start_mark.line + 1, None, None, "expected a list of waivers")
    return [_entry(path, n, node, known_rules) for n, node in enumerate(root.value, 1)]


def _scalar(node, path: str, index: int, field: str):
    try:
        return yaml.SafeLoader("").construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError) as exc:
        raise _problem(path, node.start_mark.line + 1, index, field, f"cannot be read ({exc})") from None


def _entry(path: str, index: int, node, known_rules: set[str] | None) -> Waiver:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        raise _problem(path, line, index, None, f"expected a mapping with the fields {', '.join(FIELDS)}")
    values, lines = {}, {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
        if key not in FIELDS:
            raise _problem(
                path, key_node.start_mark.line + 1, index, key, f"unknown field (expected {', '.join(FIELDS)})"
            )
        if key in values:
            raise _problem(path, key_node.start_mark.line + 1, index, key, "given twice")
        values[key] = _scalar(value_node, path, index, key)
        lines[key] = value_node.start_mark.line + 1
    for field in FIELDS:
        if field not in values or values[field] is None:
            raise _problem(path, lines.get(field, line), index, field, "required")

    rule = values["rule"]
    if not isinstance(rule, str) or not rule.strip():
        raise _problem(path, lines["rule"], index, "rule", f"expected a rule id, got {rule!r}")
    rule = rule.strip()
    if rule.startswith("test_"):
        rule = rule[len("test_") :]
    if known_rules is not None and rule not in known_rules:
        near = _closest(rule, known_rules)
        raise _problem(
            path,
            lines["rule"],
            index,
            "rule",
            f"unknown rule id {rule!r}" + (f" (did you mean {near}?)" if near else ""),
        )

    hosts = values["hosts"]
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, list) or not hosts:
        raise _problem(
            path,
            lines["hosts"],
            index,
            "hosts",
            "expected a host name, glob or group:<name>, or a non-empty list of them",
        )
    patterns = []
    for h in hosts:
        if not isinstance(h, str) or not h.strip() or any(c.isspace() for c in h.strip()):
            raise _problem(
                path, lines["hosts"], index, "hosts", f"expected a host name, glob or group:<name>, got {h!r}"
            )
        h = h.strip()
        if h.startswith("group:") and not h[len("group:") :]:
            raise _problem(path, lines["hosts"], index, "hosts", "group: needs a group name (group:<name>)")
        patterns.append(h if h.startswith("group:") else h.lower())

    justification = values["justification"]
    if not isinstance(justification, str) or not justification.strip():
        raise _problem(
            path,
            lines["justification"],
            index,
            "justification",
            "required: say why the failure is accepted (non-empty text)",
        )

    expires = values["expires"]
    if isinstance(expires, datetime.datetime):
        raise _problem(path, lines["expires"], index, "expires", f"expected a date YYYY-MM-DD, got {expires}")
    if isinstance(expires, str) and _DATE.match(expires.strip()):
        try:
            expires = datetime.date.fromisoformat(expires.strip())
        except ValueError as exc:
            raise _problem(path, lines["expires"], index, "expires", f"{exc}, got {values['expires']!r}") from None
    if not isinstance(expires, datetime.date):
        raise _problem(path, lines["expires"], index, "expires", f"expected a date YYYY-MM-DD, got {expires!r}")

    return Waiver(index, f"{path}:{line}", rule, tuple(patterns), " ".join(justification.split()), expires)


def _closest(word: str, choices) -> str | None:
    found = difflib.get_close_matches(word, sorted(choices), n=1)
    return found[0] if found else None


def rule_ids_in(paths, file_patterns) -> set[str]:
    """Rule ids defined in the test files under `paths`: `test_<id>` functions decorated with
    `@rule(...)`, read with `ast` (the rule modules are imported at collection, after configure)."""
    found: set[str] = set()
    files: set[pathlib.Path] = set()
    for path in paths:
        if path.is_file():
            files.add(path)
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = [
                    d
                    for d in dirnames
                    if not d.startswith(".") and d not in ("__pycache__", "node_modules") and not d.endswith("venv")
                ]
                files.update(
                    pathlib.Path(dirpath, f)
                    for f in filenames
                    if f.endswith(".py") and any(fnmatch.fnmatch(f, p) for p in file_patterns)
                )
    for file in files:
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                for deco in node.decorator_list:
                    func = deco.func if isinstance(deco, ast.Call) else deco
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                    if name == "rule":
                        found.add(node.name[len("test_") :])
    return found


def known_rule_ids(config: pytest.Config) -> set[str]:
    """Rules of the suite this run collects from: its arguments and its ini testpaths."""
    paths = []
    for arg in config.args:
        p = pathlib.Path(str(arg).split("::", 1)[0])
        paths.append(p if p.is_absolute() else config.invocation_params.dir / p)
    for tp in config.getini("testpaths") or []:
        paths.append(config.rootpath / tp)
    return rule_ids_in(paths, config.getini("python_files") or ["test_*.py"]) | set(REGISTRY)


# -- the run's state ---------------------------------------------------------------------------


class WaiverState:
    def __init__(self, config: pytest.Config, path: str, waivers: list[Waiver]):
        self.config = config
        self.path = path
        self.waivers = waivers
        self.today = datetime.date.today()
        self.matched: set[int] = set()  # waiver indexes that matched a test of the run (controller)
        self.waived: list[tuple[str, str, str]] = []  # (nodeid, host, text)
        self.expired_hits: list[tuple[str, str, str]] = []
        self._groups: dict[str, set[str]] = {}

    def groups(self, bare_host: str) -> set[str]:
        if bare_host not in self._groups:
            self._groups[bare_host] = set(inventory.host_groups(self.config, bare_host))
        return self._groups[bare_host]

    def matching(self, rule_id: str, host_id: str | None) -> list[Waiver]:
        return [w for w in self.waivers if w.rule == rule_id and w.matches_host(host_id, self.groups)]

    def unmatched(self) -> list[Waiver]:
        return [w for w in self.waivers if w.index not in self.matched]


def state(config: pytest.Config) -> WaiverState | None:
    st = config.stash.get(WAIVERS, None)
    return st if isinstance(st, WaiverState) else None


# -- a report under a waiver: the outcome chain's waiver step ----------------------------------------


@dataclasses.dataclass(frozen=True)
class Applied:
    """What a waiver did to a report: the properties JUnit shows, and the row the HTML report adds."""

    properties: list[tuple[str, str]]
    html_title: str
    html_text: str


def apply(item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo) -> Applied | None:
    """A non-compliance whose rule and host match a waiver: under an unexpired one it becomes
    waived (category, outcome, message); under an expired one it stays a failure that says so.
    Only ever a rule's finding: never an error (could not check, a crash), a skip, or an XPASS."""
    st = state(item.config)
    meta = meta_of(item)
    if st is None or category_of(report) != NON_COMPLIANT or call.excinfo is None or meta is None:
        return None
    found = st.matching(meta.rule_id, host_id(item))
    if not found:
        return None
    valid = [w for w in found if not w.expired(st.today)]
    finding = report.longreprtext.strip()
    if valid:
        w = max(valid, key=lambda w: w.expires)
        set_category(report, WAIVED)
        report.outcome = "skipped"
        report.wasxfail = f"waived: {w.justification} (until {w.expires.isoformat()})"
        report.longrepr = (
            f"waived until {w.expires.isoformat()}: {w.justification} (waiver {w.index}, {w.source})\n{finding}"
        )
        return Applied(
            [
                ("waiver", w.justification),
                ("waiver_expires", w.expires.isoformat()),
                ("waiver_source", w.source),
                ("waived_finding", finding),
            ],
            "Waiver",
            f"{w.justification} (until {w.expires.isoformat()}; {w.source})",
        )
    w = max(found, key=lambda w: w.expires)
    report.longrepr = (
        f"{finding}\nwaiver expired on {w.expires.isoformat()}, so this failure counts: "
        f"{w.justification} (waiver {w.index}, {w.source})"
    )
    return Applied(
        [("waiver_expired", w.expires.isoformat()), ("waiver", w.justification), ("waiver_source", w.source)],
        "Waiver expired",
        f"on {w.expires.isoformat()}: {w.justification} ({w.source})",
    )


def html_row(applied: Applied) -> str:
    """The waiver's row in the HTML report, under the rule's details."""
    body = f"<tr><th>{html.escape(applied.html_title)}</th><td>{html.escape(applied.html_text)}</td></tr>"
    return f'<table class="rule-details">{body}</table>'


# -- plugin hooks (registered by plugin.pytest_configure) ------------------------------------------


def add_options(group) -> None:
    group.addoption(
        "--waivers",
        default=None,
        metavar="FILE",
        help="YAML list of waivers (rule, hosts, justification, expires): matching failures are "
        "reported as waived and do not fail the run",
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("waivers", None)
    if not path:
        return
    try:
        waivers = load(path, known_rule_ids(config))
    except WaiverError as exc:
        raise pytest.UsageError(str(exc)) from None
    st = config.stash[WAIVERS] = WaiverState(config, path, waivers)
    if not hasattr(config, "workerinput"):  # xdist workers only convert reports
        config.pluginmanager.register(Reporting(st), "timesync-waivers-reporting")


def pytest_report_header(config: pytest.Config) -> str | None:
    st = state(config)
    if st is None:
        return None
    expired = sum(w.expired(st.today) for w in st.waivers)
    count = f"{len(st.waivers)} waiver" + ("" if len(st.waivers) == 1 else "s")
    return f"waivers: {st.path}: {count} ({expired} expired)"


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report, config):
    if report.when == "call" and category_of(report) == WAIVED:
        return "waived", "w", ("WAIVED", {"yellow": True})
    return None


class Reporting:
    """The controller's side (or a run without xdist): which waivers matched, what was waived,
    reported at the end. pytest_runtest_logreport sees the workers' reports here."""

    def __init__(self, st: WaiverState):
        self.st = st

    def pytest_runtest_logreport(self, report) -> None:
        st, props, category = self.st, properties(report), category_of(report)
        if report.when == "setup" and props.get("rule_id"):
            for w in st.matching(props["rule_id"], props.get("host")):
                st.matched.add(w.index)
        elif report.when == "call" and category == WAIVED:
            st.waived.append((report.nodeid, props.get("host", "-"), report.wasxfail))
        elif report.when == "call" and category == NON_COMPLIANT and "waiver_expired" in props:
            st.expired_hits.append(
                (
                    report.nodeid,
                    props.get("host", "-"),
                    f"waiver expired on {props['waiver_expired']}: {props.get('waiver', '')} "
                    f"({props.get('waiver_source', '')})",
                )
            )

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes the file
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        unmatched = self.st.unmatched()
        junit_property(session.config, "waivers_file", self.st.path)
        junit_property(
            session.config, "waivers_unmatched", "; ".join(w.describe() for w in unmatched) if unmatched else "none"
        )

    def pytest_terminal_summary(self, terminalreporter) -> None:
        st, tr = self.st, terminalreporter
        if not (st.waived or st.expired_hits or st.unmatched()):
            return
        tr.write_sep("=", "waivers")
        for nodeid, _host, text in st.waived:
            tr.write_line(f"WAIVED {nodeid}: {text}", yellow=True)
        for nodeid, _host, text in st.expired_hits:
            tr.write_line(f"FAILED {nodeid}: {text}", red=True)
        for w in st.unmatched():
            tr.write_line(f"UNMATCHED {w.describe()}: matched no test of this run", yellow=True)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix, summary, postfix, session):
        st = self.st
        _relabel_html_xfailed(session.config)
        lines = [
            f"Waivers ({html.escape(st.path)}): failures waived {len(st.waived)}, "
            f"failures under an expired waiver {len(st.expired_hits)}, "
            f"waivers that matched nothing {len(st.unmatched())}."
        ]
        lines += [f"Unmatched: {html.escape(w.describe())}" for w in st.unmatched()]
        lines += [f"Expired: {html.escape(nodeid)}: {html.escape(text)}" for nodeid, _h, text in st.expired_hits]
        prefix.extend(f"<p>{line}</p>" for line in lines)


def _relabel_html_xfailed(config: pytest.Config) -> None:
    """pytest-html files a waived report (skipped + wasxfail) as XFailed; its filter reads "Waived"."""
    for plugin in config.pluginmanager.get_plugins():
        outcomes = getattr(getattr(plugin, "_report", None), "outcomes", None)
        if isinstance(outcomes, dict) and "xfailed" in outcomes:
            outcomes["xfailed"]["label"] = "Waived"
