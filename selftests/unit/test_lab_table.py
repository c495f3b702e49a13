"""The lab's host table (lab/hosts.txt, lab/groups.txt) is the one place the lab hosts are declared:
the committed inventories and lab/README.md's host table are what `lab/lab.sh inventories` and
`lab/lab.sh readme` make of it, and every host has an image dir, a description and verdicts."""

import pathlib
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAB = ROOT / "lab"
E2E = ROOT / "selftests" / "e2e"
COLUMNS = ("host", "octet", "image", "unit", "groups", "nts", "ready", "etc_hosts", "vars", "state")


def table_rows() -> list[dict]:
    rows = []
    for line in (LAB / "hosts.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append(dict(zip(COLUMNS, line.split(None, len(COLUMNS) - 1))))
    return rows


def lab_sh(*args: str, lab: pathlib.Path = LAB) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(lab / "lab.sh"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TSA_LAB_ID": "unit"},
    )


@pytest.mark.parametrize("name", ["lab.yml", "lab-docker.yml"])
def test_committed_inventories_are_what_the_table_gives(tmp_path, name):
    made = lab_sh("inventories", str(tmp_path))
    assert made.returncode == 0, made.stderr
    assert (ROOT / "inventories" / name).read_text() == (tmp_path / name).read_text(), (
        f"inventories/{name} differs from lab/hosts.txt + lab/groups.txt: run lab/lab.sh inventories"
    )


def test_readme_host_table_is_what_the_table_gives(tmp_path):
    copy = tmp_path / "README.md"
    shutil.copy(LAB / "README.md", copy)
    made = lab_sh("readme", str(copy))
    assert made.returncode == 0, made.stderr
    assert (LAB / "README.md").read_text() == copy.read_text(), (
        "lab/README.md's host table differs from lab/hosts.txt + lab/groups.txt: run lab/lab.sh readme"
    )


@pytest.mark.parametrize("name", ["lab.yml", "lab-docker.yml"])
def test_inventories_read_back_as_the_table(name):
    inventory = yaml.safe_load((ROOT / "inventories" / name).read_text())["all"]
    rows = table_rows()
    assert list(inventory["hosts"]) == [r["host"] for r in rows]
    for row in rows:
        assert inventory["hosts"][row["host"]]["lab_state"] == row["state"]
        for group in row["groups"].split(","):
            assert row["host"] in inventory["children"][group]["hosts"]
    assert inventory["hosts"]["chrony-unreachable"]["timesync_audit_approved_servers"] == ["time-void"]
    assert inventory["vars"]["timesync_audit_approved_servers"] == ["nts-server", "nts-server2"]


def test_every_host_has_an_image_a_description_and_verdicts():
    rows = table_rows()
    readme = (LAB / "README.md").read_text()
    fragments = [E2E / "expected_verdicts.yaml", *sorted((E2E / "expected_verdicts.d").glob("*.yaml"))]
    with_verdicts = {host for path in fragments for host in (yaml.safe_load(path.read_text()).get("hosts") or {})}
    for row in rows:
        assert (LAB / "images" / row["image"] / "Dockerfile").is_file(), row
        assert f"\n- `{row['host']}`: " in readme, f"{row['host']}: no line under 'What each host is' in lab/README.md"
    assert with_verdicts == {r["host"] for r in rows}, "every lab host has verdicts, and only lab hosts do"
    octets = [int(r["octet"]) for r in rows]
    assert len(set(octets)) == len(octets)


@pytest.mark.parametrize(
    "change, message",
    [
        (("chrony-stock               22", "chrony-stock               21"), "octet 21 taken twice"),
        (
            ("chrony,lab_targets    -        -", "chrony,lab_nowhere    -        -"),
            "group 'lab_nowhere' is not in lab/groups.txt",
        ),
        (("chrony=failed", "chrony=gone"), "ready 'chrony=gone'"),
        (("time-void=250 ", "time-void "), "etc-hosts 'time-void'"),
    ],
)
def test_a_broken_table_is_refused_with_its_line(tmp_path, change, message):
    lab = tmp_path / "lab"
    shutil.copytree(LAB, lab, ignore=shutil.ignore_patterns(".run", "images"))
    table = lab / "hosts.txt"
    text = table.read_text()
    assert change[0] in text
    table.write_text(text.replace(change[0], change[1], 1))
    (tmp_path / "inventories").mkdir()
    made = lab_sh("inventories", str(tmp_path / "inventories"), lab=lab)
    assert made.returncode == 2 and "lab/hosts.txt:" in made.stderr and message in made.stderr, made.stderr
    assert not list((tmp_path / "inventories").iterdir())
