"""What systemd-timesyncd is configured with: its NTP servers and how far a source may be."""

from timesync_audit.evidence import non_compliant
from timesync_audit.rules import rule


def _context(timesyncd) -> list[str]:
    config = timesyncd.config
    return [f"masked: {m}" for m in config.masked] + config.ignored


@rule
def test_service_timesyncd_configured(timesyncd, policy):
    config = timesyncd.config
    servers, ignored, reset = config.servers("NTP")
    if not servers:
        fallback, _, _ = config.servers("FallbackNTP")
        notes = _context(timesyncd) + ignored
        if reset is not None:
            notes.insert(0, f"{reset.line} (an empty NTP= clears every server before it)")
        if fallback:
            notes.append(
                "FallbackNTP is set ("
                + " ".join(s for s, _ in fallback)
                + "), but fallback servers alone are not a configuration"
            )
        non_compliant(f"no NTP= server in timesyncd's effective configuration ({timesyncd.files_read()})", notes)
    bad = [
        f"{line} ({server} is not in approved_servers)"
        for server, line in servers
        if server.lower().rstrip(".") not in policy.approved_servers
    ]
    if bad:
        non_compliant(
            f"timesyncd servers not on the approved list ({policy.describe('approved_servers')})", bad + ignored
        )


@rule
def test_service_timesyncd_root_distance_configured(timesyncd, policy):
    seconds, assignment, ignored = timesyncd.config.last_timespan("RootDistanceMaxSec")
    limit = policy.root_distance_max_sec
    if assignment is None:
        non_compliant(
            f"RootDistanceMaxSec is not set ({timesyncd.files_read()}); the policy requires it set, <= {limit:g} s",
            ignored + _context(timesyncd),
        )
    if seconds > limit:
        shown = "infinity" if seconds == float("inf") else f"{seconds:g} s"
        non_compliant(
            f"RootDistanceMaxSec is {shown}, more than {policy.describe('root_distance_max_sec')}",
            [f"{assignment.line} (the last valid assignment wins)"] + ignored,
        )
