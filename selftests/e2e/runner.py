"""Run the compliance suite as a user would (a pytest subprocess) and read its JUnit verdicts.

Also the lab instance the tests use (lab/instance.sh has the same naming rules): the e2e
session's own instance is TSA_LAB_ID (conftest.py picks a fresh one unless it is given), and
`INSTANCE` names its objects. Tests write bare host names (chrony-hardened); `container(host)`
is what `docker exec` takes, `host_url("docker", host)` what --hosts takes, and `read_junit`
maps the container names in verdicts back to the bare names, so verdict tables stay keyed by them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAB = ROOT / "lab"
_CONTAINER_BACKENDS = ("docker", "podman")


def default_lab_id() -> str:
    """The id lab.sh gives this clone's instance when TSA_LAB_ID is unset (lab/instance.sh)."""
    return hashlib.sha256(str(ROOT).encode()).hexdigest()[:6]


@dataclasses.dataclass(frozen=True)
class Instance:
    """One lab instance: its run id and the names of what lab.sh creates for it."""

    id: str

    @property
    def run_dir(self) -> pathlib.Path:
        return LAB / ".run" / self.id

    @property
    def ssh_config(self) -> pathlib.Path:
        return self.run_dir / "ssh_config"

    @property
    def network(self) -> str:
        return f"tsa-lab-{self.id}"

    @property
    def bridge(self) -> str:
        return f"tsalab-{self.id}"

    @property
    def chain(self) -> str:
        return f"TSA-LAB-IN-{self.id}"

    @property
    def label(self) -> str:
        return f"tsa-lab={self.id}"

    @property
    def container_prefix(self) -> str:
        return f"tsa-{self.id}-"

    def container(self, host: str) -> str:
        """The container of a lab host (its --hostname stays `host`)."""
        return self.container_prefix + host

    def host_url(self, backend: str, name: str) -> str:
        """--hosts item for a lab host, `user@host` too: over docker:// the container's name,
        over ssh:// and paramiko:// the bare name (an alias of the instance's ssh_config)."""
        if backend in _CONTAINER_BACKENDS:
            user, at, host = name.rpartition("@")
            return f"{backend}://{user}{at}{self.container(host)}"
        return f"{backend}://{name}"

    def bare(self, name: str) -> str:
        """The host name of a verdict's host: `tsa-<id>-chrony-hardened` -> `chrony-hardened`."""
        user, at, host = name.rpartition("@")
        if host.startswith(self.container_prefix):
            host = host[len(self.container_prefix) :]
        return f"{user}{at}{host}"

    def inventory(self, backend: str = "ssh") -> pathlib.Path:
        """The instance's copy of inventories/lab.yml (ssh) or inventories/lab-docker.yml (docker)."""
        return self.run_dir / ("lab-docker.yml" if backend in _CONTAINER_BACKENDS else "lab.yml")

    def hosts(self) -> list[str]:
        """The hosts the instance runs (lab.sh start writes them to its run dir)."""
        return (self.run_dir / "hosts").read_text().split()

    def lab_sh(self, command: str, hosts=None, timeout: float = 900, **env: str) -> subprocess.CompletedProcess:
        """lab/lab.sh COMMAND for this instance (TSA_LAB_HOSTS=hosts for start)."""
        environ = {k: v for k, v in os.environ.items() if k != "TSA_LAB_HOSTS"}
        environ.update(env, TSA_LAB_ID=self.id)
        if hosts:
            environ["TSA_LAB_HOSTS"] = " ".join(hosts)
        return subprocess.run(
            [str(LAB / "lab.sh"), command], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=timeout
        )

    def exec_argv(self, host: str, command: str, *args: str, stdin: bool = False, env: dict | None = None) -> list[str]:
        """`docker exec [-i] [-e K=V...] <container> sh -c COMMAND [sh ARGS...]` on a lab host."""
        argv = ["docker", "exec"] + (["-i"] if stdin else []) + [f"-e{k}={v}" for k, v in (env or {}).items()]
        argv += [self.container(host), "sh", "-c", command]
        return argv + (["sh", *args] if args else [])


#: the e2e session's instance (TSA_LAB_ID; the clone's default instance if unset, as lab.sh)
LAB_ID = os.environ.get("TSA_LAB_ID") or default_lab_id()
INSTANCE = Instance(LAB_ID)
RUN_DIR = INSTANCE.run_dir
SSH_CONFIG = INSTANCE.ssh_config


def container(host: str) -> str:
    """The session instance's container of a lab host: what `docker exec` takes."""
    return INSTANCE.container(host)


@dataclasses.dataclass(frozen=True)
class Verdict:
    outcome: str  # passed, failed, skipped, error
    message: str
    properties: dict


@dataclasses.dataclass
class SuiteRun:
    returncode: int
    verdicts: dict  # (host name, rule id) -> Verdict
    output: str
    html: pathlib.Path
    results: pathlib.Path  # results.json
    hdf: pathlib.Path  # the folder of HDF files
    fleet: pathlib.Path  # fleet.html


def report_options(out_dir: pathlib.Path, name: str) -> tuple[list[str], dict[str, pathlib.Path]]:
    """Every report of a run into out_dir, named for the run: never the repository's reports/."""
    paths = {
        "html": out_dir / f"report-{name}.html",
        "results": out_dir / f"results-{name}.json",
        "hdf": out_dir / f"hdf-{name}",
        "fleet": out_dir / f"fleet-{name}.html",
    }
    options = [
        f"--html={paths['html']}",
        f"--results-json={paths['results']}",
        f"--hdf-dir={paths['hdf']}",
        f"--fleet-html={paths['fleet']}",
    ]
    return options, paths


def host_url(backend: str, name: str, instance: Instance = INSTANCE) -> str:
    """--hosts item for lab host `name` (or `user@name`) of the instance over `backend`."""
    return instance.host_url(backend, name)


def run_suite(
    backend: str,
    hosts: list[str],
    out_dir: pathlib.Path,
    extra: list[str] = (),
    ssh_config: pathlib.Path | None = None,
    instance: Instance = INSTANCE,
) -> SuiteRun:
    """The suite over `backend` against lab hosts (bare names) of the instance."""
    junit = out_dir / f"junit-{backend}.xml"
    reports, paths = report_options(out_dir, backend)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        f"--hosts={','.join(host_url(backend, h, instance) for h in hosts)}",
        f"--junitxml={junit}",
        *reports,
        "-n",
        "2",
        "-q",
        *extra,
    ]
    if backend in ("ssh", "paramiko"):
        cmd.append(f"--ssh-config={ssh_config or instance.ssh_config}")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return SuiteRun(proc.returncode, read_junit(junit, instance), proc.stdout + proc.stderr, **paths)


def run_pytest(args: list[str], out_dir: pathlib.Path, name: str, instance: Instance = INSTANCE) -> SuiteRun:
    """The suite with arbitrary options (inventories, profiles, waivers)."""
    junit = out_dir / f"junit-{name}.xml"
    reports, paths = report_options(out_dir, name)
    cmd = [sys.executable, "-m", "pytest", f"--junitxml={junit}", *reports, "-q", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return SuiteRun(
        proc.returncode, read_junit(junit, instance) if junit.exists() else {}, proc.stdout + proc.stderr, **paths
    )


def read_junit(path: pathlib.Path, instance: Instance = INSTANCE) -> dict:
    """(host, rule id) -> Verdict; host is the bare lab host name (`user@name` if a user was given)."""
    verdicts = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or "") + "\n" + (node.text or "")
        host = instance.bare(props.get("host", "").split("://", 1)[-1])
        verdicts[(host, props.get("rule_id"))] = Verdict(outcome, message, props)
    return verdicts
