"""Lateness: in the simulator (the real engine on a virtual clock, SQLite ledger, outbox
channel), every tick fires 0-59 s after its minute; how late does each post go out?"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from bench.busy import AT_LOCAL
from bench.common import CAMPAIGNS, GeneratedPost, Section, percentile, write_campaign
from herald.channels.outbox import OutboxChannel
from herald.channels.rules import RULES
from herald.engine import Event
from herald.ledger.sqlite import SqliteLedger
from herald.plan import LoadedPlan, load_plan_strict
from herald.simulate import Timeline, uniform_jitter
from herald.simulate import run as simulate

TARGET_P99 = 60.0


def busier(folder: Path, posts: int) -> Path:
    """Three accounts; `posts` posts, two in every third minute, every fifth a 3-part thread."""
    items = [
        GeneratedPost(
            f"p{n:03d}", AT_LOCAL + timedelta(minutes=7 * (n // 2)), thread=2 if n % 5 == 0 else 0
        )
        for n in range(posts)
    ]
    return write_campaign(folder, "bench-busier", ["acct-a", "acct-b", "acct-c"], items)


def simulate_plan(plan: LoadedPlan, folder: Path) -> dict[str, float | int]:
    ledger = SqliteLedger(folder / "ledger.sqlite")
    timeline = Timeline()
    try:
        first, last = plan.deliveries[0].at, plan.deliveries[-1].at
        simulate(
            plan,
            ledger,
            {name: OutboxChannel(folder / "outbox", channel=name) for name in RULES},
            first - timedelta(minutes=1),
            last + timedelta(minutes=30),
            timeline,
            uniform_jitter(seed=7),
        )
    finally:
        ledger.close()
    published = [r.lateness for r in timeline.results if r.event is Event.PUBLISHED]
    late = [r for r in timeline.results if r.event is Event.SKIPPED_LATE]
    max_lateness = min(c.max_lateness for c in plan.campaigns.values()).total_seconds()
    return {
        "deliveries": len(plan),
        "published": len(published),
        "skipped_late": len(late),
        "p50": percentile(published, 0.50),
        "p99": percentile(published, 0.99),
        "max": max(published, default=0.0),
        "max_lateness": max_lateness,
    }


def run(quick: bool = False) -> Section:
    section = Section(
        "lateness",
        "Lateness",
        "`herald.simulate.run` over each campaign's span, ticks at a uniformly random 0-59 s "
        "after each minute (`uniform_jitter(seed=7)`), SQLite ledger in a temporary folder, the "
        "outbox channel: publish time (the tick's time) minus scheduled time, for every "
        "published delivery. Simulated seconds, not measured ones: deterministic.",
    )
    with tempfile.TemporaryDirectory(prefix="herald-bench-late-") as name:
        folder = Path(name)
        busier(folder / "campaigns", 30 if quick else 400)
        cases = [
            ("Safer Internet Day", load_plan_strict([CAMPAIGNS])),
            ("generated, busier", load_plan_strict([folder / "campaigns"])),
        ]
        for index, (label, plan) in enumerate(cases):
            work = folder / f"run-{index}"
            work.mkdir()
            result = simulate_plan(plan, work)
            section.data[label] = result
            all_out = result["published"] == result["deliveries"]
            section.add(
                f"{label}: published / deliveries",
                f"{result['published']} / {result['deliveries']}",
                "all",
                all_out,
            )
            section.add(
                f"{label}: lateness p50 / p99 / max",
                f"{result['p50']:.0f} s / {result['p99']:.0f} s / {result['max']:.0f} s",
                f"p99 ≤ {TARGET_P99:.0f} s",
                result["p99"] <= TARGET_P99,
            )
            section.add(
                f"{label}: later than max_lateness ({result['max_lateness']:.0f} s)",
                f"{result['skipped_late']} skipped late",
                "0",
                result["skipped_late"] == 0 and result["max"] <= result["max_lateness"],
            )
    return section
