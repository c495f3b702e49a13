"""chronyd's live state: is the clock synchronized, close to true time, fed by reachable sources,
and is NTS really in force? Read from `chronyc -c -n tracking|sources|authdata` in the host's
one gather; chronyd not running fails these rules, chronyc unusable (not root, missing) is an error."""

from timesync_audit.evidence import non_compliant
from timesync_audit.outcomes import not_applicable
from timesync_audit.rules import rule

TRACKING, SOURCES, AUTHDATA = "chronyc_tracking", "chronyc_sources", "chronyc_authdata"
NTS_KE_CAUSES = (
    "NTS-KE (TCP port 4460) blocked or the server unreachable",
    "the server's certificate not trusted (ntstrustedcerts / the system CA store)",
    "the client's clock far off (outside the certificate's validity period)",
)


@rule
def test_chrony_synchronized(chrony):
    tracking = chrony.live.answer(TRACKING, "not synchronized")
    reasons = tracking.not_synchronized_because()
    if reasons:
        non_compliant(f"chronyd is not synchronized ({tracking.describe()}; `chronyc -c -n tracking`)", reasons)


@rule
def test_chrony_offset_within_limit(chrony, policy):
    limit = policy.max_offset
    tracking = chrony.live.answer(TRACKING, "offset not measured")
    reasons = tracking.not_synchronized_because()
    if reasons:
        non_compliant(
            f"offset not measured: chronyd is not synchronized ({tracking.describe()}); "
            f"limit {policy.describe('max_offset')}",
            reasons,
        )
    if abs(tracking.system_time) > limit:
        non_compliant(
            f"system time offset {tracking.system_time:+.9f} s ({tracking.offset_words()}): "
            f"|{abs(tracking.system_time):.9f}| s is more than {policy.describe('max_offset')} "
            f"({tracking.describe()})"
        )


@rule
def test_chrony_sources_reachable(chrony, policy):
    sources = chrony.live.answer(SOURCES, "no reachable source")
    listed = [s.describe() for s in sources]
    if not sources:
        non_compliant(
            f"chronyd has no source (`chronyc -c -n sources` lists none); at least "
            f"{policy.describe('min_sources')} reachable sources are required"
        )
    reachable = [s for s in sources if s.reach]
    selected = [s for s in sources if s.selected]
    problems = []
    if len(reachable) < policy.min_sources:
        problems.append(
            f"{len(reachable)} of {len(sources)} sources reachable (non-zero reach), fewer than "
            f"{policy.describe('min_sources')}"
        )
    if not selected:
        problems.append("no source is selected (no `*`)")
    if problems:
        non_compliant("; ".join(problems), listed)


@rule
def test_chrony_nts_authenticated(chrony, policy):
    if not policy.require_nts:
        not_applicable(f"NTS not required by policy ({policy.describe('require_nts')})")
    entries = chrony.live.answer(AUTHDATA, "no NTS-authenticated source")
    if not entries:
        non_compliant(
            f"chronyd has no NTP source (`chronyc -c -n authdata` lists none; {policy.describe('require_nts')})"
        )
    plain = [e for e in entries if not e.nts]
    failed = [e for e in entries if e.ke_failed]
    no_cookies = [e for e in entries if e.nts and not e.authenticated and not e.ke_failed]
    authenticated = [e for e in entries if e.authenticated]
    if not (plain or failed or no_cookies):
        return
    findings = []
    if plain:
        findings.append(f"not NTS-authenticated: {', '.join(e.address for e in plain)}")
    if failed:
        findings.append(f"NTS-KE failed for {', '.join(e.address for e in failed)} (no cookies)")
    if no_cookies:
        findings.append(
            f"no NTS cookies left for {', '.join(e.address for e in no_cookies)} (NTP replies not received?)"
        )
    items = [e.describe() for e in entries]
    if failed:
        items.append("likely causes of the NTS-KE failure: " + "; ".join(NTS_KE_CAUSES))
    if plain and authenticated:
        summary = "mixed sources: " + "; ".join(findings)
    else:
        summary = "; ".join(findings)
    non_compliant(f"{summary} ({policy.describe('require_nts')})", items)
