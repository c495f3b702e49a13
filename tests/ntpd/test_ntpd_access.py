"""Who may talk to ntpd: the default restrictions of both address families.

The default entry of each family is built as ntpd builds it (parsers.ntp_restrict): every line
that reaches it counts, in the order ntpd reads them (main file, includefile, NTPsec's ntp.d):
`restrict default` (both families), `restrict -4|-6 default`, any address with mask 0.0.0.0 or
`::`; repeated lines add their flags up, NTPsec's `unrestrict` takes flags away. Lines for other
addresses, `restrict default ntpport` and `restrict source` are other entries and do not count.
"""

from timesync_audit.evidence import files_read, non_compliant
from timesync_audit.rules import rule

REQUIRED = ("kod", "nomodify", "notrap", "nopeer", "noquery")


@rule
def test_ntpd_configure_restrictions(ntpd):
    state = ntpd.config.restriction_state
    ntpsec = ntpd.flavor == "ntpsec"
    bad = []
    for family, qualifier in (("IPv4", "-4"), ("IPv6", "-6")):
        entry = state.defaults[family]
        # the flags the lines set, as the baselines read them: NTPsec's ignored nopeer/notrap
        # count, its built-in noquery/limited do not (they are not in the configuration)
        written = entry.written
        if "ignore" in written:
            continue
        missing = [f for f in REQUIRED if f not in written]
        if not missing:
            continue
        if not entry.lines:
            bad.append(f"{family}: no `restrict default` or `restrict {qualifier} default` line")
            continue
        where = "; ".join(str(line) for line in entry.lines)
        held = f"; ntpsec holds: {' '.join(sorted(entry.flags)) or 'no flag'}" if ntpsec else ""
        bad.append(f"{family}: {where} (missing {' '.join(missing)}){held}")
    if bad:
        # restrict lines ntpd ignores, or reads only up to a bad word: they explain what is missing
        ignored = [
            f"{d.line} ({d.error})"
            for d in ntpd.config.directives + ntpd.config.rejected
            if d.error and d.name.lower() in ("restrict", "unrestrict")
        ]
        ignored += [f"{op.line} (ntpd ignores it: {why})" for op, why in state.ignored]
        summary = f"default restrictions lack {' '.join(REQUIRED)} (or ignore) ({files_read(ntpd.config)})"
        if ntpsec:
            summary += (
                "; ntpsec accepts but ignores nopeer and notrap: the configuration text is judged as the baselines do"
            )
        non_compliant(summary, bad + ignored)
