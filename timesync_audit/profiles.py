"""Baseline profiles: which rules a baseline selects and the variable values it sets.

One data source: tests/profiles.yaml gives each profile's name, title and variable values
(rules.md section 6), and each rule's data file lists the profiles that select it (`profiles:`,
rules.md section 7). One profile is chosen with `--profile NAME`: the rule tests it does not
select are deselected and its variables become the run's policy, below inventory variables and
--policy. Every rule test also carries one marker per profile that selects it (`-m rhel9_stig`),
for pytest's own selection; a marker selects rules only. The README's rule and profile tables
are generated from the same data (`python -m timesync_audit.profiles README.md` rewrites them).
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from . import rules
from .junit import junit_property
from .rules import meta_of

#: every profile's name, title and variable values
PROFILES_FILE = rules.SUITE / "profiles.yaml"


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    title: str
    rules: frozenset[str]
    variables: Mapping[str, Any]

    @property
    def marker(self) -> str:
        """The pytest marker of the profile's rules: rhel9-pci-dss -> rhel9_pci_dss."""
        return self.name.replace("-", "_")


def load() -> dict[str, Profile]:
    """The profiles of tests/profiles.yaml, each with the rules whose data names it."""
    data = rules.load_data(PROFILES_FILE)
    selected: dict[str, set[str]] = {name: set() for name in data}
    for rule_id, meta in rules.catalog().items():
        for name in meta.profiles:
            if name not in selected:
                raise ValueError(f"rule {rule_id}: profile {name!r} is not in {PROFILES_FILE}")
            selected[name].add(rule_id)
    return {
        name: Profile(name, spec["title"], frozenset(selected[name]), dict(spec.get("variables") or {}))
        for name, spec in data.items()
    }


PROFILES: dict[str, Profile] = load()


def _values(profile: Profile, none: str = "no variables") -> str:
    return ", ".join(f"{k}={v}" for k, v in profile.variables.items()) or none


def table_markdown() -> str:
    """The README's profile table, generated from the data (a selftest keeps the README in step)."""
    order = list(rules.catalog())
    rows = ["| `--profile` | `-m` marker | title | rules | values it sets |", "|---|---|---|---|---|"]
    for p in PROFILES.values():
        selected = ", ".join(sorted(p.rules, key=order.index))
        rows.append(f"| `{p.name}` | `{p.marker}` | {p.title} | {selected} | {_values(p, 'none')} |")
    return "\n".join(rows)


#: the README's generated sections: marker comment name -> its text
README_SECTIONS = {"rule table": rules.table_markdown, "profile table": table_markdown}


def _section(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- {name}:[^\n]*-->\n)(.*?)(<!-- end of {name} -->)", re.S)


def readme_section(text: str, name: str) -> str | None:
    """The lines between `<!-- NAME: ... -->` and `<!-- end of NAME -->`, or None."""
    found = _section(name).search(text)
    return found.group(2).removesuffix("\n") if found else None


def with_generated_sections(text: str) -> str:
    """README text with every generated section replaced by what the data says now."""
    for name, generate in README_SECTIONS.items():
        if readme_section(text, name) is None:
            raise ValueError(f"README has no '<!-- {name}: ... -->' ... '<!-- end of {name} -->' section")
        # sub() calls the lambda now, within this iteration
        text = _section(name).sub(lambda m: m.group(1) + generate() + "\n" + m.group(3), text, count=1)  # noqa: B023
    return text


def add_options(group) -> None:
    group.addoption(
        "--profile",
        default=None,
        metavar="NAME",
        help="run only the rules of a baseline profile and apply its variable values "
        f"({', '.join(PROFILES)}; 'list' shows them)",
    )


def listing() -> str:
    lines = ["known profiles (--profile NAME, or -m MARKER to select the rules only):"]
    for p in PROFILES.values():
        lines.append(f"  {p.name:<16} -m {p.marker:<16} {p.title}: {len(p.rules)} rules; {_values(p)}")
    return "\n".join(lines)


def by_name(name: str) -> Profile:
    try:
        return PROFILES[name.strip().lower()]
    except KeyError:
        raise pytest.UsageError(
            f"--profile: unknown profile {name!r} (known: {', '.join(PROFILES)}; --profile list describes them)"
        ) from None


def selected(config: pytest.Config) -> Profile | None:
    """The profile chosen for this run, or None (all rules, SSG defaults)."""
    name = config.getoption("profile", None)
    if not name or name.strip().lower() == "list":
        return None
    return by_name(name)


# -- plugin hooks (registered by plugin.pytest_configure) ---------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    for p in PROFILES.values():
        config.addinivalue_line("markers", f"{p.marker}: a rule selected by the {p.title} profile")
    name = config.getoption("profile", None)
    if name and name.strip().lower() == "list":
        sys.stdout.write(listing() + "\n")
        sys.stdout.flush()
        pytest.exit("profiles listed", returncode=0)
    profile = selected(config)  # an unknown name stops the run here, before anything else
    if profile is not None:
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        config.stash.setdefault(metadata_key, {})["Profile"] = f"{profile.name} ({profile.title})"


def pytest_report_header(config: pytest.Config) -> str | None:
    profile = selected(config)
    if profile is None:
        return None
    return f"profile: {profile.name} ({profile.title}): {len(profile.rules)} rules; {_values(profile)}"


def pytest_itemcollected(item: pytest.Item) -> None:
    meta = meta_of(item)
    if meta is None:
        return
    for p in PROFILES.values():
        if meta.rule_id in p.rules:
            item.add_marker(p.marker)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    profile = selected(config)
    if profile is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        meta = meta_of(item)
        (drop if meta is not None and meta.rule_id not in profile.rules else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_sessionstart(session: pytest.Session) -> None:
    profile = selected(session.config)
    if profile is not None:
        junit_property(session.config, "profile", profile.name)


if __name__ == "__main__":  # python -m timesync_audit.profiles README.md: regenerate its tables
    readme = pathlib.Path(sys.argv[1])
    readme.write_text(with_generated_sections(readme.read_text()))
