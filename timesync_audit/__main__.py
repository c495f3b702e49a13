"""`python -m timesync_audit render RESULTS.json`: the reports made from a results document alone.

fleet.html and the HDF files are made from results.json, so they can be made again (or
elsewhere, from a file a nightly job kept) without pytest and without contacting any host.
Exit 0 when written, 4 when the file is not a results document of this suite (the message
names the file and why), as pytest's usage errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from . import fleet_html, hdf, results

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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
