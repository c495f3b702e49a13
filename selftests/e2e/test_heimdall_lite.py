"""The HDF files in MITRE's Heimdall Lite, loaded as a user loads them (the landing page's file
upload) in headless Chromium, with selftests/browser/heimdall_shot.mjs: the status cards and
banners Heimdall shows are the counts of results.json, every control is listed, and nothing was
fetched from outside loopback (the app's one call out, a version check, is blocked).

The full-page screenshot is kept in the test's tmp_path; with TSA_DOCS_SCREENSHOTS=DIR its first
screen is also copied to DIR/heimdall-lite.png (the documentation's picture). Needs no lab: the fleet is made up
(selftests/synthetic_results.py), its files written by timesync_audit.hdf.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import shutil
import urllib.parse

from browser_tools import run_node
from synthetic_results import document as synthetic_document

from timesync_audit import hdf, results
from timesync_audit.categories import COMPLIANT, COULD_NOT_CHECK, NON_COMPLIANT, NOT_APPLICABLE, WAIVED

HOSTS, SEED, DEAD_EVERY = 4, 3, 4  # the fourth host is dead: every rule could not be checked
PNG = b"\x89PNG\r\n\x1a\n"


def _loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def test_heimdall_lite_shows_the_fleet_as_results_json_counts_it(tmp_path):
    doc = synthetic_document(HOSTS, seed=SEED, dead_every=DEAD_EVERY)
    assert results.problems(doc) == []
    counts = doc["run"]["counts"]
    assert all(counts.values()), f"the fleet has every category: {counts}"
    files = hdf.write(doc, tmp_path / "hdf")
    screenshot = tmp_path / "heimdall-lite.png"

    shown = run_node("heimdall_shot.mjs", str(screenshot), *map(str, files), timeout=90)

    assert shown["files"] == HOSTS
    assert shown["url_path"].startswith("/results")
    assert shown["cards"] == {
        "Passed": counts[COMPLIANT],
        "Failed": counts[NON_COMPLIANT],
        "Not Applicable": counts[NOT_APPLICABLE] + counts[WAIVED],  # a waived control is not applicable...
        "Not Reviewed": 0,
    }
    assert shown["banners"] == {"Profile Error": counts[COULD_NOT_CHECK], "Waived": counts[WAIVED]}  # ...and waived
    results_total = sum(len(h["results"]) for h in doc["hosts"])
    assert shown["controls_listed"] == shown["control_rows"] == shown["control_rows_drawn"] == results_total
    assert shown["dialogs"] == []
    assert shown["blocked"], "Heimdall Lite asks GitHub for its latest version: the request was expected, blocked"
    assert not [url for url in shown["blocked"] if _loopback(url)], shown["blocked"]
    assert urllib.parse.urlsplit(shown["origin"]).hostname == "127.0.0.1"

    assert screenshot.read_bytes()[:8] == PNG
    assert screenshot.stat().st_size > 50_000  # a page of results, not a blank one
    docs = os.environ.get("TSA_DOCS_SCREENSHOTS")
    if docs:
        pathlib.Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shown["top"], pathlib.Path(docs) / "heimdall-lite.png")  # its first screen
