"""The plugin's state for one run, kept in `config.stash` under these keys, declared once.

Each is set while pytest configures (the gathered facts: as each host is gathered), on the
controller and on every xdist worker alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from . import collector, limits, outcomes, policy

#: the run's policy: defaults < profile < --policy (a host of the inventory may have its own)
POLICY: pytest.StashKey[policy.Policy] = pytest.StashKey()
#: inventory host name -> its policy (inventory variables, then --policy)
HOST_POLICIES: pytest.StashKey[dict[str, policy.Policy]] = pytest.StashKey()
#: the run's gather bounds: defaults < pytest.ini < command line
BOUNDS: pytest.StashKey[limits.Bounds] = pytest.StashKey()
#: inventory host name -> its gather bounds
HOST_BOUNDS: pytest.StashKey[dict[str, limits.Bounds]] = pytest.StashKey()
#: host identity -> its facts, or why it could not be checked: one gather per host and process
GATHERED: pytest.StashKey[dict[str, collector.Gathered | outcomes.CouldNotCheck]] = pytest.StashKey()
#: the inventory as `ansible-inventory --list` gives it, read once per run
INVENTORY: pytest.StashKey[dict] = pytest.StashKey()
#: the file the controller wrote that inventory to, for its xdist workers (removed at the end)
INVENTORY_FILE: pytest.StashKey[str] = pytest.StashKey()
#: the waivers of --waivers, and what they matched
#: (a waivers.WaiverState: waivers imports this module, so waivers.state() narrows it)
WAIVERS: pytest.StashKey[object] = pytest.StashKey()
#: the run's results document (results.json), built on first call at the end of the run
#: (controller only): the report writers and the HTML matrix read it
RESULTS_DOCUMENT: pytest.StashKey[Callable[[], dict]] = pytest.StashKey()
#: this process's gathers, running concurrently from the end of the collection
#: (a gather_pool.GatherPool: gather_pool imports this module, so gather_pool.pool() narrows it)
GATHER_POOL: pytest.StashKey[object] = pytest.StashKey()
