"""The recorded ntp.conf corpus, re-run against the real ntpd (NTPsec 1.2.2) of the lab image.

selftests/recorded/ntpd-config/cases.yaml holds cases (configuration files, with modes where they
matter, and ntpd's command line) and what the real daemon did with each: whether it started or
exited (and with which status), the configuration messages it logged and, when it started, the
restriction list it built (`ntpq -c reslist`) and the associations it made (`ntpq -p`). The unit
test selftests/unit/test_ntpd_config_model.py holds the parser to that record; this test holds the
record to the daemon, so neither can drift.

Every case runs in one throwaway container of the lab's ntpsec image (Debian 12), without network,
with no capability added and with DAC_OVERRIDE and DAC_READ_SEARCH dropped, so that a file or
directory mode 0000 is unreadable to ntpd as it would be to any other process. For each case the
files are laid down, `ntpd -n ARGS` runs for two seconds, the queries are made and everything the
case wrote is removed. ntpd runs as root there (it cannot drop to its user without CAP_SYS_TIME),
which changes nothing for configuration reading: ntpd reads it before dropping root.

Re-record (rewrites the `observed` part of every case, keeps the cases):

    .venv/bin/python selftests/e2e/test_ntpd_config_live.py --record
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CASES = ROOT / "selftests" / "recorded" / "ntpd-config" / "cases.yaml"
IMAGE = "tsa-lab-ntpsec:latest"
#: one name per run, so that two runs (a lab run collecting every e2e test, a re-recording) never meet
CONTAINER = f"tsa-ntpdconf-live-{os.getpid()}"

# the lab fixture starts the engine and builds the images these tests run their own containers from
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("lab")]

#: runs inside the container (python3 is there: ntpq is a Python program)
RUNNER = r"""
import json, os, re, shutil, subprocess, sys, time

QUERY_KEYS = "/etc/ntpsec/query.keys"
WAIT = 2.0
LOG_LINE = re.compile(r"^\S+ ntpd\[\d+\]: (.*)$")
KEEP = ("CONFIG:", "NTS", "INIT: cap_set_proc", "INIT: must be", "AUTH:", "RESTRICT:")
NOISE = ("NTSc: Using system default root certificates.",)


def unlock(path):
    for top, dirs, _ in os.walk(path):
        for d in dirs:
            os.chmod(os.path.join(top, d), 0o755)


def empty(path):
    os.chmod(path, 0o755)
    unlock(path)
    for name in os.listdir(path):
        p = os.path.join(path, name)
        shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)


def write(files, harness):
    created, dir_modes = [], []
    for path, spec in list(files.items()) + list(harness.items()):
        spec = spec if isinstance(spec, dict) else {"content": spec}
        parent = path if spec.get("dir") else os.path.dirname(path)
        missing, d = [], parent
        while d and d != "/" and not os.path.exists(d):
            missing.append(d)
            d = os.path.dirname(d)
        for d in reversed(missing):
            os.mkdir(d)
            created.append(d)
        if spec.get("dir"):
            dir_modes.append((path, int(spec.get("mode", "0755"), 8)))
            continue
        with open(path, "w") as f:
            f.write(spec["content"])
        created.append(path)
        os.chmod(path, int(spec.get("mode", "0644"), 8))
    for path, mode in dir_modes:
        os.chmod(path, mode)
    return created


def messages(text):
    out = []
    for raw in text.splitlines():
        m = LOG_LINE.match(raw)
        if m is None:
            continue  # ntpd's own stderr copies of lines it also logs
        line = m.group(1)
        if line.startswith(KEEP) and line not in NOISE:
            out.append(line)
    return out


def reslist(text):
    lines = text.splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("====")) + 1
    except StopIteration:
        return None
    entries, i = [], start
    while i < len(lines):
        m = re.match(r"^\s*\d+\s+(\S+(?: \S+)?)\s*$", lines[i])
        if m:
            flags = lines[i + 1].split() if i + 1 < len(lines) else []
            entries.append({"address": m.group(1), "flags": flags})
            i += 2
        else:
            i += 1
    return entries


def peers(text):
    lines = text.splitlines()
    if not lines or "remote" not in lines[0]:
        return None
    found = [l.split()[0].lstrip("*+-#xo.") for l in lines[2:] if l.strip()]
    # ntpq names the local clock driver by its address until the driver has started: one peer
    return [re.sub(r"^127\.127\.1\.(\d+)$", r"LOCAL(\1)", name) for name in found]


def run(case, harness):
    for top in ("/etc/ntpsec",):
        empty(top)
    created = write(case["files"], harness)
    log = open("/tmp/ntpd.out", "w")
    proc = subprocess.Popen(["ntpd", "-n"] + case["args"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + WAIT
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    result = {}
    if proc.poll() is None:
        result["outcome"] = "started"
        if case.get("query"):
            q = subprocess.run(["ntpq", "-n", "-k", QUERY_KEYS, "-a", "1", "-c", "reslist"],
                               capture_output=True, text=True, timeout=30)
            result["reslist"] = reslist(q.stdout)
            p = subprocess.run(["ntpq", "-n", "-p"], capture_output=True, text=True, timeout=30)
            result["peers"] = peers(p.stdout)
        proc.terminate()
        proc.wait()
    else:
        result["outcome"] = "exited"
        result["exit_status"] = proc.returncode
    log.close()
    with open("/tmp/ntpd.out") as f:
        result["messages"] = [m for m in messages(f.read()) if not m.startswith("ERR: ntpd exiting on signal")]
    for path in reversed(created):
        if os.path.isdir(path) and not os.path.islink(path):
            unlock(path)
            os.chmod(path, 0o755)
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.remove(path)
    return result


doc = json.load(sys.stdin)
json.dump([run(c, doc["harness_files"]) for c in doc["cases"]], sys.stdout)
"""


def load() -> dict:
    return yaml.safe_load(CASES.read_text())


def docker_ready() -> str | None:
    """Why the corpus cannot be re-run here, or None."""
    if shutil.which("docker") is None:
        return "docker is not installed"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if info.returncode != 0:
        return "docker is not running (docker info failed)"
    image = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, text=True)
    if image.returncode != 0:
        return f"image {IMAGE} is missing (lab/lab.sh builds it)"
    return None


def run_corpus(doc: dict) -> list[dict]:
    """Every case of the corpus in one container; the results in case order."""
    payload = json.dumps(
        {
            "cases": [{k: c[k] for k in ("files", "args", "query")} for c in doc["cases"]],
            "harness_files": doc["harness_files"],
        }
    )
    try:
        proc = subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "-i",
                "--network",
                "none",
                "--cap-drop",
                "DAC_OVERRIDE",
                "--cap-drop",
                "DAC_READ_SEARCH",
                "--name",
                CONTAINER,
                "--entrypoint",
                "/usr/bin/python3",
                IMAGE,
                "-c",
                RUNNER,
            ],
            input=payload,
            capture_output=True,
            text=True,
            timeout=60 + 30 * len(doc["cases"]),
        )
    except subprocess.TimeoutExpired:
        subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True)  # ours, by its exact name
        raise
    if proc.returncode != 0:
        subprocess.run(["docker", "rm", "-f", CONTAINER], capture_output=True)  # ours, by its exact name
        raise RuntimeError(f"the corpus run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value):
    style = "|" if "\n" in value and all(len(l) < 200 for l in value.split("\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

HEADER = """\
# ntp.conf cases and what the real ntpd (NTPsec 1.2.2, Debian 12 package, image tsa-lab-ntpsec)
# did with each. Written by `selftests/e2e/test_ntpd_config_live.py --record`; the `observed`
# parts are the daemon's, never edited by hand. The unit test test_ntpd_config_model.py holds the
# parser (timesync_audit.parsers.ntp_conf, ntp_restrict) to every case; the e2e test re-runs them.
#
# A case: `files` (path: text, or {content, mode} / {dir: true, mode}), ntpd's `args` (after -n),
# `query` (the files give ntpq a control key, so the restriction list and the associations are
# read). `observed`: `outcome` started | exited (`exit_status`), `messages` (ntpd's
# configuration log lines, in order, timestamps removed), `reslist` (every restriction entry:
# address/prefix and flags, as ntpq prints them) and `peers` (associations, in creation order).
# `harness_files` are laid down for every case (the control key ntpq uses).
"""


def record() -> None:
    doc = load()
    results = run_corpus(doc)
    for case, observed in zip(doc["cases"], results):
        case["observed"] = observed
    CASES.write_text(HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=200, allow_unicode=True))


@pytest.fixture(scope="module")
def live_results():
    reason = docker_ready()
    if reason:
        pytest.skip(f"cannot re-run the ntpd corpus: {reason}")
    doc = load()
    return doc, run_corpus(doc)


def test_recorded_corpus_matches_real_ntpd(live_results):
    doc, results = live_results
    drift = []
    for case, now in zip(doc["cases"], results):
        if case["observed"] != now:
            drift.append(f"{case['name']}:\n  recorded {json.dumps(case['observed'])}\n  now      {json.dumps(now)}")
    assert not drift, "real ntpd no longer does what cases.yaml records (re-record and review):\n" + "\n".join(drift)


if __name__ == "__main__":
    if sys.argv[1:] == ["--record"]:
        reason = docker_ready()
        if reason:
            sys.exit(f"cannot record: {reason}")
        record()
        print(f"recorded {CASES}")
    else:
        sys.exit("usage: test_ntpd_config_live.py --record")
