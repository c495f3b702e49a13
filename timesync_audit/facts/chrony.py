"""What chronyd on one host reads and how it is started, built from a snapshot."""
from __future__ import annotations

import dataclasses

from ..gather.snapshot import FileRecord, Reader, Request
from ..parsers import chrony_conf, envfile, systemd_unit
from ..parsers.argv import parse_options
from ..parsers.chrony_conf import ChronyConfig, Directive
from ..platforms import CHRONY_LAYOUTS, ChronyLayout, chrony_layout
from .host import HostFacts, Process
from . import live
from .daemon import StartCommands

NAME = "chrony"
WAIT_UNIT = "chrony-wait.service"
_UNIT_NAMES = ("chrony.service", "chronyd.service", WAIT_UNIT)

REQUEST = Request(
    files=tuple(sorted({l.main_conf for l in CHRONY_LAYOUTS.values()} | {l.options_file for l in CHRONY_LAYOUTS.values()})),
    globs=("/etc/chrony/conf.d/*.conf", "/etc/chrony/sources.d/*.sources", "/etc/chrony.d/*.conf",
           "/run/chrony-dhcp/*.sources", "/etc/chrony/chrony.d/*.conf"),
    stats=tuple(sorted({l.default_keyfile for l in CHRONY_LAYOUTS.values()})),
).merged(systemd_unit.unit_request(_UNIT_NAMES)).merged(live.CHRONY)

SECRET_PATHS = tuple(sorted({l.default_keyfile for l in CHRONY_LAYOUTS.values()}))

# chronyd's getopt string: "46df:F:hl:L:mnpP:qQrRst:u:Uvx"
_WITH_VALUE = set("fFlLPtu")


def parse_argv(argv: list[str] | tuple[str, ...]) -> dict[str, str]:
    """chronyd options that take a value, by letter (-f FILE, -u USER, -fFILE)."""
    return parse_options(argv, _WITH_VALUE)


@dataclasses.dataclass(frozen=True)
class StartCommand:
    """chronyd's command line and where it was read."""

    argv: tuple[str, ...]
    origin: str

    @property
    def options(self) -> dict[str, str]:
        return parse_argv(self.argv)


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


@dataclasses.dataclass
class ChronyFacts(StartCommands):
    layout: ChronyLayout
    installed: bool
    package_evidence: str
    main_conf: str
    main_conf_origin: str
    config: ChronyConfig
    configured: StartCommand | None
    running: list[tuple[Process, StartCommand]]
    options_vars: dict
    wait_unit: systemd_unit.Unit
    keyfiles: list[KeyFile]
    trust_anchors: list[TrustAnchor]
    problems: list[str]
    #: what chronyc shows now (tracking, sources, authdata), or why it cannot be read
    live: live.LiveState = dataclasses.field(default_factory=live.LiveState)


def _configured_command(layout: ChronyLayout, reader: Reader, unit: systemd_unit.Unit,
                        env: dict) -> StartCommand | None:
    environment = {name: value for name, (value, _) in env.items()}
    if unit.exists:
        execs = unit.values("Service", "ExecStart")
        if execs:
            last = execs[-1]
            argv = systemd_unit.exec_argv(last.value, environment)
            origin = f"{unit.name} ExecStart at {last.line.where}"
            if layout.options_var in env:
                origin += f", {layout.options_var} from {env[layout.options_var][1].where}"
            return StartCommand(tuple(argv), origin)
    if layout.options_var in env:
        value, line = env[layout.options_var]
        return StartCommand(tuple(["chronyd"] + value.split()), f"{layout.options_var} at {line.where}")
    return None


def build(reader: Reader, host: HostFacts) -> ChronyFacts:
    existing = {p for p, r in reader.snapshot.files.items() if r.exists}
    layout = chrony_layout(host.os, existing)
    problems: list[str] = []

    installed = host.installed("chrony")
    package_evidence = (f"package chrony {host.packages['chrony'].version} installed"
                        if installed else "package chrony is not installed")
    if not installed and host.running("chronyd"):
        installed, package_evidence = True, "chronyd is running (not from a package)"

    env_record = reader.file(layout.options_file)
    env = envfile.parse(layout.options_file, env_record.content) if env_record and env_record.content else {}
    if env_record is not None and env_record.state == "unreadable":
        problems.append(f"{layout.options_file} is not readable as {host.user}")
    aliases = tuple(n for n in (layout.unit,) + layout.unit_aliases if n != layout.unit)
    unit, _ = systemd_unit.load(layout.unit, reader, aliases)
    wait_unit, _ = systemd_unit.load(WAIT_UNIT, reader)
    configured = _configured_command(layout, reader, unit, env)
    running = [(p, StartCommand(p.argv, f"running chronyd (pid {p.pid})")) for p in host.running("chronyd")]

    main_conf, origin = layout.main_conf, f"{layout.family} default"
    for cmd in [c for _, c in running] + ([configured] if configured else []):
        if cmd.options.get("f"):
            main_conf, origin = cmd.options["f"], f"-f in {cmd.origin}"
            break

    config, _ = chrony_conf.parse(main_conf, reader)
    for path in config.unreadable:
        problems.append(f"{path} is not readable as {host.user}")

    # The key file chronyd uses: the last keyfile directive; without one, the distribution's
    # key file where it exists (chronyd reads none, but it is where keys are kept and baselines look).
    keyfiles: list[KeyFile] = []
    directive = config.last("keyfile")
    if directive:
        keyfiles.append(KeyFile(directive.args[0], f"keyfile at {directive.line.where}", reader.stat(directive.args[0])))
    else:
        default = reader.stat(layout.default_keyfile)
        if default is not None and default.exists:
            keyfiles.append(KeyFile(layout.default_keyfile, f"{layout.family} key file, no keyfile directive", default))

    anchors = []
    for d in config.all("ntstrustedcerts"):
        path = d.args[-1] if d.args else ""
        anchors.append(TrustAnchor(d, path, reader.stat(path) if path else None))

    return ChronyFacts(layout, installed, package_evidence, main_conf, origin, config, configured, running,
                       env, wait_unit, keyfiles, anchors, problems, live.chrony_state(reader, host))


def secret_paths(facts: ChronyFacts | None) -> tuple[str, ...]:
    paths = set(SECRET_PATHS)
    if facts:
        paths |= {k.path for k in facts.keyfiles}
    return tuple(sorted(paths))
