"""What chronyd on one host reads and how it is started, built from a snapshot.

Each start of chronyd is judged on its own (facts.daemon): the running
chronyd read the main file of its own command line (-f, else the build's
default), the next start reads what the unit, its drop-ins and the
environment file give. Per start: the effective configuration as chronyd 4.3
reads it (parsers.chrony_conf), the account it drops to (-u, else the last
`user` directive, else the build's default), which of the files it reads
after dropping root that account cannot read (skipped, as chronyd skips
them), and whether chronyd refuses the configuration altogether.
"""

from __future__ import annotations

import dataclasses

from ..gather.snapshot import FileRecord, Reader, Request
from ..parsers import chrony_conf, envfile, systemd_unit
from ..parsers.argv import parse_options
from ..parsers.chrony_conf import ChronyConfig, Directive
from ..platforms import CHRONY_LAYOUTS, ChronyLayout, chrony_layout
from ..services import BY_NAME, CHRONY_WAIT_UNIT
from . import access, live
from .daemon import StartCommand, StartCommands, StartOrigin, Starts, merge_start
from .host import HostFacts, Process

NAME = "chrony"
WAIT_UNIT = CHRONY_WAIT_UNIT
_UNIT_NAMES = BY_NAME["chronyd"].units + (WAIT_UNIT,)
#: the directories of the usual layouts' sourcedir files: stat'ed in round 1, so deciding
#: whether chronyd's account can read them costs no extra round trip
_SOURCE_DIRS = ("/", "/etc", "/etc/chrony", "/etc/chrony/sources.d", "/run", "/run/chrony-dhcp", "/var/lib/chrony")

REQUEST = (
    Request(
        files=tuple(
            sorted({l.main_conf for l in CHRONY_LAYOUTS.values()} | {l.options_file for l in CHRONY_LAYOUTS.values()})
        ),
        globs=(
            "/etc/chrony/conf.d/*.conf",
            "/etc/chrony/sources.d/*.sources",
            "/etc/chrony.d/*.conf",
            "/run/chrony-dhcp/*.sources",
            "/etc/chrony/chrony.d/*.conf",
        ),
        stats=tuple(sorted({l.default_keyfile for l in CHRONY_LAYOUTS.values()})) + _SOURCE_DIRS,
    )
    .merged(systemd_unit.unit_request(_UNIT_NAMES))
    .merged(live.CHRONY)
)

SECRET_PATHS = tuple(sorted({l.default_keyfile for l in CHRONY_LAYOUTS.values()}))

# chronyd's getopt string: "46df:F:hl:L:mnpP:qQrRst:u:Uvx"
_WITH_VALUE = set("fFlLPtu")


def parse_argv(argv: list[str] | tuple[str, ...]) -> dict[str, str]:
    """chronyd options that take a value, by letter (-f FILE, -u USER, -fFILE)."""
    return parse_options(argv, _WITH_VALUE)


@dataclasses.dataclass(frozen=True)
class KeyFile:
    path: str
    origin: str
    record: FileRecord | None


@dataclasses.dataclass(frozen=True)
class TrustAnchor:
    directive: Directive
    path: str
    record: FileRecord | None
    #: why chronyd's account cannot read it (chronyd loads trust anchors after dropping root), or None
    unreadable_by_user: str | None = None


@dataclasses.dataclass
class ChronyFacts(StartCommands):
    """One start of chronyd (see facts.daemon): what it reads, as whom, and whether it starts."""

    layout: ChronyLayout
    installed: bool
    package_evidence: str
    main_conf: str
    config: ChronyConfig
    command: StartCommand | None  # this start's command line (None: the build's defaults)
    process: Process | None  # the running chronyd of this start, if it runs
    wait_unit: systemd_unit.Unit
    keyfiles: list[KeyFile]
    trust_anchors: list[TrustAnchor]
    problems: list[str]
    start: StartOrigin
    run_user: str = ""
    run_user_origin: str = ""
    account: access.Account | None = None
    #: chronyd's own reason for refusing to start with this configuration, with file:line, or None
    refusal: str | None = None
    #: what chronyc shows now (tracking, sources, authdata), or why it cannot be read
    live: live.LiveState = dataclasses.field(default_factory=live.LiveState)

    #: the other command lines that start these same files as the same account (deduplicated starts)
    also: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Chrony:
    """chronyd on a host: whether it is there, its starts, and what it does now."""

    installed: bool
    package_evidence: str
    layout: ChronyLayout
    starts: Starts
    problems: list[str]
    live: live.LiveState

    @property
    def config(self) -> ChronyConfig:  # the first start's (the running one's, where it runs)
        return self.starts[0].config


def _configured_command(layout: ChronyLayout, unit: systemd_unit.Unit, env: dict) -> StartCommand | None:
    environment = {name: value for name, (value, _) in env.items()}
    if unit.exists:
        execs = unit.values("Service", "ExecStart")
        if execs:
            last = execs[-1]
            argv = tuple(systemd_unit.exec_argv(last.value, environment))
            origin = f"{unit.name} ExecStart at {last.line.where}"
            file_origin = ""
            if parse_argv(argv).get("f"):
                uses_var = layout.options_var in env and layout.options_var in last.value
                in_var = uses_var and "-f" in env[layout.options_var][0]
                file_origin = (
                    f"-f in {layout.options_var} at {env[layout.options_var][1].where}" if in_var else f"-f in {origin}"
                )
            if layout.options_var in env:
                origin += f", {layout.options_var} from {env[layout.options_var][1].where}"
            return StartCommand(argv, origin, parse_argv(argv), file_origin)
    if layout.options_var in env:
        value, line = env[layout.options_var]
        argv = tuple(["chronyd"] + value.split())
        options = parse_argv(argv)
        return StartCommand(
            argv,
            f"{layout.options_var} at {line.where}",
            options,
            f"-f in {layout.options_var} at {line.where}" if options.get("f") else "",
        )
    return None


def _run_user(layout: ChronyLayout, config: ChronyConfig, command: StartCommand | None) -> tuple[str, str]:
    """chronyd's account: -u wins over the `user` directive, which wins over the build's default."""
    if command and command.options.get("u"):
        return command.options["u"], f"-u in {command.origin}"
    directive = config.last("user")
    if directive is not None and directive.args:
        return directive.args[0], f"user at {directive.line.where}"
    return layout.user, f"{layout.family} build default"


def _int_or_zero(text: str) -> int:
    try:
        return chrony_conf.c_int(text)
    except ValueError:
        return 0


def _refusal(config: ChronyConfig, command: StartCommand | None, run_user: str, user_origin: str, found) -> str | None:
    """chronyd's reason to stop, the first in its start order (chrony_conf.STARTUP_ORDER): the
    configuration's own errors, and those that need host facts (the account, -F)."""
    candidates: list[tuple[int, str]] = []
    order = chrony_conf.STARTUP_ORDER
    first = config.refusal
    if first is not None:
        candidates.append((order.index(first.stage), f"{first.message} ({first.where})"))
    if found is None:
        candidates.append(
            (
                order.index("user"),
                f"Could not get user/group ID of {run_user} ({user_origin}: the host has no such account)",
            )
        )
    mail = config.last("mailonchange")
    level = command.options.get("F") if command else None
    if mail is not None and command is not None and level and _int_or_zero(level):
        candidates.append(
            (
                order.index("seccomp"),
                f"mailonchange directive cannot be used with -F enabled "
                f"({mail.line.where}; -F {level} in {command.origin})",
            )
        )
    return min(candidates)[1] if candidates else None


def _start(
    reader: Reader,
    host: HostFacts,
    layout: ChronyLayout,
    installed: bool,
    evidence: str,
    command: StartCommand | None,
    process: Process | None,
    running_pids: tuple[int, ...],
    next_start: bool,
    wait_unit: systemd_unit.Unit,
) -> ChronyFacts:
    problems: list[str] = []
    main_conf, origin = layout.main_conf, f"{layout.family} default"
    if command and command.options.get("f"):
        main_conf = command.options["f"]
        origin = command.file_origin or f"-f in {command.origin}"
    # the account decides which later-read files count, and comes from the configuration: a first
    # parse finds the `user` directive, the second one judges files as that account reads them
    config, _ = chrony_conf.parse(main_conf, reader)
    run_user, user_origin = _run_user(layout, config, command)
    found = access.account(reader, run_user)
    account = found if isinstance(found, access.Account) else None
    pending: list[str] = []
    config, _ = chrony_conf.parse(main_conf, reader, run_user_access=access.checker(reader, account, False, pending))
    problems += [f"{p} is not readable as {host.user}" for p in config.unreadable]
    problems += [
        f"{p} looks like key material: its content stays on the host, so what chronyd reads in it cannot be checked"
        for p in config.withheld
    ]
    if found is False or pending:
        problems.append(f"could not tell whether {run_user} can read {', '.join(pending) or 'its files'}")

    refusal = _refusal(config, command, run_user, user_origin, found)

    keyfiles: list[KeyFile] = []
    directive = config.last("keyfile")
    if directive:
        keyfiles.append(
            KeyFile(directive.args[0], f"keyfile at {directive.line.where}", reader.stat(directive.args[0]))
        )
    else:
        # no keyfile directive: the distribution's key file where it exists (chronyd reads none,
        # but it is where keys are kept and baselines look)
        default = reader.stat(layout.default_keyfile)
        if default is not None and default.exists:
            keyfiles.append(KeyFile(layout.default_keyfile, f"{layout.family} key file, no keyfile directive", default))

    anchors = []
    for d in config.all("ntstrustedcerts"):
        path = d.args[-1] if d.args else ""
        record = reader.stat(path) if path else None
        reason = None
        # not gathered yet: the check asks for the file and the directories above it together
        if path and account is not None and (record is None or record.exists):
            try:
                reason = access.unreadable_reason(reader, account, path, supplementary=False)
            except access.NotGathered:
                problems.append(f"could not tell whether {run_user} can read {path}")
        anchors.append(TrustAnchor(d, path, record, reason))

    start = StartOrigin(running_pids, next_start, main_conf, origin, "chronyd")
    return ChronyFacts(
        layout,
        installed,
        evidence,
        main_conf,
        config,
        command,
        process,
        wait_unit,
        keyfiles,
        anchors,
        problems,
        start,
        run_user,
        user_origin,
        account,
        refusal,
    )


def build(reader: Reader, host: HostFacts) -> Chrony:
    reader = reader.scoped()
    existing = {p for p, r in reader.snapshot.files.items() if r.exists}
    layout = chrony_layout(host.os, existing)
    problems: list[str] = []

    installed = host.installed("chrony")
    package_evidence = (
        f"package chrony {host.packages['chrony'].version} installed"
        if installed
        else "package chrony is not installed"
    )
    if not installed and host.running("chronyd"):
        installed, package_evidence = True, "chronyd is running (not from a package)"

    env_record = reader.file(layout.options_file)
    env = envfile.parse(layout.options_file, env_record.content) if env_record and env_record.content else {}
    if env_record is not None and env_record.state == "unreadable":
        problems.append(f"{layout.options_file} is not readable as {host.user}")
    aliases = tuple(n for n in (layout.unit,) + layout.unit_aliases if n != layout.unit)
    unit, _ = systemd_unit.load(layout.unit, reader, aliases)
    wait_unit, _ = systemd_unit.load(WAIT_UNIT, reader)
    configured = _configured_command(layout, unit, env)

    # one start per distinct (main file, account) pair; chronyd's own NTS-KE helpers share its argv
    starts: list[ChronyFacts] = []
    keys: dict[tuple, int] = {}
    running = sorted(host.running("chronyd"), key=lambda p: p.pid)
    plans: list[tuple[StartCommand | None, Process | None, bool]] = []
    by_argv: dict[tuple[str, ...], list[Process]] = {}
    for running_process in running:
        by_argv.setdefault(running_process.argv, []).append(running_process)
    for argv, processes in by_argv.items():
        options = parse_argv(argv)
        plans.append(
            (
                StartCommand(
                    argv,
                    f"running chronyd (pid {processes[0].pid})",
                    options,
                    f"-f on the running chronyd's command line (pid {processes[0].pid})" if options.get("f") else "",
                ),
                processes[0],
                False,
            )
        )
    if configured is not None or not running:  # else nothing says how it would start again
        plans.append((configured, None, True))
    pids_of = {argv: tuple(p.pid for p in ps) for argv, ps in by_argv.items()}
    for command, process, next_start in plans:
        facts = _start(
            reader,
            host,
            layout,
            installed,
            package_evidence,
            command,
            process,
            pids_of.get(command.argv, ()) if process and command else (),
            next_start,
            wait_unit,
        )
        merge_start(starts, keys, (facts.main_conf, facts.run_user), facts)  # same files, same account: one start

    state = live.chrony_state(reader, host)
    for facts in starts:
        facts.live = state
        facts.problems = problems + facts.problems + reader.hidden_problems(host.user)
    return Chrony(
        installed,
        package_evidence,
        layout,
        Starts(starts, "chronyd"),
        problems + reader.hidden_problems(host.user),
        state,
    )


def secret_paths(facts: Chrony | None) -> tuple[str, ...]:
    paths = set(SECRET_PATHS)
    if facts:
        paths |= {k.path for s in facts.starts for k in s.keyfiles}
    return tuple(sorted(paths))
