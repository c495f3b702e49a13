"""Replay selftests/recorded/chronyd-fatal/cases.yaml against real chronyd 4.3.

Every case runs in one throwaway container of the lab's chrony image (Debian
12, chrony 4.3), with no network and without control of the clock
(`chronyd -d -x`): a "Fatal error" line means chronyd refused the
configuration, still running after a second means it accepted it. Cases that
watch sources ask the running chronyd (`chronyc -n -c sources`) which ones it
loaded. The test asserts that the recording still holds, so the corpus the
parser is checked against (selftests/unit/test_chrony_fatal.py) cannot drift
from the daemon.

To record the corpus again from the daemon:
    python selftests/e2e/test_chronyd_fatal_live.py --record
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import secrets
import shutil
import subprocess
import sys
import tempfile

import pytest

# the lab fixture starts the engine and builds the images these tests run their own containers from
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("lab")]

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:  # run as a script: the repository root must be importable
    sys.path.insert(0, str(HERE.parent.parent))
IMAGE = os.environ.get("TSA_CHRONY_IMAGE", "tsa-lab-chrony:latest")
RUNNING_SECONDS = 1.0  # everything chronyd checks at start is done well before this

_spec = importlib.util.spec_from_file_location("chrony_fatal_corpus", HERE.parent / "unit" / "test_chrony_fatal.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)

_RUNNER = r"""
T=$1
for d in /corpus/cases/*; do
  rm -rf /tsa
  rm -f /run/chrony/chronyd.pid /run/chrony/chronyd.sock
  if [ -d "$d/root" ]; then cp -a "$d/root/." /; fi
  set --
  if [ -f "$d/args" ]; then while IFS= read -r a; do set -- "$@" "$a"; done < "$d/args"; fi
  main=$(cat "$d/main")
  printf '@@CASE %s\n' "${d##*/}"
  if [ -f "$d/observe" ]; then
    chronyd -d -x -f "$main" "$@" >/tmp/out 2>&1 &
    pid=$!
    sleep "$T"
    if kill -0 "$pid" 2>/dev/null; then
      printf '@@SOURCES\n'; chronyc -n -c sources 2>&1; printf '@@ENDSOURCES\n'
      kill "$pid"; wait "$pid"; rc=124
    else
      wait "$pid"; rc=$?
    fi
  else
    timeout "$T" chronyd -d -x -f "$main" "$@" >/tmp/out 2>&1; rc=$?
  fi
  printf '@@RC %s\n' "$rc"
  cat /tmp/out
  printf '\n@@END\n'
done
"""


def unavailable() -> str | None:
    """Why the daemon cannot be run here, or None."""
    if shutil.which("docker") is None:
        return "docker is not installed"
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    if info.returncode != 0:
        return f"docker is not usable: {(info.stderr or info.stdout).strip()[:200]}"
    image = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, text=True)
    if image.returncode != 0:
        return f"image {IMAGE} is not built (lab/lab.sh start builds it)"
    return None


def _materialize(cases: list[dict], base: pathlib.Path) -> None:
    (base / "run.sh").write_text(_RUNNER)
    for index, case in enumerate(cases):
        where = base / "cases" / f"{index:04d}"
        root = where / "root"
        where.mkdir(parents=True)
        tree = corpus.case_tree(case)
        for path in sorted(tree, key=lambda p: p.count("/")):
            data, mode = tree[path]
            target = root / path.lstrip("/")
            if data is None:
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        for path in sorted(tree, key=lambda p: -p.count("/")):  # modes last: a 0700 directory stays writable
            os.chmod(root / path.lstrip("/"), tree[path][1])
        if root.exists():
            os.chmod(root, 0o755)
        (where / "main").write_text(case.get("main", corpus.DEFAULT_MAIN) + "\n")
        if case.get("args"):
            (where / "args").write_text("".join(a + "\n" for a in case["args"]))
        if case.get("observe_sources"):
            (where / "observe").write_text("")


def _outcome(block: str) -> dict:
    lines = block.split("\n")
    rc = next((int(line.split()[1]) for line in lines if line.startswith("@@RC ")), None)
    sources = None
    if "@@SOURCES" in block:
        inside = block.split("@@SOURCES\n", 1)[1].split("@@ENDSOURCES", 1)[0]
        sources = sorted(line.split(",")[2] for line in inside.splitlines() if line.count(",") > 2)
    fatal = [line.split("Fatal error : ", 1)[1] for line in lines if "Fatal error : " in line]
    if fatal:
        result = {"refused": fatal[0]}
    elif rc == 124:
        result = "accepted"
    else:
        said = [line for line in lines if line.strip() and not line.startswith("@@")]
        asserted = [line for line in said if "Assertion" in line]
        result = {"crashed": (asserted or said or [f"exit status {rc}"])[-1]}
    out = {"chronyd": result}
    if sources is not None and result == "accepted":
        out["sources"] = sources
    return out


def run_corpus(cases: list[dict], image: str = IMAGE, seconds: float = RUNNING_SECONDS) -> list[dict]:
    """What real chronyd does with each case: [{"chronyd": ..., "sources": [...]}], in case order."""
    name = f"tsa-chronyfatal-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="tsa-chronyfatal-") as tmp:
        base = pathlib.Path(tmp)
        os.chmod(base, 0o755)
        _materialize(cases, base)
        command = [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--name",
            name,
            "-v",
            f"{base}:/corpus:ro",
            "--entrypoint",
            "/bin/sh",
            image,
            "/corpus/run.sh",
            str(seconds),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, errors="replace", timeout=60 + len(cases) * (seconds + 1)
            )
        except subprocess.TimeoutExpired:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
            raise
    if done.returncode != 0:
        raise RuntimeError(f"the corpus container failed ({done.returncode}): {done.stderr[-2000:]}")
    blocks = {}
    for chunk in done.stdout.split("@@CASE ")[1:]:
        header, _, rest = chunk.partition("\n")
        blocks[int(header)] = rest.rsplit("@@END", 1)[0]
    return [_outcome(blocks[i]) for i in range(len(cases))]


def test_recording_still_holds():
    reason = unavailable()
    if reason:
        pytest.skip(f"cannot run real chronyd: {reason}")
    cases = corpus.load_corpus()["cases"]
    observed = run_corpus(cases)
    drift = []
    for case, seen in zip(cases, observed):
        recorded = {"chronyd": case["chronyd"], **({"sources": case["sources"]} if "sources" in case else {})}
        if seen != recorded:
            drift.append(f"{case['name']}: recorded {recorded}, chronyd now {seen}")
    assert not drift, "\n".join(drift)


def record() -> None:
    """Run the corpus and write what chronyd did into cases.yaml."""
    document = corpus.load_corpus()
    observed = run_corpus(document["cases"])
    for case, seen in zip(document["cases"], observed):
        case.pop("sources", None)
        case.update(seen)
    header = corpus.CORPUS.read_text(encoding="utf-8").split("\ncases:", 1)[0]
    body = corpus.dump_corpus({"cases": document["cases"]})
    corpus.CORPUS.write_text(header.rstrip("\n") + "\n" + body, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python selftests/e2e/test_chronyd_fatal_live.py --record")
    problem = unavailable()
    if problem:
        sys.exit(problem)
    record()
