"""Idle tick, warm: what a tick with nothing new to publish costs once the container is warm.
Network calls are counted (ledger and channel wrapped in counting proxies, socket connects
and DNS lookups patched); time per tick is the mean over many ticks."""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import (
    CAMPAIGNS,
    CountingProxy,
    MemoryChannel,
    Section,
    counting_connects,
    write_scale_campaigns,
)
from herald.compiled_plan import CompiledPlan, load_compiled, write_index
from herald.engine import Engine
from herald.ledger.sqlite import SqliteLedger
from herald.plan import load_plan_strict


def compiled(folder: Path) -> CompiledPlan:
    """The plan as the function has it: compiled by the build, loaded from the index."""
    write_index(folder, load_plan_strict([folder]))
    return load_compiled(folder)


TARGET_SECONDS = 0.001


def measure(plan: CompiledPlan, after: datetime, ticks: int, folder: Path) -> dict[str, float]:
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


def quiet_after(plan: CompiledPlan) -> datetime:
    """A moment just after a day's last delivery with ten quiet hours after it."""
    times = [d.at for d in plan.deliveries]
    for index in range(len(times) - 1, 0, -1):
        if times[index] - times[index - 1] >= timedelta(hours=10):
            return times[index - 1] + timedelta(minutes=20)
    return times[-1] + timedelta(minutes=20)


def run(quick: bool = False) -> Section:
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
    campaigns, posts = (20, 20) if quick else (1000, 100)
    with tempfile.TemporaryDirectory(prefix="herald-bench-idle-") as name:
        root = Path(name)
        shutil.copytree(CAMPAIGNS, root / "sid")
        write_scale_campaigns(root / "scale", campaigns, posts)
        sid, scale = compiled(root / "sid"), compiled(root / "scale")
        for label, plan in (
            ("Safer Internet Day", sid),
            (f"scale ({len(scale):,} deliveries)", scale),
        ):
            ledger_folder = root / f"ledger-{len(plan)}"
            ledger_folder.mkdir()
            result = measure(plan, quiet_after(plan), ticks, ledger_folder)
            _report(section, label, result, ticks)
    return section


def _report(section: Section, label: str, result: dict[str, float], ticks: int) -> None:
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
