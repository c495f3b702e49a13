"""ntpd's live state (classic ntp and ntpsec): a system peer, authenticated where Autokey is
required. Read from `ntpq -n -c peers` and `ntpq -n -c associations` in the host's one gather."""

from timesync_audit.evidence import non_compliant
from timesync_audit.outcomes import CouldNotCheck
from timesync_audit.rules import rule


@rule
def test_ntpd_synchronized(ntpd, policy):
    peers = ntpd.live.answer("ntpq_peers", "not synchronized")
    listed = [p.describe() for p in peers]
    if not peers:
        non_compliant("ntpd has no association (`ntpq -n -c peers` lists none): not synchronized")
    system = [p for p in peers if p.system_peer]
    if not system:
        non_compliant("no system peer (no `*` in `ntpq -n -c peers`): ntpd is not synchronized", listed)
    if not policy.require_autokey or ntpd.flavor == "ntpsec":
        return  # ntpsec has no Autokey: only the system peer is judged there
    associations = ntpd.live.answer("ntpq_associations", "not synchronized")
    chosen = [a for a in associations if a.system_peer]
    if not chosen:
        # peers and associations list the associations in the same order
        index = peers.index(system[0])
        if len(associations) != len(peers):
            raise CouldNotCheck(
                "`ntpq -n -c peers` shows a system peer but `ntpq -n -c associations` has no "
                "sys.peer association and lists a different number of associations "
                "(the state changed between the two queries?); run the audit again"
            )
        chosen = [associations[index]]
    association = chosen[0]
    if not association.authenticated:
        non_compliant(
            f"the system peer {system[0].remote} is not authenticated: {association.describe()} "
            f"(expected auth ok; {policy.describe('require_autokey')})",
            listed + [a.describe() for a in associations],
        )
