"""timesyncd.conf as systemd-timesyncd reads it: main file, then drop-ins, with provenance.

- Main file: /etc/systemd/timesyncd.conf. systemd >= 254 (config_parse_standard_file_with_dropins)
  also looks in /run, /usr/local/lib and /usr/lib when /etc has none; older versions read /etc only.
- Drop-ins: `timesyncd.conf.d/*.conf` in /etc/systemd, /run/systemd, /usr/local/lib/systemd,
  /usr/lib/systemd (and /lib/systemd where /usr is split), merged by file name: a file in an earlier
  directory masks the same name in a later one (a symlink to /dev/null, or an empty file, masks it
  for good); applied after the main file, sorted by file name.
- Only keys inside `[Time]` count; a key before any section, or in another section, is ignored.
  Keys are case-sensitive (`ntp=` is an unknown key). `#` and `;` start comment lines.
- `NTP=`/`FallbackNTP=` values accumulate (whitespace-separated words; duplicates dropped; words that
  are neither a DNS name nor an address ignored); an empty assignment clears the list.
- Time spans (`RootDistanceMaxSec=`) are parsed like systemd's parse_sec(): "5", "5s", "1min 30s",
  "1.5min", "infinity"; a value that does not parse is ignored (the previous one stays).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import math
import posixpath
import re

from ..gather.snapshot import Reader, Request
from .provenance import Line
from .systemd_unit import Assignment, parse_ini

CONF_DIRS = ("/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd", "/lib/systemd")
MAIN_NAME = "timesyncd.conf"
DROPIN_DIRS = tuple(posixpath.join(d, "timesyncd.conf.d") for d in CONF_DIRS)
SECTION = "Time"
#: systemd version from which the main file is also searched outside /etc
MAIN_SEARCH_SINCE = 254


def request() -> Request:
    return Request(files=tuple(posixpath.join(d, MAIN_NAME) for d in CONF_DIRS),
                   globs=tuple(posixpath.join(d, "*.conf") for d in DROPIN_DIRS))


@dataclasses.dataclass
class TimesyncdConfig:
    main: str | None = None                 # the main file read, if any
    files_read: list[str] = dataclasses.field(default_factory=list)
    masked: list[str] = dataclasses.field(default_factory=list)  # "path (masked by path)"
    assignments: list[Assignment] = dataclasses.field(default_factory=list)  # inside [Time], in order
    ignored: list[str] = dataclasses.field(default_factory=list)  # outside [Time] etc., with why
    unreadable: list[str] = dataclasses.field(default_factory=list)

    def all(self, key: str) -> list[Assignment]:
        return [a for a in self.assignments if a.key == key]

    def servers(self, key: str = "NTP") -> tuple[list[tuple[str, Line]], list[str], Assignment | None]:
        """(effective servers with the line that added each, words ignored with why, the reset that
        cleared earlier values or None)."""
        servers: list[tuple[str, Line]] = []
        ignored: list[str] = []
        reset = None
        for a in self.all(key):
            if a.value == "":
                servers, reset = [], a
                continue
            for word in a.value.split():
                if not valid_server(word):
                    ignored.append(f"{a.line} ('{word}' is neither a host name nor an address: timesyncd ignores it)")
                elif word not in [s for s, _ in servers]:
                    servers.append((word, a.line))
        return servers, ignored, reset

    def last_timespan(self, key: str) -> tuple[float | None, Assignment | None, list[str]]:
        """(seconds, deciding assignment, ignored values): the last value that parses wins."""
        value, chosen, ignored = None, None, []
        for a in self.all(key):
            try:
                seconds = parse_timespan(a.value)
            except ValueError as exc:
                ignored.append(f"{a.line} ignored by timesyncd: {exc}")
                continue
            value, chosen = seconds, a
        return value, chosen, ignored


_LABEL_BAD = re.compile(r"[\x00-\x20\x7f]")


def valid_server(word: str) -> bool:
    """systemd's dns_name_is_valid_or_address(), closely enough: an IP address, or a name of labels
    of 1..63 characters (no blanks or control characters), at most 253 in all."""
    try:
        ipaddress.ip_address(word)
        return True
    except ValueError:
        pass
    name = word[:-1] if word.endswith(".") else word
    if not name or len(name) > 253 or _LABEL_BAD.search(name):
        return False
    return all(0 < len(label) <= 63 for label in name.split("."))


# parse_time()'s suffix table, in systemd's order (the first prefix that matches wins)
_UNITS = (("seconds", 1.0), ("second", 1.0), ("sec", 1.0), ("s", 1.0), ("minutes", 60.0), ("minute", 60.0),
          ("min", 60.0), ("months", 2629800.0), ("month", 2629800.0), ("M", 2629800.0), ("msec", 1e-3),
          ("ms", 1e-3), ("m", 60.0), ("hours", 3600.0), ("hour", 3600.0), ("hr", 3600.0), ("h", 3600.0),
          ("days", 86400.0), ("day", 86400.0), ("d", 86400.0), ("weeks", 604800.0), ("week", 604800.0),
          ("w", 604800.0), ("years", 31557600.0), ("year", 31557600.0), ("y", 31557600.0), ("usec", 1e-6),
          ("us", 1e-6), ("\u03bcs", 1e-6), ("\u00b5s", 1e-6))
_WS = " \t\n\r"


def parse_timespan(text: str) -> float:
    """Seconds, as systemd's parse_sec() reads a time span (a plain number is seconds)."""
    p = text.lstrip(_WS)
    if p.startswith("infinity"):
        if p[len("infinity"):].strip(_WS):
            raise ValueError(f"'{text}' is not a time span")
        return math.inf
    total, something = 0.0, False
    while True:
        p = p.lstrip(_WS)
        if not p:
            if not something:
                raise ValueError(f"'{text}' is not a time span" if text.strip() else "empty value")
            return total
        if p[0] == "-":
            raise ValueError(f"'{text}': negative time span")
        m = re.match(r"\+?(\d*)", p)
        digits = m.group(1)
        rest = p[m.end():]
        frac = ""
        if rest.startswith("."):
            f = re.match(r"\.(\d*)", rest)
            frac, rest = f.group(1), rest[f.end():]
            if not frac:
                raise ValueError(f"'{text}' is not a time span")
        elif not digits:
            raise ValueError(f"'{text}' is not a time span")
        after = rest.lstrip(_WS)
        multiplier = 1.0
        for suffix, factor in _UNITS:
            if after.startswith(suffix):
                multiplier, after = factor, after[len(suffix):]
                break
        else:
            if rest and len(after) == len(rest):  # "12x", "12.34.56": no unit and nothing skipped
                raise ValueError(f"'{text}' is not a time span")
        total += int(digits or "0") * multiplier + (float("0." + frac) * multiplier if frac else 0.0)
        something = True
        p = after


def parse(reader: Reader, systemd_version: str = "") -> tuple[TimesyncdConfig, bool]:
    """(config, complete): complete is False while the reader lacks files."""
    config = TimesyncdConfig()
    complete = True
    candidates = [posixpath.join(CONF_DIRS[0], MAIN_NAME)]
    if _major(systemd_version) is None or _major(systemd_version) >= MAIN_SEARCH_SINCE:
        candidates += [posixpath.join(d, MAIN_NAME) for d in CONF_DIRS[1:]]
    for path in candidates:
        record = reader.file(path)
        if record is None:
            complete = False
            break
        if not record.exists:
            continue
        if record.link_target == "/dev/null":
            config.masked.append(f"{path} (symlink to /dev/null)")
            break
        _read(config, path, record)
        config.main = path
        break
    chosen: dict[str, str] = {}
    for directory in DROPIN_DIRS:
        matches = reader.glob(posixpath.join(directory, "*.conf"))
        if matches is None:
            complete = False
            continue
        for match in matches:
            base = posixpath.basename(match)
            if base in chosen:
                if posixpath.realpath(posixpath.dirname(chosen[base])) != posixpath.realpath(directory):
                    config.masked.append(f"{match} (masked by {chosen[base]})")
                continue
            chosen[base] = match
    for base in sorted(chosen):
        record = reader.file(chosen[base])
        if record is None:
            complete = False
            continue
        if record.link_target == "/dev/null":
            config.masked.append(f"{record.path} (symlink to /dev/null)")
            continue
        _read(config, record.path, record)
    return config, complete


def _read(config: TimesyncdConfig, path: str, record) -> None:
    if record.content is None:
        if record.state == "unreadable":
            config.unreadable.append(path)
        return
    config.files_read.append(path)
    for a in parse_ini(path, record.content):
        if a.section == SECTION:
            config.assignments.append(a)
        elif a.section == "":
            config.ignored.append(f"{a.line} (before any section: timesyncd ignores it)")
        else:
            config.ignored.append(f"{a.line} (in [{a.section}], not [{SECTION}]: timesyncd ignores it)")


def _major(version: str) -> int | None:
    m = re.match(r"(?:\d+:)?(\d+)", version or "")
    return int(m.group(1)) if m else None
