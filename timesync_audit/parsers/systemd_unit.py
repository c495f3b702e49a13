"""A systemd unit as systemd loads it: fragment, then drop-ins, with provenance.

The fragment is the first file found along the unit path; drop-ins
(`NAME.d/*.conf`, also under the unit's aliases) are merged by file name, a
file in an earlier directory masking the same name in a later one, and
applied in file-name order. For list settings such as ExecStart= an empty
assignment resets the list.
"""

from __future__ import annotations

import dataclasses
import posixpath
import shlex

from ..gather.snapshot import Reader, Request
from .provenance import Line

UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)


def unit_request(names: tuple[str, ...]) -> Request:
    files = tuple(posixpath.join(d, n) for n in names for d in UNIT_DIRS)
    globs = tuple(posixpath.join(d, n + ".d", "*.conf") for n in names for d in UNIT_DIRS)
    return Request(files=files, globs=globs)


@dataclasses.dataclass(frozen=True)
class Assignment:
    section: str
    key: str
    value: str
    line: Line


@dataclasses.dataclass
class Unit:
    name: str
    fragment: str | None = None
    masked: bool = False
    dropins: list[str] = dataclasses.field(default_factory=list)
    assignments: list[Assignment] = dataclasses.field(default_factory=list)
    unreadable: list[str] = dataclasses.field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.fragment is not None and not self.masked

    def values(self, section: str, key: str) -> list[Assignment]:
        """Effective list value: assignments after the last empty one."""
        result: list[Assignment] = []
        for a in self.assignments:
            if a.section == section and a.key == key:
                result = [] if a.value == "" else result + [a]
        return result

    def last(self, section: str, key: str) -> Assignment | None:
        found = [a for a in self.assignments if a.section == section and a.key == key]
        return found[-1] if found else None


def parse_ini(path: str, content: str) -> list[Assignment]:
    result: list[Assignment] = []
    section = ""
    pending: tuple[int, str] | None = None
    for lineno, raw in enumerate(content.split("\n"), 1):
        if pending is not None:
            start, text = pending
            text = text + " " + raw.strip()
            lineno_used = start
        else:
            text, lineno_used = raw.strip(), lineno
            if not text or text[0] in "#;":
                continue
        if text.endswith("\\"):
            pending = (lineno_used, text[:-1].rstrip())
            continue
        pending = None
        if text.startswith("[") and text.endswith("]"):
            section = text[1:-1]
            continue
        key, sep, value = text.partition("=")
        if sep:
            result.append(Assignment(section, key.strip(), value.strip(), Line(path, lineno_used, text)))
    return result


def load(name: str, reader: Reader, aliases: tuple[str, ...] = ()) -> tuple[Unit, bool]:
    """(unit, complete): complete is False while the reader lacks files."""
    unit = Unit(name)
    complete = True
    for directory in UNIT_DIRS:
        record = reader.file(posixpath.join(directory, name))
        if record is None:
            complete = False
            continue
        if not record.exists or unit.fragment is not None:
            continue
        if record.link_target == "/dev/null" or (record.stat and record.stat.kind == "character special file"):
            unit.fragment, unit.masked = record.path, True
            break
        unit.fragment = record.path
        if record.content is None:
            unit.unreadable.append(record.path)
        else:
            unit.assignments += parse_ini(record.path, record.content)
    chosen: dict[str, str] = {}
    for n in (name,) + aliases:
        for directory in UNIT_DIRS:
            matches = reader.glob(posixpath.join(directory, n + ".d", "*.conf"))
            if matches is None:
                complete = False
                continue
            for match in matches:
                chosen.setdefault(posixpath.basename(match), match)
    for base in sorted(chosen):
        record = reader.file(chosen[base])
        if record is None:
            complete = False
            continue
        if record.link_target == "/dev/null" or record.content is None:
            if record.state == "unreadable":
                unit.unreadable.append(record.path)
            continue
        unit.dropins.append(record.path)
        unit.assignments += parse_ini(record.path, record.content)
    return unit, complete


def exec_argv(value: str, environment: dict[str, str]) -> list[str]:
    """Words of an Exec*= value with $VAR split into words and ${VAR} kept whole."""
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        words = value.split()
    argv: list[str] = []
    for word in words:
        if word.startswith("${") and word.endswith("}"):
            argv.append(environment.get(word[2:-1], ""))
        elif word.startswith("$") and word[1:].replace("_", "").isalnum():
            argv += environment.get(word[1:], "").split()
        else:
            argv.append(word)
    if argv:
        argv[0] = argv[0].lstrip("@-:+!")
    return [a for a in argv if a != ""]
