"""Scale: 1,000 generated campaigns × 100 posts. Cold load of the plan next to just reading
the files' bytes, peak RSS of the process, and the due lookup (Plan.between) per tick at two
plan sizes, to show it does not grow with the plan."""

from __future__ import annotations

import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import Section, write_scale_campaigns
from herald.plan import Plan, load_plan_strict

TARGET_RSS_MB = 256
RSS_NOTE = (
    "Peak RSS misses its target because each loaded Campaign keeps its parsed YAML do"
    "cument (`Campaign.document`, ruamel round-trip nodes with line marks, kept for e"
    "rror locations) and its pydantic spec objects alive for the life of the containe"
    "r. Fix: keep only what the tick needs after validation (drop `document` or keep "
    "a line map of the posts), or compile the plan at build time as the cold-start ad"
    "vice says."
)
LOOKBACK = timedelta(hours=24)


def lookup_seconds(plan: Plan, calls: int) -> float:
    """Mean seconds per `between(now - 24h, now)` call over minutes spread through the plan."""
    first, last = plan.deliveries[0].at, plan.deliveries[-1].at
    span = (last - first).total_seconds()
    moments = [first + timedelta(seconds=span * n / calls) for n in range(calls)]
    start = time.perf_counter()
    for now in moments:
        plan.between(now - LOOKBACK, now)
    return (time.perf_counter() - start) / calls


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run(quick: bool = False) -> tuple[Section, Plan]:
    campaigns, posts = (20, 20) if quick else (1000, 100)
    small_campaigns = campaigns // 10
    section = Section(
        "scale",
        "Scale",
        f"{campaigns:,} generated campaigns × {posts} posts (one account each, small texts, "
        "no release, no media; ten posts a day 09:00-15:45 spread over a year), written to a "
        "temporary folder. Cold load of the plan (parse, validate, compile) next to the time "
        "to just read the files' bytes; peak RSS of the whole benchmark process; the due "
        f"lookup `Plan.between(now - 24h, now)` per tick on the full plan and on a plan "
        f"{campaigns // small_campaigns}× smaller.",
    )
    with tempfile.TemporaryDirectory(prefix="herald-bench-scale-") as name:
        folder = Path(name)
        paths = write_scale_campaigns(folder / "big", campaigns, posts)
        start = time.perf_counter()
        size = sum(len(p.read_bytes()) for p in paths)
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        plan = load_plan_strict([folder / "big"])
        load_s = time.perf_counter() - start
        small_paths = paths[:small_campaigns]
        small = Plan(c for c in plan.campaigns.values() if c.path in set(small_paths))
    rss = peak_rss_mb()
    calls = 2_000 if quick else 100_000
    small_s = lookup_seconds(small, calls)
    big_s = lookup_seconds(plan, calls)
    ratio = big_s / small_s
    section.data.update(
        deliveries=len(plan),
        load_seconds=load_s,
        read_seconds=read_s,
        bytes=size,
        rss_mb=rss,
        lookup_small=small_s,
        lookup_big=big_s,
        small_deliveries=len(small),
        ratio=ratio,
    )
    section.add(
        "deliveries in the plan",
        f"{len(plan):,}",
        f"{campaigns * posts:,}",
        len(plan) == campaigns * posts,
    )
    section.add(
        "cold load of the plan ÷ reading the files' bytes",
        f"{load_s / read_s:,.0f}× ({size / 1e6:.1f} MB in {len(paths):,} files)",
    )
    section.add(
        "peak RSS of the whole process",
        f"{rss:.0f} MB",
        f"≤ {TARGET_RSS_MB} MB",
        rss <= TARGET_RSS_MB,
    )
    section.add(
        f"due lookup per tick, {len(plan):,} ÷ {len(small):,} deliveries",
        f"{ratio:.2f}×",
        "≈ 1 (O(log n + k))",
        ratio <= 1.5,
    )
    section.add(f"due lookup per tick at {len(plan):,} deliveries", f"{big_s * 1e6:.2f} µs")
    if rss > TARGET_RSS_MB:
        section.notes.append(RSS_NOTE)
    section.notes.append(
        "The cold load is paid once per container (cold start), not per tick. At this size it "
        "is the whole cold-start budget: see the cold-start section's advice (compile the plan "
        "at build time) if a force ever runs this many campaigns in one function."
    )
    return section, plan
