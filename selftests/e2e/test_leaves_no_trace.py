"""The audit is read-only and leaves no trace on the hosts it audits, over every backend.

For each backend (docker://, paramiko://, ssh://) the suite is run, as a user runs it, over three
lab hosts (systemd-timesyncd, and two chrony hosts). Around the run, each container is fingerprinted
from inside (`docker exec`): every path of every mount but /proc and /sys (the overlay root with
/tmp and /var/tmp, the tmpfs /run, /run/lock, /dev, /dev/shm ...) with type, mode, owner, group,
size, inode, mtime and ctime, and the process list. Both must be the same before and after, except
what changes with no audit at all. That was measured on the lab (fingerprints some minutes apart
with nothing run, and around a bare `ssh host true` and a paramiko login running `true`), and each
exclusion below says what changed and why. On the controller, no ssh master, `docker exec` or ssh
process for these hosts and no ControlPath socket may be left behind.

Other tests may use the lab at the same time (logins, chronyc through `docker exec`): what they do
on these hosts is covered by the same exclusions (a login's records, chronyc's socket directory),
and a process counts as left behind only if it is still there some seconds later. A systemd timer
that fires during a run (the host's own job, e.g. systemd-tmpfiles-clean 15 minutes after boot)
makes that run inconclusive: it is run again once.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import glob
import os
import pathlib
import re
import subprocess
import time

import pytest
from runner import SSH_CONFIG, container, run_suite

pytestmark = pytest.mark.e2e

#: systemd-timesyncd (the host where timedatectl could D-Bus-activate systemd-timedated) and two
#: chrony hosts (chronyc over chronyd's Unix socket; one with cmdport 0 and a plain source beside
#: the NTS one). ntpsec is not among them: other tests plant files on it.
HOSTS = ("timesyncd", "chrony-weak", "chrony-mixed")
BACKENDS = ("docker", "paramiko", "ssh")
POLICY = ["--policy", "approved_servers=nts-server,nts-server2"]
#: how long a new process must stay to count as left behind (another test's passing login or
#: chronyc is gone by then; a D-Bus-activated systemd-timedated stays 30 s, an ssh master 60 s)
LINGER = 6.0

# ------------------------------------------------------------------------------------------------
# What changes on its own. (pattern, what is ignored, why). "entry": the path may appear, vanish or
# change; "times": its mtime and ctime may change, nothing else (a file left in a directory whose
# times are ignored is still its own line, and caught).

ENTRY, TIMES = "entry", "times"

#: measured with no audit: fingerprints 2 and 5 minutes apart on idle hosts
ON_THEIR_OWN = (
    (
        r"/(var|run)/log/journal/.+",
        ENTRY,
        "journald's files: every log line of every daemon (timesyncd logs `Failed to call clock_adjtime()` "
        "at each poll; sshd logs each login) and journal rotation",
    ),
    (
        r"/var/lib/systemd/timesync/clock",
        TIMES,
        "timesyncd touches it every 60 s (SaveIntervalSec) and at each synchronization",
    ),
    (
        r"/run/systemd/timesync/synchronized",
        TIMES,
        "timesyncd touches it at each synchronization (32 s, then 64 s ... 34 min apart)",
    ),
    (
        r"/var/lib/chrony/chrony\.drift(\.tmp)?",
        ENTRY,
        "chronyd rewrites its driftfile at most once an hour (reference.c: temporary file renamed); "
        "not seen in a few minutes, but it would make any run near the hour fail",
    ),
    (r"/var/lib/chrony", TIMES, "the driftfile's rename (above)"),
)

#: measured around a bare `ssh host true` and a paramiko login running `true`: the SSH server's
#: records of a login, not the audit's. The audit needs a login; what sshd and PAM do for any login is
#: theirs. The lab's sshd allocates no pty for a command and has no pam_systemd, so it writes no
#: wtmp/lastlog/utmp record, no /run/user/<uid> and no logind session; hosts that have them do, for
#: any login: excluded by name.
LOGIN = (
    (r"/run/motd\.dynamic", ENTRY, "pam_motd regenerates it at each login (a new file renamed over it)"),
    (r"/run", TIMES, "that rename of /run/motd.dynamic"),
    (r"/var/log/(wtmp|btmp|lastlog)|/run/utmp", ENTRY, "login records (sshd, pam_lastlog; pty sessions)"),
    (r"/run/user(/.*)?", ENTRY, "logind's runtime directory of the logged-in user (pam_systemd)"),
    (r"/run/systemd/(sessions|users)(/.*)?", ENTRY, "logind's session and user records (pam_systemd)"),
)

#: the one change the audit itself makes, measured with a bare `chronyc -c -n tracking`: chronyc binds
#: its client socket in chronyd's socket directory (/run/chrony/chronyc.<pid>.sock) and removes it when
#: it exits. The socket is gone, the directory's times are not. The audit needs chronyc (authdata is
#: answered only on the Unix socket), so only the directory's times are ignored: a socket left behind
#: is still caught.
CHRONYC = ((r"/run/chrony", TIMES, "chronyc's own client socket, created and removed by every query"),)

RULES = [(re.compile(pattern), ignore, why) for pattern, ignore, why in ON_THEIR_OWN + LOGIN + CHRONYC]

#: units systemd starts for a login on hosts with pam_systemd (none in the lab)
LOGIN_UNITS = re.compile(r"(user@\d+\.service|user-runtime-dir@\d+\.service|session-\w+\.scope)")

# ------------------------------------------------------------------------------------------------
# One `docker exec` per host and snapshot; the sections come in the order given, so that the files
# are fingerprinted last before the run and first after it.

_SECTIONS = {
    "timers": "systemctl show --property=Id,LastTriggerUSec '*.timer' 2>&1",
    "cursor": "journalctl -q -n 0 --show-cursor --no-pager 2>&1",
    # the shell's own pid and ps's parent: this exec is not one of the host's processes
    "procs": "echo $$; ps -eo pid=,ppid=,etimes=,user:32=,comm=,args=",
    # every mount but /proc, /sys and what is under them; -xdev: each mount walked once, from its root
    "files": r"""for m in $(awk '$2 !~ "^/(proc|sys)(/|$)" { print $2 }' /proc/mounts); do
  find "$m" -xdev \( -path /proc -o -path /sys \) -prune -o -printf '%p %y %m %u %g %s %i %T@ %C@\n'
done | LC_ALL=C sort -u""",
    # everything logged since the cursor, and systemd's (PID 1) own lines
    "journal": 'journalctl -q --no-pager -o short-iso --after-cursor="$CURSOR"',
    "units": 'journalctl -q --no-pager -o cat _PID=1 --after-cursor="$CURSOR"',
}
BEFORE = ("timers", "cursor", "procs", "files")
AFTER = ("files", "procs", "timers", "journal", "units")


@dataclasses.dataclass
class Snapshot:
    files: dict  # path -> (type, mode, user, group, size, inode, mtime, ctime)
    procs: dict  # (pid, ppid, user, comm, args) -> seconds since it started
    timers: str = ""
    cursor: str = ""
    journal: tuple = ()
    units: tuple = ()


def _docker_sh(host: str, script: str, env: dict | None = None) -> str:
    argv = ["docker", "exec"] + [f"-e{k}={v}" for k, v in (env or {}).items()] + [container(host), "sh", "-c", script]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"fingerprinting {host} failed: {done.stderr[-500:]}"
    return done.stdout


def _procs(lines: list[str]) -> dict:
    me, procs = lines[0].strip(), {}
    for line in lines[1:]:
        pid, ppid, etimes, user, comm, args = (line.split(None, 5) + [""])[:6]
        if me in (pid, ppid):
            continue
        # sshd's listener counts the connections being authenticated (anyone's) in its title
        args = re.sub(r"\[listener\] \d+ of", "[listener] N of", args)
        if (comm == "systemd" and "--user" in args) or comm == "(sd-pam)":
            continue  # a login's user manager (pam_systemd; none in the lab): logind's, see LOGIN
        procs[(pid, ppid, user, comm, args)] = int(etimes)
    return procs


def snapshot(host: str, sections: tuple = BEFORE, cursor: str = "") -> Snapshot:
    script = "\n".join(f"echo '@@{name}'\n{_SECTIONS[name]}" for name in sections)
    found: dict = {}
    name = None
    for line in _docker_sh(host, script, {"CURSOR": cursor}).splitlines():
        if line.startswith("@@") and line[2:] in sections:
            name = line[2:]
            found[name] = []
        elif name is not None:
            found[name].append(line)
    files = {}
    for line in found.get("files", []):
        path, *fields = line.rsplit(" ", 8)
        files[path] = tuple(fields)
    cursors = [l.split(": ", 1)[1] for l in found.get("cursor", []) if l.startswith("-- cursor: ")]
    return Snapshot(
        files,
        _procs(found["procs"]) if "procs" in found else {},
        "\n".join(found.get("timers", [])),
        cursors[0] if cursors else "",
        tuple(found.get("journal", [])),
        tuple(found.get("units", [])),
    )


def snapshot_all(sections: tuple, before: dict | None = None) -> dict:
    with concurrent.futures.ThreadPoolExecutor(len(HOSTS)) as pool:
        futures = {h: pool.submit(snapshot, h, sections, before[h].cursor if before else "") for h in HOSTS}
        return {h: f.result() for h, f in futures.items()}


def _rule(path: str):
    return next(((ignore, why) for pattern, ignore, why in RULES if pattern.fullmatch(path)), None)


def file_differences(before: dict, after: dict) -> list[str]:
    """The changed paths the exclusions do not explain, as `-` (before) and `+` (after) lines."""
    lines = []
    for path in sorted(set(before) | set(after)):
        rule = _rule(path)
        if rule and rule[0] == ENTRY:
            continue
        old, new = before.get(path), after.get(path)
        keep = slice(0, 6) if rule and rule[0] == TIMES else slice(None)
        if old is not None and new is not None and old[keep] == new[keep]:
            continue
        if old != new:
            lines += [f"-{path} {' '.join(old)}"] if old else []
            lines += [f"+{path} {' '.join(new)}"] if new else []
    return lines


def raw_file_differences(before: dict, after: dict) -> list[str]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def lingering(find, grace: float = LINGER) -> set:
    """What `find()` returns now and still returns `grace` seconds later (checked every second)."""
    found = set(find())
    deadline = time.monotonic() + grace
    while found and time.monotonic() < deadline:
        time.sleep(1)
        found &= set(find())
    return found


# ------------------------------------------------------------------------------------------------
# The controller's side


def control_paths() -> dict:
    """host -> the ControlPath ssh uses for it with the lab's ssh_config (`cm-%C`, expanded)."""
    paths = {}
    for host in HOSTS:
        out = subprocess.run(["ssh", "-F", str(SSH_CONFIG), "-G", host], capture_output=True, text=True).stdout
        paths.update(
            (host, l.split(None, 1)[1])
            for l in out.splitlines()
            if l.startswith("controlpath ") and l.split(None, 1)[1] != "none"
        )
    return paths


def controller_processes() -> set:
    """(pid, args) of the controller's ssh, sshpass and docker processes that name one of the hosts or
    their ControlPath (an ssh master shows `ssh: <ControlPath> [mux]`)."""
    names = set(HOSTS) | {container(h) for h in HOSTS} | set(control_paths().values())
    out = subprocess.run(["ps", "-eo", "pid=,comm=,args="], capture_output=True, text=True).stdout
    found = set()
    for line in out.splitlines():
        pid, comm, args = (line.split(None, 2) + [""])[:3]
        if comm in ("ssh", "sshpass", "docker") and names & set(args.split()):
            found.add((pid, args))
    return found


def control_sockets() -> set:
    return set(glob.glob(str(SSH_CONFIG.parent / "cm-*")))


# ------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Round:
    backend: str
    before: dict
    after: dict
    seconds: float
    run: object
    left_processes: dict  # host -> lines
    vanished: dict  # host -> lines
    controller_left: set
    sockets_left: set
    attempts: int


def _new_processes(host: str, before: Snapshot) -> set:
    return set(snapshot(host, ("procs",)).procs) - set(before.procs)


def audit_round(backend: str, out: pathlib.Path) -> Round:
    mine = set(control_paths().values())
    for attempt in (1, 2):
        ctl_before, sockets_before = controller_processes(), control_sockets()
        before = snapshot_all(BEFORE)
        start = time.monotonic()
        run = run_suite(backend, list(HOSTS), out / f"attempt{attempt}", POLICY)
        seconds = time.monotonic() - start
        after = snapshot_all(AFTER, before)
        fired = [h for h in HOSTS if before[h].timers != after[h].timers]
        if not fired:
            break
    else:
        pytest.skip(f"a systemd timer fired during both runs over {backend}:// on {fired}: inconclusive")
    left = {}
    for host in HOSTS:
        if set(after[host].procs) - set(before[host].procs):
            left[host] = lingering(lambda h=host: _new_processes(h, before[h]))
    vanished = {h: {p for p, age in before[h].procs.items() if age >= 30 and p not in after[h].procs} for h in HOSTS}
    controller_left = lingering(lambda: controller_processes() - ctl_before)
    sockets_left = lingering(lambda: {s for s in control_sockets() if s in mine or s not in sockets_before})
    return Round(backend, before, after, seconds, run, left, vanished, controller_left, sockets_left, attempt)


def _wait_timedated_gone(timeout: float = 45) -> None:
    """systemd-timedated exits 30 s after its last request: if someone else just asked it, wait."""
    deadline = time.monotonic() + timeout
    while any(p[3] == "systemd-timedat" for p in snapshot("timesyncd", ("procs",)).procs):
        if time.monotonic() > deadline:
            pytest.fail("systemd-timedated runs on the timesyncd host before any audit and does not exit")
        time.sleep(2)


@pytest.fixture(scope="module")
def rounds(lab, tmp_path_factory):
    out = tmp_path_factory.mktemp("no-trace")
    cache: dict = {}

    def get(backend: str) -> Round:
        if backend not in cache:
            if not cache:
                _wait_timedated_gone()
            (out / backend).mkdir()
            cache[backend] = audit_round(backend, out / backend)
        return cache[backend]

    return get


def _show(lines, limit: int = 60) -> str:
    lines = sorted(lines)
    return "\n".join(str(l) for l in lines[:limit]) + (f"\n... {len(lines) - limit} more" if len(lines) > limit else "")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_audit_ran(rounds, backend):
    """Traceless means nothing if nothing was audited: every host gathered, no 'could not check'."""
    r = rounds(backend)
    for host in HOSTS:
        verdicts = {rule: v for (h, rule), v in r.run.verdicts.items() if h == host}
        assert verdicts, f"no verdicts for {backend}://{host}:\n{r.run.output[-2000:]}"
        assert any("gather_id" in v.properties for v in verdicts.values()), f"{backend}://{host} was not gathered"
        errors = {rule: v.message.strip()[:200] for rule, v in verdicts.items() if v.outcome == "error"}
        assert not errors, f"{backend}://{host}: could not check: {errors}"
    assert r.run.returncode in (0, 1), r.run.output[-2000:]


@pytest.mark.parametrize("backend", BACKENDS)
def test_files_are_unchanged(rounds, backend):
    r = rounds(backend)
    problems = {h: file_differences(r.before[h].files, r.after[h].files) for h in HOSTS}
    problems = {h: lines for h, lines in problems.items() if lines}
    assert not problems, "\n".join(
        f"{backend}:// changed files on {h} (- before, + after: type mode user "
        f"group size inode mtime ctime):\n{_show(lines)}"
        for h, lines in problems.items()
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_process_is_left_or_ended(rounds, backend):
    r = rounds(backend)
    left = {h: procs for h, procs in r.left_processes.items() if procs}
    assert not left, "\n".join(
        f"{backend}:// left on {h} (pid, ppid, user, comm, args), still there {LINGER:g} s later:\n{_show(p)}"
        for h, p in left.items()
    )
    gone = {h: procs for h, procs in r.vanished.items() if procs}
    assert not gone, "\n".join(f"{backend}:// ended on {h}:\n{_show(p)}" for h, p in gone.items())


@pytest.mark.parametrize("backend", BACKENDS)
def test_systemd_started_no_unit(rounds, backend):
    """No D-Bus activation, no unit started for the audit (timedated, hostnamed, ...): systemd's own
    journal lines during the run name no unit but a login's (none in the lab)."""
    r = rounds(backend)
    started = {
        h: sorted(
            {
                m.group(1)
                for line in r.after[h].units
                for m in [re.match(r"Start(?:ing|ed) (\S+?)(?: - .*|\.\.\.)?$", line)]
                if m and not LOGIN_UNITS.fullmatch(m.group(1))
            }
        )
        for h in HOSTS
    }
    started = {h: units for h, units in started.items() if units}
    assert not started, f"systemd started units during the {backend}:// run: {started}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_controller_keeps_no_connection(rounds, backend):
    """No ssh master (ControlPersist), ssh or docker exec of these hosts, and no ControlPath socket."""
    r = rounds(backend)
    assert not r.controller_left, f"left on the controller after {backend}://:\n{_show(r.controller_left)}"
    assert not r.sockets_left, f"ControlPath sockets left after {backend}://: {sorted(r.sockets_left)}"
    assert not any(os.path.exists(p) for p in control_paths().values())


def test_timedated_is_never_activated(rounds):
    """timedatectl is asked only of a daemon that runs: on the timesyncd host (timedated not running)
    the kernel's clock flag is read with adjtimex, and systemd-timedated is never D-Bus-activated."""
    private = re.compile(r"/(var/)?tmp/systemd-private-[^/]*-systemd-timedated\.service-[^/]*")
    for backend in BACKENDS:
        r = rounds(backend)
        before, after = r.before["timesyncd"], r.after["timesyncd"]
        assert not any(p[3] == "systemd-timedat" for p in before.procs)
        running = [p for p in after.procs if p[3] == "systemd-timedat"]
        assert not running, f"systemd-timedated runs after the {backend}:// audit: {running}"
        dirs = [p for p in after.files if private.match(p)]
        assert not dirs, f"systemd-timedated's private tmp after the {backend}:// audit: {dirs}"
        logged = [line for line in after.journal if "timedate" in line]
        assert not logged, f"the journal mentions timedated during the {backend}:// audit:\n{_show(logged)}"
        # and the flag was read all the same (a verdict, not "could not check")
        verdict = r.run.verdicts[("timesyncd", "timesyncd_synchronized")]
        assert verdict.outcome != "error" and "NTPSynchronized=" in verdict.message, verdict.message


def test_a_bare_login_shows_only_in_what_is_excluded(lab):
    """The control: a login that runs nothing (`ssh host true`, paramiko running `true`) changes the
    fingerprint (it is not blind), and only in the exclusions: those are a login's, not the audit's."""
    import paramiko

    before = snapshot_all(BEFORE)
    for host in HOSTS:
        subprocess.run(
            ["ssh", "-F", str(SSH_CONFIG), "-o", "ControlPath=none", host, "true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=True,
            timeout=30,
        )
        config = paramiko.SSHConfig.from_path(str(SSH_CONFIG)).lookup(host)
        client = paramiko.SSHClient()
        client.load_host_keys(config["userknownhostsfile"])
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                config["hostname"],
                username=config["user"],
                key_filename=config["identityfile"][0],
                look_for_keys=False,
                allow_agent=False,
                timeout=10,
            )
            _, stdout, _ = client.exec_command("true")
            assert stdout.channel.recv_exit_status() == 0
        finally:
            client.close()
    after = snapshot_all(AFTER, before)
    if any(before[h].timers != after[h].timers for h in HOSTS):
        pytest.skip("a systemd timer fired during the logins: inconclusive")
    for host in HOSTS:
        raw = raw_file_differences(before[host].files, after[host].files)
        assert "/run/motd.dynamic" in raw, f"the fingerprint did not see the logins on {host}: {raw}"
        assert not file_differences(before[host].files, after[host].files)
        assert not lingering(lambda h=host: _new_processes(h, before[h]))
