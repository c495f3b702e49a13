"""Run the compliance suite as a user would (a pytest subprocess) and read its JUnit verdicts."""
from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAB = ROOT / "lab"
SSH_CONFIG = LAB / ".run" / "ssh_config"


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


def host_url(backend: str, name: str) -> str:
    return f"{backend}://{name}"


def run_suite(backend: str, hosts: list[str], out_dir: pathlib.Path, extra: list[str] = (),
              ssh_config: pathlib.Path = SSH_CONFIG) -> SuiteRun:
    junit, html = out_dir / f"junit-{backend}.xml", out_dir / f"report-{backend}.html"
    cmd = [sys.executable, "-m", "pytest", f"--hosts={','.join(host_url(backend, h) for h in hosts)}",
           f"--junitxml={junit}", f"--html={html}", "-n", "2", "-q", *extra]
    if backend in ("ssh", "paramiko"):
        cmd.append(f"--ssh-config={ssh_config}")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return SuiteRun(proc.returncode, read_junit(junit), proc.stdout + proc.stderr, html)


def run_pytest(args: list[str], out_dir: pathlib.Path, name: str) -> SuiteRun:
    """The suite with arbitrary options (inventories, profiles, waivers)."""
    junit, html = out_dir / f"junit-{name}.xml", out_dir / f"report-{name}.html"
    cmd = [sys.executable, "-m", "pytest", f"--junitxml={junit}", f"--html={html}", "-q", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return SuiteRun(proc.returncode, read_junit(junit) if junit.exists() else {}, proc.stdout + proc.stderr, html)


def read_junit(path: pathlib.Path) -> dict:
    verdicts = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (node.get("message") or "") + "\n" + (node.text or "")
        host = props.get("host", "").split("://", 1)[-1]
        verdicts[(host, props.get("rule_id"))] = Verdict(outcome, message, props)
    return verdicts
