"""The fleet's reports, made on the controller from one results document at the end of the run.

results.json first (the data), then from it alone: one HDF file per host (reports/hdf/, for
Heimdall), fleet.html (the host x rule matrix and each host's detail, without pytest-html), and
the matrix at the top of report.html (report_matrix.py). With --baseline, the document says what
changed since that run; with --fail-on=regression, that decides the exit code.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import pathlib
from typing import Any

import pytest

from . import baseline, fleet_html, hdf, results
from .deadhosts import DeadHosts
from .interruption import Interruption
from .junit import junit_property
from .progress import Progress
from .results_recorder import Recorder
from .stash_keys import POLICY, RESULTS_DOCUMENT
from .verdicts import Verdicts

FAIL_ON = ("any", "regression")
#: where each report goes, relative to the rootdir (pytest.ini's folder), unless given
DEFAULT_PATHS = {"results_json": "reports/results.json", "hdf_dir": "reports/hdf", "fleet_html": "reports/fleet.html"}


def add_options(group) -> None:
    group.addoption(
        "--results-json",
        default=None,
        metavar="PATH",
        help=f"where the run's results document goes (default: {DEFAULT_PATHS['results_json']})",
    )
    group.addoption(
        "--hdf-dir",
        default=None,
        metavar="DIR",
        help=f"where one Heimdall (HDF) file per host goes (default: {DEFAULT_PATHS['hdf_dir']})",
    )
    group.addoption(
        "--fleet-html",
        default=None,
        metavar="PATH",
        help=f"where the fleet page (matrix and host detail) goes (default: {DEFAULT_PATHS['fleet_html']})",
    )
    group.addoption(
        "--baseline",
        default=None,
        metavar="PATH",
        help="a previous run's results.json: say per host and rule what got worse, what was fixed",
    )
    group.addoption(
        "--fail-on",
        default="any",
        choices=FAIL_ON,
        help="any (default): the exit code follows every verdict; regression: only new non-compliance "
        "and new could-not-check against --baseline make it non-zero",
    )


def suite_version() -> str:
    try:
        return importlib.metadata.version("timesync-audit")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _path(config: pytest.Config, key: str) -> pathlib.Path:
    given = config.getoption(key, None)
    return pathlib.Path(given) if given else config.rootpath / DEFAULT_PATHS[key]


class FleetReports:
    """Builds the document once (on first call, after every report), writes it and what is made
    from it, and adds the baseline's comparison to the terminal and JUnit."""

    def __init__(self, config: pytest.Config, verdicts: Verdicts, recorder: Recorder, interruption: Interruption):
        self.config = config
        self.verdicts = verdicts
        self.recorder = recorder
        self.interruption = interruption
        self.baseline_path = config.getoption("baseline", None)
        self.baseline_document = results.load(self.baseline_path) if self.baseline_path else None
        self.fail_on = config.getoption("fail_on", "any")
        self._comparison: baseline.Comparison | None = None
        self._document: dict[str, Any] | None = None
        self.exitstatus = 0  # pytest's, where the verdicts set no exit code of their own
        self.written: list[str] = []
        self.write_errors: list[str] = []

    # -- the document -----------------------------------------------------------------------------

    def comparison(self) -> baseline.Comparison | None:
        if self.baseline_document is None:
            return None
        if self._comparison is None:
            now = {"hosts": self._hosts(), "rules": self.recorder.rules()}
            self._comparison = baseline.compare(now, self.baseline_document, str(self.baseline_path))
        return self._comparison

    def gate(self) -> tuple[int, str]:
        comparison = self.comparison()
        assert comparison is not None, "--fail-on=regression is refused without --baseline"
        code = comparison.exit_code()
        return code, baseline.EXIT_TEXT[code]

    def _hosts(self) -> list[dict[str, Any]]:
        return self.recorder.hosts(self.config, results.policy_entry(self.config.stash[POLICY]))

    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = self._build()
        return self._document

    def _build(self) -> dict[str, Any]:
        config = self.config
        run_policy = results.policy_entry(config.stash[POLICY])
        hosts = self.recorder.hosts(config, run_policy)
        counts = results.empty_counts()
        for host in hosts:
            for result in host["results"].values():
                counts[result["category"]] += 1
        progress_hosts = self.recorder.host_ids()
        unfinished = [h["id"] for h in hosts if not h["finished"]]
        exit_code = self.verdicts.exit_code
        document: dict[str, Any] = {
            "format": results.FORMAT,
            "format_version": results.FORMAT_VERSION,
            "run": {
                "suite_version": suite_version(),
                "started": self.recorder.started.isoformat(),
                "finished": datetime.datetime.now(datetime.UTC).isoformat(),
                "duration_s": self.recorder.duration(),
                "profile": config.getoption("profile", None) or None,
                "command_line": results.redacted_arguments(config.invocation_params.args),
                "interrupted": (self.interruption.cause or "unknown") if self.interruption.interrupted else None,
                "exit_code": int(exit_code if exit_code is not None else self.exitstatus),
                "exit_meaning": self.verdicts.exit_meaning() or f"pytest exit status {self.exitstatus}",
                "fail_on": self.fail_on,
                "counts": counts,
                "policy": run_policy,
                "hosts_total": len(progress_hosts),
                "hosts_finished": len(progress_hosts) - len(unfinished),
                "unfinished_hosts": unfinished,
                "shard": config.getoption("shard", None),
            },
            "rules": self.recorder.rules(),
            "hosts": hosts,
            "baseline": None,
        }
        comparison = self.comparison()
        if comparison is not None:
            baseline.annotate(document, comparison)
        return document

    # -- hooks ----------------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes the file
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        self.exitstatus = int(exitstatus)
        comparison = self.comparison()
        if comparison is not None:
            for name, value in baseline.junit_properties(comparison):
                junit_property(session.config, name, value)

    @pytest.hookimpl(trylast=True)  # after every tryfirst part of the run's end (the exit code)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        comparison = self.comparison()
        if comparison is not None:
            terminalreporter.write_sep("=", "since the baseline")
            for line in baseline.summary_lines(comparison):
                terminalreporter.write_line(line)
        for line in self.write_errors:
            terminalreporter.write_line(line, red=True)
        if self.written:
            terminalreporter.write_line("fleet reports: " + ", ".join(self.written))

    def write(self) -> None:
        document = self.document()
        targets = (
            ("results_json", lambda path: results.write(document, path)),
            ("hdf_dir", lambda path: hdf.write(document, path)),
            ("fleet_html", lambda path: fleet_html.write_fleet_page(document, path)),
        )
        for key, writer in targets:
            path = _path(self.config, key)
            try:
                writer(path)
            except OSError as exc:
                self.write_errors.append(f"could not write {path}: {exc.strerror or exc}")
            else:
                self.written.append(str(path))


class WriteAtEnd:
    """The files are written after the exit code is known (a tryfirst sessionfinish), and not at
    all by a run that audits nothing (usage.KeepReports: the last run's reports stay)."""

    def __init__(self, reports: FleetReports) -> None:
        self.reports = reports

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        config = session.config
        empty = exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and not config.getoption("shard", None)
        if config.option.collectonly or empty:
            return  # a shard with no host of its own still says it ran (sharding.py)
        self.reports.write()


def check_options(config: pytest.Config) -> None:
    """--fail-on=regression needs a baseline; the baseline must be a results file (exit 4 otherwise)."""
    if config.getoption("fail_on", "any") == "regression" and not config.getoption("baseline", None):
        raise pytest.UsageError("--fail-on=regression compares with a previous run: give it --baseline=PATH")


def configure(config: pytest.Config) -> None:
    """On the controller (or a run without xdist), after the verdicts' plugins are registered."""
    check_options(config)
    if hasattr(config, "workerinput"):
        return
    get = config.pluginmanager.get_plugin
    progress, dead_hosts = get("timesync-progress"), get("timesync-dead-hosts")
    verdicts, interruption = get("timesync-verdicts-count"), get("timesync-interruption")
    assert isinstance(progress, Progress) and isinstance(dead_hosts, DeadHosts)
    assert isinstance(verdicts, Verdicts) and isinstance(interruption, Interruption)
    recorder = Recorder(progress, dead_hosts)
    config.pluginmanager.register(recorder, "timesync-results-recorder")
    try:
        reports = FleetReports(config, verdicts, recorder, interruption)
    except results.ResultsError as exc:
        raise pytest.UsageError(f"--baseline: {exc}") from None
    if reports.fail_on == "regression":
        verdicts.gate = reports.gate
    config.stash[RESULTS_DOCUMENT] = reports.document
    config.pluginmanager.register(reports, "timesync-fleet-reports")
    config.pluginmanager.register(WriteAtEnd(reports), "timesync-fleet-reports-write")
