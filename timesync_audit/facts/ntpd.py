"""What ntpd (classic ntp or ntpsec) on one host reads and how it is started."""

from __future__ import annotations

import dataclasses
import posixpath
import re

from ..gather.snapshot import FileRecord, Reader, Request
from ..parsers import envfile, ntp_conf, systemd_unit
from ..parsers.argv import parse_options
from ..parsers.ntp_conf import Directive, NtpConfig
from ..parsers.provenance import Line
from ..services import BY_NAME
from . import access, live
from .daemon import StartCommand, StartCommands, StartOrigin, Starts, merge_start
from .host import HostFacts, Process

NAME = "ntpd"
MAIN_CONF = {"classic": "/etc/ntp.conf", "ntpsec": "/etc/ntpsec/ntp.conf"}
#: (file, variable): RHEL's sysconfig, Debian's defaults for ntpsec and for classic ntp
OPTION_FILES = (
    ("/etc/sysconfig/ntpd", "OPTIONS"),
    ("/etc/default/ntpsec", "NTPD_OPTS"),
    ("/etc/default/ntp", "NTPD_OPTS"),
)
#: Debian starts ntpd through a wrapper script that adds -c and -u (ntpsec, classic ntp)
WRAPPERS = ("/usr/libexec/ntpsec/ntp-systemd-wrapper", "/usr/lib/ntp/ntp-systemd-wrapper")
DHCP_CONF = "/run/ntpsec/ntp.conf.dhcp"  # Debian's wrapper uses it instead of ntp.conf
#: the unit names to look for, in the order each flavour's packages use them
UNITS = {
    "ntpsec": ("ntpsec.service", "ntpd.service", "ntp.service"),
    "classic": ("ntpd.service", "ntp.service", "ntpsec.service"),
}
assert set(UNITS["ntpsec"]) == set(BY_NAME["ntpd"].units)
#: the packaged unprivileged account of each flavour (Debian's ntpsec: ntpsec; elsewhere ntp)
USERS = {"classic": ("ntp",), "ntpsec": ("ntpsec", "ntp")}
DEFAULT_KEYS = ("/etc/ntp/keys",)  # RHEL's `keys` file: never read, whatever includes it

REQUEST = (
    Request(
        files=tuple(MAIN_CONF.values()) + tuple(f for f, _ in OPTION_FILES) + WRAPPERS + (DHCP_CONF,),
        globs=("/etc/ntpsec/ntp.d/*.conf", "/etc/ntpsec/ntp.d/.*.conf"),  # ntpsec reads hidden *.conf too
    )
    .merged(systemd_unit.unit_request(UNITS["ntpsec"]))
    .merged(live.NTPD)
)

SECRET_PATHS: tuple[str, ...] = DEFAULT_KEYS

# ntpd's options that take a value (classic ntpd-opts.def; ntpsec ntpd.c getopt string);
# the last occurrence wins.
_WITH_VALUE = {"classic": set("cDfiIklpPrstuUvVw"), "ntpsec": set("cDfiIklpPrstuUw")}
_LONG = {"configfile": "c", "user": "u", "keyfile": "k", "pidfile": "p", "driftfile": "f"}


def parse_argv(argv: list[str] | tuple[str, ...], flavor: str = "classic") -> dict[str, str]:
    """ntpd options by letter (-c FILE, -u USER[:GROUP], -cFILE, --user=USER)."""
    return parse_options(argv, _WITH_VALUE.get(flavor, _WITH_VALUE["classic"]), _LONG)


def _command(argv, origin: str, flavor: str, user_origin: str = "") -> StartCommand:
    """An ntpd command line, its options read as that flavour's ntpd reads them."""
    argv = tuple(argv)
    return StartCommand(argv, origin, parse_argv(argv, flavor), user_origin=user_origin)


@dataclasses.dataclass(frozen=True)
class SecretFile:
    """A configuration file holding `crypto pw` (its value is never kept)."""

    path: str
    line: Line
    record: FileRecord | None


@dataclasses.dataclass
class NtpdFacts(StartCommands):
    """One start of ntpd (see facts.daemon), or, when ntpd is not installed, just that."""

    installed: bool
    package_evidence: str
    problems: list[str]
    flavor: str = "classic"
    main_conf: str = ""
    config: NtpConfig | None = None
    unit: systemd_unit.Unit | None = None
    command: StartCommand | None = None
    process: Process | None = None
    keys: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (path, origin)
    keysdir: Directive | None = None
    keysdir_files: list[FileRecord] = dataclasses.field(default_factory=list)
    secret_files: list[SecretFile] = dataclasses.field(default_factory=list)
    #: what ntpq shows now (peers, associations), or why it cannot be read
    live: live.LiveState = dataclasses.field(default_factory=live.LiveState)
    start: StartOrigin | None = None
    #: ntpd's own reason for refusing to start with this configuration, with file:line, or None
    refusal: str | None = None

    @property
    def name(self) -> str:
        return "ntpd"

    @property
    def users(self) -> tuple[str, ...]:
        return USERS[self.flavor]

    #: the other command lines that start these same files as the same account (deduplicated starts)
    also: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Ntpd:
    """ntpd on a host: whether it is there, its starts, and what it does now."""

    installed: bool
    package_evidence: str
    problems: list[str]
    starts: Starts
    live: live.LiveState
    flavor: str = "classic"


def _flavor(host: HostFacts, reader: Reader) -> str:
    if host.installed("ntpsec"):
        return "ntpsec"
    if host.installed("ntp"):
        return "classic"
    record = reader.file(MAIN_CONF["ntpsec"])
    return "ntpsec" if record is not None and record.exists else "classic"


def _read_env(path: str, reader: Reader, problems: list[str], user: str) -> dict[str, tuple[str, Line]]:
    record = reader.file(path)
    if record is None or not record.exists:
        return {}
    if record.content is None:
        if record.state == "unreadable":
            problems.append(f"{path} is not readable as {user}")
        return {}
    return envfile.parse(path, record.content)


def _wrapper_argv(
    wrapper: str, argv: list[str], origin: str, flavor: str, reader: Reader, problems: list[str], user: str
) -> StartCommand:
    """Debian's ntp-systemd-wrapper: sources /etc/default/ntpsec (or ntp), puts `-c` before
    NTPD_OPTS (so a -c there wins), uses the DHCP file unless IGNORE_DHCP=yes, adds `-u`."""
    default_file = "/etc/default/ntpsec" if "ntpsec" in wrapper else "/etc/default/ntp"
    env = _read_env(default_file, reader, problems, user)
    opts = env.get("NTPD_OPTS", ("", None))[0].split()
    record = reader.file(wrapper)
    text = record.content if record is not None and record.content is not None else None
    if record is not None and record.state == "unreadable":
        problems.append(f"{wrapper} is not readable as {user}")
    new = ["/usr/sbin/ntpd"]
    notes = [f"{origin} runs {wrapper}"]
    if "NTPD_OPTS" in env:
        notes.append(f"NTPD_OPTS from {env['NTPD_OPTS'][1].where}")
    user_origin = ""
    if text is not None:
        dhcp = reader.file(DHCP_CONF)
        ignore = env.get("IGNORE_DHCP", ("", None))[0] == "yes"
        if DHCP_CONF in text and dhcp is not None and dhcp.exists and not ignore:
            new += opts + ["-c", DHCP_CONF]
            notes.append(f"{DHCP_CONF} exists (IGNORE_DHCP is not yes)")
        else:
            match = re.search(r'NTPD_OPTS="-c (\S+) \$NTPD_OPTS"', text)
            new += (["-c", match.group(1)] if match else []) + opts
        runas = re.search(r"^\s*RUNASUSER=(\w+)", text, re.M)
        run_as: str | None = None
        for lineno, raw in enumerate(text.split("\n"), 1):  # the last -u the script adds wins
            if raw.lstrip().startswith("#"):
                continue
            found = re.search(r"(?:^|[\s\"'{+])-u\s+([^\s\"'}]+)", raw)
            if found:
                value = found.group(1)
                if "$" in value and runas:
                    value = runas.group(1)
                if "$" not in value:
                    run_as, user_origin = value, f"{wrapper}:{lineno}"
        if run_as:
            new += ["-u", run_as]
    else:
        new += opts
    return _command(new, ", ".join(notes), flavor, user_origin)


def _configured_command(
    flavor: str, reader: Reader, host: HostFacts, problems: list[str]
) -> tuple[StartCommand | None, systemd_unit.Unit | None]:
    names = UNITS[flavor]
    unit = None
    for name in names:
        candidate, _ = systemd_unit.load(name, reader, tuple(n for n in names if n != name))
        problems += [f"{p} is not readable as {host.user}" for p in candidate.unreadable]
        if candidate.exists:
            unit = candidate
            break
    if unit is not None:
        env: dict[str, tuple[str, Line]] = {}
        for assignment in unit.values("Service", "EnvironmentFile"):
            for path in assignment.value.split():
                env.update(_read_env(path.lstrip("-"), reader, problems, host.user))
        execs = unit.values("Service", "ExecStart")
        if execs:
            last = execs[-1]
            argv = systemd_unit.exec_argv(last.value, {k: v for k, (v, _) in env.items()})
            origin = f"{unit.name} ExecStart at {last.line.where}"
            if argv and posixpath.basename(argv[0]) == "ntp-systemd-wrapper":
                return _wrapper_argv(argv[0], argv, origin, flavor, reader, problems, host.user), unit
            used = [
                f"{k} from {line.where}"
                for k, (_, line) in env.items()
                if "$" + k in last.value or "${" + k + "}" in last.value
            ]
            if used:
                origin += ", " + ", ".join(used)
            return _command(argv, origin, flavor), unit
    for path, var in OPTION_FILES:
        env = _read_env(path, reader, problems, host.user)
        if var in env:
            value, line = env[var]
            return _command(["ntpd"] + value.split(), f"{var} at {line.where}", flavor), unit
    return None, unit


def _forget_secrets(reader: Reader, paths: set[str]) -> None:
    """Keep no `crypto pw` value in the snapshot either: the gathered text is replaced by its
    redacted form (same lines, so every file:line stays true; parsing it again gives the same)."""
    for path in paths:
        record = reader.snapshot.files.get(path)
        if record is not None and record.content is not None:
            redacted = ntp_conf.redact_text(record.content)
            if redacted != record.content:
                reader.snapshot.files[path] = dataclasses.replace(record, content=redacted)


def _start(
    reader: Reader,
    host: HostFacts,
    flavor: str,
    installed: bool,
    evidence: str,
    unit: systemd_unit.Unit | None,
    command: StartCommand | None,
    process: Process | None,
    running_pids: tuple[int, ...],
    next_start: bool,
    problems: list[str],
) -> NtpdFacts:
    main_conf, origin = MAIN_CONF[flavor], f"{'ntpsec' if flavor == 'ntpsec' else 'ntp'} default"
    if command and command.options.get("c"):
        main_conf, origin = command.options["c"], f"-c in {command.origin}"
    user = command.user if command else None
    account = None
    pending: list[str] = []
    if user:
        found = access.account(reader, user)
        account = found if isinstance(found, access.Account) else None
    # the NTS server files ntpsec reads as its -u account
    config, _ = ntp_conf.parse(
        main_conf,
        reader,
        flavor,
        run_user_access=access.checker(reader, account, True, pending),
        options=command.options if command else None,
    )
    problems = problems + [f"{path} is not readable as {host.user}" for path in config.unreadable]
    problems += [
        f"{path} looks like key material: its content stays on the host, so what ntpd reads in it cannot be checked"
        for path in config.withheld
    ]
    if pending:
        problems.append(f"could not tell whether {user} can read {', '.join(pending)}")

    keys: list[tuple[str, str]] = []
    directive = config.last("keys")
    if directive and directive.args:
        keys.append((directive.args[0], f"keys at {directive.line.where}"))
    if command and command.options.get("k"):
        keys.append((command.options["k"], f"-k in {command.origin}"))

    keysdir = config.last("keysdir")
    keysdir_files: list[FileRecord] = []
    if keysdir and keysdir.args:
        matches = reader.stat_glob(posixpath.join(keysdir.args[0], "*"))
        for path in matches or ():
            record = reader.stat(path)
            if record is not None:
                keysdir_files.append(record)

    secret_files = [SecretFile(line.path, line, reader.file(line.path)) for line in config.crypto_pw_lines]
    _forget_secrets(reader, {s.path for s in secret_files})

    first = getattr(config, "refusal", None)
    refusal = f"{first.message} ({first.where})" if first is not None else None
    start = StartOrigin(running_pids, next_start, main_conf, origin, "ntpd")
    return NtpdFacts(
        installed,
        evidence,
        problems,
        flavor,
        main_conf,
        config,
        unit,
        command,
        process,
        keys,
        keysdir,
        keysdir_files,
        secret_files,
        start=start,
        refusal=refusal,
    )


def build(reader: Reader, host: HostFacts) -> Ntpd:
    reader = reader.scoped()
    names = [n for n in BY_NAME["ntpd"].packages if host.installed(n)]
    installed = bool(names)
    evidence = (
        ", ".join(f"package {n} {host.packages[n].version} installed" for n in names)
        if installed
        else "package ntp (or ntpsec) is not installed"
    )
    if not installed and host.running("ntpd"):
        installed, evidence = True, "ntpd is running (not from a package)"
    if not installed:
        return Ntpd(False, evidence, [], Starts([NtpdFacts(False, evidence, [])], "ntpd"), live.LiveState())

    problems: list[str] = []
    flavor = _flavor(host, reader)
    configured, unit = _configured_command(flavor, reader, host, problems)
    running = sorted(host.running("ntpd"), key=lambda p: p.pid)
    by_argv: dict[tuple[str, ...], list[Process]] = {}
    for running_process in running:
        by_argv.setdefault(running_process.argv, []).append(running_process)
    plans: list[tuple[StartCommand | None, Process | None, tuple[int, ...], bool]] = [
        (_command(argv, f"running ntpd (pid {ps[0].pid})", flavor), ps[0], tuple(p.pid for p in ps), False)
        for argv, ps in by_argv.items()
    ]
    if configured is not None or not running:
        plans.append((configured, None, (), True))
    starts: list[NtpdFacts] = []
    keys: dict[tuple, int] = {}
    for command, process, pids, next_start in plans:
        facts = _start(
            reader, host, flavor, installed, evidence, unit, command, process, pids, next_start, list(problems)
        )
        merge_start(starts, keys, (facts.main_conf, command.user if command else None), facts)
    state = live.ntpd_state(reader, host)
    hidden = reader.hidden_problems(host.user)
    for facts in starts:
        facts.live = state
        facts.problems = facts.problems + hidden
    return Ntpd(True, evidence, problems + hidden, Starts(starts, "ntpd"), state, flavor)


def secret_paths(facts: Ntpd | None) -> tuple[str, ...]:
    """Key files: only ever stat'ed. Files under keysdir are fetched by a stat-only glob."""
    paths = set(SECRET_PATHS)
    for start in facts.starts if facts else ():
        paths |= {path for path, _ in start.keys}
        paths |= {r.path for r in start.keysdir_files if posixpath.basename(r.path).startswith("ntpkey")}
    return tuple(sorted(paths))
