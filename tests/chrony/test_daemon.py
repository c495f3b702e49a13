"""How chronyd runs: clock stepping policy and the account it runs as."""

from timesync_audit.evidence import files_read, non_compliant
from timesync_audit.parsers.chrony_conf import c_int
from timesync_audit.rules import rule


@rule
def test_chronyd_sync_clock(chrony, policy):
    steps = chrony.config.all("makestep")
    if not steps:
        invalid = [f"{d.line} ignored: {d.error}" for d in chrony.config.invalid("makestep")]
        non_compliant(f"no makestep directive ({files_read(chrony.config)})", invalid)
    bad = []
    for d in steps:
        threshold, limit = float(d.args[0]), c_int(d.args[1])
        if threshold > policy.makestep_threshold_max:
            bad.append(f"{d.line} (threshold {threshold:g} s > {policy.makestep_threshold_max:g} s)")
        if policy.makestep_limit is not None and limit != policy.makestep_limit:
            bad.append(f"{d.line} (limit {limit}, policy requires {policy.makestep_limit})")
    if bad:
        non_compliant(
            f"makestep does not match the policy ({policy.describe('makestep_threshold_max')}, "
            f"{policy.describe('makestep_limit')})",
            bad,
        )


@rule
def test_chronyd_run_as_chrony_user(chrony):
    # the account chronyd drops to, as chronyd decides it (facts.chrony: -u, else the last
    # `user`, else the build's default): an overridden `user` line is not what it runs as
    expected = chrony.layout.user
    bad = []
    if chrony.run_user != expected:
        bad.append(f"runs as {chrony.run_user} ({chrony.run_user_origin}), expected {expected}")
    for process, _ in chrony.running:
        if process.user != expected:
            bad.append(f"chronyd pid {process.pid} runs as {process.user} (uid {process.uid}), expected {expected}")
    if bad:
        non_compliant(f"chronyd does not run as {expected}", bad)
