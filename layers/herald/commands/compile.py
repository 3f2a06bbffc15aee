"""`herald compile FOLDER`: the plan index the function loads at a cold start."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from herald.commands.common import add_rename_check_options, renamed_post_warnings


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "compile",
        help="write FOLDER/plan.index, the index the publisher starts from (sam build runs it)",
        description="Load and check every campaign in FOLDER (on every core) and write"
        " FOLDER/plan.index: each delivery's key and due time, and a fingerprint of the"
        " files. The function reads it at a cold start instead of"
        " parsing every campaign, and uses it only while the files match it exactly."
        " A campaign with errors fails the compile (and so `sam build`): it is printed, and"
        " no index is written, because a campaign left out would silently never publish."
        " With --ledger or --table, warn about posts renamed after they were sent.",
    )
    parser.add_argument("folder", type=Path, metavar="FOLDER")
    add_rename_check_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from herald.plan_compiler import load_all, write

    loaded = load_all(args.folder)
    refused = [p for item in loaded for p in item.problems if p.is_error]
    for problem in refused:
        print(problem, file=sys.stderr)
    if refused:
        files = len({p.file for p in refused})
        print(
            f"{files} campaign file(s) refused: fix them (herald validate) and build again;"
            " no plan was written",
            file=sys.stderr,
        )
        return 1
    if args.ledger or args.table:
        from herald.plan import load_plan

        for warning in renamed_post_warnings(args, load_plan([args.folder])[0]):
            print(warning, file=sys.stderr)
    campaigns = [item.rows for item in loaded if item.rows is not None]
    path = write(args.folder, campaigns)
    deliveries = sum(len(c.due) for c in campaigns)
    print(
        f"wrote {path}: {deliveries} deliveries from {len(campaigns)} campaign(s)",
        file=sys.stderr,
    )
    return 0
