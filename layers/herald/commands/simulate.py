"""`herald simulate PATH... --from ISO --to ISO`: the real engine on a virtual clock."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from herald.commands.common import (
    add_ledger_option,
    command_line_error,
    open_ledger,
    parse_time,
)
from herald.problems import InputError, Problem

if TYPE_CHECKING:
    from datetime import datetime

    from herald.channels import Channel
    from herald.ledger import Ledger
    from herald.plan import LoadedPlan

DEFAULT_OUTBOX = Path(".herald/outbox")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "simulate",
        help="run the publisher minute by minute on a virtual clock, locally",
        description="Run the real publishing engine tick by tick from --from to --to against"
        " the local SQLite ledger and the outbox folder (nothing is posted anywhere). Prints"
        " the timeline of what went out when.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--from", dest="start", required=True, help="start, ISO 8601 UTC")
    parser.add_argument("--to", dest="end", required=True, help="end, ISO 8601 UTC")
    add_ledger_option(parser)
    parser.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, metavar="DIR")
    parser.add_argument(
        "--reset",
        action="store_true",
        help="start from an empty ledger and outbox (otherwise refuse to reuse a ledger"
        " that already has records)",
    )
    parser.add_argument(
        "--jitter",
        action="store_true",
        help="run each tick 0-59 s after its minute, as a real schedule may",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="POST=KIND",
        help="make the outbox answer this post with a fault: unknown, failed, rate_limited",
    )
    parser.set_defaults(run=run)


def _times(args: argparse.Namespace) -> tuple[datetime, datetime]:
    start = parse_time(args.start, "--from/--to")
    end = parse_time(args.end, "--from/--to")
    if end < start:
        raise command_line_error("--to is before --from")
    return start, end


def _ledger(args: argparse.Namespace, plan: LoadedPlan) -> Ledger:
    """The SQLite ledger, emptied (with the outbox) by --reset; one that already holds records
    of the plan's campaigns is refused without it."""
    if args.reset:
        for path in (args.ledger, Path(f"{args.ledger}-wal"), Path(f"{args.ledger}-shm")):
            path.unlink(missing_ok=True)
        shutil.rmtree(args.outbox, ignore_errors=True)
    ledger = open_ledger(args)  # SQLite: simulate has no --table
    if not args.reset and any(ledger.records(c) for c in plan.campaigns):
        message = "this ledger already has records from an earlier run; add --reset to start afresh"
        raise InputError([Problem(str(args.ledger), 1, message)])
    return ledger


def run(args: argparse.Namespace) -> int:
    from herald import simulate
    from herald.campaign_schema import CHANNELS
    from herald.channels.outbox import OutboxChannel
    from herald.plan import load_plan_strict

    start, end = _times(args)
    plan = load_plan_strict(args.paths)
    ledger = _ledger(args, plan)
    clock = simulate.VirtualClock(start)
    faults = _faults(plan, args.fault)
    # One outbox stand-in per channel, all writing to the same folder.
    channels: dict[str, Channel] = {
        name: simulate.FaultyChannel(OutboxChannel(args.outbox, channel=name, clock=clock), faults)
        for name in CHANNELS
    }
    timeline = simulate.Timeline(echo=print)
    jitter = simulate.uniform_jitter() if args.jitter else None
    print(f"Simulating {len(plan)} deliveries from {args.start} to {args.end} (virtual clock)")
    summaries = simulate.run(plan, ledger, channels, start, end, timeline, jitter, clock)
    totals: dict[str, int] = {}
    for summary in summaries:
        for name, count in summary.counts.items():
            totals[name] = totals.get(name, 0) + count
    totals.pop("Deferred", None)
    shown = ", ".join(f"{name} {count}" for name, count in sorted(totals.items())) or "nothing"
    print(f"{len(summaries)} ticks: {shown}. Outbox: {args.outbox}/outbox.jsonl")
    sys.stdout.flush()
    return 0


def _faults(plan: LoadedPlan, specs: list[str]) -> dict[str, str]:
    """`POST=KIND` options -> {rendered text: fault kind} for the simulated channel; a KIND
    is any fault the outbox can be told to answer with."""
    from herald.channels.outbox import OutboxFault

    kinds = tuple(fault.value for fault in OutboxFault)
    faults: dict[str, str] = {}
    for spec in specs:
        post, _, kind = spec.partition("=")
        kind = kind or "unknown"
        if kind not in kinds:
            raise command_line_error(f"--fault {spec}: kind must be one of {kinds}")
        matches = [d for d in plan.deliveries if d.key.post == post]
        if not matches:
            raise command_line_error(f"--fault {spec}: no such post")
        for delivery in matches:
            faults[delivery.render()] = kind
    return faults
