"""`herald simulate PATH... --from TIME --to TIME`: the real engine on a virtual clock.

Times are local to the campaigns' zone (`2026-12-07`, `2026-12-07 08:00`) or UTC ISO 8601
(`2026-12-07T08:00Z`). The local ledger is a sandbox: `--reset` forgets the simulated
campaigns' records and outbox entries only, and every campaign simulated is noted as such,
so `herald status` says its records are simulated."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from herald.commands.common import (
    add_ledger_option,
    command_line_error,
    open_ledger,
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
    parser.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="TIME",
        help="start: a local day or time in the campaigns' zone (2026-12-07, 2026-12-07 08:00)"
        " or UTC (2026-12-07T08:00Z)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        required=True,
        metavar="TIME",
        help="end, written the same ways (a day alone runs to its last minute)",
    )
    add_ledger_option(parser)
    parser.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX, metavar="DIR")
    parser.add_argument(
        "--reset",
        action="store_true",
        help="forget the simulated campaigns' records and outbox entries first (other"
        " campaigns' stay); without it a ledger that already has their records is refused",
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


def _times(args: argparse.Namespace, plan: LoadedPlan) -> tuple[datetime, datetime]:
    from herald.simulate import plan_zone

    zone = plan_zone(plan)
    start = parse_moment(args.start, zone, "--from")
    end = parse_moment(args.end, zone, "--to", end_of_day=True)
    if end < start:
        raise command_line_error(
            f"--to ({end:%Y-%m-%d %H:%MZ}) is before --from ({start:%Y-%m-%d %H:%MZ})"
        )
    return start, end


def _ledger(args: argparse.Namespace, plan: LoadedPlan) -> Ledger:
    """The SQLite ledger; --reset forgets the plan's campaigns' records and outbox entries
    (and nothing of any other campaign). One that already holds records of the plan's
    campaigns is refused without it."""
    from herald import sandbox
    from herald.ledger.sqlite import SqliteLedger

    ledger = open_ledger(args)  # SQLite: simulate has no --table
    assert isinstance(ledger, SqliteLedger)
    if args.reset:
        for campaign in plan.campaigns:
            ledger.delete_campaign(campaign)
        sandbox.forget(args.ledger, plan.campaigns)
        published = [(d.key.channel, d.key.account, _rendered(d)) for d in plan.deliveries]
        sandbox.forget_outbox(args.outbox, published)
        return ledger
    used = sorted(c for c in plan.campaigns if ledger.records(c))
    if used:
        message = (
            f"this ledger already has records of {', '.join(used)} from an earlier run;"
            " add --reset to start those afresh (other campaigns' records stay)"
        )
        raise InputError([Problem(str(args.ledger), 1, message)])
    return ledger


def _rendered(delivery: Any) -> str:
    from herald.render import RenderError

    try:
        return str(delivery.render())
    except RenderError:
        return ""


def run(args: argparse.Namespace) -> int:
    from herald import sandbox, simulate
    from herald.channels.outbox import OutboxChannel
    from herald.channels.rules import RULES
    from herald.commands.common import now
    from herald.plan import load_plan_strict

    plan = load_plan_strict(args.paths)
    start, end = _times(args, plan)
    ledger = _ledger(args, plan)
    clock = simulate.VirtualClock(start)
    faults = _faults(plan, args.fault)
    channels: dict[str, Channel] = {
        name: simulate.FaultyChannel(OutboxChannel(args.outbox, channel=name, clock=clock), faults)
        for name in RULES  # one outbox stand-in per channel herald publishes to
    }
    timeline = simulate.Timeline(echo=print)
    jitter = simulate.uniform_jitter() if args.jitter else None
    print(
        f"Simulating {len(plan)} deliveries from {simulate.shown(start, plan)}"
        f" to {simulate.shown(end, plan)} (virtual clock)"
    )
    sandbox.mark(args.ledger, plan.campaigns, start, end, now())
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


def parse_moment(text: str, zone: Any, option: str, *, end_of_day: bool = False) -> datetime:
    """A --from/--to value (see `herald.simulate.read_moment`); an error on the command line
    that says what to write when it is none."""
    from herald.simulate import MomentError, read_moment

    try:
        return read_moment(text, zone, end_of_day=end_of_day)
    except MomentError as error:
        raise command_line_error(f"{option} {text!r}: {error}") from None


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
