"""What the benchmarks read of /proc and the cgroup files: CPU counters of the machine and of a container."""

from __future__ import annotations

import os
import re


def read(path: str) -> str:
    """A file's text, or "" where it cannot be read (a process that has ended)."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def machine_ticks() -> int:
    """Busy clock ticks of every CPU so far (/proc/stat: user, nice, system, irq, softirq, steal):
    also counts whatever else runs on the machine."""
    line = read("/proc/stat").splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in line[1:9])
    return user + nice + system + irq + softirq + steal


def cgroup_cpu_file(pid1: int) -> str:
    """The file that counts the CPU of the container whose first process is `pid1`: cgroup v1's
    cpuacct.usage (ns), else cgroup v2's cpu.stat of the container's cgroup (above the init.scope
    systemd makes inside it)."""
    lines = read(f"/proc/{pid1}/cgroup").splitlines()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            v1 = f"/sys/fs/cgroup/cpuacct{path}/cpuacct.usage"
            if os.path.exists(v1):
                return v1
    unified = lines[-1].split(":", 2)[2] if lines else ""
    return f"/sys/fs/cgroup{unified.rsplit('/init.scope', 1)[0]}/cpu.stat"


def cgroup_ns(path: str) -> int:
    """CPU nanoseconds a cgroup_cpu_file counts so far."""
    text = read(path)
    if path.endswith("cpu.stat"):
        usec = re.search(r"^usage_usec (\d+)", text, re.M)
        return int(usec.group(1)) * 1000 if usec else 0
    return int(text or 0)
