"""Which time sources ntpd uses: server/pool/peer lines of the effective configuration
(main file, includefile, and for ntpsec every ntp.d/*.conf beside the main file)."""
from timesync_audit.evidence import files_read, is_loopback, non_compliant
from timesync_audit.rules import rule


def _why_not_counted(s) -> str:
    if s.refclock:
        return "reference clock, not a remote server"
    if s.kind == "peer":
        return "peer, not a server"
    if is_loopback(s.host):
        return "loopback"
    return "noselect"


def _counted(ntpd):
    return [s for s in ntpd.config.sources
            if s.kind in ("server", "pool") and not is_loopback(s.host) and "noselect" not in s.options]


def _ignored(ntpd):
    return [f"{s.line} ({_why_not_counted(s)})" for s in ntpd.config.sources if s not in _counted(ntpd)] + \
           [f"{d.line} ({d.error})" for d in ntpd.config.invalid_sources]


@rule
def test_ntpd_specify_remote_server(ntpd):
    if not _counted(ntpd):
        non_compliant(f"no server or pool source in ntpd's effective configuration "
                      f"({files_read(ntpd.config)})", _ignored(ntpd))


@rule
def test_ntpd_specify_multiple_servers(ntpd, policy):
    counted: dict[str, int] = {}
    for s in _counted(ntpd):
        weight = policy.pool_counts_as if s.kind == "pool" else 1
        host = s.host.lower().rstrip(".")
        counted[host] = max(counted.get(host, 0), weight)
    total = sum(counted.values())
    if total < policy.min_sources:
        found = [str(s.line) for s in _counted(ntpd)] + _ignored(ntpd)
        non_compliant(f"{total} distinct source(s), policy {policy.describe('min_sources')} "
                      f"(a pool counts as {policy.pool_counts_as})",
                      found or [files_read(ntpd.config)])
