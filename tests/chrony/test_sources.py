"""Which time sources chronyd uses: server/pool/peer lines of the effective configuration."""

from timesync_audit.evidence import files_read, is_loopback, non_compliant
from timesync_audit.rules import rule


def _remote(sources):
    return [s for s in sources if s.kind in ("server", "pool") and not is_loopback(s.host)]


def _invalid(chrony):
    return [f"{d.line} ({d.error})" for d in chrony.config.invalid_sources]


@rule
def test_chronyd_specify_remote_server(chrony):
    usable = [s for s in _remote(chrony.config.sources) if "noselect" not in s.options]
    if not usable:
        ignored = [f"{s.line} (noselect or loopback)" for s in chrony.config.sources]
        non_compliant(
            f"no server or pool source in chronyd's effective configuration ({files_read(chrony.config)})",
            ignored + _invalid(chrony),
        )


@rule
def test_chronyd_server_directive(chrony):
    pools = [s for s in chrony.config.sources if s.kind == "pool"]
    servers = [s for s in chrony.config.sources if s.kind == "server"]
    if pools:
        non_compliant("pool directives found (only server is allowed)", [s.line for s in pools])
    if not servers:
        non_compliant(f"no server directive ({files_read(chrony.config)})", _invalid(chrony))


@rule
def test_chronyd_configure_pool_and_server(chrony, policy):
    sources = chrony.config.sources
    if not sources:
        non_compliant(f"no source configured ({files_read(chrony.config)})")
    bad = []
    for s in sources:
        approved = policy.approved_pools if s.kind == "pool" else policy.approved_servers
        if s.host.lower().rstrip(".") not in approved:
            key = "approved_pools" if s.kind == "pool" else "approved_servers"
            bad.append(f"{s.line} ({s.host} is not in {key})")
    if bad:
        non_compliant("sources not on the approved lists", bad)
