"""The recorded timesyncd.conf corpus, re-run against the real systemd-timesyncd of the lab image.

selftests/recorded/timesyncd-config/cases.yaml holds cases (configuration files, with modes and
owners where they matter) and what the real daemon made of each: its servers, RootDistanceMaxSec
and poll intervals (read over D-Bus) and the warnings it logged. The unit test
selftests/unit/test_timesyncd_config_model.py holds the parser to that record; this test holds the
record to the daemon, so neither can drift.

Every case runs in one throwaway container of the lab's timesyncd image (Debian 12, systemd 252),
without network and without added capabilities: a system D-Bus is started in it, and for each case
the files are laid down and systemd-timesyncd is run as systemd-timesync (as its unit runs it) with
debug logging until its D-Bus properties answer.

Re-record (rewrites the `observed` part of every case, keeps the cases):

    .venv/bin/python selftests/e2e/test_timesyncd_config_live.py --record
"""

from __future__ import annotations

import codecs
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CASES = ROOT / "selftests" / "recorded" / "timesyncd-config" / "cases.yaml"
IMAGE = "tsa-lab-timesyncd:latest"
CONTAINER = "tsa-timesyncdconf-live"
DAEMON_USER = "systemd-timesync"

# the lab fixture starts the engine and builds the images these tests run their own containers from
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("lab")]

#: the places a case may write; reset before every case
_RESET = (
    "/etc/systemd/timesyncd.conf",
    "/etc/systemd/timesyncd.conf.d",
    "/run/systemd/timesyncd.conf.d",
    "/usr/local/lib/systemd/timesyncd.conf.d",
    "/usr/lib/systemd/timesyncd.conf.d",
    "/srv/*",
)

_RUN = r"""#!/bin/sh
set -u
mkdir -p /run/dbus
dbus-daemon --system --fork >/dev/null || exit 90
i=0; until [ -S /run/dbus/system_bus_socket ]; do i=$((i+1)); [ $i -gt 100 ] && exit 91; sleep 0.05; done
cp /etc/systemd/timesyncd.conf /root/stock-timesyncd.conf
P="org.freedesktop.timesync1 /org/freedesktop/timesync1 org.freedesktop.timesync1.Manager"
reset() {
  chmod 0755 /etc/systemd
  rm -rf %(reset)s
  cp /root/stock-timesyncd.conf /etc/systemd/timesyncd.conf
  chmod 0644 /etc/systemd/timesyncd.conf
}
for d in /tsa/cases/*/; do
  n=$(basename "$d"); out=/out/$n; mkdir -p "$out"
  reset
  . "$d/setup.sh"
  SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_COLOR=1 SYSTEMD_COLORS=256 \
    setpriv --reuid=%(user)s --regid=%(user)s --init-groups /lib/systemd/systemd-timesyncd >"$out/log" 2>&1 &
  pid=$!
  i=0
  until busctl --system --timeout=2 get-property $P RootDistanceMaxUSec >/dev/null 2>&1; do
    i=$((i+1)); [ $i -gt 200 ] && break; sleep 0.05
  done
  busctl --system --timeout=2 --json=short get-property $P SystemNTPServers FallbackNTPServers \
    RootDistanceMaxUSec PollIntervalMinUSec PollIntervalMaxUSec >"$out/props" 2>"$out/props.err"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  i=0; while busctl --system --timeout=1 status org.freedesktop.timesync1 >/dev/null 2>&1; do
    i=$((i+1)); [ $i -gt 100 ] && break; sleep 0.05
  done
done
chmod -R a+rX /out
""" % {"reset": " ".join(_RESET), "user": DAEMON_USER}

# console colours of systemd's log levels (SYSTEMD_LOG_COLOR=1 SYSTEMD_COLORS=256): each line's level
_LEVELS = (
    ("\x1b[0;1;31m", "error"),
    ("\x1b[0;1;38;5;185m", "warning"),
    ("\x1b[0;1;33m", "warning"),
    ("\x1b[0;1;39m", "notice"),
    ("\x1b[0;38;5;245m", "debug"),
    ("\x1b[0;2;37m", "debug"),
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: debug lines that tell what the configuration did (kept as a trace for the reader of the record)
_TRACE = re.compile(
    r"Added new|Removed server|configuration file|Skipping overridden|Failed to search for files|"
    r"Failed to open directory|masked|Failed to stat"
)


def file_bytes(spec) -> bytes | None:
    """The bytes a case's file spec stands for (None: not a regular file)."""
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if not isinstance(spec, dict) or spec.get("directory") or "symlink" in spec:
        return None
    if "bytes" in spec:
        return codecs.escape_decode(spec["bytes"].encode("ascii"))[0]
    if "generate" in spec:
        return "".join(text * count for text, count in spec["generate"]).encode("utf-8")
    return spec.get("content", "").encode("utf-8")


def _setup_script(case: dict, case_dir: pathlib.Path) -> str:
    lines, modes = [], []
    for k, (path, spec) in enumerate((case.get("files") or {}).items()):
        q = _sh(path)
        lines.append(f"rm -rf {q}")
        if spec is None:
            continue
        lines.append(f"mkdir -p {_sh(str(pathlib.PurePosixPath(path).parent))}")
        if isinstance(spec, dict) and spec.get("directory"):
            lines.append(f"mkdir -p {q}; chmod 0755 {q}")
        elif isinstance(spec, dict) and "symlink" in spec:
            lines.append(f"ln -s {_sh(spec['symlink'])} {q}")
        else:
            blob = case_dir / f"blob-{k}"
            blob.write_bytes(file_bytes(spec))
            lines.append(f"cp /tsa/cases/{case_dir.name}/{blob.name} {q}; chmod 0644 {q}")
        if isinstance(spec, dict) and "mode" in spec:
            modes.append(f"chmod {spec['mode']} {q}")
        if isinstance(spec, dict) and "owner" in spec:
            modes.append(f"chown {_sh(spec['owner'])} {q}")
    return "\n".join(lines + modes) + "\n"


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _parse_log(raw: bytes) -> tuple[list[str], list[str]]:
    """(warnings: 'level: text' at warning level or above, trace: the configuration's debug lines),
    as logged before the daemon says it is running."""
    warnings, trace = [], []
    for line in raw.decode("utf-8", "backslashreplace").split("\n"):
        level = "info"
        for code, name in _LEVELS:
            if line.startswith(code):
                level = name
                break
        text = _ANSI.sub("", line).rstrip("\r")
        if text.startswith("systemd-timesyncd running as pid"):
            break
        if level in ("error", "warning"):
            warnings.append(f"{level}: {text}")
        elif level == "debug" and _TRACE.search(text):
            trace.append(text)
    return warnings, trace


def _parse_props(text: str) -> dict:
    values = [json.loads(line)["data"] for line in text.splitlines() if line.strip()]
    if len(values) != 5:
        return {"error": "no D-Bus answer"}
    names = (
        "system_servers",
        "fallback_servers",
        "root_distance_max_usec",
        "poll_interval_min_usec",
        "poll_interval_max_usec",
    )
    return dict(zip(names, values))


def docker_ready() -> str | None:
    """Why the live corpus cannot run here, or None."""
    if not shutil.which("docker"):
        return "docker is not installed"
    info = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, text=True)
    if info.returncode != 0:
        if "no such image" in info.stderr.lower():
            return f"image {IMAGE} is not built (lab/lab.sh builds it)"
        return f"docker is not usable: {info.stderr.strip()[:200]}"
    return None


def observe(cases: list[dict]) -> list[dict]:
    """What the real daemon makes of each case, all cases in one container."""
    with tempfile.TemporaryDirectory(prefix="tsa-timesyncd-") as tmp:
        base = pathlib.Path(tmp)
        (base / "in" / "cases").mkdir(parents=True)
        (base / "out").mkdir()
        for n, case in enumerate(cases):
            case_dir = base / "in" / "cases" / f"{n:03d}"
            case_dir.mkdir()
            (case_dir / "setup.sh").write_text(_setup_script(case, case_dir))
        (base / "in" / "run.sh").write_text(_RUN)
        subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True)
        try:
            proc = subprocess.run(
                [
                    "docker",
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "--name",
                    CONTAINER,
                    "-v",
                    f"{base / 'in'}:/tsa:ro",
                    "-v",
                    f"{base / 'out'}:/out",
                    "--entrypoint",
                    "/bin/sh",
                    IMAGE,
                    "/tsa/run.sh",
                ],
                capture_output=True,
                text=True,
                timeout=900,
            )
        finally:
            subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(f"the recording container failed ({proc.returncode}): {proc.stderr[-2000:]}")
        results = []
        for n, _ in enumerate(cases):
            out = base / "out" / f"{n:03d}"
            observed = _parse_props((out / "props").read_text())
            observed["warnings"], observed["trace"] = _parse_log((out / "log").read_bytes())
            results.append(observed)
        return results


#: what must stay as recorded (the trace is for the reader)
COMPARED = (
    "system_servers",
    "fallback_servers",
    "root_distance_max_usec",
    "poll_interval_min_usec",
    "poll_interval_max_usec",
    "warnings",
)


def load_cases() -> list[dict]:
    return yaml.safe_load(CASES.read_text())["cases"]


def test_recorded_corpus_matches_the_real_daemon():
    reason = docker_ready()
    if reason:
        pytest.skip(f"the real systemd-timesyncd cannot be run: {reason}")
    cases = load_cases()
    drift = []
    for case, now in zip(cases, observe(cases)):
        recorded = case["observed"]
        for key in COMPARED:
            if recorded.get(key) != now.get(key):
                drift.append(f"{case['name']}: {key}: recorded {recorded.get(key)!r}, now {now.get(key)!r}")
    assert not drift, "the real daemon no longer does what was recorded:\n" + "\n".join(drift)


# ---- re-recording ---------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, data):
    style = '"' if ("\n" in data or any(not c.isprintable() for c in data)) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _list(dumper, data):
    flow = bool(data) and all(isinstance(x, str) and " " not in x and x.isprintable() for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)

HEADER = """\
# systemd-timesyncd.conf as the real daemon reads it: systemd-timesyncd 252.39-1~deb12u2 (Debian 12),
# run as systemd-timesync the way its unit runs it, in the lab's timesyncd image (/lib is a symlink
# to usr/lib there). Each case lays files over the stock ones (the package's timesyncd.conf, no
# drop-in); a file is text, or {content, mode, owner}, {bytes: Python-escaped bytes},
# {generate: [[text, count]...]}, {symlink: target}, {directory: true, mode}, or null (removed).
# `observed` is what the daemon did: SystemNTPServers, FallbackNTPServers, RootDistanceMaxUSec,
# PollIntervalMin/MaxUSec over D-Bus; `warnings` its log lines at warning level and above, in order,
# before it reports running; `trace` its debug lines about the configuration.
# Written by selftests/e2e/test_timesyncd_config_live.py --record; see docs/timesyncd-config.md.
"""


def record(path: pathlib.Path = CASES) -> None:
    cases = load_cases()
    for case, now in zip(cases, observe(cases)):
        case["observed"] = now
    path.write_text(
        HEADER
        + yaml.dump(
            {"cases": cases}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False
        )
    )


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: test_timesyncd_config_live.py --record")
    problem = docker_ready()
    if problem:
        sys.exit(problem)
    record()
