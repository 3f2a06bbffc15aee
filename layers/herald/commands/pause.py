"""`herald pause [--campaign C] [--reason TEXT]`: stop publishing at once. A campaign that
no campaign file has is refused (with the nearest name), so a typo never shows PAUSED while
the real campaign goes on publishing."""

from __future__ import annotations

import argparse
from typing import Any

from herald.commands.common import add_campaign_options, add_ledger_options, iso_time


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "pause",
        help="stop publishing: everything, or one campaign",
        description="Stop publishing now. Nothing more goes out until `herald resume`. Posts"
        " that fall due while paused are held; resumed inside their window they still go"
        " out, otherwise they are recorded as SKIPPED (paused). Prints how many upcoming"
        " deliveries the pause holds, and when the next is due.",
    )
    add_ledger_options(parser)
    add_campaign_options(parser)
    parser.add_argument("--campaign", metavar="ID", help="pause one campaign (default: all)")
    parser.add_argument("--reason", default="paused by a person", metavar="TEXT")
    parser.add_argument("--now", type=iso_time, help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from herald.commands.common import (
        command_line_error,
        ledger_args,
        load_plan,
        now_from,
        open_ledger,
    )
    from herald.ledger import ALL_CAMPAIGNS
    from herald.pausing import (
        UnknownCampaign,
        known_campaign,
        resume_command,
        scope_words,
        upcoming,
    )

    plan = load_plan(args.campaigns)
    if args.campaign:
        try:
            known_campaign(args.campaign, plan.campaigns)
        except UnknownCampaign as error:
            raise command_line_error(f"--campaign: {error}; nothing was paused") from None
    scope = args.campaign or ALL_CAMPAIGNS
    moment = now_from(args)
    ledger = open_ledger(args)
    already = {p.scope for p in ledger.pauses()}
    pause = ledger.pause(scope, args.reason, moment)
    verb = "Still paused" if scope in already else "Paused"
    print(f"{verb} {scope_words(scope)} since {pause.since:%Y-%m-%d %H:%M:%SZ}: {pause.reason}")
    campaigns = list(plan.campaigns) if scope == ALL_CAMPAIGNS else [scope]
    print(upcoming(plan, ledger, moment, campaigns).describe("holds"))
    print(f"Lift it with: {resume_command(scope, ledger_args(args))}")
    return 0
