"""A dead host costs its bound and no more, measured on real hosts; the others are unharmed.

Throwaway containers of the lab's chrony-stock image, on a docker network of this test's own
(internal, a free /24), reached with an SSH key pair and known_hosts made for them:
- healthy: audited over ssh://, paramiko:// and docker:// in every run, alone and among the dead;
- paused (`docker pause`): the kernel still completes the TCP handshake, sshd never speaks;
  over docker:// an exec into it fails at once ("is paused");
- cut: an iptables DROP in the container's own network namespace (nsenter), so SYNs vanish;
- stall: a user whose login shell prints a line and sleeps: the host starts answering, then
  stops (the gather bound, --host-timeout);
plus two hosts that are not containers: a listener on 127.0.0.1 in this process that accepts
and never speaks, and a host whose ProxyCommand (`sleep`) never speaks.

Each run uses --connect-timeout=3 --host-timeout=6 and is made as a user makes it (a pytest
subprocess), serially and with `-n 2`. The subprocess runs under a small wrapper that is the
child subreaper of everything the suite starts: what is left when the suite has exited (an
ssh, docker, ProxyCommand or ssh master) is found there and named. The suite's TMPDIR is the
test's own, and must be empty after the run (no ControlPath directory or socket left).

Bounds asserted:
- each dead host's rules all end in "could not check: <host>: did not answer within N s
  (connect|gather) (<hint>)" (docker's paused exec: its own one line and hint), and the host's
  gather (its gather_seconds property, else the JUnit time of its slowest test) takes at least
  N - 0.1 s and at most N + 2 s;
- the run takes at most the healthy-only run of the same mode (the fixed overhead, measured
  in each session: 2.5 to 3.5 s, serial or with -n 2, on the machine this was written on) plus
  the dead hosts' bounds, 0.15 s for each dead host's reports, and 2 s (with -n 2 the bounds
  overlap: measured 24 s against 40 s serially);
- the healthy hosts' verdicts (outcome and message of every rule) are those of a run of the
  healthy hosts alone.
A changed and an unknown host key are run for real too (their message and hint). The whole
file takes about 80 s.
"""

from __future__ import annotations

import dataclasses
import io
import ipaddress
import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

import pytest
from runner import ROOT

from timesync_audit.gather import transport

pytestmark = pytest.mark.e2e

IMAGE = "tsa-lab-chrony-stock:latest"
CONNECT, GATHER = 3, 6
LIMITS = [f"--connect-timeout={CONNECT}", f"--host-timeout={GATHER}"]
SLACK = 2.0
#: what a host's 47 rules cost the run besides its gather (collected, reported in the terminal,
#: JUnit and HTML): 0.08 s measured
REPORT_COST = 0.15
#: a bound ends no earlier than this before its nominal time (timer granularity)
EARLY = 0.1
FROZEN = "the host is frozen, paused, or the network drops packets"
STALLED = "the host began to answer, then stopped: frozen, overloaded, or a command hangs on it"
MODES = {"serial": [], "n2": ["-n", "2"]}

#: the login shell of the `stall` user: it answers, then never again
STALL_SHELL = b"#!/bin/sh\n# answers one line, then stops\necho stalling\nexec sleep 600\n"

#: runs the suite as its child subreaper: argv[1] is where the result goes, the rest the command
WRAPPER = r"""
import ctypes, json, os, signal, subprocess, sys, time
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
me = os.getpid()

def descendants():
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = open(f"/proc/{name}/stat").read()
                parent[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    found, todo = [], [me]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        todo += kids
    return found

def cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""

def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return

start = time.monotonic()
rc = subprocess.call(sys.argv[2:])
wall = time.monotonic() - start
deadline = time.monotonic() + 2.0  # an ssh master told to exit is given a moment
while True:
    reap()
    left = [p for p in descendants() if cmdline(p)]
    if not left or time.monotonic() > deadline:
        break
    time.sleep(0.1)
names = [cmdline(p) for p in left]
for p in left:
    try:
        os.kill(p, signal.SIGKILL)
    except ProcessLookupError:
        pass
time.sleep(0.2)
reap()
json.dump({"rc": rc, "wall": wall, "left": names}, open(sys.argv[1], "w"))
"""


@dataclasses.dataclass(frozen=True)
class Dead:
    host: str  # the host's identity in the reports
    message: str  # what every one of its rules says, after "could not check: "
    bound: float  # what it may cost


@dataclasses.dataclass
class Run:
    rc: int
    wall: float
    left: list  # command lines of processes the suite left behind
    leftover_files: list  # what the suite left in its TMPDIR
    cases: dict  # host -> {rule id: (outcome, message)}
    slowest: dict  # host -> its gather's time (gather_seconds), else the JUnit time of its slowest test
    output: str


@dataclasses.dataclass
class Bench:
    tmp: pathlib.Path
    ssh_config: pathlib.Path
    names: dict  # role -> container (and ssh alias) name
    listener_port: int
    runs: int = 0

    def ssh_host(self, backend: str, role: str, user: str = "root") -> str:
        return f"{backend}://{user}@{self.names[role]}"


def _docker(*args: str, check: bool = True, data: bytes | None = None) -> str:
    done = subprocess.run(["docker", *args], input=data, capture_output=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {args[0]} failed: {done.stderr.decode(errors='replace')[-1000:]}")
    return done.stdout.decode()


def _docker_ready() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed"
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return "docker is not running"
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode != 0:
        return f"image {IMAGE} is missing (lab/lab.sh build)"
    if shutil.which("nsenter") is None or shutil.which("iptables") is None:
        return "nsenter and iptables are needed to cut a container's network"
    return None


def _create_network(name: str) -> ipaddress.IPv4Network:
    """An internal docker network on a /24 that no route of this machine and no docker network
    uses (another run may take one at the same time: docker refuses the overlap, the next is tried)."""
    used = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout.split()
    for net in _docker("network", "ls", "-q").split():
        used += _docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", net).split()
    taken = [ipaddress.ip_network(word, strict=False) for word in used if _is_network(word)]
    for third in range(200, 250):
        subnet = ipaddress.ip_network(f"172.31.{third}.0/24")
        if any(subnet.overlaps(t) for t in taken):
            continue
        done = subprocess.run(
            [
                "docker",
                "network",
                "create",
                "--internal",
                "--driver",
                "bridge",
                "--subnet",
                str(subnet),
                "--gateway",
                str(next(subnet.hosts())),
                name,
            ],
            capture_output=True,
        )
        if done.returncode == 0:
            return subnet
    raise RuntimeError("no free 172.31.200-249.0/24 subnet for a docker network")


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return False


def _tar(files: dict) -> bytes:
    """A tar of files (path -> (bytes, mode)), root-owned, for `docker cp -a - NAME:/`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, (data, mode) in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.uid, info.gid = len(data), mode, 0, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _wait(condition, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {seconds:g} s")
        time.sleep(0.2)


def _ready(name: str) -> bool:
    return (
        subprocess.run(
            [
                "docker",
                "exec",
                name,
                "sh",
                "-c",
                "systemctl is-active -q ssh.service && systemctl is-active -q chrony.service",
            ],
            capture_output=True,
        ).returncode
        == 0
    )


class _SilentListener:
    """An "sshd" that accepts connections and never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for conn in self.held:
            conn.close()
        self.thread.join(5)


def _ssh_config(tmp: pathlib.Path, addresses: dict, names: dict, port: int) -> str:
    blocks = [f"Host {names[role]}\n    HostName {address}\n" for role, address in addresses.items()]
    blocks.append(f"Host {names['silent']}\n    HostName 127.0.0.1\n    Port {port}\n")
    blocks.append(f"Host {names['proxied']}\n    ProxyCommand sleep 600\n")
    blocks.append(
        f"Host {names['changed']}\n    HostName {addresses['healthy']}\n"
        f"    UserKnownHostsFile {tmp}/known_hosts_changed\n"
    )
    blocks.append(
        f"Host {names['unknown']}\n    HostName {addresses['healthy']}\n"
        f"    UserKnownHostsFile {tmp}/known_hosts_empty\n"
    )
    blocks.append(f"""Host *
    IdentityFile {tmp}/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile {tmp}/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
""")
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def bench():
    reason = _docker_ready()
    if reason:
        pytest.skip(f"cannot run the time-bound tests: {reason}")
    tag = f"tsa-tb-{os.getpid()}-{secrets.token_hex(2)}"
    roles = ("healthy", "paused", "cut", "stall")
    names = {role: f"{tag}-{role}" for role in roles + ("silent", "proxied", "changed", "unknown")}
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="tsa-tb-"))
    network, created, listener, cut_rule = f"{tag}-net", [], None, None
    try:
        for key in ("id_ed25519", "host_key", "other_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", str(tmp / key)], check=True)
        subnet = _create_network(network)
        created.append(("network", network))
        hosts = list(subnet.hosts())
        addresses = {role: str(hosts[9 + i]) for i, role in enumerate(roles)}
        staged = _tar(
            {
                "/etc/ssh/ssh_host_ed25519_key": ((tmp / "host_key").read_bytes(), 0o600),
                "/etc/ssh/ssh_host_ed25519_key.pub": ((tmp / "host_key.pub").read_bytes(), 0o644),
                "/root/.ssh/authorized_keys": ((tmp / "id_ed25519.pub").read_bytes(), 0o600),
                "/usr/local/bin/tsa-stall-shell": (STALL_SHELL, 0o755),
            }
        )
        for role in roles:
            _docker(
                "create",
                "--name",
                names[role],
                "--hostname",
                role,
                "--network",
                network,
                "--ip",
                addresses[role],
                "--tmpfs",
                "/run",
                "--tmpfs",
                "/run/lock",
                "-v",
                "/sys/fs/cgroup:/sys/fs/cgroup:ro",
                "--stop-timeout",
                "5",
                IMAGE,
            )
            created.append(("container", names[role]))
            _docker("cp", "-a", "-", f"{names[role]}:/", data=staged)
            _docker("start", names[role])
        for role in roles:
            _wait(lambda: _ready(names[role]), f"{names[role]}: sshd and chronyd active")
        _docker(
            "exec",
            names["stall"],
            "sh",
            "-c",
            "useradd -m -s /usr/local/bin/tsa-stall-shell stall && install -d -o stall -m 700 /home/stall/.ssh"
            " && install -o stall -m 600 /root/.ssh/authorized_keys /home/stall/.ssh/authorized_keys",
        )
        host_key = " ".join((tmp / "host_key.pub").read_text().split()[:2])
        other_key = " ".join((tmp / "other_key.pub").read_text().split()[:2])
        (tmp / "known_hosts").write_text("".join(f"{a} {host_key}\n" for a in addresses.values()))
        (tmp / "known_hosts_changed").write_text(f"{addresses['healthy']} {other_key}\n")
        (tmp / "known_hosts_empty").write_text("")
        listener = _SilentListener()
        (tmp / "ssh_config").write_text(_ssh_config(tmp, addresses, names, listener.port))
        _docker("pause", names["paused"])
        pid = _docker("inspect", "-f", "{{.State.Pid}}", names["cut"]).strip()
        cut_rule = [
            "nsenter",
            f"--net=/proc/{pid}/ns/net",
            "iptables",
            "-w",
            "5",
            "{}",
            "INPUT",
            "!",
            "-i",
            "lo",
            "-j",
            "DROP",
        ]
        subprocess.run([a.replace("{}", "-A") for a in cut_rule], check=True, capture_output=True)
        yield Bench(tmp, tmp / "ssh_config", names, listener.port)
    finally:
        if cut_rule:
            subprocess.run([a.replace("{}", "-D") for a in cut_rule], capture_output=True)
        if listener:
            listener.close()
        containers = [name for kind, name in created if kind == "container"]
        if containers:  # ours, by exact name
            subprocess.run(["docker", "rm", "-f", *containers], capture_output=True)
        if ("network", network) in created:
            subprocess.run(["docker", "network", "rm", network], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _read_junit(path: pathlib.Path) -> tuple[dict, dict]:
    cases, slowest = {}, {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        host, rule = props.get("host", ""), props.get("rule_id")
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = node.get("message") or ""
        cases.setdefault(host, {})[rule] = (outcome, message)
        # the gather runs beside the tests (gather_pool.py): its own time, else the slowest test's
        took = float(props["gather_seconds"]) if "gather_seconds" in props else float(case.get("time") or 0)
        slowest[host] = max(slowest.get(host, 0.0), took)
    return cases, slowest


def run_suite(bench: Bench, hosts: list[str], mode: str, name: str) -> Run:
    out = bench.tmp / name
    out.mkdir()
    # short, so that the suite's ControlPath directory goes there (transport.CONTROL_DIR_ROOM)
    bench.runs += 1
    suite_tmp = bench.tmp / f"s{bench.runs}"
    suite_tmp.mkdir()
    assert len(str(suite_tmp)) + len("/tsa-ssh-12345678") <= transport.CONTROL_DIR_ROOM, suite_tmp
    junit, result = out / "junit.xml", out / "result.json"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        f"--hosts={','.join(hosts)}",
        f"--ssh-config={bench.ssh_config}",
        f"--junitxml={junit}",
        f"--html={out / 'report.html'}",
        f"--results-json={out / 'results.json'}",
        f"--hdf-dir={out / 'hdf'}",
        f"--fleet-html={out / 'fleet.html'}",
        "-q",
        *LIMITS,
        *MODES[mode],
    ]
    env = dict(os.environ, TMPDIR=str(suite_tmp))
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(result), *cmd],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    done = json.loads(result.read_text())
    cases, slowest = _read_junit(junit)
    # pytest's own basetemp (pytest-of-<user>, made with -n) is pytest's, kept by pytest's design
    leftover = sorted(
        str(p.relative_to(suite_tmp))
        for p in suite_tmp.rglob("*")
        if not p.relative_to(suite_tmp).parts[0].startswith("pytest-of-")
    )
    return Run(
        done["rc"], done["wall"], done["left"], leftover, cases, slowest, proc.stdout[-3000:] + proc.stderr[-3000:]
    )


def healthy_hosts(bench: Bench) -> list[str]:
    return [
        bench.ssh_host("ssh", "healthy"),
        bench.ssh_host("paramiko", "healthy"),
        f"docker://{bench.names['healthy']}",
    ]


def dead_hosts(bench: Bench) -> list[Dead]:
    dead = []
    for backend in ("ssh", "paramiko"):
        for role in ("paused", "cut", "silent", "proxied"):
            host = bench.ssh_host(backend, role)
            dead.append(Dead(host, f"{host}: did not answer within {CONNECT} s (connect) ({FROZEN})", CONNECT))
        host = bench.ssh_host(backend, "stall", "stall")
        dead.append(Dead(host, f"{host}: did not answer within {GATHER} s (gather) ({STALLED})", GATHER))
    name = bench.names["paused"]
    # docker refuses an exec into a paused container at once: its own words, and the hint
    dead.append(
        Dead(
            f"docker://{name}",
            f"docker://{name}: Error response from daemon: Container {name} is paused, "
            "unpause the container before exec (exit status 1) (the container is paused (docker unpause))",
            0,
        )
    )
    return dead


_BASELINES: dict = {}


def baseline(bench: Bench, mode: str) -> Run:
    """The healthy hosts alone: their verdicts, and the run's fixed cost in this mode."""
    if mode not in _BASELINES:
        run = run_suite(bench, healthy_hosts(bench), mode, f"healthy-{mode}")
        assert run.rc == 1 and not run.left and not run.leftover_files, (
            run.rc,
            run.left,
            run.leftover_files,
            run.output,
        )
        assert set(run.cases) == set(healthy_hosts(bench)), run.output
        _BASELINES[mode] = run
    return _BASELINES[mode]


@pytest.mark.parametrize("mode", list(MODES))
def test_a_dead_host_costs_its_bound_and_no_more(bench, mode):
    alone = baseline(bench, mode)
    dead = dead_hosts(bench)
    run = run_suite(bench, healthy_hosts(bench) + [d.host for d in dead], mode, f"mixed-{mode}")
    assert run.rc == 3, run.output

    problems = []
    for d in dead:
        got = run.cases.get(d.host, {})
        wrong = {
            rule: message
            for rule, (outcome, message) in got.items()
            if outcome != "error" or f'"could not check: {d.message}"' not in message
        }
        if not got or wrong:
            problems.append(
                f"{d.host}: {len(wrong)} of {len(got)} rules say otherwise, e.g. {next(iter(wrong.values()), '')}"
            )
        took = run.slowest.get(d.host, 0.0)
        if not (d.bound - EARLY <= took <= d.bound + SLACK):
            problems.append(f"{d.host}: its gather took {took:.2f} s, bound {d.bound:g} s")
    for host in healthy_hosts(bench):
        if run.cases.get(host) != alone.cases[host]:
            changed = {
                r: (alone.cases[host].get(r), v)
                for r, v in run.cases.get(host, {}).items()
                if alone.cases[host].get(r) != v
            }
            problems.append(f"{host}: verdicts differ from its run alone: {changed}")
    # serially the dead hosts' bounds add up; with -n 2 they overlap, and this bounds the worst split
    budget = alone.wall + sum(d.bound + REPORT_COST for d in dead) + SLACK
    if run.wall > budget:
        problems.append(
            f"the run took {run.wall:.1f} s; at most {budget:.1f} s (healthy alone {alone.wall:.1f} s "
            f"+ the dead hosts' bounds and {REPORT_COST:g} s each for their reports + {SLACK:g} s)"
        )
    if run.left:
        problems.append(f"processes left behind: {run.left}")
    if run.leftover_files:
        problems.append(f"files left in the suite's TMPDIR: {run.leftover_files}")
    assert not problems, "\n".join(problems)


def test_a_changed_host_key_is_named_as_changed(bench):
    """ssh warns "REMOTE HOST IDENTIFICATION HAS CHANGED" and ends with "Host key verification
    failed.": the message names the changed key, never an unknown one; paramiko says the same."""
    changed = {b: bench.ssh_host(b, "changed") for b in ("ssh", "paramiko")}
    unknown = {b: bench.ssh_host(b, "unknown") for b in ("ssh", "paramiko")}
    run = run_suite(bench, list(changed.values()) + list(unknown.values()), "serial", "host-keys")
    messages = {host: {m for _, m in run.cases.get(host, {}).values()} for host in run.cases}
    assert all(len(found) == 1 for found in messages.values()) and len(messages) == 4, messages
    (ssh_changed,), (paramiko_changed,) = messages[changed["ssh"]], messages[changed["paramiko"]]
    assert (
        "has changed" in ssh_changed
        and "(the host key changed: check the host, then update known_hosts)" in ssh_changed
    ), ssh_changed
    assert "has changed" in paramiko_changed and "the host key changed" in paramiko_changed, paramiko_changed
    for host in unknown.values():
        (message,) = messages[host]
        assert "not in known_hosts" in message and "changed" not in message, message
    assert not run.left and not run.leftover_files, (run.left, run.leftover_files)
