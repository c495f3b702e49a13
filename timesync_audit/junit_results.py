"""A JUnit file made from a results document (a merged fleet has no pytest run of its own).

The same shape as the suite's pytest JUnit file (xunit1): one testcase per rule and host, named
by the test's node id, the host and rule as properties, failure/error/skipped with the message,
and the run's counts and exit code as suite properties.
"""

from __future__ import annotations

import os
import pathlib
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from .categories import COMPLIANT, COULD_NOT_CHECK, NON_COMPLIANT, NOT_APPLICABLE, WAIVED

SUITE_NAME = "timesync-compliance"
_OUTCOME = {NON_COMPLIANT: "failure", COULD_NOT_CHECK: "error", NOT_APPLICABLE: "skipped", WAIVED: "skipped"}


def _names(test: str) -> tuple[str, str]:
    """(classname, name) as pytest's junitxml makes them from a node id."""
    path, _, name = test.partition("::")
    module = path.removesuffix(".py").replace("/", ".")
    return module, name or test


def _testcase(host: Mapping[str, Any], rule: str, result: Mapping[str, Any], meta: Mapping[str, Any]) -> ET.Element:
    classname, name = _names(result["test"])
    case = ET.Element("testcase", classname=classname, name=name, time=f"{result['duration_s']:.3f}")
    props = ET.SubElement(case, "properties")
    for key, value in (
        ("host", host["id"]),
        ("rule_id", rule),
        ("severity", meta.get("severity", "")),
        ("category", result["category"]),
    ):
        ET.SubElement(props, "property", name=key, value=str(value))
    category = result["category"]
    if category != COMPLIANT:
        tag = _OUTCOME[category]
        element = ET.SubElement(case, tag, message=result["message"].split("\n", 1)[0][:300])
        if category == WAIVED:
            element.set("type", "pytest.xfail")
        element.text = result["message"]
    return case


def document_xml(document: Mapping[str, Any]) -> ET.ElementTree:
    run = document["run"]
    counts = run["counts"]
    suite = ET.Element(
        "testsuite",
        name=SUITE_NAME,
        tests=str(sum(counts.values())),
        failures=str(counts[NON_COMPLIANT]),
        errors=str(counts[COULD_NOT_CHECK]),
        skipped=str(counts[NOT_APPLICABLE] + counts[WAIVED]),
        time=f"{run['duration_s']:.3f}",
        timestamp=run["started"],
    )
    props = ET.SubElement(suite, "properties")
    for name, value in counts.items():
        ET.SubElement(props, "property", name=name.replace(" ", "_").replace("-", "_"), value=str(value))
    for name in ("exit_code", "shard"):
        if run.get(name) is not None:
            ET.SubElement(props, "property", name=name, value=str(run[name]))
    for host in document["hosts"]:
        for rule, result in host["results"].items():
            suite.append(_testcase(host, rule, result, document["rules"].get(rule, {})))
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.ElementTree(root)


def write(document: Mapping[str, Any], path: str | os.PathLike) -> None:
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    document_xml(document).write(partial, encoding="utf-8", xml_declaration=True)
    os.replace(partial, target)
