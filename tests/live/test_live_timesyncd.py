"""systemd-timesyncd's live state: the clock synchronized (NTPSynchronized=yes, the kernel's own
flag) and a server in use. Read from `timedatectl show` and `timedatectl show-timesync`."""
from timesync_audit.evidence import non_compliant
from timesync_audit.rules import rule


@rule(title="systemd-timesyncd is synchronized", severity="medium", service="systemd-timesyncd", judges="live",
      rationale="A configured server that answers does not mean a synchronized clock: timesyncd may be "
                "unable to adjust it. NTPSynchronized is the kernel's word on it.",
      remediation="Check `timedatectl timesync-status` and `journalctl -u systemd-timesyncd`: a server must "
                  "be in use and timesyncd allowed to set the clock (CAP_SYS_TIME).")
def test_timesyncd_synchronized(timesyncd):
    show = timesyncd.live.answer("timedatectl_show", "not synchronized")
    timesync = timesyncd.live.answer("timedatectl_timesync", "not synchronized")
    synchronized = show.ntp_synchronized
    problems = []
    if synchronized is None:
        value = show.properties.get("NTPSynchronized")
        problems.append("`timedatectl show` gives no NTPSynchronized" if value is None
                        else f"NTPSynchronized={value} (expected yes)")
    elif not synchronized:
        problems.append("NTPSynchronized=no: the kernel clock is not synchronized")
    if not timesync.server_in_use:
        problems.append("no server in use (`timedatectl show-timesync`: ServerName and ServerAddress empty)")
    if problems:
        non_compliant("systemd-timesyncd is not synchronized: " + "; ".join(problems),
                      [f"timedatectl show: {show.describe()}", f"timedatectl show-timesync: {timesync.describe()}"])
