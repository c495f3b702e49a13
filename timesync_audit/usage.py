"""What a person meant: arguments that would silently do something else, caught before any host.

Each check answers a surprise with one message (exit 4): the project's own tests
named in a compliance run, an inventory without hosts from it, an empty option
value, a profile's name given to -m. A run that selects no test, or only
collects, keeps the last run's reports instead of overwriting them with nothing.
"""

from __future__ import annotations

import pathlib
import re

import pytest

from . import html_stream, junit, profiles

SELFTESTS = pathlib.Path(__file__).resolve().parents[1] / "selftests"
_MARK_WORD = re.compile(r"[\w:+\-.\[\]\\/]+")


def _inside_selftests(path: pathlib.Path) -> bool:
    return path == SELFTESTS or SELFTESTS in path.parents


def check(config: pytest.Config) -> None:
    """Raise UsageError for arguments a person cannot have meant as written."""
    for arg in config.args:
        path = pathlib.Path(config.invocation_params.dir, arg.split("::", 1)[0]).resolve()
        if _inside_selftests(path):
            raise pytest.UsageError(
                f"{arg}: selftests/ holds the suite's own tests, not compliance rules; run them with "
                "`pytest -c selftests/pytest.ini selftests`"
            )
    if config.getoption("ansible_inventory", None) and not config.getoption("hosts", None):
        raise pytest.UsageError(
            "--ansible-inventory is given but --hosts is not: without --hosts the local machine would be "
            "audited; name the inventory's hosts, e.g. --hosts='ansible://all' or --hosts='ansible://GROUP'"
        )
    for option in ("profile", "waivers"):
        value = config.getoption(option, None)
        if value is not None and not value.strip():
            example = (
                "--profile=rhel9-stig (--profile list shows them)" if option == "profile" else "--waivers=waivers.yml"
            )
            raise pytest.UsageError(f"--{option} is empty: give a value, e.g. {example}, or leave the option out")
    _check_markexpr(config)


def _check_markexpr(config: pytest.Config) -> None:
    expression = config.option.markexpr or ""
    for word in _MARK_WORD.findall(expression):
        profile = profiles.PROFILES.get(word.lower())
        if profile is not None and word != profile.marker:
            raise pytest.UsageError(
                f"-m {expression!r}: {word!r} is a profile name, and a marker expression would select no rule "
                f"with it; its marker is {profile.marker} (-m {profile.marker}: that profile's rules), or use "
                f"--profile={profile.name} (its rules and its variable values)"
            )


def pytest_ignore_collect(collection_path: pathlib.Path, config: pytest.Config):
    """Whatever the arguments (`pytest .`, a path through a symlink...), a compliance run never
    collects the project's own tests."""
    if _inside_selftests(collection_path.resolve()):
        return True
    return None


class KeepReports:
    """A run that audits nothing writes no report: the last run's report.html and junit.xml stay."""

    @pytest.hookimpl(tryfirst=True)  # before junitxml and pytest-html write their files
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        config = session.config
        if not (config.option.collectonly or exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED):
            return
        # this very hook call goes on to the writers (pluggy calls the implementations it had when
        # the call began): point them at nothing, and unregister them for what follows
        kept = []
        junit_file = junit.write_nothing(config)
        if junit_file is not None:
            kept.append(junit_file)
        for page in html_stream.pages(config):
            page._generate_report = lambda *args, **kwargs: None
            config.pluginmanager.unregister(page)
            kept.append(str(page._report_path))
        self.kept = kept

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        kept = getattr(self, "kept", None)
        if kept:
            why = "only collected" if config.option.collectonly else "no test selected"
            if config.getoption("shard", None) and not config.option.collectonly:
                why = f"no host in shard {config.getoption('shard')} (its results.json says so)"
            terminalreporter.write_line(f"{why}: reports not written, the last run's stay ({', '.join(kept)})")
            if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and config.option.markexpr:
                terminalreporter.write_line(
                    f"-m {config.option.markexpr!r} selected no rule: profile markers are "
                    + ", ".join(p.marker for p in profiles.PROFILES.values())
                )


def configure(config: pytest.Config) -> None:
    check(config)
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(KeepReports(), "timesync-keep-reports")
