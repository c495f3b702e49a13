"""Secrets never leave a target: not in the terminal, the reports or the bytes the transport carried,
at any verbosity, over docker://, paramiko:// and ssh://.

Canaries (random per run) are planted on four lab hosts in every shape the gather protocol has to
keep on the host (timesync_audit/gather/script.py):
- `crypto pw` values, redacted by sed on the target: in ntpsec's ntp.d on `ntpsec`, and in a
  left-over /etc/ntp.conf on `chrony-stock` (no ntpd there; the file is gathered all the same),
  with blanks and tabs, with `pw` again later on the line (`ident pw`, the option repeated) and
  commented out;
- key material by its look, in files with innocent names: a PEM private key in a confdir file
  on `chrony-hardened`, a chrony key line in a file an `include` glob reaches on `chrony-stock`;
- key files by their role: chronyd's `keyfile` (chrony-hardened, chrony-stock, nts-server), the
  NTS server's `ntsserverkey` (nts-server), ntpsec's `keys` file and an ntpkey_* file of a
  `keysdir` (ntpsec).
Then the suite runs against those hosts with verbose, debug-logging, report-all, JUnit-logging and
xdist options (every option set over docker://, two over paramiko:// and ssh://, a few runs at a
time), and every byte it printed or wrote (stdout, stderr, JUnit XML, HTML report) is searched for
every canary, as it is, in any case and base64-encoded. What the transport
carried back is traced too: `docker` and `ssh` through wrappers first in PATH that tee their output,
paramiko by a plugin (paramiko_trace.py) that records what Channel.recv returns. The traces must
hold the gather's answers (proof that the wrappers saw them) and no canary.

The verdicts must still show the facts around each canary (the redacted `crypto pw` line, the file
withheld as key material, the key file's owner, group and mode), so the test cannot pass because
nothing was gathered. ntpd_config_protects_secrets itself is not applicable on ntpsec (NTPsec has
no Autokey; `crypto` is a syntax error to it), so the ntpsec file holding the passwords shows in
the verdict on a source after them (its file:line) and, on the transport, as the redacted lines.

The hosts are modified only while the suite runs: then every planted file and directory is
removed and every changed file put back (content, owner, mode, mtime; the mtimes of the
directories around them too), and each host is compared with its state before, even when a run
fails. Only chrony-hardened, chrony-stock, ntpsec and nts-server are touched.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import dataclasses
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys
import time

import pytest
from runner import ROOT, SSH_CONFIG, container, host_url, read_junit

pytestmark = pytest.mark.e2e

HERE = pathlib.Path(__file__).resolve().parent
POLICY = ["--policy", "approved_servers=nts-server,nts-server2"]
HOSTS = ("chrony-hardened", "chrony-stock", "ntpsec", "nts-server")

#: the option sets a user may add that show more; all of them over docker, two over the SSH
#: backends (the second combines three)
FLAG_SETS = {
    "v": ["-v"],
    "vv": ["-vv"],
    "rA-tb-long": ["-rA", "--tb=long"],
    "junit-logging-all": ["-o", "junit_logging=all"],
    "xdist": ["-n", "2"],
    "debug-log-cli": ["-vv", "-o", "log_level=DEBUG", "-o", "log_cli=true"],
}
FLAG_SETS["rA-tb-long+junit+xdist"] = FLAG_SETS["rA-tb-long"] + FLAG_SETS["junit-logging-all"] + FLAG_SETS["xdist"]
RUNS = [("docker", name) for name in FLAG_SETS if "+" not in name] + [
    (backend, name) for backend in ("paramiko", "ssh") for name in ("debug-log-cli", "rA-tb-long+junit+xdist")
]
#: suite runs at a time (each one is mostly CPU: pytest, xdist workers, the HTML report)
PARALLEL_RUNS = min(len(RUNS), max(2, os.cpu_count() or 2))


# ---- canaries ---------------------------------------------------------------------------------


def _canary() -> str:
    return f"CANARY-{secrets.token_hex(12)}"


@dataclasses.dataclass(frozen=True)
class Canaries:
    ntpsec_crypto_pw: str = dataclasses.field(default_factory=_canary)
    ntpsec_crypto_pw_spaced: str = dataclasses.field(default_factory=_canary)
    leftover_crypto_pw: str = dataclasses.field(default_factory=_canary)
    #: `pw` again later on the line, as a value (`ident pw`) or a repeated option: ntpd takes both
    leftover_crypto_pw_ident_pw: str = dataclasses.field(default_factory=_canary)
    ntpsec_crypto_pw_repeated: str = dataclasses.field(default_factory=_canary)
    ntpsec_crypto_pw_repeated_last: str = dataclasses.field(default_factory=_canary)
    #: a password commented out (still the one the existing key files are encrypted with)
    leftover_crypto_pw_commented: str = dataclasses.field(default_factory=_canary)
    pem_in_confdir: str = dataclasses.field(default_factory=_canary)
    #: a chrony key in hex, as chronyc keygen writes it: the canary is the hex itself
    key_line_in_include: str = dataclasses.field(default_factory=lambda: secrets.token_hex(32))
    chrony_keyfile: str = dataclasses.field(default_factory=_canary)
    chrony_keyfile_hex: str = dataclasses.field(default_factory=lambda: secrets.token_hex(32))
    stock_keyfile: str = dataclasses.field(default_factory=_canary)
    server_keyfile: str = dataclasses.field(default_factory=_canary)
    ntsserverkey: str = dataclasses.field(default_factory=_canary)
    ntpsec_keys: str = dataclasses.field(default_factory=_canary)
    ntpsec_keys_hex: str = dataclasses.field(default_factory=lambda: secrets.token_hex(20))
    ntpsec_keysdir: str = dataclasses.field(default_factory=_canary)

    def items(self) -> list[tuple[str, str]]:
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]


def _forms(canary: str) -> list[bytes]:
    """The canary as bytes, in any case, and base64-encoded at each of the three alignments
    (a self-contained HTML report embeds data as base64)."""
    raw = canary.encode()
    forms = [raw.lower()]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        # only the characters made of the canary's bits alone: none of the bytes around it
        forms.append(encoded[-(-8 * pad // 6) : 8 * (pad + len(raw)) // 6])
    return forms


def leaks(data: bytes, canaries: Canaries) -> list[str]:
    """Names of the canaries found in data (exactly, in any case, or base64-encoded)."""
    lower = data.lower()
    found = []
    for name, canary in canaries.items():
        forms = _forms(canary)
        if forms[0] in lower or any(f in data for f in forms[1:]):
            found.append(name)
    return found


def where(data: bytes, canary: str, width: int = 160) -> str:
    at = data.lower().find(canary.lower().encode())
    if at < 0:
        return "(base64-encoded)"
    return repr(data[max(0, at - width) : at + len(canary) + width])


# ---- the plants -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Plant:
    path: str
    content: bytes
    how: str = "create"  # create (a new file) | append (to an existing file)
    mode: int = 0o644  # for created files
    owner: str = "root:root"  # for created files


@dataclasses.dataclass(frozen=True)
class Chmod:
    path: str
    mode: int


@dataclasses.dataclass(frozen=True)
class Dir:
    path: str
    mode: int = 0o755


def pem(canary: str, kind: str = "PRIVATE KEY") -> bytes:
    body = base64.b64encode(canary.encode() + secrets.token_bytes(90)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("\n".join([f"-----BEGIN {kind}-----", canary, *lines, f"-----END {kind}-----"]) + "\n").encode()


def plants(c: Canaries) -> dict[str, list]:
    return {
        "chrony-hardened": [
            # (b) a PEM private key in a confdir file with an innocent name
            Plant("/etc/chrony/conf.d/zz-extra.conf", b"# site extras\n" + pem(c.pem_in_confdir, "EC PRIVATE KEY")),
            # (d) the key file chronyd uses (`keyfile /etc/chrony/chrony.keys`)
            Plant(
                "/etc/chrony/chrony.keys",
                f"1 SHA256 HEX:{c.chrony_keyfile_hex}\n2 SHA1 ASCII:{c.chrony_keyfile}\n".encode(),
                "append",
            ),
        ],
        "chrony-stock": [
            # (a) a left-over ntp.conf on a host without ntpd: gathered, so redacted on the host
            Plant(
                "/etc/ntp.conf",
                (
                    "# left over from ntp\nserver 0.debian.pool.ntp.org iburst\n"
                    f"crypto pw {c.leftover_crypto_pw}\n"
                    f"crypto pw {c.leftover_crypto_pw_ident_pw} ident pw\n"
                    f"# crypto pw {c.leftover_crypto_pw_commented}\n"
                ).encode(),
            ),
            # (c) a chrony key line in a file an include glob reaches, with an innocent name
            Dir("/etc/chrony/extra"),
            Plant("/etc/chrony/extra/site.conf", f"# site settings\n1 SHA256 HEX:{c.key_line_in_include}\n".encode()),
            Plant("/etc/chrony/chrony.conf", b"include /etc/chrony/extra/*\n", "append"),
            # (d) the key file chronyd uses
            Plant("/etc/chrony/chrony.keys", f"5 SHA256 ASCII:{c.stock_keyfile}\n".encode(), "append"),
        ],
        "ntpsec": [
            # (a) `crypto pw` in ntpsec's ntp.d (ntpd reads ntp.d/*.conf), and (e) a keys file with
            # an innocent name and a keysdir holding an ntpkey_* file
            Plant(
                "/etc/ntpsec/ntp.d/50-crypto.conf",
                (
                    "# site authentication\n"
                    f"crypto pw {c.ntpsec_crypto_pw}\n"
                    f" \tcrypto  randfile /dev/urandom\tpw   {c.ntpsec_crypto_pw_spaced}   # the site password\n"
                    "keys /etc/ntpsec/site-auth.conf\n"
                    "trustedkey 1\n"
                    "keysdir /etc/ntpsec/autokey/\n"
                    # a source after the secrets: its verdict names this file and its line number
                    "server nts-server2 iburst maxpoll 12\n"
                    f"crypto pw {c.ntpsec_crypto_pw_repeated} pw {c.ntpsec_crypto_pw_repeated_last}\n"
                ).encode(),
            ),
            Plant(
                "/etc/ntpsec/site-auth.conf",
                (f"# {c.ntpsec_keys}\n1 SHA1 {c.ntpsec_keys_hex}\n2 MD5 {c.ntpsec_keys}\n").encode(),
                mode=0o600,
            ),
            Dir("/etc/ntpsec/autokey", 0o700),
            Plant(
                "/etc/ntpsec/autokey/ntpkey_host_ntpsec",
                b"# ntpkey_host_ntpsec.3930000000\n" + pem(c.ntpsec_keysdir),
                mode=0o600,
            ),
        ],
        "nts-server": [
            # (d) the NTS server's private key (chronyd loaded it at start and does not read it again;
            # text after the PEM block is ignored by GnuTLS) and its keyfile
            Plant("/etc/chrony/lab/nts.key", f"# {c.ntsserverkey}\n".encode(), "append"),
            Plant("/etc/chrony/chrony.keys", f"9 SHA256 ASCII:{c.server_keyfile}\n".encode(), "append"),
            # world-readable: the key-file rules must see it (stat), the suite must still not read it
            Chmod("/etc/chrony/chrony.keys", 0o644),
        ],
    }


def docker_exec(host: str, script: str, *args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["docker", "exec", "-i", container(host), "sh", "-c", script, "sh", *args],
        input=data if data is not None else b"",
        capture_output=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker exec {host} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done.stdout


_FINGERPRINT = r"""
for p do
  if [ -e "$p" ] || [ -L "$p" ]; then
    stat -c '%n|%F|%u|%g|%a|%s|%y' -- "$p"
    if [ -f "$p" ]; then sha256sum < "$p"; fi
    if [ -d "$p" ]; then ls -A -- "$p" | sha256sum; fi
  else
    printf '%s|absent\n' "$p"
  fi
done
"""


class HostPlanter:
    """Plants on one host and undoes exactly that: created files and directories are removed,
    appended files get their content, owner, mode and mtime back, and the directories around
    them their mtime."""

    def __init__(self, host: str, items: list):
        self.host, self.items = host, items
        paths = [i.path for i in items]
        dirs = {os.path.dirname(p) for p in paths}
        for d in list(dirs):
            while d not in ("/", ""):
                dirs.add(d)
                d = os.path.dirname(d)
        self.watched = sorted(set(paths) | dirs)
        self.before = ""
        self.dir_mtimes: dict[str, str] = {}
        self.created: list[str] = []
        self.saved: dict[str, tuple[bytes, str, str, str]] = {}  # path -> content, uid:gid, mode, mtime

    def fingerprint(self) -> str:
        return docker_exec(self.host, _FINGERPRINT, *self.watched).decode()

    def plant(self) -> None:
        self.before = self.fingerprint()
        for line in self.before.splitlines():
            fields = line.split("|")
            if len(fields) == 7 and fields[1] == "directory":
                self.dir_mtimes[fields[0]] = fields[6]
        for item in self.items:
            if isinstance(item, Dir):
                docker_exec(self.host, 'test ! -e "$1" && mkdir -m "$2" "$1"', item.path, f"{item.mode:o}")
                self.created.append(item.path)
            elif isinstance(item, Plant) and item.how == "create":
                docker_exec(self.host, 'test ! -e "$1" && : > "$1"', item.path)
                self.created.append(item.path)
                docker_exec(
                    self.host,
                    'cat > "$1" && chown "$2" "$1" && chmod "$3" "$1"',
                    item.path,
                    item.owner,
                    f"{item.mode:o}",
                    data=item.content,
                )
            else:
                self.save(item.path)
                if isinstance(item, Chmod):
                    docker_exec(self.host, 'chmod "$2" "$1"', item.path, f"{item.mode:o}")
                else:
                    docker_exec(self.host, 'cat >> "$1"', item.path, data=item.content)

    def save(self, path: str) -> None:
        if path in self.saved or path in self.created:
            return
        meta = docker_exec(self.host, 'stat -c "%u:%g|%a|%y" -- "$1"', path).decode().strip()
        owner, mode, mtime = meta.split("|")
        self.saved[path] = (docker_exec(self.host, 'cat -- "$1"', path), owner, mode, mtime)

    def restore(self) -> list[str]:
        problems = []
        for path in reversed(self.created):
            try:
                docker_exec(self.host, 'if [ -d "$1" ]; then rmdir "$1"; else rm -f "$1"; fi', path)
            except Exception as exc:  # go on: every other change is still undone
                problems.append(f"{self.host}: could not remove {path}: {exc}")
        for path, (content, owner, mode, mtime) in self.saved.items():
            try:
                docker_exec(
                    self.host,
                    'cat > "$1" && chown "$2" "$1" && chmod "$3" "$1" && touch -d "$4" "$1"',
                    path,
                    owner,
                    mode,
                    mtime,
                    data=content,
                )
            except Exception as exc:
                problems.append(f"{self.host}: could not restore {path}: {exc}")
        for directory, mtime in self.dir_mtimes.items():
            try:
                docker_exec(self.host, 'touch -d "$2" "$1"', directory, mtime)
            except Exception as exc:
                problems.append(f"{self.host}: could not restore the mtime of {directory}: {exc}")
        if self.before:
            after = self.fingerprint()
            if after != self.before:
                problems.append(
                    f"{self.host} differs from its state before the test:\nbefore:\n{self.before}\nafter:\n{after}"
                )
        return problems


@pytest.fixture(scope="module")
def canaries() -> Canaries:
    return Canaries()


@contextlib.contextmanager
def planted(canaries: Canaries):
    """The canaries on the hosts for the duration of the block; the hosts as they were after it,
    whatever happened inside (a plant that fails half-way is undone as far as it went)."""
    planters = [HostPlanter(host, items) for host, items in plants(canaries).items()]
    try:
        for planter in planters:
            planter.plant()
        yield
    finally:
        problems = [p for planter in planters for p in planter.restore()]
        assert not problems, "the lab hosts were not restored:\n" + "\n".join(problems)


# ---- the suite, traced ------------------------------------------------------------------------

_WRAPPER = """#!/bin/bash
# {name} as the suite runs it, with a copy of everything it prints in {trace}.<pid>(.stderr)
set -o pipefail
"{real}" "$@" 2> >(tee -a "{trace}.$$.stderr" >&2) | tee -a "{trace}.$$"
"""


@dataclasses.dataclass
class Run:
    backend: str
    flags: str
    returncode: int
    stdout: bytes
    stderr: bytes
    out_dir: pathlib.Path
    trace_dir: pathlib.Path
    seconds: float

    @property
    def verdicts(self) -> dict:
        return read_junit(self.out_dir / "junit.xml")

    def outputs(self) -> dict[str, bytes]:
        found = {"stdout": self.stdout, "stderr": self.stderr}
        for path in sorted(self.out_dir.rglob("*")):
            if path.is_file():
                found[path.name] = path.read_bytes()
        return found

    def traces(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.trace_dir.iterdir()) if p.is_file()}


#: what the host sends of the planted files holding `crypto pw` (content lines begin with ':')
REDACTED_NTP_CONF = (
    b"/etc/ntp.conf\n:# left over from ntp\n:server 0.debian.pool.ntp.org iburst\n"
    b":crypto pw <redacted>\n:crypto pw <redacted>\n:# crypto pw <redacted>\n\n"
)
REDACTED_NTPSEC_CRYPTO = (
    b"/etc/ntpsec/ntp.d/50-crypto.conf\n:# site authentication\n:crypto pw <redacted>\n"
    b": \tcrypto  randfile /dev/urandom\tpw <redacted>\n:keys /etc/ntpsec/site-auth.conf\n"
    b":trustedkey 1\n:keysdir /etc/ntpsec/autokey/\n:server nts-server2 iburst maxpoll 12\n"
    b":crypto pw <redacted>\n\n"
)


def run_traced(backend: str, flags: str, base: pathlib.Path) -> Run:
    name = f"{backend}-{flags}"
    out_dir, trace_dir, bin_dir = base / name / "out", base / name / "trace", base / name / "bin"
    for d in (out_dir, trace_dir, bin_dir):
        d.mkdir(parents=True)
    env = dict(os.environ)
    for tool in ("docker", "ssh"):
        real = shutil.which(tool)
        assert real, f"{tool} is not installed"
        wrapper = bin_dir / tool
        wrapper.write_text(_WRAPPER.format(name=tool, real=real, trace=trace_dir / tool))
        wrapper.chmod(0o755)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["TSA_PARAMIKO_TRACE_DIR"] = str(trace_dir)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        f"--hosts={','.join(host_url(backend, h) for h in HOSTS)}",
        f"--junitxml={out_dir / 'junit.xml'}",
        f"--html={out_dir / 'report.html'}",
        f"--results-json={out_dir / 'results.json'}",
        f"--hdf-dir={out_dir / 'hdf'}",
        f"--fleet-html={out_dir / 'fleet.html'}",
        *POLICY,
        *FLAG_SETS[flags],
    ]
    if backend in ("ssh", "paramiko"):
        cmd.append(f"--ssh-config={SSH_CONFIG}")
    if backend == "paramiko":
        cmd += ["-p", "paramiko_trace"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=300)
    return Run(backend, flags, proc.returncode, proc.stdout, proc.stderr, out_dir, trace_dir, time.monotonic() - start)


@pytest.fixture(scope="module")
def runs(lab, canaries, tmp_path_factory) -> dict:
    """Every run of RUNS, made while the canaries are planted; the hosts are restored before any
    output is examined."""
    base = tmp_path_factory.mktemp("secrets-runs")
    with planted(canaries), concurrent.futures.ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {(b, f): pool.submit(run_traced, b, f, base) for b, f in RUNS}
        return {key: future.result() for key, future in futures.items()}


def _ids(run_key):
    return "-".join(run_key)


# ---- what left the hosts ----------------------------------------------------------------------


@pytest.mark.parametrize("run_key", RUNS, ids=[_ids(k) for k in RUNS])
def test_no_canary_in_any_output(runs, canaries, run_key):
    run = runs[run_key]
    assert run.returncode in (1, 3), (
        f"the suite did not run to a verdict ({run.returncode}):\n"
        f"{run.stdout[-2000:].decode(errors='replace')}\n"
        f"{run.stderr[-2000:].decode(errors='replace')}"
    )
    outputs = run.outputs()
    assert {"stdout", "stderr", "junit.xml", "report.html", "results.json", "fleet.html"} <= set(outputs)
    assert any(name.endswith(".json") and name != "results.json" for name in outputs), "no HDF file"
    found = [
        f"{name} in {what}: {where(data, getattr(canaries, name))}"
        for what, data in outputs.items()
        for name in leaks(data, canaries)
    ]
    assert not found, "secrets left the host:\n" + "\n".join(found)


@pytest.mark.parametrize("run_key", RUNS, ids=[_ids(k) for k in RUNS])
def test_transport_carried_no_canary(runs, canaries, run_key):
    run = runs[run_key]
    tool = {"docker": "docker", "ssh": "ssh", "paramiko": "recv"}[run.backend]
    traces = {name: data for name, data in run.traces().items() if name.startswith(tool + ".")}
    answers = b"".join(data for name, data in traces.items() if not name.endswith("stderr"))
    # the tracer saw the gather's answers: one BEGIN ... DONE per round trip, on every host
    assert len(re.findall(rb"@@TSA-[0-9a-f]{32} BEGIN\n", answers)) >= len(HOSTS), sorted(traces)
    assert len(re.findall(rb"@@TSA-[0-9a-f]{32} DONE\n", answers)) >= len(HOSTS)
    # ... with the facts around the canaries: the files holding `crypto pw` were sent, line for line,
    # with every password redacted on the host; the key material withheld; the key files stat'ed
    assert REDACTED_NTP_CONF in answers and REDACTED_NTPSEC_CRYPTO in answers
    assert re.search(rb" FILE withheld\|[^\n]*\|/etc/chrony/conf\.d/zz-extra\.conf\n", answers)
    assert re.search(rb" FILE withheld\|[^\n]*\|/etc/chrony/extra/site\.conf\n", answers)
    assert re.search(rb" STAT ok\|0\|\d+\|root\|_chrony\|640\|[^\n]*\|/etc/chrony/chrony\.keys\n", answers)
    found = [
        f"{name} in {trace}: {where(data, getattr(canaries, name))}"
        for trace, data in traces.items()
        for name in leaks(data, canaries)
    ]
    assert not found, "the transport carried secrets:\n" + "\n".join(found)


# ---- what the suite still saw -----------------------------------------------------------------


def _verdict(run, host, rule_id):
    verdict = run.verdicts.get((host, rule_id))
    assert verdict is not None, f"{rule_id} did not run on {host}"
    return verdict


@pytest.mark.parametrize("run_key", RUNS, ids=[_ids(k) for k in RUNS])
def test_the_suite_still_sees_around_the_secrets(runs, run_key):
    """Not vacuous: the files around the canaries were gathered and judged."""
    run = runs[run_key]
    # ntpsec: the file holding both `crypto pw` lines was read and parsed with its line numbers
    maxpoll = _verdict(run, "ntpsec", "chronyd_or_ntpd_set_maxpoll")
    assert maxpoll.outcome == "failed", maxpoll.message
    assert (
        "/etc/ntpsec/ntp.d/50-crypto.conf:7: server nts-server2 iburst maxpoll 12 (maxpoll 12 > 10)" in maxpoll.message
    )
    secrets_rule = _verdict(run, "ntpsec", "ntpd_config_protects_secrets")
    if secrets_rule.outcome == "skipped":  # NTPsec has no Autokey: `crypto` is a syntax error there
        assert "ntpsec has no Autokey" in secrets_rule.message
    else:
        assert "/etc/ntpsec/ntp.d/50-crypto.conf:2: crypto pw <redacted>" in secrets_rule.message
    # a PEM private key in a confdir file, a key line in an included file: named as key material,
    # and chronyd refuses them (a key line is an 'Invalid directive' to it)
    for host, path, origin in (
        ("chrony-hardened", "/etc/chrony/conf.d/zz-extra.conf", r"/etc/chrony/chrony\.conf:\d+"),
        ("chrony-stock", "/etc/chrony/extra/site.conf", r"/etc/chrony/chrony\.conf:\d+"),
    ):
        for rule_id in ("chronyd_client_only", "chronyd_specify_remote_server", "file_permissions_etc_chrony_keys"):
            verdict = _verdict(run, host, rule_id)
            assert verdict.outcome in ("failed", "error"), f"{host} {rule_id}: {verdict.outcome}"
            assert re.search(
                rf"chronyd refuses this configuration: {re.escape(path)} holds key material and was "
                rf"not read: .*\({origin}\)",
                verdict.message,
            ), f"{host} {rule_id}: {verdict.message}"
    # the key file rules see the key file's owner, group and mode (its content is never read)
    mode = _verdict(run, "nts-server", "file_permissions_etc_chrony_keys")
    assert mode.outcome == "failed" and re.search(
        r"/etc/chrony/chrony\.keys \(keyfile at /etc/chrony/chrony\.conf:\d+\) is root:_chrony 0644 "
        r"\(allowed at most 0640\)",
        mode.message,
    ), mode.message
    for rule_id in ("file_owner_etc_chrony_keys", "file_groupowner_etc_chrony_keys"):
        assert _verdict(run, "nts-server", rule_id).outcome == "passed"
