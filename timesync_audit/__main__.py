"""`python -m timesync_audit render|merge`: the reports made from results documents alone.

render RESULTS.json: fleet.html and the HDF files again (or elsewhere, from a file a nightly job
kept), without pytest and without contacting any host; exit 0 when written.
merge OUT_DIR SHARD...: one fleet from the results of its --shard=K/N runs: results.json,
fleet.html, hdf/ and junit.xml in OUT_DIR; the exit code is the whole fleet's (0, 1, 2, 3 as a
run's). Exit 4, as pytest's usage errors, when a file is not a results document of this suite,
or the shards are not one audit cut in N (the message names the file or the missing shard).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from typing import NoReturn

from . import fleet_html, hdf, junit_results, merge, results

EXIT_WRITTEN, EXIT_USAGE = 0, 4


class _Parser(argparse.ArgumentParser):
    """Usage errors end with exit code 4, as the suite's own (argparse's is 2: pytest's interrupted)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m timesync_audit", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    render = commands.add_parser("render", help="fleet.html and HDF files from a results.json")
    render.add_argument("results", metavar="RESULTS.json")
    render.add_argument("--fleet-html", metavar="PATH", help="where fleet.html goes")
    render.add_argument("--hdf-dir", metavar="DIR", help="where the HDF files go")
    joined = commands.add_parser("merge", help="one fleet's reports from its shards' results.json")
    joined.add_argument("out_dir", metavar="OUT_DIR")
    joined.add_argument("shards", metavar="SHARD", nargs="+", help="a shard's results.json, or its folder")
    args = parser.parse_args(argv)
    if args.command == "merge":
        return _merge(args.out_dir, args.shards)
    if not (args.fleet_html or args.hdf_dir):
        parser.error("render: give --fleet-html PATH, --hdf-dir DIR, or both")
    try:
        document = results.load(args.results)
    except results.ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.fleet_html:
        fleet_html.write_fleet_page(document, args.fleet_html)
        print(f"wrote {args.fleet_html}")
    if args.hdf_dir:
        written = hdf.write(document, args.hdf_dir)
        print(f"wrote {len(written)} HDF file{'' if len(written) == 1 else 's'} in {args.hdf_dir}")
    return EXIT_WRITTEN


def _merge(out_dir: str, shards: list[str]) -> int:
    try:
        document = merge.merged(merge.load_shards(shards))
    except merge.MergeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = pathlib.Path(out_dir)
    results.write(document, out / "results.json")
    fleet_html.write_fleet_page(document, out / "fleet.html")
    hdf.write(document, out / "hdf")
    junit_results.write(document, out / "junit.xml")
    run = document["run"]
    counts = ", ".join(f"{name} {n}" for name, n in run["counts"].items())
    print(f"merged {run['merged_shards']} shards, {len(document['hosts'])} hosts: {counts}")
    print(f"wrote {out / 'results.json'}, fleet.html, hdf/, junit.xml")
    print(f"exit code {run['exit_code']}: {run['exit_meaning']}")
    return int(run["exit_code"])


if __name__ == "__main__":
    sys.exit(main())
