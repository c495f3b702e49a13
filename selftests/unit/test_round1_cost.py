"""Round 1 asks the host with fewer processes; what it learns stays what the slower questions gave."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from timesync_audit.facts import host
from timesync_audit.gather import script
from timesync_audit.gather.snapshot import Request
from timesync_audit.services import UNITS

# a systemctl as systemd 252 answers: `show` one block per name (in their order), `is-enabled`
# one line per name and a stop at the first name without a unit file
_FAKE_SYSTEMCTL = r"""#!/bin/sh
log=${FAKE_LOG:-/dev/null}
echo "$*" >> "$log"
cmd=$1; shift
case "$cmd" in
  show)
    while [ "$#" -gt 0 ]; do case "$1" in -p|--no-pager) [ "$1" = -p ] && shift; shift ;; *) break ;; esac; done
    first=1
    for u in "$@"; do
      [ -n "$first" ] || echo; first=
      eval "id=\${ID_$(echo "$u" | tr -c 'a-z0-9\n' _)-}"
      if [ -n "$id" ]; then
        printf 'Id=%s\nNames=%s %s\nLoadState=loaded\nActiveState=active\nSubState=running\n' "$id" "$id" "$u"
        printf 'FragmentPath=/lib/systemd/system/%s\nUnitFileState=enabled\n' "$id"
      else
        printf 'Id=%s\nNames=%s\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n' "$u" "$u"
        printf 'FragmentPath=\nUnitFileState=\n'
      fi
    done ;;
  is-enabled)
    for u in "$@"; do
      eval "st=\${EN_$(echo "$u" | tr -c 'a-z0-9\n' _)-}"
      [ -n "$st" ] || { echo "Failed to get unit file state for $u: No such file or directory" >&2; exit 1; }
      echo "$st"
    done ;;
esac
"""

_OLD_IS_ENABLED = (
    "for u in " + " ".join(UNITS) + "; do "
    'printf \'is-enabled\\t%s\\t%s\\n\' "$u" "$(systemctl is-enabled "$u" 2>/dev/null | head -n 1)"; done'
)


def _key(unit: str) -> str:
    return "".join(c if c.isalnum() and c.isascii() and not c.isupper() else "_" for c in unit)


@pytest.fixture
def fake_systemd(tmp_path: Path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "systemctl"
    tool.write_text(_FAKE_SYSTEMCTL)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return bindir


def _run(snippet: str, bindir: Path, env: dict[str, str], log: Path) -> str:
    # the units snippet asks PID 1's comm: where the test does not run under systemd, a copy of
    # the snippet reads a file that says it (the rest of the snippet is unchanged)
    comm = bindir.parent / "comm"
    comm.write_text("systemd\n")
    text = snippet.replace("rd /proc/1/comm", f"rd {comm}")
    full = {"PATH": f"{bindir}:/usr/bin:/bin", "FAKE_LOG": str(log), **env}
    done = subprocess.run(["/bin/sh", "-c", text], capture_output=True, text=True, timeout=30, env=full)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "loaded, enabled",
    [
        ({"chrony.service": "chrony.service", "chronyd.service": "chrony.service"}, {}),
        (
            {"chrony.service": "chrony.service", "chronyd.service": "chrony.service", "chrony-wait.service": "x"},
            {"chrony.service": "enabled", "chronyd.service": "alias", "chrony-wait.service": "disabled"},
        ),
        (
            {"ntpsec.service": "ntpsec.service", "ntp.service": "ntpsec.service", "ntpd.service": "ntpsec.service"},
            {"ntpsec.service": "enabled", "ntp.service": "alias", "ntpd.service": "alias"},
        ),
        # loaded (in memory) although is-enabled finds no unit file: is-enabled stops there, resumes after
        (
            {"chrony.service": "chrony.service", "ntp.service": "ntp.service", "chrony-wait.service": "c"},
            {"chrony.service": "masked", "chrony-wait.service": "static"},
        ),
        # no unit file anywhere, and a not-found name that is-enabled answers all the same
        ({}, {"systemd-timesyncd.service": "enabled"}),
    ],
)
def test_units_answers_match_one_is_enabled_per_name(fake_systemd, tmp_path, loaded, enabled):
    env = {f"ID_{_key(u)}": i for u, i in loaded.items()}
    env.update({f"EN_{_key(u)}": s for u, s in enabled.items()})
    log = tmp_path / "calls"
    new = _run(host._UNITS_SH, fake_systemd, env, log)
    calls = log.read_text().splitlines()
    old_log = tmp_path / "old-calls"
    old = _run(host._RD_SH + _OLD_IS_ENABLED, fake_systemd, env, old_log)
    # the answers one `is-enabled NAME` per name gives; for a name systemd says is not-found the
    # snippet does not ask (systemd found no unit file for it, so is-enabled has none either)
    expected = {u: (s if u in loaded else "") for u, s in host.parse_is_enabled(old).items()}
    assert host.parse_is_enabled(new) == expected
    assert list(host.parse_is_enabled(new)) == list(UNITS)  # one line per name, in their order
    assert host.parse_units(new) == host.parse_units(new.split("is-enabled\t", 1)[0])
    assert sum(c.startswith("show") for c in calls) == 1
    asked = [c for c in calls if c.startswith("is-enabled")]
    assert len(asked) <= 1 + sum(1 for u in loaded if u not in enabled)


def test_units_are_asked_per_name_when_the_blocks_do_not_pair(fake_systemd, tmp_path):
    # a show that says nothing (the bus is down): every name is asked, as before
    bindir = fake_systemd
    (bindir / "systemctl").write_text(_FAKE_SYSTEMCTL.replace("  show)\n", "  show) exit 1 ;;\n  never)\n", 1))
    env = {"EN_chrony_service": "enabled", "EN_chrony_wait_service": "disabled"}
    log = tmp_path / "calls"
    new = _run(host._UNITS_SH, bindir, env, log)
    answers = {"chrony.service": "enabled", "chrony-wait.service": "disabled"}
    assert host.parse_is_enabled(new) == {u: answers.get(u, "") for u in UNITS}


def test_a_missing_tool_gives_the_frames_the_command_gives(tmp_path):
    snippet = "command -v tsa-no-such-tool >/dev/null 2>&1 || exit 127; tsa-no-such-tool -x"
    request = Request(commands=(("tool", snippet),))
    marker = script.new_marker()
    text = script.render(request, marker)
    assert "absentcmd tool" in text
    out = subprocess.run(["/bin/sh", "-s"], input=text.encode(), capture_output=True, timeout=30).stdout
    forced = text.replace("if command -v tsa-no-such-tool >/dev/null 2>&1; then ", "")
    forced = forced.replace("; else absentcmd tool; fi", "")
    out_forced = subprocess.run(["/bin/sh", "-s"], input=forced.encode(), capture_output=True, timeout=30).stdout
    assert out == out_forced
    snap = script.parse(out, marker, request)
    assert (snap.commands["tool"].rc, snap.commands["tool"].stdout) == (127, "")


def test_a_present_tool_runs_the_whole_snippet(tmp_path):
    request = Request(commands=(("tool", "command -v sh >/dev/null 2>&1 || exit 127; echo here; exit 3"),))
    marker = script.new_marker()
    snap = script.parse(
        subprocess.run(["/bin/sh", "-s"], input=script.render(request, marker).encode(), capture_output=True).stdout,
        marker,
        request,
    )
    assert (snap.commands["tool"].rc, snap.commands["tool"].stdout) == (3, "here\n")


def test_comm_is_read_without_a_process_and_as_cat_reads_it(tmp_path):
    cases = {
        "plain": b"chronyd\n",
        "spaces": b" chronyd \n",
        "two-lines": b"chronyd\nx\n",
        "trailing-newlines": b"chronyd\n\n\n",
        "no-newline": b"chronyd",
        "empty": b"",
        "backslash": b"a\\tb\n",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        sh = (
            host._RD_SH
            + 'rd "$1"; s=$?; printf "%s|%s|" "$s" "$v"; v=$(cat "$1" 2>/dev/null); printf "%s|%s" "$?" "$v"'
        )
        out = subprocess.run(["/bin/sh", "-c", sh, "sh", str(path)], capture_output=True, timeout=10).stdout
        mine, cats = out.split(b"|", 2)[:2], out.split(b"|", 2)[2].split(b"|", 1)
        assert mine == cats, name
    sh = host._RD_SH + 'rd /nonexistent/comm; echo "$?:$v"'
    assert subprocess.run(["/bin/sh", "-c", sh], capture_output=True, text=True).stdout == "1:\n"
    assert os.path.exists("/bin/sh")
