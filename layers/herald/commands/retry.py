"""`herald retry CAMPAIGN/POST`: a person re-queues an UNKNOWN or FAILED delivery."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from herald.commands.common import add_campaign_options, add_ledger_options


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "retry",
        help="re-queue an UNKNOWN or FAILED post, after checking the account",
        description="Re-queue a delivery that is UNKNOWN or FAILED. Check the account first:"
        " an UNKNOWN post may already be live, and retrying it would post it twice. It goes"
        " out on the next tick if it is still inside its window.",
    )
    parser.add_argument("ref", metavar="CAMPAIGN/POST")
    parser.add_argument("--channel", help="only this channel")
    parser.add_argument("--account", help="only this account")
    add_ledger_options(parser)
    add_campaign_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from herald.commands.common import load_plan, now, open_ledger, parse_ref
    from herald.ledger import LedgerConflict, State

    campaign, post = parse_ref(args.ref)
    ledger = open_ledger(args)
    plan = load_plan(args.campaigns)
    records = [
        r
        for r in ledger.records(campaign)
        if r.key.post == post
        and (args.channel is None or r.key.channel == args.channel)
        and (args.account is None or r.key.account == args.account)
    ]
    if not records:
        print(f"{args.ref}: the ledger has no record of it", file=sys.stderr)
        return 1
    moment = now()
    status = 0
    for record in records:
        if record.state not in (State.UNKNOWN, State.FAILED):
            print(f"{record.key}: is {record.state.value}; only UNKNOWN or FAILED can be retried")
            status = 1
            continue
        try:
            ledger.requeue(record.key, moment, "re-queued by a person with herald retry")
        except LedgerConflict as error:
            print(f"{record.key}: {error}", file=sys.stderr)
            status = 1
            continue
        delivery = plan.get(record.key)
        window = ""
        if delivery is not None and delivery.deadline < moment:
            window = (
                f" (note: its window closed at {delivery.deadline:%Y-%m-%d %H:%MZ}; it will be"
                " recorded as SKIPPED (late) unless the campaign's max_lateness allows it)"
            )
        print(f"{record.key}: re-queued; the next tick publishes it{window}")
    return status
