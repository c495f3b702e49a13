"""Can a daemon's own account read a file? Decided as the kernel decides it, from gathered stats.

chronyd, ntpd and timesyncd read some files after they stop being root. A file
their account cannot read is not loaded, whatever the auditor (root) sees. The
kernel's rule: every directory on the path needs search (x) permission and the
file read (r) permission, each judged by the first class that matches (owner,
then group, then other). Only the groups the daemon keeps count: chronyd
drops its supplementary groups (UTI_DropRoot: setgroups(0, NULL)), so only the
account's primary group does; systemd gives a unit's User= its groups.
"""

from __future__ import annotations

import dataclasses
import posixpath

from ..gather.snapshot import Reader, Request
from ..parsers.lines import lines
from ..parsers.numbers import decimal as _decimal
from ..services import SERVICES

#: accounts asked for in the first round trip: every service's packaged users
ACCOUNT_COMMAND = "accounts"
FIRST_ROUND_USERS = tuple(dict.fromkeys(u for s in SERVICES for u in s.users))
_ACCOUNT_SH = (
    'for u in {users}; do e=$(getent passwd "$u" 2>/dev/null) || continue; '
    'printf \'%s\\t%s\\n\' "$e" "$(id -G "$u" 2>/dev/null)"; done; true'
)


def account_request(users: tuple[str, ...], name: str = ACCOUNT_COMMAND) -> Request:
    quoted = " ".join("'" + u.replace("'", "") + "'" for u in users)
    return Request(commands=((name, _ACCOUNT_SH.format(users=quoted)),))


@dataclasses.dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]  # every group of the account (primary included), as `id -G` lists them

    def gids(self, supplementary: bool) -> tuple[int, ...]:
        return self.groups if supplementary else (self.gid,)


def parse_accounts(text: str) -> dict[str, Account]:
    """`getent passwd` lines, each followed by a tab and `id -G`."""
    found: dict[str, Account] = {}
    for line in lines(text):
        entry, _, groups = line.partition("\t")
        fields = entry.split(":")
        uid, gid = (_decimal(fields[2]), _decimal(fields[3])) if len(fields) >= 4 else (None, None)
        if uid is None or gid is None:
            continue
        gids = tuple(g for g in (_decimal(word) for word in groups.split()) if g is not None)
        found[fields[0]] = Account(fields[0], uid, gid, gids or (gid,))
    return found


def account(reader: Reader, name: str) -> Account | None | bool:
    """The account NAME: an Account, None when the host has no such account, or False while it
    has not been gathered (the collector then asks for it in the next round trip)."""
    known = reader.command(ACCOUNT_COMMAND)
    if known is not None and name in (accounts := parse_accounts(known.stdout)):
        return accounts[name]
    if known is not None and known.ok and name in FIRST_ROUND_USERS:
        return None  # asked for in round 1, and the host has no such account
    own = reader.command(f"account:{name}")
    if own is None:
        if known is not None and not known.ok:
            return None
        reader.needs = reader.needs.merged(account_request((name,), f"account:{name}"))
        return False
    return parse_accounts(own.stdout).get(name)


def ancestors(path: str) -> list[str]:
    """The directories a lookup of `path` searches: /, /etc, /etc/chrony for /etc/chrony/x."""
    parts = posixpath.normpath(path).split("/")[1:-1]
    return ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _allows(stat, account: Account, gids: tuple[int, ...], bit: int) -> bool:
    if stat.uid == account.uid:
        return bool((stat.mode >> 6) & bit)
    if stat.gid in gids:
        return bool((stat.mode >> 3) & bit)
    return bool(stat.mode & bit)


class NotGathered(Exception):
    """A stat the decision needs is not in the snapshot yet: one more round trip asks for it."""


def unreadable_reason(reader: Reader, account: Account, path: str, supplementary: bool) -> str | None:
    """None when `account` can read `path`; otherwise why not ("root:root 0600: not readable by _chrony").

    Raises NotGathered while a stat is missing (it is requested), and returns "unknown: ..." text
    for stats the auditor could not take (a directory it cannot search)."""
    if account.uid == 0:
        return None
    gids = account.gids(supplementary)
    missing = False
    for directory in ancestors(path):
        record = reader.stat(directory)
        if record is None:
            missing = True
            continue
        if record.stat is None:
            continue  # hidden from the auditor too: the file's own record says so
        if not _allows(record.stat, account, gids, 0o1):
            st = record.stat
            return (
                f"directory {directory} is {st.user}:{st.group} {st.mode:04o}, no search permission: "
                f"not readable by {account.name}"
            )
    record = reader.stat(path)
    if record is None or missing:
        raise NotGathered(path)
    if record.stat is None:
        return None  # missing or hidden: the caller judges the file's own state
    if not _allows(record.stat, account, gids, 0o4):
        st = record.stat
        return f"{st.user}:{st.group} {st.mode:04o}: not readable by {account.name}"
    return None


def checker(reader: Reader, account: Account | None, supplementary: bool, pending: list[str]):
    """The callback parsers ask about files a daemon reads as `account`: why it cannot read a
    path, or None. A path whose stats are not gathered yet goes to `pending` (asked for next round)."""

    def check(path: str) -> str | None:
        if account is None:
            return None
        try:
            return unreadable_reason(reader, account, path, supplementary)
        except NotGathered:
            pending.append(path)
            return None

    return check
