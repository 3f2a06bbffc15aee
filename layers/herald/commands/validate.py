"""`herald validate PATH...`: exit 0 when every campaign is valid; else one line per problem."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from herald.problems import Problem

from herald.commands.common import (
    add_rename_check_options,
    iso_time,
    now_from,
    renamed_post_warnings,
)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "validate",
        help="check campaigns: schema, templates, lengths, media, duplicates",
        description="Check campaign files (or folders of them). Problems are printed as"
        " FILE:LINE: message on stderr; the exit code is 1 if any is an error. With"
        " --ledger or --table, also warn about posts renamed after they were sent.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument(
        "--now",
        type=iso_time,
        help="judge 'in the past' against this ISO time (default: now)",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print errors only, not warnings"
    )
    parser.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="github: also print each problem as a GitHub Actions annotation (on stdout), so"
        " a pull request shows it on its line",
    )
    add_rename_check_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from herald.plan import LoadedPlan
    from herald.validate import validate

    report = validate(args.paths, now_from(args))
    renamed = renamed_post_warnings(args, LoadedPlan(report.campaigns))
    for problem in [*report.problems, *renamed]:
        if problem.is_error or not args.quiet:
            print(problem, file=sys.stderr)
            if args.format == "github":
                print(annotation(problem))
    if report.errors:
        count = len(report.errors)
        print(f"{count} error{'s' if count != 1 else ''}; nothing was published.", file=sys.stderr)
        return 1
    deliveries = len(report.rendered)
    print(f"{len(report.campaigns)} campaign(s) valid: {deliveries} deliveries.")
    return 0


def annotation(problem: Problem) -> str:
    """A problem as a GitHub Actions workflow command: an annotation on its file and line."""
    level = "error" if problem.is_error else "warning"

    def escaped(text: str, *, prop: bool = False) -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if prop else text

    where = f"file={escaped(problem.file, prop=True)},line={problem.line}"
    return f"::{level} {where},title=herald validate::{escaped(problem.message)}"
