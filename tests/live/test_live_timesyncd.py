"""systemd-timesyncd's live state: the clock synchronized (NTPSynchronized=yes, the kernel's own
flag) and a server in use. Read from `timedatectl show` and `timedatectl show-timesync`."""

from timesync_audit.evidence import non_compliant
from timesync_audit.rules import rule


@rule
def test_timesyncd_synchronized(timesyncd):
    show = timesyncd.live.answer("timedatectl_show", "not synchronized")
    timesync = timesyncd.live.answer("timedatectl_timesync", "not synchronized")
    synchronized = show.ntp_synchronized
    problems = []
    if synchronized is None:
        value = show.properties.get("NTPSynchronized")
        problems.append(
            "`timedatectl show` gives no NTPSynchronized"
            if value is None
            else f"NTPSynchronized={value} (expected yes)"
        )
    elif not synchronized:
        problems.append("NTPSynchronized=no: the kernel clock is not synchronized")
    if not timesync.server_in_use:
        problems.append("no server in use (`timedatectl show-timesync`: ServerName and ServerAddress empty)")
    if problems:
        non_compliant(
            "systemd-timesyncd is not synchronized: " + "; ".join(problems),
            [f"timedatectl show: {show.describe()}", f"timedatectl show-timesync: {timesync.describe()}"],
        )
