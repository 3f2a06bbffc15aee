"""`herald status`: every delivery and what became of it; `--html FILE` for a page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from herald.commands.common import add_campaign_options, add_ledger_options, iso_time


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "status",
        help="what went out, what failed, what needs a person",
        description="Every delivery of the campaigns with its state: SENT (with its link),"
        " FAILED (with the reason), UNKNOWN (check the account), SKIPPED (and why), MISSED,"
        " SCHEDULED. The pause switch is shown first.",
    )
    add_ledger_options(parser)
    add_campaign_options(parser)
    parser.add_argument("--campaign", action="append", metavar="ID", help="only this campaign")
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write a status page")
    parser.add_argument(
        "--now", type=iso_time, help="judge due/missed against this ISO time (default: now)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from herald import status
    from herald.commands.common import load_plan, now_from, open_ledger

    plan = load_plan(args.campaigns)
    simulated: dict[str, str] = {}
    if not args.table:
        from herald.sandbox import simulated as simulations

        simulated = {c: s.describe() for c, s in simulations(args.ledger).items()}
    report = status.collect(plan, open_ledger(args), now_from(args), args.campaign, simulated)
    print(status.status_text(report, colour=sys.stdout.isatty()))
    if args.html:
        from herald.pages.status import write_status

        write_status(args.html, report)
        print(f"wrote {args.html}", file=sys.stderr)
    return 0
