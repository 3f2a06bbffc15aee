"""`herald preview PATH... [--json | --markdown] [--html FILE]`: every delivery in time
order; `--markdown` is the compact day-by-day table a pull request's job summary shows."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from herald.commands.common import iso_time, now_from


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "preview",
        help="show every delivery in time order, as it will be published",
        description="Render every post of the campaigns, in time order, with local and UTC"
        " times, lengths, threads, media and the X API cost. Campaigns with errors are left"
        " out (their problems go to stderr); the others are still shown.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print a JSON list instead")
    shape.add_argument(
        "--markdown",
        action="store_true",
        help="print a compact day-by-day Markdown table with lengths, cost and problems"
        " (for a pull request's job summary)",
    )
    parser.add_argument("--html", type=Path, metavar="FILE", help="write a calendar page")
    parser.add_argument("--now", type=iso_time, help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from herald import preview
    from herald.validate import validate

    report = validate(args.paths, now_from(args))
    for problem in report.errors:
        print(problem, file=sys.stderr)
    rendered = report.rendered_for(report.campaigns)
    if args.html:
        from herald.pages.preview import write_preview

        write_preview(args.html, report, rendered)
        print(f"wrote {args.html}", file=sys.stderr)
    if args.json:
        print(preview.to_json(rendered))
    elif args.markdown:
        print(preview.to_markdown(rendered, report.problems), end="")
    elif not args.html:
        width = min(shutil.get_terminal_size((100, 24)).columns, 120)
        print(preview.to_table(rendered, width))
    return 1 if report.errors else 0
