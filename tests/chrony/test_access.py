"""What chronyd exposes to the network: NTP server port, command port, chrony-wait's channel."""

from timesync_audit.evidence import files_read, non_compliant
from timesync_audit.outcomes import CouldNotCheck, not_applicable
from timesync_audit.parsers.chrony_conf import c_int
from timesync_audit.parsers.systemd_unit import exec_argv
from timesync_audit.rules import rule


def _effective_port(chrony, name: str, default: int) -> tuple[int, str]:
    directive = chrony.config.last(name)
    if directive is None:
        return default, f"chrony's default, no {name} directive ({files_read(chrony.config)})"
    return c_int(directive.args[0]), f"last {name} directive, {directive.line}"


def _judge_port(chrony, name: str, default: int, what: str) -> None:
    value, origin = _effective_port(chrony, name, default)
    if value != 0:
        ignored = [f"{d.line} ignored: {d.error}" for d in chrony.config.invalid(name)]
        non_compliant(f"{name} is {value}, expected 0: {what} ({origin})", ignored)


@rule
def test_chronyd_client_only(chrony):
    _judge_port(chrony, "port", 123, "chronyd would answer NTP clients")


@rule
def test_chronyd_no_chronyc_network(chrony):
    _judge_port(chrony, "cmdport", 323, "chronyd would accept chronyc over the network")


def _uses_network(argv: list[str]) -> str | None:
    """The -h host chronyc is told to use, unless it is a Unix socket path."""
    for i, word in enumerate(argv):
        value = None
        if word == "-h" and i + 1 < len(argv):
            value = argv[i + 1]
        elif word.startswith("-h") and len(word) > 2:
            value = word[2:]
        if value is not None and not all(part.startswith("/") for part in value.split(",")):
            return value
    return None


@rule
def test_chronyd_configure_local_socket(chrony):
    unit = chrony.wait_unit
    if unit.fragment is None:
        not_applicable("chrony-wait.service is not installed")
    if unit.masked:
        not_applicable(f"chrony-wait.service is masked ({unit.fragment})")
    if unit.unreadable:
        raise CouldNotCheck(f"cannot read {', '.join(unit.unreadable)}")
    execs = unit.values("Service", "ExecStart")
    if not execs:
        non_compliant(f"chrony-wait.service has no ExecStart ({unit.fragment})")
    bad = []
    for assignment in execs:
        argv = exec_argv(assignment.value, {})
        if not argv or not argv[0].endswith("chronyc") or "waitsync" not in argv:
            bad.append(f"{assignment.line} (does not run chronyc waitsync)")
        elif (host := _uses_network(argv)) is not None:
            bad.append(f"{assignment.line} (-h {host}: network instead of the Unix socket)")
    if bad:
        non_compliant("chrony-wait.service does not wait over the Unix socket", bad)
