"""What systemd-timesyncd on one host reads: timesyncd.conf and its drop-ins."""

from __future__ import annotations

import dataclasses

from ..gather.snapshot import Reader, Request
from ..parsers import timesyncd_conf
from ..parsers.timesyncd_conf import TimesyncdConfig
from . import access, live
from .host import HostFacts

NAME = "timesyncd"
#: systemd-timesyncd's account (its unit's User=): it reads its configuration as that account,
#: with the account's groups (systemd sets them), so files that account cannot read are not loaded
RUN_USER = "systemd-timesync"
#: where the daemon lives: a package of its own (Debian >= 11, Ubuntu >= 20.10, EPEL) or part of systemd
BINARIES = ("/lib/systemd/systemd-timesyncd", "/usr/lib/systemd/systemd-timesyncd")
#: the directories on the configuration's paths: whether the daemon's account can reach its files is
#: decided from their stats, gathered in round 1 with everything else
_DIRS = tuple(
    sorted({d for path in timesyncd_conf.CONF_DIRS + timesyncd_conf.DROPIN_DIRS for d in access.ancestors(path + "/x")})
)
REQUEST = timesyncd_conf.request().merged(Request(stats=BINARIES + _DIRS)).merged(live.TIMESYNCD)
SECRET_PATHS: tuple[str, ...] = ()


@dataclasses.dataclass
class TimesyncdFacts:
    installed: bool
    package_evidence: str
    problems: list[str]
    config: TimesyncdConfig = dataclasses.field(default_factory=TimesyncdConfig)
    binary: str | None = None  # the daemon's path where it exists
    #: what timedatectl shows now (show, show-timesync), or why it cannot be read
    live: live.LiveState = dataclasses.field(default_factory=live.LiveState)

    def files_read(self) -> str:
        return "read: " + (", ".join(self.config.files_read) if self.config.files_read else "no file")


def build(reader: Reader, host: HostFacts) -> TimesyncdFacts:
    binary = None
    for path in BINARIES:
        record = reader.stat(path)
        if record is not None and record.exists:
            binary = path
            break
    if host.installed("systemd-timesyncd"):
        installed, evidence = True, f"package systemd-timesyncd {host.packages['systemd-timesyncd'].version} installed"
    elif binary:
        installed, evidence = True, f"{binary} exists (part of another package, no systemd-timesyncd package)"
    elif host.running("systemd-timesyn"):
        installed, evidence = True, "systemd-timesyncd is running (not from a package)"
    else:
        installed, evidence = False, "systemd-timesyncd is not installed"
    reader = reader.scoped()
    systemd = host.packages.get("systemd")
    found = access.account(reader, RUN_USER) if installed else None
    account = found if isinstance(found, access.Account) else None
    pending: list[str] = []
    config, _ = timesyncd_conf.parse(
        reader,
        systemd.version if systemd and systemd.installed else "",
        run_user_access=access.checker(reader, account, True, pending),
    )
    problems = [f"{path} is not readable as {host.user}" for path in config.unreadable]
    if installed and (found is False or pending):
        problems.append(f"could not tell whether {RUN_USER} can read {', '.join(pending) or 'its files'}")
    problems += reader.hidden_problems(host.user)
    return TimesyncdFacts(installed, evidence, problems, config, binary, live.timesyncd_state(reader, host))


def secret_paths(facts: TimesyncdFacts | None) -> tuple[str, ...]:
    return SECRET_PATHS
