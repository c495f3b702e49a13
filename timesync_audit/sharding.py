"""--shard=K/N: this run audits the K-th of N slices of the hosts, for CI matrix jobs or several
controllers; `python -m timesync_audit merge` makes one fleet of the shards' results.

A host's slice is a stable hash of its identity (sha256, not Python's salted hash()), so a host
stays in its shard from one night to the next whatever else the inventory holds; every worker
and controller computes the same slice. A shard that gets no host still writes its results.json
(no hosts, exit 0), so the merge knows the shard ran.
"""

from __future__ import annotations

import hashlib
import re

import pytest

from .progress import host_in_test_id

_SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse(text: str) -> tuple[int, int]:
    """'2/3' -> (2, 3); a usage error for anything else (K from 1 to N)."""
    found = _SHARD.match(text.strip())
    if not found:
        raise pytest.UsageError(f"--shard: expected K/N (e.g. 2/3), got {text!r}")
    k, n = int(found.group(1)), int(found.group(2))
    if not 1 <= k <= n:
        raise pytest.UsageError(f"--shard: K must be 1 to N, got {text!r}")
    return k, n


def shard_of(host_id: str, shards: int) -> int:
    """The shard (1..N) of a host identity."""
    return int.from_bytes(hashlib.sha256(host_id.encode("utf-8", "surrogateescape")).digest()[:8], "big") % shards + 1


def add_options(group) -> None:
    group.addoption(
        "--shard",
        default=None,
        metavar="K/N",
        help="audit only the K-th of N slices of the hosts (a stable hash of each host's identity)",
    )


class Shard:
    def __init__(self, k: int, n: int) -> None:
        self.k, self.n = k, n

    @property
    def text(self) -> str:
        return f"{self.k}/{self.n}"

    def mine(self, item: pytest.Item) -> bool:
        host = dict(item.user_properties).get("host") or host_in_test_id(item.nodeid)
        return host is None or shard_of(str(host), self.n) == self.k

    @pytest.hookimpl(trylast=True)  # after -k, -m and the profiles chose the rules
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        kept = [item for item in items if self.mine(item)]
        if len(kept) < len(items):
            config.hook.pytest_deselected(items=[item for item in items if not self.mine(item)])
            items[:] = kept

    def pytest_report_header(self, config: pytest.Config) -> str:
        return f"timesync-audit shard {self.text}: the hosts whose identity hashes to it"

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        """A shard with no host of its own ran, and found nothing wrong."""
        if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and not session.config.option.collectonly:
            session.exitstatus = pytest.ExitCode.OK


def selected(config: pytest.Config) -> Shard | None:
    text = config.getoption("shard", None)
    if text is None:
        return None
    return Shard(*parse(text))


def configure(config: pytest.Config) -> Shard | None:
    shard = selected(config)
    if shard is not None:
        config.pluginmanager.register(shard, "timesync-shard")
    return shard
