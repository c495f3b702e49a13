"""Which time sources ntpd uses: server/pool/peer lines of the effective configuration
(main file, includefile, and for ntpsec every ntp.d/*.conf beside the main file)."""

from timesync_audit.evidence import distinct_sources, files_read, non_compliant, why_not_a_remote_server
from timesync_audit.rules import rule


def _counted(ntpd):
    return [s for s in ntpd.config.sources if why_not_a_remote_server(s) is None]


def _ignored(ntpd):
    return [f"{s.line} ({why_not_a_remote_server(s)})" for s in ntpd.config.sources if s not in _counted(ntpd)] + [
        f"{d.line} ({d.error})" for d in ntpd.config.invalid_sources
    ]


@rule
def test_ntpd_specify_remote_server(ntpd):
    if not _counted(ntpd):
        non_compliant(
            f"no server or pool source in ntpd's effective configuration ({files_read(ntpd.config)})", _ignored(ntpd)
        )


@rule
def test_ntpd_specify_multiple_servers(ntpd, policy):
    total = distinct_sources(ntpd.config.sources, policy.pool_counts_as)
    if total < policy.min_sources:
        found = [str(s.line) for s in _counted(ntpd)] + _ignored(ntpd)
        non_compliant(
            f"{total} distinct source(s), policy {policy.describe('min_sources')} "
            f"(a pool counts as {policy.pool_counts_as})",
            found or [files_read(ntpd.config)],
        )
