"""How ntpd runs: the account it drops to, and no local clock posing as a good source."""

import re

from timesync_audit.evidence import non_compliant
from timesync_audit.rules import rule

#: a local clock is tolerated only as a last resort, fudged at least this far from the real sources
LOCAL_CLOCK_DEFAULT_STRATUM = 5  # refclock_local.c


@rule
def test_ntpd_run_as_ntp_user(ntpd):
    users = ntpd.users
    expected = " or ".join(users)
    bad = []
    commands = ntpd.start_commands
    if not commands:
        non_compliant(
            "no way ntpd is started was found (no ntp/ntpd/ntpsec unit, no OPTIONS/NTPD_OPTS, "
            "no running ntpd): cannot tell that it drops root"
        )
    for cmd in commands:
        where = f"{cmd.origin}" + (f", -u from {cmd.user_origin}" if cmd.user_origin else "")
        argv = " ".join(cmd.argv)
        if cmd.user is None:
            bad.append(f"{where}: no -u, ntpd keeps running as root: {argv}")
        elif cmd.user not in users:
            bad.append(f"{where}: -u {cmd.options['u']} (expected {expected}): {argv}")
        elif cmd.group in ("root", "0"):
            bad.append(f"{where}: -u {cmd.options['u']} (group root): {argv}")
    for process, _ in ntpd.running:
        if process.uid == 0:
            bad.append(f"ntpd pid {process.pid} runs as root (uid 0), expected {expected}")
        elif process.user not in users:
            bad.append(f"ntpd pid {process.pid} runs as {process.user} (uid {process.uid}), expected {expected}")
    if bad:
        non_compliant(f"ntpd does not run as {expected}", bad)


def _stratum(args, default):
    words = list(args)
    for i, word in enumerate(words[:-1]):
        if word == "stratum" and re.fullmatch(r"\d+", words[i + 1]):
            default = int(words[i + 1])
    return default


@rule
def test_ntpd_no_undisciplined_local_clock(ntpd, policy):
    min_stratum = policy.local_clock_min_stratum
    config = ntpd.config
    fudges = {}
    for d in config.all("fudge"):
        if d.args:
            fudges.setdefault(d.args[0], []).append(d)
    bad = []
    for s in config.sources:
        if not s.host.startswith("127.127.1."):
            continue
        stratum, how = LOCAL_CLOCK_DEFAULT_STRATUM, "no fudge stratum: the driver's default"
        for d in fudges.get(s.host, []):
            value = _stratum(d.args[1:], None)
            if value is not None:
                stratum, how = value, f"fudge at {d.line.where}"
        if stratum < min_stratum:
            bad.append(f"{s.line} (undisciplined local clock at stratum {stratum}, {how})")
    for d in config.all("refclock"):
        if d.args and d.args[0] == "local":
            stratum = _stratum(d.args[1:], LOCAL_CLOCK_DEFAULT_STRATUM)
            if stratum < min_stratum:
                bad.append(f"{d.line} (undisciplined local clock at stratum {stratum})")
    if bad:
        non_compliant(
            f"a local clock is configured below stratum {min_stratum} ({policy.describe('local_clock_min_stratum')})",
            bad,
        )
