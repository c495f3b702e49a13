"""A results.json of N made-up hosts over the suite's real rules, valid against the schema.

For what needs a fleet larger than the lab (the 500-host matrix, the report writers, the
benchmark): the rules are the real catalog's, the hosts and their outcomes are drawn from a
seeded random generator, so the same arguments give the same document.

    python selftests/synthetic_results.py 500 /tmp/results.json
"""

from __future__ import annotations

import copy
import datetime
import random
import sys

from timesync_audit import results
from timesync_audit.categories import COMPLIANT, COULD_NOT_CHECK, NON_COMPLIANT, NOT_APPLICABLE, WAIVED
from timesync_audit.policy import default_policy
from timesync_audit.rules import catalog

_GROUPS = ("web", "db", "edge", "batch")
_WEIGHTS = ((COMPLIANT, 60), (NON_COMPLIANT, 18), (NOT_APPLICABLE, 15), (WAIVED, 3), (COULD_NOT_CHECK, 4))
_MESSAGES = {
    COMPLIANT: "",
    NON_COMPLIANT: "non-compliant: maxpoll 17 is above 16 (/etc/chrony/chrony.conf:7)",
    NOT_APPLICABLE: "not applicable: chrony is not installed",
    WAIVED: "waived until 2999-12-31: lab network (waiver 1, waivers.yml:1)\nport is 123 (/etc/chrony/chrony.conf:3)",
    COULD_NOT_CHECK: "could not check: permission denied reading /etc/chrony/chrony.keys",
}


def document(hosts: int, seed: int = 1, dead_every: int = 50) -> dict:
    rng = random.Random(seed)
    rules = catalog()
    policy = results.policy_entry(default_policy())
    started = datetime.datetime(2026, 12, 1, 2, 0, tzinfo=datetime.UTC)
    names, weights = zip(*_WEIGHTS)
    entries = []
    for index in range(hosts):
        name = f"host{index:04d}.example"
        dead = dead_every and index % dead_every == dead_every - 1
        outcomes = {}
        for rule_id in sorted(rules):
            category = COULD_NOT_CHECK if dead else rng.choices(names, weights)[0]
            message = f"could not check: ssh://root@{name}: did not answer within 10 s" if dead else _MESSAGES[category]
            outcomes[rule_id] = {
                "category": category,
                "message": message,
                "evidence": results.evidence_of(message),
                "waiver": {
                    "status": "applied",
                    "justification": "lab network",
                    "expires": "2999-12-31",
                    "source": "waivers.yml:1",
                }
                if category == WAIVED
                else None,
                "test": f"tests/x/test_{rule_id}.py::test_{rule_id}[ssh://root@{name}]",
                "duration_s": 0.001,
            }
        entries.append(
            {
                "id": f"ssh://root@{name}",
                "name": name,
                "backend": "ssh",
                "groups": [_GROUPS[index % len(_GROUPS)]],
                "policy": policy,
                "policy_differs": [],
                "gather": None if dead else {"round_trips": 2, "seconds": 0.3, "id": f"{index:08x}"},
                "os": None if dead else {"id": "debian", "version_id": "12", "pretty_name": "Debian GNU/Linux 12"},
                "dead": f"ssh://root@{name}: did not answer within 10 s (connect)" if dead else None,
                "finished": True,
                "results": outcomes,
            }
        )
    rules_part = {rule_id: results.rule_entry(meta) for rule_id, meta in sorted(rules.items())}
    return assemble(
        rules_part,
        entries,
        started=started.isoformat(),
        finished=(started + datetime.timedelta(seconds=hosts * 0.1)).isoformat(),
        duration_s=hosts * 0.1,
    )


def assemble(rules: dict, hosts: list[dict], baseline: dict | None = None, **run: object) -> dict:
    """A results document of these rules and hosts, its counts and host totals computed, the other
    run fields given or made up; checked against the schema."""
    counts = results.empty_counts()
    for host in hosts:
        for found in host["results"].values():
            counts[found["category"]] += 1
    exit_code = 3 if counts[COULD_NOT_CHECK] else 1 if counts[NON_COMPLIANT] else 0
    document = {
        "format": results.FORMAT,
        "format_version": results.FORMAT_VERSION,
        "run": {
            "suite_version": "0.0.0",
            "started": "2026-12-01T02:00:00+00:00",
            "finished": "2026-12-01T02:01:00+00:00",
            "duration_s": 60.0,
            "profile": None,
            "command_line": ["--hosts=synthetic"],
            "interrupted": None,
            "exit_code": exit_code,
            "exit_meaning": {0: "compliant", 1: "non-compliant", 3: "could not check every rule"}[exit_code],
            "fail_on": "any",
            "counts": counts,
            "policy": results.policy_entry(default_policy()),
            "hosts_total": len(hosts),
            "hosts_finished": len(hosts),
            "unfinished_hosts": [],
            "shard": None,
            **run,
        },
        "rules": copy.deepcopy(rules),
        "hosts": copy.deepcopy(hosts),
        "baseline": baseline,
    }
    found = results.problems(document)
    assert not found, found
    return document


if __name__ == "__main__":
    results.write(document(int(sys.argv[1])), sys.argv[2])
