"""Which time sources chronyd uses: server/pool/peer lines of the effective configuration."""
from timesync_audit.evidence import files_read, is_loopback, non_compliant
from timesync_audit.rules import rule


def _remote(sources):
    return [s for s in sources if s.kind in ("server", "pool") and not is_loopback(s.host)]


def _invalid(chrony):
    return [f"{d.line} ({d.error})" for d in chrony.config.invalid_sources]


@rule(title="A remote time server for chrony is configured", severity="medium", service="chronyd",
      cce="CCE-84218-7", stig="RHEL-09-252020", cis="RHEL9 2.3.2",
      rationale="Without a remote source the clock drifts and logs lose their order across hosts.",
      remediation="Add `server <approved host> iburst maxpoll 10 nts` to chrony.conf or a sources.d file.")
def test_chronyd_specify_remote_server(chrony):
    usable = [s for s in _remote(chrony.config.sources) if "noselect" not in s.options]
    if not usable:
        ignored = [f"{s.line} (noselect or loopback)" for s in chrony.config.sources]
        non_compliant(f"no server or pool source in chronyd's effective configuration ({files_read(chrony.config)})",
                      ignored + _invalid(chrony))


@rule(title="chrony only configured with server directives", severity="medium", service="chronyd",
      cce="CCE-87077-4", stig="RHEL-09-252020",
      rationale="A pool resolves to hosts nobody approved; the STIG asks for named servers only.",
      remediation="Replace every pool line (all files chronyd reads, sources.d included) with server lines.")
def test_chronyd_server_directive(chrony):
    pools = [s for s in chrony.config.sources if s.kind == "pool"]
    servers = [s for s in chrony.config.sources if s.kind == "server"]
    if pools:
        non_compliant("pool directives found (only server is allowed)", [s.line for s in pools])
    if not servers:
        non_compliant(f"no server directive ({files_read(chrony.config)})", _invalid(chrony))


@rule(title="chrony uses only approved servers and pools", severity="medium", service="chronyd",
      cis="U22 2.3.3.1",
      rationale="Time from an unapproved host can be steered by whoever runs it.",
      remediation="Use only the hosts of policy approved_servers / approved_pools.")
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
