"""`herald pause [--campaign C] [--reason TEXT]`: stop publishing at once."""

from __future__ import annotations

import argparse
from typing import Any

from herald.commands.common import add_ledger_options


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "pause",
        help="stop publishing: everything, or one campaign",
        description="Stop publishing now. Nothing more goes out until `herald resume`. Posts"
        " that fall due while paused are held; resumed inside their window they still go"
        " out, otherwise they are recorded as SKIPPED (paused).",
    )
    add_ledger_options(parser)
    parser.add_argument("--campaign", metavar="ID", help="pause one campaign (default: all)")
    parser.add_argument("--reason", default="paused by a person", metavar="TEXT")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from herald.commands.common import now, open_ledger
    from herald.ledger import ALL_CAMPAIGNS

    scope = args.campaign or ALL_CAMPAIGNS
    pause = open_ledger(args).pause(scope, args.reason, now())
    what = "all campaigns" if scope == ALL_CAMPAIGNS else f"campaign {scope}"
    print(f"Paused {what} at {pause.since:%Y-%m-%d %H:%M:%SZ}: {pause.reason}")
    return 0
