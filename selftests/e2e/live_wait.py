"""Wait, with a bound, until each lab host shows the live state its expected verdicts assume.

NTS cookies arrive ~3 s after chronyd starts and a source is selected after ~7 s;
ntpd needs a few polls. Verdicts over the three backends must not depend on
which run came first, so the tests start only once the table's 'passed' live
cells hold on the hosts (read with the lab's own docker exec, read-only).
"""

from __future__ import annotations

import subprocess
import time

from runner import container


def _rows(out: str, fields: int) -> list[list[str]]:
    return [line.split(",") for line in out.splitlines() if line.count(",") == fields - 1]


def _synchronized(out: str) -> bool:
    rows = _rows(out, 14)
    return bool(rows) and rows[0][-1] == "Normal" and rows[0][0] != "00000000"


def _reachable(out: str) -> bool:
    rows = _rows(out, 10)
    return sum(1 for r in rows if r[5] not in ("0", "")) >= 2 and any(r[1] == "*" for r in rows)


def _authenticated(out: str) -> bool:
    rows = _rows(out, 10)
    return bool(rows) and all(r[1] == "NTS" and r[8].isdigit() and int(r[8]) > 0 for r in rows)


CHECKS = {
    "chrony_synchronized": ("chronyc -c -n tracking", _synchronized),
    "chrony_offset_within_limit": ("chronyc -c -n tracking", _synchronized),
    "chrony_sources_reachable": ("chronyc -c -n sources", _reachable),
    "chrony_nts_authenticated": ("chronyc -c -n authdata", _authenticated),
    "ntpd_synchronized": ("ntpq -n -c peers", lambda out: any(l.startswith("*") for l in out.splitlines())),
}


def _holds(host: str, rule_id: str) -> bool:
    command, predicate = CHECKS[rule_id]
    out = subprocess.run(
        ["docker", "exec", container(host), "sh", "-c", command], capture_output=True, text=True, timeout=30
    ).stdout
    return predicate(out)


def wait_for_live_states(cells, timeout: float = 180) -> None:
    """cells: (host, rule id, expectation) triples; waits for every expected pass of a live rule."""
    pending = sorted({(h, r) for h, r, want in cells if r in CHECKS and want and want["outcome"] == "passed"})
    deadline = time.monotonic() + timeout
    while pending:
        pending = [(h, r) for h, r in pending if not _holds(h, r)]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"lab hosts not in their expected live state after {timeout:.0f} s: {pending}")
        time.sleep(2)
