"""`herald audit`: every delivery past due without a final record."""

from __future__ import annotations

import argparse
from typing import Any

from herald.commands.common import add_campaign_options, add_ledger_options, iso_time


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "audit",
        help="list deliveries past due with no final record (MISSED, FAILED, UNKNOWN)",
        description="Every delivery past its deadline that was neither SENT nor SKIPPED."
        " Exit 0 when there is none, 1 otherwise.",
    )
    add_ledger_options(parser)
    add_campaign_options(parser)
    parser.add_argument("--now", type=iso_time, help="audit as of this ISO time (default: now)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from herald.commands.common import load_plan, now_from, open_ledger
    from herald.engine import Engine

    plan = load_plan(args.campaigns)
    findings = Engine(plan, open_ledger(args), {}).audit(now_from(args))
    for finding in findings:
        d = finding.delivery
        print(
            f"{finding.event.value.upper():<8} {d.key.campaign}/{d.key.post}"
            f" {d.key.channel}:{d.key.account} due {d.at:%Y-%m-%d %H:%MZ}  {finding.detail}"
        )
    if not findings:
        print(f"Nothing missing: every delivery past due among {len(plan)} has an outcome.")
        return 0
    print(f"{len(findings)} deliveries past due without an outcome.")
    return 1
