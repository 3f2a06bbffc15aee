"""`herald resume [--campaign C]`: lift a pause."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from herald.commands.common import add_ledger_options


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "resume",
        help="lift a pause",
        description="Lift the pause on everything (or one campaign). Held posts still inside"
        " their window go out on the next tick.",
    )
    add_ledger_options(parser)
    parser.add_argument("--campaign", metavar="ID", help="resume one campaign (default: all)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from herald.commands.common import open_ledger
    from herald.ledger import ALL_CAMPAIGNS

    scope = args.campaign or ALL_CAMPAIGNS
    ledger = open_ledger(args)
    what = "all campaigns" if scope == ALL_CAMPAIGNS else f"campaign {scope}"
    if not ledger.resume(scope):
        print(f"{what} was not paused", file=sys.stderr)
        remaining = ledger.pauses()
        for pause in remaining:
            print(f"  still paused: {pause.scope} ({pause.reason})", file=sys.stderr)
        return 1
    print(f"Resumed {what}.")
    for pause in ledger.pauses():
        print(f"  still paused: {pause.scope} ({pause.reason})")
    return 0
