"""Who may talk to ntpd: the default restrictions of both address families."""
from timesync_audit.evidence import files_read, non_compliant
from timesync_audit.rules import rule

REQUIRED = ("kod", "nomodify", "notrap", "nopeer", "noquery")


@rule(title="ntpd server restrictions are configured", severity="medium", service="ntpd",
      rationale="Without default restrictions anyone can query ntpd (monlist amplification, "
                "information leaks), peer with it or change its configuration.",
      remediation="Add `restrict -4 default kod nomodify notrap nopeer noquery` and "
                  "`restrict -6 default kod nomodify notrap nopeer noquery` (or `ignore`).")
def test_ntpd_configure_restrictions(ntpd):
    bad = []
    for family, qualifier in (("IPv4", "-4"), ("IPv6", "-6")):
        lines = [r for r in ntpd.config.restrictions if family in r.families]
        if not lines:
            bad.append(f"{family}: no `restrict default` or `restrict {qualifier} default` line")
            continue
        # ntpd adds the flags of every default line of a family to that family's default entry;
        # a line without -4/-6 applies to both families
        flags = frozenset().union(*(r.flags for r in lines))
        if "ignore" in flags:
            continue
        missing = [f for f in REQUIRED if f not in flags]
        if missing:
            where = "; ".join(str(r.line) for r in lines)
            bad.append(f"{family}: {where} (missing {' '.join(missing)})")
    if bad:
        summary = (f"default restrictions lack {' '.join(REQUIRED)} (or ignore) "
                   f"({files_read(ntpd.config.files_read)})")
        if ntpd.flavor == "ntpsec":
            summary += ("; ntpsec accepts but ignores nopeer and notrap: the configuration text is "
                        "judged as the baselines do")
        non_compliant(summary, bad)
