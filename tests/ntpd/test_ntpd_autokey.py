"""Autokey (classic ntp only): its password, its key directory, and authenticated sources.
ntpsec has no Autokey: these rules do not apply there. No secret is ever shown: the
`crypto pw` value is redacted while parsing and key files are only stat'ed."""

import posixpath

from timesync_audit.evidence import files_read, non_compliant
from timesync_audit.outcomes import CouldNotCheck, not_applicable
from timesync_audit.rules import rule

CONFIG_GROUPS = ("ntp", "root")


def _classic(ntpd):
    if ntpd.flavor == "ntpsec":
        not_applicable("ntpsec has no Autokey")


@rule
def test_ntpd_config_protects_secrets(ntpd):
    _classic(ntpd)
    if not ntpd.secret_files:
        not_applicable(f"no `crypto pw` in ntpd's configuration ({files_read(ntpd.config)})")
    bad = []
    for secret in ntpd.secret_files:
        if secret.record is None or secret.record.stat is None:
            raise CouldNotCheck(f"cannot stat {secret.path}")
        st = secret.record.stat
        found = f"{secret.line}: {secret.path} is {st.user}:{st.group} {st.mode:04o}"
        if st.uid != 0:
            bad.append(f"{found} (owner uid {st.uid}, expected root)")
        if st.group not in CONFIG_GROUPS and st.gid != 0:
            bad.append(f"{found} (group {st.group}, expected ntp or root)")
        if st.mode & ~0o640:
            bad.append(f"{found} (allowed at most 0640)")
    if bad:
        non_compliant("a file holding the Autokey password is not private", bad)


@rule
def test_ntpd_keysdir_private(ntpd):
    _classic(ntpd)
    if ntpd.keysdir is None or not ntpd.keysdir.args:
        not_applicable(f"no keysdir directive ({files_read(ntpd.config)})")
    directory = ntpd.keysdir.args[0]
    keys = [r for r in ntpd.keysdir_files if posixpath.basename(r.path).startswith("ntpkey")]
    if not keys:
        not_applicable(f"no ntpkey_* file in {directory} (keysdir at {ntpd.keysdir.line.where})")
    bad = []
    for record in keys:
        if record.stat is None:
            raise CouldNotCheck(f"cannot stat {record.path}")
        if record.stat.mode & 0o007:
            bad.append(
                f"{record.path} is {record.stat.user}:{record.stat.group} {record.stat.mode:04o} "
                f"(world {'readable' if record.stat.mode & 0o004 else 'accessible'})"
            )
    if bad:
        non_compliant(f"key material in {directory} (keysdir at {ntpd.keysdir.line.where}) is world-accessible", bad)


@rule
def test_ntpd_autokey_sources(ntpd, policy):
    if not policy.require_autokey:
        not_applicable(f"authenticated sources not required ({policy.describe('require_autokey')})")
    _classic(ntpd)
    sources = ntpd.config.network_sources
    if not sources:
        non_compliant(f"no source configured ({files_read(ntpd.config)})")
    bad = [f"{s.line} (neither autokey nor key N)" for s in sources if not s.authenticated]
    if bad:
        non_compliant(f"unauthenticated sources ({policy.describe('require_autokey')})", bad)
