"""What several commands share: choosing the ledger, loading the plan, reading times and
campaign references from the command line."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from herald.problems import InputError, Problem
from herald.timeutil import parse_utc

if TYPE_CHECKING:
    from herald.ledger import Ledger
    from herald.plan import LoadedPlan

DEFAULT_LEDGER = Path(".herald/ledger.sqlite3")
DEFAULT_CAMPAIGNS = Path("campaigns")


def add_ledger_option(parser: argparse._ActionsContainer) -> None:
    """`--ledger FILE`: the local SQLite ledger."""
    parser.add_argument(
        "--ledger",
        type=Path,
        default=DEFAULT_LEDGER,
        metavar="FILE",
        help=f"the local SQLite ledger (default: {DEFAULT_LEDGER})",
    )


def add_ledger_options(parser: argparse.ArgumentParser) -> None:
    """`--ledger FILE` or `--table NAME`: the local SQLite ledger or a DynamoDB table."""
    group = parser.add_mutually_exclusive_group()
    add_ledger_option(group)
    group.add_argument(
        "--table",
        metavar="NAME",
        help="the DynamoDB ledger table (standard AWS credentials, region and endpoint"
        " variables apply)",
    )


def ledger_args(args: argparse.Namespace) -> str:
    """The ledger options given, to repeat in a command printed for the user to run."""
    if getattr(args, "table", None):
        return f" --table {args.table}"
    ledger = getattr(args, "ledger", None)
    return "" if ledger is None or ledger == DEFAULT_LEDGER else f" --ledger {ledger}"


def add_rename_check_options(parser: argparse.ArgumentParser) -> None:
    """`--ledger FILE` or `--table NAME`, with no default: the ledger to check renamed
    posts against (herald.renames); without either, none is read."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--ledger",
        type=Path,
        metavar="FILE",
        help="warn about posts renamed after they were sent, by this local SQLite ledger",
    )
    group.add_argument(
        "--table",
        metavar="NAME",
        help="the same, by this DynamoDB ledger table (standard AWS settings apply)",
    )


def renamed_post_warnings(args: argparse.Namespace, plan: LoadedPlan) -> list[Problem]:
    """The renamed-post warnings of `plan`, when `--ledger` or `--table` was given."""
    if getattr(args, "ledger", None) is None and getattr(args, "table", None) is None:
        return []
    from herald.renames import renamed_posts

    return renamed_posts(plan, open_ledger(args))


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


def now_from(args: argparse.Namespace) -> datetime:
    """The time given with `--now`, else the wall clock's."""
    moment: datetime | None = getattr(args, "now", None)
    return moment if moment is not None else now()


def iso_time(text: str) -> datetime:
    """An argparse type: an ISO 8601 time with a zone, e.g. 2021-02-09T08:00Z."""
    try:
        return parse_utc(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: write ISO 8601 with a zone, like 2021-02-09T08:00Z ({error})"
        ) from None


def parse_time(text: str, option: str) -> datetime:
    """The ISO 8601 time given to `option`; an InputError that names it when it is none."""
    try:
        return parse_utc(text)
    except ValueError as error:
        raise command_line_error(f"{option}: {error}") from None


def parse_ref(text: str) -> tuple[str, str]:
    campaign, _, post = text.partition("/")
    if not campaign or not post:
        raise command_line_error(f"'{text}' is not CAMPAIGN/POST")
    return campaign, post


def command_line_error(message: str) -> InputError:
    """An error in the command's arguments, to raise: the CLI prints it and exits 1."""
    return InputError([Problem("<command line>", 1, message)])
