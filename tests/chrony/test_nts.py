"""Network Time Security: authenticated sources, persisted cookies, usable trust anchors."""

from timesync_audit.evidence import files_read, non_compliant
from timesync_audit.outcomes import not_applicable
from timesync_audit.rules import rule


@rule
def test_chrony_set_nts(chrony, policy):
    if not policy.require_nts:
        not_applicable(f"NTS not required by policy ({policy.describe('require_nts')})")
    sources = chrony.config.sources
    if not sources:
        non_compliant(f"no source configured ({files_read(chrony.config)})")
    bad = []
    for s in sources:
        if s.kind == "peer":
            if "key" not in s.options:
                bad.append(f"{s.line} (a peer cannot use NTS and has no symmetric key)")
        elif not s.nts:
            bad.append(f"{s.line} (no nts option)")
    if bad:
        non_compliant("sources without NTS", bad)


@rule
def test_chrony_nts_dumpdir(chrony):
    nts = [s for s in chrony.config.sources if s.nts]
    if not nts:
        not_applicable("no source uses NTS")
    dumpdir = chrony.config.all("ntsdumpdir") + chrony.config.all("ntscachedir")
    if not dumpdir:
        non_compliant(
            f"{len(nts)} NTS source(s) (first: {nts[0].line.where}) but ntsdumpdir is not set "
            f"({files_read(chrony.config)})"
        )


@rule
def test_chrony_nts_trust(chrony):
    if not chrony.trust_anchors:
        not_applicable("no ntstrustedcerts directive (the system trust store is used)")
    bad = []
    for anchor in chrony.trust_anchors:
        where = anchor.directive.line.where
        if anchor.record is None or anchor.record.stat is None:
            if anchor.record is not None and anchor.record.exists:
                bad.append(f"{where}: cannot stat {anchor.path}")
            else:
                bad.append(f"{where}: {anchor.path} does not exist")
        elif anchor.unreadable_by_user:
            bad.append(
                f"{where}: {anchor.path} is {anchor.unreadable_by_user} (chronyd loads it after "
                f"dropping root, as {chrony.run_user}, {chrony.run_user_origin})"
            )
    if bad:
        non_compliant("trust anchors chronyd cannot use", bad)
