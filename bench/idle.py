"""Idle tick, warm: what a tick with nothing new to publish costs once the container is warm.
Network calls are counted (ledger and channel wrapped in counting proxies, socket connects
and DNS lookups patched); time per tick is the mean over many ticks."""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import CAMPAIGNS, CountingProxy, MemoryChannel, Section, counting_connects
from herald.engine import Engine
from herald.ledger.sqlite import SqliteLedger
from herald.plan import Plan, load_plan_strict

TARGET_SECONDS = 0.001


def measure(plan: Plan, after: datetime, ticks: int, folder: Path) -> dict[str, float]:
    """Publish everything due up to `after` (one warm-up tick), then tick every minute after
    it: the look-back window holds that day's deliveries, all final, nothing new is due."""
    ledger = SqliteLedger(folder / "ledger.sqlite")
    channel = MemoryChannel()
    try:
        Engine(plan, ledger, {"x": channel}).tick(after)  # warm-up: records them all
        counted_ledger = CountingProxy(ledger)
        counted_channel = CountingProxy(channel)
        engine = Engine(plan, counted_ledger, {"x": counted_channel})
        engine.tick(after)  # a warm container has seen them final once
        counted_ledger.calls.clear()
        moments = [after + timedelta(minutes=1 + n % 600) for n in range(ticks)]
        quiet = [d for d in plan.between(after, after + timedelta(minutes=601))]
        with counting_connects() as sockets:
            start = time.perf_counter()
            for moment in moments:
                engine.tick(moment)
            elapsed = time.perf_counter() - start
        window = len(plan.between(after - timedelta(hours=24), after))
        return {
            "seconds_per_tick": elapsed / ticks,
            "ticks": ticks,
            "ledger_calls": counted_ledger.total,
            "channel_calls": counted_channel.total,
            "sockets": sockets["connect"] + sockets["getaddrinfo"],
            "window": window,
            "due_in_run": len(quiet),
        }
    finally:
        ledger.close()


def quiet_after(plan: Plan) -> datetime:
    """A moment just after a day's last delivery with ten quiet hours after it."""
    times = [d.at for d in plan.deliveries]
    for index in range(len(times) - 1, 0, -1):
        if times[index] - times[index - 1] >= timedelta(hours=10):
            return times[index - 1] + timedelta(minutes=20)
    return times[-1] + timedelta(minutes=20)


def run(quick: bool = False, scale_plan: Plan | None = None) -> Section:
    section = Section(
        "idle",
        "Idle tick, warm",
        "A warm engine ticks every minute after a publishing day: its 24-hour look-back window "
        "holds that day's deliveries, all already final; nothing new is due. Counts every "
        "ledger and channel call and every socket connect / DNS lookup; reports the mean time "
        "per tick over many ticks, for the Safer Internet Day campaign and for the generated "
        "1,000 × 100 plan of the scale benchmark.",
    )
    ticks = 500 if quick else 20_000
    plans = [("Safer Internet Day", load_plan_strict([CAMPAIGNS]))]
    if scale_plan is not None:
        plans.append((f"scale ({len(scale_plan):,} deliveries)", scale_plan))
    for label, plan in plans:
        with tempfile.TemporaryDirectory(prefix="herald-bench-idle-") as folder:
            result = measure(plan, quiet_after(plan), ticks, Path(folder))
        calls = int(result["ledger_calls"] + result["channel_calls"] + result["sockets"])
        per_tick = result["seconds_per_tick"]
        section.data[label] = result
        section.add(
            f"{label}: network calls in {ticks:,} idle ticks (ledger + channel + sockets)",
            str(calls),
            "0",
            calls == 0,
        )
        section.add(
            f"{label}: time per idle tick ({int(result['window'])} final deliveries in window)",
            f"{per_tick * 1e6:.1f} µs",
            "≤ 1 ms",
            per_tick <= TARGET_SECONDS,
        )
    return section
