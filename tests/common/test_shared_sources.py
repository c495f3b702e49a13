"""Source rules SSG shares between chronyd and ntpd (chronyd_or_ntpd_*): each daemon that
applies on the host (the `time_daemons` fixture) is judged on the sources it reads."""

from timesync_audit.evidence import distinct_sources, files_read, non_compliant, why_not_a_remote_server
from timesync_audit.facts.ntpd import NtpdFacts
from timesync_audit.rules import refused, rule


def _daemon(facts) -> str:
    return "ntpd" if isinstance(facts, NtpdFacts) else "chronyd"


def _judge(time_daemons, judge) -> None:
    """Run judge(facts) -> (summary, items) | None on every start of every daemon (a refused
    configuration is a finding of its own); fail with all findings, each named by its daemon
    (and its start, where a daemon has several) when more than one is judged."""
    findings = []
    for facts in time_daemons:
        found = (refused(_daemon(facts), facts.refusal), []) if facts.refusal else judge(facts)
        if found:
            findings.append((facts, found))
    if len(findings) == 1 and len(time_daemons) == 1:
        non_compliant(*findings[0][1])
    starts = {}
    for facts in time_daemons:
        starts[_daemon(facts)] = starts.get(_daemon(facts), 0) + 1

    def name(facts) -> str:
        return facts.start.describe() if starts[_daemon(facts)] > 1 else _daemon(facts)

    if findings:
        non_compliant(
            "; ".join(f"{name(f)}: {summary}" for f, (summary, _) in findings),
            [f"{name(f)}: {item}" for f, (_, items) in findings for item in items],
        )


def _multiple(facts, policy):
    total = distinct_sources(facts.config.sources, policy.pool_counts_as)
    if total < policy.min_sources:
        found = [f"{s.line}" for s in facts.config.sources]
        return (
            f"{total} distinct source(s), policy {policy.describe('min_sources')} "
            f"(a pool counts as {policy.pool_counts_as})",
            found or [files_read(facts.config)],
        )
    return None


@rule
def test_chronyd_or_ntpd_specify_multiple_servers(time_daemons, policy):
    _judge(time_daemons, lambda facts: _multiple(facts, policy))


def _maxpoll(facts, policy):
    limit = policy.maxpoll_max
    daemon = _daemon(facts)
    ntpd = daemon == "ntpd"
    sources = [s for s in facts.config.sources if not (ntpd and s.refclock)]  # a driver is not polled
    if not sources:
        return f"no source configured ({files_read(facts.config)})", []
    bad = []
    for s in sources:
        if s.maxpoll is None and not (policy.allow_default_maxpoll and s.effective_maxpoll <= limit):
            bad.append(
                f"{s.line} (no maxpoll: {daemon} polls up to {s.effective_maxpoll}, "
                f"policy needs an explicit value <= {limit})"
            )
        elif s.effective_maxpoll > limit:
            if s.maxpoll == s.effective_maxpoll:
                bad.append(f"{s.line} (maxpoll {s.maxpoll} > {limit})")
            elif ntpd:
                bad.append(
                    f"{s.line} (ntpd polls up to {s.effective_maxpoll} > {limit}: "
                    f"it takes maxpoll {s.maxpoll} as {s.effective_maxpoll})"
                )
            else:
                bad.append(
                    f"{s.line} (chronyd polls up to {s.effective_maxpoll} > {limit}: "
                    f"minpoll {s.minpoll} raises maxpoll {s.maxpoll})"
                )
    if ntpd:
        bad += [f"{d.line} ({d.error})" for d in facts.config.invalid_sources]
    else:
        bad += [f"{d.line} ({d.error}; chronyd would refuse to start)" for d in facts.config.invalid_sources]
    if bad:
        return f"sources without maxpoll <= {limit} ({policy.describe('maxpoll_max')})", bad
    return None


@rule
def test_chronyd_or_ntpd_set_maxpoll(time_daemons, policy):
    _judge(time_daemons, lambda facts: _maxpoll(facts, policy))


def _remote_server(facts):
    if any(why_not_a_remote_server(s) is None for s in facts.config.sources):
        return None
    ignored = [f"{s.line} ({why_not_a_remote_server(s)})" for s in facts.config.sources]
    ignored += [f"{d.line} ({d.error})" for d in facts.config.invalid_sources]
    return (
        f"no server or pool source in {_daemon(facts)}'s effective configuration ({files_read(facts.config)})",
        ignored,
    )


@rule
def test_chronyd_or_ntpd_specify_remote_server(time_daemons):
    _judge(time_daemons, _remote_server)
