#!/usr/bin/env python3
"""Fleet speed: the suite over N hosts beside the single-exec floor, a plain testinfra peer and pytest alone.

Run from the repository root, as root (it drives docker, the lab and tc):

    python bench/fleet.py                    # every part, 3 runs each; rewrites its results in docs/benchmarks.md
    python bench/fleet.py --hosts 20 --parts suite,floor,peer --runs 1 --no-docs

Docker targets are throwaway containers of the lab image tsa-lab-chrony-hardened:latest named
tsa-bench-<random>-<n>, started as bench/hostile.py starts them (`--network none`, no added
capability, `sleep infinity`). SSH targets are containers of the same image running sshd alone,
on the network of a lab instance this script starts (TSA_LAB_ID=fb<random>, one host) and
stops, with netem latency on the instance's bridge for the time of the SSH runs. Simulated
hosts are answered from recorded snapshots by bench/replay_plugin.py. Runs are interleaved
(run 1 of every measurement, then run 2, ...) and the tables show medians. Every container,
qdisc and lab instance this script made is removed by its exact name at the end, also after
an error, Ctrl-C or SIGTERM.

This is a measurement, not a test: nothing fails when a target is missed; the output says
which targets are met.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import dataclasses
import datetime
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import docs_section  # bench/docs_section.py: this script's folder is on sys.path
import procfs

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEER = BENCH / "peer_suite"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Fleet speed"
BEGIN = "<!-- results: written by bench/fleet.py, which replaces everything up to the end marker -->"
END = "<!-- end of results written by bench/fleet.py -->"
IMAGE = "tsa-lab-chrony-hardened:latest"
PREFIX = "tsa-bench-"
LAB_HOST = "chrony-hardened"  # the one host of the lab instance the SSH targets join
PEER_RULES = 16  # tests in bench/peer_suite/test_chrony_peer.py; pytest alone runs as many per host
CONCURRENCY = 32  # execs at once in the concurrent floor
MB = 1_000_000
PARTS = ("suite", "floor", "peer", "empty", "ssh", "simulated", "startup")
REAL = {"docker": shutil.which("docker") or "/usr/bin/docker", "ssh": shutil.which("ssh") or "/usr/bin/ssh"}

#: PATH wrappers: each remote command is one line (its start time) in $TSA_BENCH_LOG, then the real tool
WRAPPERS = {
    "docker": """#!/bin/bash
if [[ -n "$TSA_BENCH_LOG" && "$1" == exec ]]; then printf '%s\\n' "$EPOCHREALTIME" >>"$TSA_BENCH_LOG"; fi
exec {real} "$@"
""",
    "ssh": """#!/bin/bash
for a in "$@"; do [[ "$a" != -O ]] || exec {real} "$@"; done  # a control command of the shared master
if [[ -n "$TSA_BENCH_LOG" ]]; then printf '%s\\n' "$EPOCHREALTIME" >>"$TSA_BENCH_LOG"; fi
exec {real} "$@"
""",
}


def sh(*argv: str, check: bool = True, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout, env=env)


# -- where the CPU of a run goes -----------------------------------------------------------------------


def machine_cpu() -> float:
    """Busy CPU-seconds of the whole machine so far (procfs.machine_ticks)."""
    return procfs.machine_ticks() / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU-seconds of this process's children that have ended: a run's processes, its orphans."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    """CPU-seconds of this process: the loopback relay's thread and the 20 ms sampling."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def become_subreaper() -> bool:
    """Processes a run leaves behind (ssh's ControlPersist masters detach from the suite) become
    this process's children, so that reap_orphans() counts their CPU with the run's."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap_orphans(wait: float = 2.0) -> float:
    """CPU-seconds of the orphans that ended (reaped here), after waiting up to `wait` seconds
    for those still running. Called only when none of this script's own children runs."""
    total, deadline = 0.0, time.monotonic() + wait
    while True:
        try:
            pid, _status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return total
        if pid:
            total += usage.ru_utime + usage.ru_stime
        elif time.monotonic() >= deadline:
            return total
        else:
            time.sleep(0.02)


# -- what this script creates, and removes whatever happens ------------------------------------------------


class Made:
    """The containers, lab instance and qdisc this script made: removed by exact name."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(3)
        self.containers: list[str] = []
        self.lab_id: str | None = None
        self.qdisc_dev: str | None = None
        self.ssh_hosts: list[str] = []
        self.ssh_config: Path | None = None
        self.relay: DelayRelay | None = None
        self.cgroups: list[str] = []  # the CPU counters of every target container

    def track(self, names: list[str]) -> None:
        """Count the CPU of these (running) containers as the targets'."""
        for i in range(0, len(names), 50):
            pids = sh(REAL["docker"], "inspect", "-f", "{{.State.Pid}}", *names[i : i + 50]).stdout.split()
            self.cgroups += [f for f in map(procfs.cgroup_cpu_file, map(int, pids)) if os.path.exists(f)]

    def targets_cpu(self) -> float:
        """CPU-seconds of every target container so far: sshd and what the gathers ran there."""
        return sum(map(procfs.cgroup_ns, self.cgroups)) / 1e9

    def name(self, suffix: str) -> str:
        return f"{PREFIX}{self.tag}-{suffix}"

    def docker_hosts(self, count: int) -> list[str]:
        """`count` throwaway containers (started in parallel), named tsa-bench-<tag>-<n>."""
        names = [self.name(str(n)) for n in range(1, count + 1)]
        new = [n for n in names if n not in self.containers]
        self.containers += new  # before `docker run`: a half-started container is removed too

        def run(name: str) -> None:
            sh(REAL["docker"], "run", "-d", "--name", name, "--network", "none", IMAGE, "sleep", "infinity")

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(run, new))
        self.track(new)
        return names

    def lab(self) -> Path:
        """A lab instance of our own, one host: its network, bridge, SSH key and host key."""
        self.lab_id = f"fb{secrets.randbelow(100000):05d}"
        proc = sh(
            str(ROOT / "lab" / "lab.sh"),
            "start",
            check=False,
            env={**os.environ, "TSA_LAB_ID": self.lab_id, "TSA_LAB_HOSTS": LAB_HOST},
        )
        if proc.returncode:
            raise RuntimeError(f"lab.sh start: exit {proc.returncode}: {proc.stderr.strip()[-800:]}")
        return ROOT / "lab" / ".run" / self.lab_id

    def ssh_targets(self, count: int, tmp: Path) -> tuple[list[str], Path]:
        """`count` containers of the lab image running sshd only, on the lab instance's network
        at .100 and up, reached as bench001... through an ssh_config of our own."""
        run_dir = self.lab()
        prefix = (run_dir / "prefix").read_text().strip()
        keys = tmp / "sshkeys"
        keys.mkdir()
        shutil.copy(run_dir / "hostkeys" / LAB_HOST, keys / "host")
        shutil.copy(run_dir / "id_ed25519.pub", keys / "authorized_keys")
        host_pub = " ".join((run_dir / "hostkeys" / f"{LAB_HOST}.pub").read_text().split()[:2])
        boot = (
            "install -m 600 /bench-keys/host /etc/ssh/ssh_host_ed25519_key && mkdir -p -m 700 /root/.ssh /run/sshd && "
            "install -m 600 /bench-keys/authorized_keys /root/.ssh/authorized_keys && exec /usr/sbin/sshd -D -e"
        )
        hosts, addresses = [], {}
        for n in range(1, count + 1):
            hosts.append(f"bench{n:03d}")
            addresses[hosts[-1]] = f"{prefix}.{99 + n}"
        names = {h: self.name(f"ssh{h[5:]}") for h in hosts}
        self.containers += list(names.values())

        def run(host: str) -> None:
            sh(
                REAL["docker"],
                "run",
                "-d",
                "--name",
                names[host],
                "--hostname",
                host,
                "--network",
                f"tsa-lab-{self.lab_id}",
                "--ip",
                addresses[host],
                "-v",
                f"{keys}:/bench-keys:ro",
                "--entrypoint",
                "/bin/sh",
                IMAGE,
                "-c",
                boot,
            )

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(run, hosts))
        self.track(list(names.values()))
        self.ssh_hosts, self.addresses, self.run_dir, self.tmp = hosts, addresses, run_dir, tmp
        (tmp / "known_hosts").write_text("".join(f"{h} {host_pub}\n" for h in hosts))
        config = self.write_ssh_config({h: (addresses[h], 22) for h in hosts})
        deadline = time.monotonic() + 120
        for host in hosts:  # every sshd answers before the first measurement
            while sh(REAL["ssh"], "-F", str(config), "-o", "ControlMaster=no", host, "true", check=False).returncode:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{host}: sshd does not answer")
                time.sleep(0.5)
        return hosts, config

    def write_ssh_config(self, where: dict[str, tuple[str, int]]) -> Path:
        config = self.tmp / "ssh_config"
        entries = "".join(
            f"Host {h}\n    HostName {address}\n    Port {port}\n    HostKeyAlias {h}\n\n"
            for h, (address, port) in where.items()
        )
        config.write_text(
            entries
            + f"""Host bench*
    User root
    IdentityFile {self.run_dir / "id_ed25519"}
    IdentitiesOnly yes
    UserKnownHostsFile {self.tmp / "known_hosts"}
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    CheckHostIP no
    BatchMode yes
    PasswordAuthentication no
    ConnectTimeout 10
    LogLevel ERROR
    ControlMaster auto
    ControlPath {self.tmp}/cm-%C
    ControlPersist 60s
"""
        )
        self.ssh_config = config
        return config

    def latency(self, ms: int) -> str:
        """netem on the lab bridge; where the kernel has no netem, a delaying loopback relay
        (the ssh_config then points at it). Returns how the latency is made."""
        dev = f"tsalab-{self.lab_id}"
        proc = sh("tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", f"{ms}ms", check=False)
        if proc.returncode == 0:
            self.qdisc_dev = dev
            return f"`tc qdisc add dev {dev} root netem delay {ms}ms` (removed at the end)"
        why = " ".join(proc.stderr.split()) or f"exit {proc.returncode}"
        self.relay = DelayRelay(self.addresses, ms / 1000)
        self.write_ssh_config({h: ("127.0.0.1", port) for h, port in self.relay.ports.items()})
        return (
            f"netem is not available here (`tc qdisc add dev {dev} root netem delay {ms}ms`: {why}): a loopback "
            f"TCP relay in fleet.py, one port per target, holds what the controller sends (and each connection's "
            f"start) for {ms} ms before passing it on, as netem on the bridge's egress would"
        )

    def remove_latency(self) -> None:
        if self.qdisc_dev:
            sh("tc", "qdisc", "del", "dev", self.qdisc_dev, "root", "netem", check=False)
            self.qdisc_dev = None
        if self.relay:
            self.relay.close()
            self.relay = None

    def remove_all(self) -> None:
        if self.ssh_config:  # shared masters a run left open (ControlPersist)
            for host in self.ssh_hosts:
                sh(REAL["ssh"], "-F", str(self.ssh_config), "-O", "exit", host, check=False, timeout=10)
        self.remove_latency()
        names = [n for n in self.containers if n.startswith(PREFIX + self.tag + "-")]
        for i in range(0, len(names), 50):
            subprocess.run([REAL["docker"], "rm", "-f", *names[i : i + 50]], capture_output=True)
        self.containers.clear()
        if self.lab_id:
            sh(str(ROOT / "lab" / "lab.sh"), "stop", check=False, env={**os.environ, "TSA_LAB_ID": self.lab_id})
            self.lab_id = None


class DelayRelay:
    """Loopback TCP relays to the SSH targets that hold what the controller sends (and each
    connection's start) for `delay` seconds: the latency netem on the bridge would add, for
    kernels without sch_netem. One asyncio loop in a thread, one listening port per target."""

    def __init__(self, targets: dict[str, str], delay: float) -> None:
        import asyncio
        import threading

        self.asyncio, self.delay = asyncio, delay
        self.loop = asyncio.new_event_loop()
        self.ports: dict[str, int] = {}
        self.servers: list = []
        ready = threading.Event()

        async def start() -> None:
            for host, address in targets.items():
                server = await asyncio.start_server(
                    lambda r, w, a=address: self._serve(r, w, a), "127.0.0.1", 0, reuse_address=True
                )
                self.servers.append(server)
                self.ports[host] = server.sockets[0].getsockname()[1]
            ready.set()

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="delay-relay")
        self.thread.start()
        asyncio.run_coroutine_threadsafe(start(), self.loop)
        ready.wait(30)

    async def _serve(self, reader, writer, address: str) -> None:
        asyncio = self.asyncio
        try:
            await asyncio.sleep(self.delay)  # the SYN waits too
            up_reader, up_writer = await asyncio.open_connection(address, 22)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer, self.delay), self._pipe(up_reader, writer, 0.0))

    async def _pipe(self, reader, writer, delay: float) -> None:
        asyncio, loop = self.asyncio, self.loop
        queue: asyncio.Queue = asyncio.Queue()

        async def feed() -> None:
            try:
                while chunk := await reader.read(65536):
                    queue.put_nowait((loop.time() + delay, chunk))
            except OSError:
                pass
            queue.put_nowait((loop.time() + delay, b""))

        async def drain() -> None:
            while True:
                due, chunk = await queue.get()
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                try:
                    if not chunk:
                        writer.close()
                        return
                    writer.write(chunk)
                    await writer.drain()
                except OSError:
                    return

        await asyncio.gather(feed(), drain())

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()

        self.asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


# -- one measured run --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    wall: float
    commands: int  # remote commands (docker exec, ssh) of the run
    controller_mb: float | None = None  # the pytest process's own VmHWM
    workers_mb: float | None = None  # the largest xdist worker's VmHWM
    tree_mb: float | None = None  # wait4's ru_maxrss: the largest process of the run
    reports: dict | None = None  # report -> bytes
    rc: int = 0
    counts: str = "-"
    first_command: float | None = None  # seconds from the start to the first remote command
    cpu: Cpu | None = None


@dataclasses.dataclass
class Cpu:
    """CPU-seconds one run cost, by where they were spent."""

    controller: float  # the run's processes: pytest, its workers, ssh clients and masters, docker clients
    targets: float  # the target containers' cgroups: sshd and everything the gathers ran there
    relay: float  # this script: the loopback latency relay (SSH runs) and the 20 ms sampling
    machine: float  # the whole machine (also dockerd, containerd, the kernel, and other work)
    python: float | None = None  # of the controller's: pytest and its workers themselves (sampled every 20 ms)


class CpuMeter:
    """Starts counting at creation; stop() after the run's processes have ended."""

    def __init__(self, targets_cpu) -> None:
        self.targets_cpu = targets_cpu
        self.start = (children_cpu(), targets_cpu(), own_cpu(), machine_cpu())

    def stop(self) -> Cpu:
        reap_orphans()
        end = (children_cpu(), self.targets_cpu(), own_cpu(), machine_cpu())
        return Cpu(*(b - a for a, b in zip(self.start, end)))


def _hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _own_seconds(pid: int, last: float) -> float:
    """A process's own CPU-seconds (utime + stime), or `last` where it has just ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return last


def _python_children(pid: int) -> list[int]:
    """The xdist workers: the controller's children that are Python."""
    try:
        kids = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    found = []
    for kid in kids:
        try:
            if Path(f"/proc/{kid}/comm").read_text().startswith("python"):
                found.append(kid)
        except OSError:
            pass
    return found


def _log_lines(log: Path) -> list[float]:
    try:
        return [float(line.replace(",", ".")) for line in log.read_text().split()]
    except (OSError, ValueError):
        return []


def counts_of(junit: Path) -> str:
    try:
        tree = ET.parse(junit)
    except (OSError, ET.ParseError):
        return "-"
    counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    for case in tree.iter("testcase"):
        kinds = {child.tag for child in case}
        kind = next((k for k in ("error", "failure", "skipped") if k in kinds), "passed")
        counts["failed" if kind == "failure" else kind] += 1
    return "/".join(str(v) for v in counts.values())


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


class Bench:
    def __init__(self, tmp: Path, python: str, targets_cpu=lambda: 0.0) -> None:
        self.tmp = tmp
        self.python = python
        self.targets_cpu = targets_cpu
        self.bin = tmp / "bin"
        self.bin.mkdir()
        for tool, text in WRAPPERS.items():
            (self.bin / tool).write_text(text.format(real=REAL[tool]))
            (self.bin / tool).chmod(0o755)
        self.log = tmp / "commands.log"
        self.env = {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.env["TSA_BENCH_LOG"] = str(self.log)
        self.env.pop("PYTEST_ADDOPTS", None)
        # as a user runs it, with Python's bytecode cache (which a shell may have turned off), kept
        # in the benchmark's own directory so that the repository is not written to; warm()
        # fills it before the first measurement
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")

    def warm(self) -> None:
        """Compile every module a measurement imports once, as a user's second run finds them."""
        for cwd, extra in ((ROOT, []), (PEER, ["-c", str(PEER / "pytest.ini")])):
            argv = [self.python, "-m", "pytest", *extra, "--hosts=docker://warm-up", "-p", "no:cacheprovider"]
            subprocess.run([*argv, "--collect-only", "-q"], cwd=cwd, env=self.env, capture_output=True, timeout=300)
        subprocess.run(
            [self.python, "-m", "compileall", "-q", str(ROOT / "timesync_audit"), str(BENCH)],
            env=self.env,
            capture_output=True,
            timeout=300,
        )

    def process(self, argv: list[str], cwd: Path, out: Path, env: dict | None = None) -> Run:
        """A pytest run as a subprocess: wall time, VmHWM of the controller and of its workers
        (read every 20 ms while it runs), ru_maxrss, remote commands, report sizes."""
        self.log.write_text("")
        meter = CpuMeter(self.targets_cpu)
        start_wall = time.time()
        start = time.monotonic()
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env or self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        controller = workers = 0
        python: dict[int, float] = {}  # the pytest processes' own CPU-seconds, as last seen
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                controller = max(controller, _hwm_kb(proc.pid))
                python[proc.pid] = _own_seconds(proc.pid, python.get(proc.pid, 0.0))
                for kid in _python_children(proc.pid):
                    workers = max(workers, _hwm_kb(kid))
                    python[kid] = _own_seconds(kid, python.get(kid, 0.0))
                time.sleep(0.02)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.monotonic() - start
        cpu = dataclasses.replace(meter.stop(), python=sum(python.values()))
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        proc.stderr.close()
        if proc.returncode not in (0, 1, 3):  # 3: the suite's "could not check every rule"
            print(f"  exit {proc.returncode}: {err.strip()[-600:]}", file=sys.stderr, flush=True)
        stamps = _log_lines(self.log)
        reports = {
            name: _size(out / file)
            for name, file in (
                ("junit", "junit.xml"),
                ("html", "report.html"),
                ("json", "results.json"),
                ("hdf", "hdf"),
                ("fleet", "fleet.html"),
            )
            if (out / file).exists()
        }
        return Run(
            wall,
            len(stamps),
            controller * 1024 / MB or None,
            workers * 1024 / MB or None,
            usage.ru_maxrss * 1024 / MB,
            reports,
            proc.returncode,
            counts_of(out / "junit.xml"),
            min(stamps) - start_wall if stamps else None,
            cpu,
        )

    def outdir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="run-", dir=self.tmp))

    def suite(self, hosts: list[str], workers: int, extra: list[str] = (), env: dict | None = None) -> Run:
        out = self.outdir()
        argv = [self.python, "-m", "pytest", f"--hosts={','.join(hosts)}", "-p", "no:cacheprovider", "-q"]
        argv += [
            f"--junitxml={out / 'junit.xml'}",
            f"--html={out / 'report.html'}",
            f"--results-json={out / 'results.json'}",
            f"--hdf-dir={out / 'hdf'}",
            f"--fleet-html={out / 'fleet.html'}",
            *extra,
        ]
        if workers:
            argv += ["-n", str(workers)]
        try:
            return self.process(argv, ROOT, out, env)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def peer(self, hosts: list[str], workers: int) -> Run:
        out = self.outdir()
        argv = [self.python, "-m", "pytest", "-c", str(PEER / "pytest.ini"), f"--hosts={','.join(hosts)}", "-q"]
        argv += [f"--junitxml={out / 'junit.xml'}", f"--html={out / 'report.html'}", "--self-contained-html"]
        if workers:
            argv += ["-n", str(workers)]
        try:
            return self.process(argv, PEER, out)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def empty(self, count: int) -> Run:
        """pytest alone: PEER_RULES x count empty tests, with the same junit.xml and report.html."""
        out = self.outdir()
        (out / "pytest.ini").write_text("[pytest]\npython_files = test_*.py\n")
        (out / "test_empty.py").write_text(
            "import pytest\n\n\n"
            f"@pytest.mark.parametrize('host', [f'h{{i}}' for i in range({count})])\n"
            f"@pytest.mark.parametrize('rule', range({PEER_RULES}))\n"
            "def test_rule(host, rule):\n    pass\n"
        )
        argv = [self.python, "-m", "pytest", "-c", str(out / "pytest.ini"), "-p", "no:timesync_audit"]
        argv += ["-p", "no:cacheprovider", "-q", "--junitxml", str(out / "junit.xml"), f"--html={out / 'report.html'}"]
        argv += ["--self-contained-html", str(out / "test_empty.py")]
        try:
            return self.process(argv, out, out)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def floor(self, argvs: list[list[str]], concurrent_: bool) -> Run:
        """One trivial remote command per host through the same wrappers: sequential, or
        CONCURRENCY at a time, as the suite gathers several hosts at once."""
        self.log.write_text("")

        def one(argv: list[str]) -> int:
            return subprocess.run(argv, env=self.env, stdin=subprocess.DEVNULL, capture_output=True).returncode

        meter = CpuMeter(self.targets_cpu)
        start = time.monotonic()
        if concurrent_:
            with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
                codes = list(pool.map(one, argvs))
        else:
            codes = [one(a) for a in argvs]
        wall = time.monotonic() - start
        cpu = meter.stop()
        return Run(wall, len(_log_lines(self.log)), rc=max(codes), counts=f"{codes.count(0)} ok", cpu=cpu)


# -- start-up ---------------------------------------------------------------------------------------------


def importtime(python: str, host: str, env: dict) -> dict[str, float]:
    """Cumulative import times (s) of `python -X importtime -m pytest --collect-only` on one host."""
    proc = subprocess.run(
        [
            python,
            "-X",
            "importtime",
            "-m",
            "pytest",
            f"--hosts={host}",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "-q",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    top: dict[str, float] = {}  # modules imported at depth 0 (not by another import): their cumulative time
    anywhere: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|( *)(\S+)", line)
        if m:
            seconds, depth, name = int(m.group(1)) / 1e6, (len(m.group(2)) - 1) // 2, m.group(3)
            anywhere.setdefault(name, seconds)
            if depth == 0:
                top[name] = top.get(name, 0.0) + seconds

    def family(prefix: str) -> float:
        return sum(v for k, v in top.items() if k == prefix or k.startswith(prefix + "."))

    return {
        "pytest": family("pytest") + family("_pytest"),
        "suite modules": family("timesync_audit"),
        "paramiko": anywhere.get("paramiko", 0.0),
        "testinfra": family("testinfra"),
        "hypothesis": family("hypothesis"),
    }


# -- tables -----------------------------------------------------------------------------------------------


def cpu_line(cpu: Cpu | None) -> str:
    if cpu is None:
        return ""
    return (
        f"CPU s ctl {cpu.controller:.1f} (pytest {fmt(cpu.python)}) targets {cpu.targets:.1f} "
        f"relay {cpu.relay:.1f} machine {cpu.machine:.1f}"
    )


def med(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


@dataclasses.dataclass
class Row:
    group: str  # "docker 20", "ssh 100 (+50 ms)", "simulated 1000"
    hosts: int
    what: str
    runs: list[Run]

    @property
    def wall(self) -> float:
        return med([r.wall for r in self.runs])

    def cells(self) -> list[str]:
        runs = self.runs
        reports = [sum((r.reports or {}).values()) for r in runs if r.reports]
        split = runs[-1].reports or {}
        return [
            self.group,
            self.what,
            fmt(self.wall, ".2f"),
            fmt(self.wall / self.hosts, ".3f"),
            fmt(med([r.commands / self.hosts for r in runs]), ".1f"),
            fmt(med([r.controller_mb for r in runs]), ".0f"),
            fmt(med([r.workers_mb for r in runs]), ".0f"),
            fmt(med(reports) / MB if reports else None, ".2f"),
            " / ".join(f"{k} {v / MB:.2f}" for k, v in split.items()) or "-",
            self.cpu_cell(),
            runs[-1].counts,
        ]

    def cpu_cell(self) -> str:
        cpus = [r.cpu for r in self.runs if r.cpu]
        if not cpus:
            return "-"
        ctl, python = med([c.controller for c in cpus]), med([c.python for c in cpus])
        rest = [fmt(med([getattr(c, part) for c in cpus]), ".1f") for part in ("targets", "relay", "machine")]
        return " / ".join([fmt(ctl, ".1f") + (f" ({fmt(python, '.1f')})" if python is not None else ""), *rest])


HEAD = [
    "targets",
    "run",
    "wall s",
    "s / host",
    "remote cmds / host",
    "controller MB",
    "worker MB (largest)",
    "reports MB",
    "reports (last run) MB",
    "CPU s: controller (pytest) / targets / relay / machine",
    "p/f/s/e",
]


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> dict[str, str]:
    cpu = next(
        (
            l.split(":", 1)[1].strip()
            for l in Path("/proc/cpuinfo").read_text().splitlines()
            if l.startswith("model name")
        ),
        platform.machine(),
    )
    mem_kb = next(
        int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal:")
    )
    commit = sh("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD", check=False).stdout.strip() or "?"
    dirty = sh("git", "-C", str(ROOT), "status", "--porcelain", "--", "timesync_audit", "tests", check=False).stdout
    docker = sh(REAL["docker"], "version", "--format", "{{.Server.Version}}", check=False).stdout.strip() or "?"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPUs": str(os.cpu_count()),
        "CPU": cpu,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "docker": docker,
        "commit": commit + (" with uncommitted changes to the suite" if dirty.strip() else ""),
    }


# -- main -------------------------------------------------------------------------------------------------


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", default="20,100", help="docker fleet sizes (default 20,100)")
    parser.add_argument("--ssh-hosts", type=int, default=100, help="SSH hosts (default 100)")
    parser.add_argument("--latency-ms", type=int, default=50, help="netem delay on the lab bridge (default 50)")
    parser.add_argument("--simulated", type=int, default=1000, help="simulated hosts (default 1000)")
    parser.add_argument("--peer-max-hosts", type=int, default=20, help="largest docker fleet the peer runs on")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated, of: " + ", ".join(PARTS))
    parser.add_argument("--no-docs", action="store_true", help=f"do not write {DOCS.relative_to(ROOT)}")
    parser.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"), help="the suite's interpreter")
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    sizes = ints(args.hosts)
    if not shutil.which("docker"):
        parser.error("docker is missing")

    def terminate(signum, frame):
        raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, terminate)

    made = Made()
    subreaper = become_subreaper()
    tmp = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{made.tag}-"))
    rows: dict[tuple, Row] = {}
    startup: dict[str, list[float]] = {}
    notes: list[str] = []
    try:
        bench = Bench(tmp, args.python, made.targets_cpu)
        bench.warm()
        if not subreaper:
            notes.append("The controller's CPU leaves out ssh's shared masters: this kernel has no child subreaper.")
        plan: list[tuple[tuple, object]] = []  # (row key, a function making one Run)
        docker_needed = max(sizes) if sizes and {"suite", "floor", "peer"} & set(parts) else 0
        if "startup" in parts:
            docker_needed = max(docker_needed, 1)
        print(f"starting {docker_needed} docker target(s) ...", flush=True)
        containers = made.docker_hosts(docker_needed) if docker_needed else []

        def add(group: str, hosts: int, what: str, make) -> None:
            key = (group, what)
            rows[key] = Row(group, hosts, what, [])
            plan.append((key, make))

        for n in sizes:
            urls = [f"docker://{c}" for c in containers[:n]]
            group = f"docker {n}"
            if "suite" in parts:
                add(group, n, "suite, serial", lambda u=urls: bench.suite(u, 0))
                add(group, n, "suite, -n 2", lambda u=urls: bench.suite(u, 2))
            if "peer" in parts and n <= args.peer_max_hosts:
                add(group, n, "peer (testinfra), serial", lambda u=urls: bench.peer(u, 0))
                add(group, n, "peer (testinfra), -n 2", lambda u=urls: bench.peer(u, 2))
            if "floor" in parts:
                argvs = [[str(bench.bin / "docker"), "exec", c, "true"] for c in containers[:n]]
                add(group, n, "floor: `docker exec true`, sequential", lambda a=argvs: bench.floor(a, False))
                add(group, n, f"floor: `docker exec true`, {CONCURRENCY} at once", lambda a=argvs: bench.floor(a, True))
            if "empty" in parts:
                add(group, n, f"pytest alone: {PEER_RULES} empty tests / host", lambda n=n: bench.empty(n))
        if "simulated" in parts and args.simulated:
            sim = [f"docker://sim{i:04d}" for i in range(1, args.simulated + 1)]
            env = {**bench.env, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), os.environ.get("PYTHONPATH")]))}
            group = f"simulated {args.simulated}"
            add(
                group,
                args.simulated,
                "suite, serial (replayed)",
                lambda: bench.suite(sim, 0, ["-p", "replay_plugin"], env),
            )
        ssh_plan: list[tuple[tuple, object]] = []
        if "ssh" in parts and args.ssh_hosts:
            print(f"starting a lab instance and {args.ssh_hosts} SSH target(s) ...", flush=True)
            ssh_hosts, _ = made.ssh_targets(args.ssh_hosts, tmp)
            notes.append(f"SSH latency: {made.latency(args.latency_ms)}.")
            config = made.ssh_config
            urls = [f"ssh://{h}" for h in ssh_hosts]
            group = f"ssh {len(ssh_hosts)} (+{args.latency_ms} ms)"
            opt = [f"--ssh-config={config}"]
            floor = [
                [str(bench.bin / "ssh"), "-F", str(config), "-o", "ControlMaster=no", h, "true"] for h in ssh_hosts
            ]
            for what, make in (
                ("suite, serial", lambda: bench.suite(urls, 0, opt)),
                ("suite, -n 2", lambda: bench.suite(urls, 2, opt)),
                ("floor: `ssh host true`, sequential", lambda: bench.floor(floor, False)),
                (f"floor: `ssh host true`, {CONCURRENCY} at once", lambda: bench.floor(floor, True)),
            ):
                rows[(group, what)] = Row(group, len(ssh_hosts), what, [])
                ssh_plan.append(((group, what), make))
        for run in range(args.runs):  # interleaved: run n of every measurement, then run n + 1
            for (key, make), workers in [(m, True) for m in plan] + [(m, False) for m in ssh_plan]:
                result = make()
                rows[key].runs.append(result)
                wk = f"wk {fmt(result.workers_mb, '.0f'):>4} MB  " if workers else ""
                print(
                    f"run {run + 1}/{args.runs} {key[0]:>16} | {key[1]:44} {result.wall:7.2f} s  "
                    f"cmds {result.commands:5}  ctl {fmt(result.controller_mb, '.0f'):>4} MB  "
                    f"{wk}exit {result.rc}  {result.counts}  {cpu_line(result.cpu)}",
                    flush=True,
                )
            if "startup" in parts:
                target = f"docker://{containers[0]}"
                one = bench.suite([target], 0)
                times = importtime(args.python, target, bench.env)
                times["first gather"] = one.first_command
                times["wall, 1 host"] = one.wall
                for k, v in times.items():
                    startup.setdefault(k, []).append(v)
                print(
                    f"run {run + 1}/{args.runs} startup: " + ", ".join(f"{k} {fmt(v, '.3f')}" for k, v in times.items())
                )
    except KeyboardInterrupt:
        print("interrupted: removing what was started", file=sys.stderr)
        return 130
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        detail = (
            f"{' '.join(exc.cmd[:4])}...: exit {exc.returncode}: {exc.stderr.strip()[-500:]}"
            if isinstance(exc, subprocess.CalledProcessError)
            else str(exc)
        )
        print(detail, file=sys.stderr)
        return 1
    finally:
        made.remove_all()
        shutil.rmtree(tmp, ignore_errors=True)
    done = [r for r in rows.values() if r.runs]
    targets = judge(done, startup, args)
    print()
    print(table(done))
    print()
    if startup:
        print(startup_table(startup))
        print()
    for line in targets:
        print(line)
    if not args.no_docs:
        write_docs(results_block(done, startup, targets, machine(), args, notes))
        print(f"\nwritten: {DOCS.relative_to(ROOT)} ({SECTION})")
    return 0


STARTUP_KEYS = (
    ("first gather", "process start to the first `docker exec` (1 docker host, no -X importtime)"),
    ("wall, 1 host", "the whole run, 1 docker host, reports included"),
    ("pytest", "importtime: pytest's own modules"),
    ("suite modules", "importtime: the suite's modules (timesync_audit.*), as the plugin loads them"),
    ("paramiko", "importtime: paramiko, on this docker-only run (0: not imported)"),
    ("testinfra", "importtime: testinfra's modules"),
    ("hypothesis", "importtime: hypothesis, imported by its pytest plugin at the terminal summary"),
)


def startup_table(startup: dict[str, list[float]]) -> str:
    lines = ["| start-up | seconds (median) | what |", "|---|---|---|"]
    for key, what in STARTUP_KEYS:
        if key in startup:
            lines.append(f"| {key} | {fmt(med(startup[key]), '.3f')} | {what} |")
    return "\n".join(lines)


def judge(rows: list[Row], startup: dict[str, list[float]], args) -> list[str]:
    """One line per target: met, not met, or not measured."""
    by = {(r.group, r.what): r for r in rows}

    def wall(group: str, what: str) -> float | None:
        row = by.get((group, what))
        return row.wall if row else None

    out = []
    suite, peer = wall("docker 20", "suite, serial"), wall("docker 20", "peer (testinfra), serial")
    if suite and peer:
        ratio = peer / suite
        par = wall("docker 20", "suite, -n 2"), wall("docker 20", "peer (testinfra), -n 2")
        extra = f"; with -n 2: {par[1] / par[0]:.1f}x" if all(par) else ""
        out.append(
            "- 20 docker hosts, the suite at least 10x faster than the peer: "
            f"**{'met' if ratio >= 10 else 'not met'}** "
            f"(serial: suite {suite:.2f} s, peer {peer:.2f} s: {ratio:.1f}x{extra})"
        )
    else:
        out.append("- 20 docker hosts, the suite at least 10x faster than the peer: not measured")
    for group, limit, label in (
        ("docker 100", 20, "100 docker hosts, the suite under 20 s"),
        (
            f"ssh {args.ssh_hosts} (+{args.latency_ms} ms)",
            15,
            f"{args.ssh_hosts} SSH hosts with {args.latency_ms} ms added latency, the suite under 15 s",
        ),
    ):
        serial, par = wall(group, "suite, serial"), wall(group, "suite, -n 2")
        if serial is None:
            out.append(f"- {label}: not measured")
            continue
        met = "met" if serial < limit else "not met"
        extra = f", -n 2 {par:.2f} s ({'under' if par < limit else 'over'} {limit} s)" if par else ""
        out.append(f"- {label}: **{met}** (serial {serial:.2f} s{extra})")
    row = by.get((f"simulated {args.simulated}", "suite, serial (replayed)"))
    if row:
        ctl = med([r.controller_mb for r in row.runs]) or 0
        met = "met" if row.wall < 60 and ctl < 500 else "not met"
        out.append(
            f"- {args.simulated} simulated hosts, under 60 s and under 500 MB controller memory, reports included: "
            f"**{met}** ({row.wall:.1f} s, controller {ctl:.0f} MB)"
        )
    else:
        out.append(f"- {args.simulated} simulated hosts: not measured")
    first = med(startup.get("first gather", []))
    paramiko = med(startup.get("paramiko", [])) or 0.0
    paramiko = f"yes, {paramiko:.3f} s" if paramiko else "no"
    if first is not None:
        out.append(
            f"- start-up (process start to the first gather) under 0.5 s: **{'met' if first < 0.5 else 'not met'}** "
            f"({first:.3f} s; the suite's modules' import {med(startup['suite modules']):.3f} s under -X importtime; "
            "paramiko imported on a docker-only "
            f"run: {paramiko})"
        )
    else:
        out.append("- start-up under 0.5 s: not measured")
    return out


SECTION_HEAD = f"""{SECTION}

How the suite's wall time and memory grow with the fleet, beside what any tool must pay and beside
a plain testinfra suite. Run: `python bench/fleet.py` (see `bench/README.md`). Every measurement
is run as a user runs it, in a subprocess, with every report written to a temporary directory
(`--junitxml`, `--html`, `--results-json`, `--hdf-dir`, `--fleet-html`):

- **suite**: `python -m pytest --hosts=docker://a,docker://b,... -p no:cacheprovider -q` and the
  reports, serial and with `-n 2` (48 rules per host);
- **floor**: one trivial remote command per host over the same transport (`docker exec <c> true`,
  `ssh <host> true` without a shared master), one after the other and {CONCURRENCY} at a time: the least
  any tool pays;
- **peer**: `bench/peer_suite/`, the chrony rules written the usual testinfra way, one remote
  command per check ({PEER_RULES} tests per host: the 14 of `tests/chrony/rules` plus
  `service_chronyd_enabled` and `chrony_synchronized`), with junit.xml and report.html, serial
  and with `-n 2`;
- **pytest alone**: {PEER_RULES} empty tests per host (`-p no:timesync_audit`), with junit.xml
  and report.html: the cost of pytest itself.

Docker targets are throwaway containers of `{IMAGE}` started as `bench/hostile.py` starts them
(`--network none`, no added capability, `sleep infinity`), not as `lab/lab.sh` starts its hosts
(systemd as PID 1): 100 systemd containers on 2 shared cores take minutes to boot, hold a few GB
and need the inotify limits the lab raises, and what is measured here, the transport and the
controller, is the same. No chronyd runs, so the live rules fail alike on every host. SSH targets
are containers of the same image running only sshd (same reason), on the network of a lab
instance the benchmark starts (one host, `{LAB_HOST}`), with the instance's client key and
an ssh_config of its own (`ControlMaster auto`, as the lab's); `tc qdisc add dev tsalab-<id> root
netem delay <ms>` on the instance's bridge delays what the controller sends to them (where the
kernel has netem; else a loopback relay of fleet.py holds each byte as long: the results say which),
so each round trip takes that much longer; the qdisc is removed after the SSH runs. Simulated hosts
(`docker://sim0001`...) are never contacted: `bench/replay_plugin.py` answers their gather from
the recorded layouts of `selftests/recorded` (debian12-chrony, rhel9-chrony, debian12-ntpsec,
debian12-timesyncd in turn), collected, parsed and judged per host: the controller alone.

Columns: "remote cmds / host" counts `docker exec` and `ssh` calls through wrappers first in
PATH (each adds a bash start, ~2 ms, to every measurement alike); "controller MB" is the pytest
process's own high-water mark (VmHWM, read every 20 ms), "worker MB" the largest xdist worker's;
"reports MB" all reports together; "CPU s" where the run's CPU went (`bench/README.md`): the
run's own processes (pytest and its workers themselves in parentheses; ssh's shared masters
included), the target containers' cgroups, the benchmark's relay, and the whole machine. The
machine is shared with other work: runs are interleaved and the tables show medians. Every run finds the
suite's modules compiled, as a user's second run does: the benchmark keeps Python's bytecode
cache in its temporary directory (`PYTHONPYCACHEPREFIX`; the shell here sets
`PYTHONDONTWRITEBYTECODE`, which the benchmark unsets), filled by one collection first.

**Targets:** 20 docker hosts, the suite at least 10x faster than the peer; 100 docker hosts under
20 s; 100 SSH hosts with 50 ms added latency under 15 s; 1,000 simulated hosts under 60 s and
500 MB controller memory, reports included; start-up (to the first gather) under 0.5 s.
"""


def results_block(rows, startup, targets, info, args, notes) -> str:
    machine_line = ", ".join(f"{k} {v}" for k, v in info.items() if k != "date")
    parts = [
        BEGIN,
        "",
        f"Measured {info['date']}; {args.runs} interleaved run(s) of each measurement, medians.",
        f"Machine: {machine_line}.",
        "",
        table(rows),
        "",
    ]
    if startup:
        parts += [startup_table(startup), ""]
    parts += ["Targets:", "", *targets, ""]
    parts += [*marginal(rows), *notes, "", END]
    return "\n".join(parts)


def marginal(rows: list[Row]) -> list[str]:
    """Where the time goes: what each host added between the two docker fleet sizes."""
    by: dict[str, dict[int, float]] = {}
    for r in rows:
        if r.group.startswith("docker "):
            by.setdefault(r.what, {})[r.hosts] = r.wall
    lines = []
    for what, walls in by.items():
        if len(walls) >= 2:
            small, large = min(walls), max(walls)
            per = (walls[large] - walls[small]) / (large - small)
            lines.append(f"- {what}: {per * 1000:.0f} ms per added host ({small} to {large} hosts)")
    if not lines:
        return []
    return ["What one more docker host adds (the difference of the two fleet sizes' medians):", "", *lines, ""]


def write_docs(block: str) -> None:
    docs_section.write_results(SECTION, SECTION_HEAD, BEGIN, END, block, DOCS)


if __name__ == "__main__":
    sys.exit(main())
