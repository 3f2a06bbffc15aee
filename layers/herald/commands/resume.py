"""`herald resume --campaign C | --all`: lift a pause. With no arguments it changes nothing:
it lists the pauses in force and the exact command that lifts each."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from herald.commands.common import add_campaign_options, add_ledger_options, iso_time


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "resume",
        help="lift a pause (with no arguments: list the pauses and how to lift each)",
        description="Lift the pause on one campaign (--campaign) or the pause on everything"
        " (--all). Held posts still inside their window go out on the next tick. With no"
        " arguments, list the pauses in force and the command that lifts each.",
    )
    add_ledger_options(parser)
    add_campaign_options(parser)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--campaign", metavar="ID", help="lift the pause on this campaign")
    which.add_argument("--all", action="store_true", help="lift the pause on all campaigns")
    parser.add_argument("--now", type=iso_time, help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from herald.commands.common import ledger_args, load_plan, now_from, open_ledger
    from herald.ledger import ALL_CAMPAIGNS
    from herald.pausing import resume_command, scope_words, upcoming

    ledger = open_ledger(args)
    pauses = ledger.pauses()
    extra = ledger_args(args)
    if not args.campaign and not args.all:
        if not pauses:
            print("Nothing is paused: publishing is running.")
            return 0
        print(f"{len(pauses)} pause(s) in force; nothing was changed. To lift one, run:")
        for pause in sorted(pauses, key=lambda p: (p.scope != ALL_CAMPAIGNS, p.scope)):
            print(
                f"  {resume_command(pause.scope, extra):<48}"
                f"  # {scope_words(pause.scope)}, since {pause.since:%Y-%m-%d %H:%M:%SZ}:"
                f" {pause.reason}"
            )
        return 0
    scope = ALL_CAMPAIGNS if args.all else args.campaign
    if not ledger.resume(scope):
        print(f"{scope_words(scope)} was not paused; nothing was changed.", file=sys.stderr)
        for pause in pauses:
            print(
                f"  still paused: {scope_words(pause.scope)} ({pause.reason});"
                f" lift it with: {resume_command(pause.scope, extra)}",
                file=sys.stderr,
            )
        return 1
    remaining = ledger.pauses()
    print(f"Resumed {scope_words(scope)}.")
    plan = load_plan(args.campaigns)
    campaigns = list(plan.campaigns) if scope == ALL_CAMPAIGNS else [scope]
    print(upcoming(plan, ledger, now_from(args), campaigns, remaining).describe("frees"))
    for pause in remaining:
        print(
            f"  still paused: {scope_words(pause.scope)} ({pause.reason});"
            f" lift it with: {resume_command(pause.scope, extra)}"
        )
    return 0
