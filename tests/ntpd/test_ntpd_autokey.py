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


@rule(title="The ntp configuration holding the Autokey password is private", severity="medium", service="ntpd",
      rationale="`crypto pw` decrypts the host's Autokey private keys; a readable file gives it away.",
      remediation="chown root:ntp <file>; chmod 0640 <file> (or move `crypto pw` to a root-only includefile).")
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


@rule(title="Autokey key material in keysdir is not world-readable", severity="medium", service="ntpd",
      rationale="ntpkey_* files hold the host's Autokey keys and parameters; readable, they let others "
                "impersonate the host or its servers.",
      remediation="chmod o-rwx <keysdir>/ntpkey_* (ntp-keygen creates private files 0600).")
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
            bad.append(f"{record.path} is {record.stat.user}:{record.stat.group} {record.stat.mode:04o} "
                       f"(world {'readable' if record.stat.mode & 0o004 else 'accessible'})")
    if bad:
        non_compliant(f"key material in {directory} (keysdir at {ntpd.keysdir.line.where}) is world-accessible", bad)


@rule(title="Every ntpd source is authenticated", severity="medium", service="ntpd",
      rationale="Unauthenticated NTP can be spoofed on the path; where policy requires it, every source "
                "must use Autokey or a symmetric key.",
      remediation="Add `autokey` (with `crypto`) or `key N` (with `keys` and `trustedkey N`) to every "
                  "server, pool and peer line.")
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
