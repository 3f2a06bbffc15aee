"""`herald simulate PATH... --from ISO --to ISO`: the real engine on a virtual clock."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from herald.commands.common import DEFAULT_LEDGER
from herald.problems import InputError, Problem

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
    parser.add_argument("--ledger", type=Path, default=DEFAULT_LEDGER, metavar="FILE")
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


def _times(args: argparse.Namespace) -> tuple[Any, Any]:
    from herald.timeutil import parse_utc

    try:
        start, end = parse_utc(args.start), parse_utc(args.end)
    except ValueError as error:
        raise InputError([Problem("<command line>", 1, f"--from/--to: {error}")]) from None
    if end < start:
        raise InputError([Problem("<command line>", 1, "--to is before --from")])
    return start, end


def run(args: argparse.Namespace) -> int:
    from herald import simulate
    from herald.channels.outbox import OutboxChannel
    from herald.ledger.sqlite import SqliteLedger
    from herald.plan import load_plan_strict

    start, end = _times(args)
    plan = load_plan_strict(args.paths)
    if args.reset:
        for path in (args.ledger, Path(f"{args.ledger}-wal"), Path(f"{args.ledger}-shm")):
            path.unlink(missing_ok=True)
        shutil.rmtree(args.outbox, ignore_errors=True)
    args.ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger = SqliteLedger(args.ledger)
    if not args.reset and any(ledger.records(c) for c in plan.campaigns):
        raise InputError(
            [
                Problem(
                    str(args.ledger),
                    1,
                    "this ledger already has records from an earlier run; add --reset to"
                    " start afresh",
                )
            ]
        )
    clock = simulate.VirtualClock(start)
    outbox = OutboxChannel(args.outbox, clock=clock)
    channel = simulate.FaultyChannel(outbox, _faults(plan, args.fault))
    timeline = simulate.Timeline(echo=print)
    jitter = simulate.uniform_jitter() if args.jitter else None
    print(f"Simulating {len(plan)} deliveries from {args.start} to {args.end} (virtual clock)")
    summaries = simulate.run(plan, ledger, {"x": channel}, start, end, timeline, jitter, clock)
    totals: dict[str, int] = {}
    for summary in summaries:
        for name, count in summary.counts.items():
            totals[name] = totals.get(name, 0) + count
    totals.pop("Deferred", None)
    shown = ", ".join(f"{name} {count}" for name, count in sorted(totals.items())) or "nothing"
    print(f"{len(summaries)} ticks: {shown}. Outbox: {args.outbox}/outbox.jsonl")
    sys.stdout.flush()
    return 0


FAULTS = ("unknown", "unknown_after_write", "failed", "rejected", "unauthorized", "rate_limited")


def _faults(plan: Any, specs: list[str]) -> dict[str, str]:
    """`POST=KIND` options -> {rendered text: fault kind} for the simulated channel."""
    faults: dict[str, str] = {}
    for spec in specs:
        post, _, kind = spec.partition("=")
        kind = kind or "unknown"
        if kind not in FAULTS:
            raise InputError(
                [Problem("<command line>", 1, f"--fault {spec}: kind must be one of {FAULTS}")]
            )
        matches = [d for d in plan.deliveries if d.key.post == post]
        if not matches:
            raise InputError([Problem("<command line>", 1, f"--fault {spec}: no such post")])
        for delivery in matches:
            faults[delivery.render()] = kind
    return faults
