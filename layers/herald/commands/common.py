"""What several commands share: choosing the ledger and loading the plan."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from herald.problems import InputError, Problem

if TYPE_CHECKING:
    from herald.ledger import Ledger
    from herald.plan import LoadedPlan

DEFAULT_LEDGER = Path(".herald/ledger.sqlite3")
DEFAULT_CAMPAIGNS = Path("campaigns")


def add_ledger_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--ledger",
        type=Path,
        default=DEFAULT_LEDGER,
        metavar="FILE",
        help=f"the local SQLite ledger (default: {DEFAULT_LEDGER})",
    )
    group.add_argument(
        "--table",
        metavar="NAME",
        help="the DynamoDB ledger table (standard AWS credentials, region and endpoint"
        " variables apply)",
    )


def add_campaign_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--campaigns",
        type=Path,
        nargs="+",
        default=[DEFAULT_CAMPAIGNS],
        metavar="PATH",
        help="campaign files or folders (default: campaigns/)",
    )


def open_ledger(args: argparse.Namespace) -> Ledger:
    if getattr(args, "table", None):
        from herald.ledger.dynamodb import DynamoLedger

        return DynamoLedger(args.table)
    from herald.ledger.sqlite import SqliteLedger

    path: Path = args.ledger
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteLedger(path)


def load_plan(paths: list[Path]) -> LoadedPlan:
    """The plan of every valid campaign; problems of broken ones go to stderr."""
    from herald.plan import load_plan as load

    plan, problems = load(paths)
    for problem in problems:
        if problem.is_error:
            print(problem, file=sys.stderr)
    return plan


def now() -> datetime:
    return datetime.now(UTC)


def parse_ref(text: str) -> tuple[str, str]:
    campaign, _, post = text.partition("/")
    if not campaign or not post:
        raise InputError([Problem("<command line>", 1, f"'{text}' is not CAMPAIGN/POST")])
    return campaign, post
