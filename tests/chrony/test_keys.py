"""The NTP symmetric key file: owner, group, mode. Its content is never read."""

from timesync_audit.evidence import non_compliant
from timesync_audit.outcomes import CouldNotCheck, not_applicable
from timesync_audit.rules import rule


def _key_files(chrony):
    """Existing key files with their stat; N/A or error decided here for all three rules."""
    if not chrony.keyfiles:
        not_applicable(f"no keyfile directive and no {chrony.layout.default_keyfile}")
    existing = []
    for key in chrony.keyfiles:
        if key.record is None or not key.record.exists:
            continue
        if key.record.stat is None:
            raise CouldNotCheck(f"cannot stat {key.path} ({key.origin})")
        existing.append(key)
    if not existing:
        names = ", ".join(f"{k.path} ({k.origin})" for k in chrony.keyfiles)
        not_applicable(f"the configured key file does not exist: {names}")
    return existing


def _describe(key) -> str:
    st = key.record.stat
    return f"{key.path} ({key.origin}) is {st.user}:{st.group} {st.mode:04o}"


@rule
def test_file_owner_etc_chrony_keys(chrony):
    bad = [
        f"{_describe(k)} (owner uid {k.record.stat.uid}, expected 0)"
        for k in _key_files(chrony)
        if k.record.stat.uid != 0
    ]
    if bad:
        non_compliant("key file not owned by root", bad)


@rule
def test_file_groupowner_etc_chrony_keys(chrony):
    group = chrony.layout.group
    bad = [
        f"{_describe(k)} (group {k.record.stat.group}, expected {group})"
        for k in _key_files(chrony)
        if k.record.stat.group != group
    ]
    if bad:
        non_compliant(f"key file group is not {group}", bad)


@rule
def test_file_permissions_etc_chrony_keys(chrony):
    bad = [f"{_describe(k)} (allowed at most 0640)" for k in _key_files(chrony) if k.record.stat.mode & ~0o640]
    if bad:
        non_compliant("key file mode is too permissive", bad)
