"""Scale: 1,000 generated campaigns × 100 posts. The build compiles them into the plan
index (`herald compile`); the function's process then loads that index. Measured: the
compile next to just reading the files' bytes, the function process's cold load of the
plan and its peak RSS, and the due lookup per tick at two plan sizes, to show it does not
grow with the plan."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Section, write_scale_campaigns
from herald.compiled_plan import write_index
from herald.plan import load_plan_strict

TARGET_RSS_MB = 256

# Runs in a fresh process, as the function would: load the compiled plan, then look up.
CHILD = r"""
import json, resource, sys, time
from datetime import timedelta
from pathlib import Path
from typing import Any
from herald.compiled_plan import load_compiled

LOOKBACK = timedelta(hours=24)
MINUTE = timedelta(minutes=1)

def lookup_seconds(plan, calls, window):
    first, last = plan.deliveries[0].at, plan.deliveries[-1].at
    span = (last - first).total_seconds()
    moments = [first + timedelta(seconds=span * n / calls) for n in range(calls)]
    start = time.perf_counter()
    for now in moments:
        plan.between(now - window, now)
    return (time.perf_counter() - start) / calls

def peak_rss_mb():
    # VmHWM, not getrusage: ru_maxrss survives exec and would count the parent's memory.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

big, small, calls = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
plan = load_compiled(big)
load = time.perf_counter() - start
result = {
    "deliveries": len(plan),
    "load_seconds": load,
    "lookup_big": lookup_seconds(plan, calls, LOOKBACK),
    "search_big": lookup_seconds(plan, calls, MINUTE),
}
small_plan = load_compiled(small)
result["small_deliveries"] = len(small_plan)
result["search_small"] = lookup_seconds(small_plan, calls, MINUTE)
result["rss_mb"] = peak_rss_mb()
print(json.dumps(result))
"""


def compile_folder(folder: Path) -> float:
    """`herald compile`, as sam build runs it; returns its seconds."""
    start = time.perf_counter()
    write_index(folder, load_plan_strict([folder]))
    return time.perf_counter() - start


def run(quick: bool = False) -> Section:
    campaigns, posts = (20, 20) if quick else (1000, 100)
    small_campaigns = campaigns // 10
    section = Section(
        "scale",
        "Scale",
        f"{campaigns:,} generated campaigns × {posts} posts (one account each, small texts, "
        "no release, no media; ten posts a day 09:00-15:45 spread over a year), written to a "
        "temporary folder. The build's compile (parse, validate, write plan.json) next to the "
        "time to just read the files' bytes; then, in a fresh process as the function runs: "
        "the cold load of the compiled plan, its peak RSS (VmHWM), the due lookup per tick "
        "(`between(now - 24h, now)`), and the binary search alone (a one-minute window) on "
        f"this plan and on one {campaigns // small_campaigns}× smaller.",
    )
    calls = 2_000 if quick else 100_000
    section.data.update(_measure(campaigns, small_campaigns, posts, calls))
    _report(section, campaigns * posts)
    section.notes.append(
        "Compiling is the build's work (`herald compile`, run by `sam build`); the function "
        "loads only the index, and loads a campaign's file when one of its deliveries is "
        "rendered."
    )
    return section


def _measure(campaigns: int, small_campaigns: int, posts: int, calls: int) -> dict[str, Any]:
    """Write the big and the small plan's campaigns, time reading and compiling the big one,
    then load and search both in a fresh process (CHILD)."""
    with tempfile.TemporaryDirectory(prefix="herald-bench-scale-") as name:
        folder = Path(name)
        paths = write_scale_campaigns(folder / "big", campaigns, posts)
        write_scale_campaigns(folder / "small", small_campaigns, posts)
        start = time.perf_counter()
        size = sum(len(p.read_bytes()) for p in paths)
        read_s = time.perf_counter() - start
        compile_s = compile_folder(folder / "big")
        compile_folder(folder / "small")
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(folder / "big"), str(folder / "small"), str(calls)],
            capture_output=True,
            text=True,
            check=True,
        )
    child = json.loads(done.stdout)
    return dict(
        deliveries=child["deliveries"],
        compile_seconds=compile_s,
        load_seconds=child["load_seconds"],
        read_seconds=read_s,
        bytes=size,
        files=len(paths),
        rss_mb=child["rss_mb"],
        search_small=child["search_small"],
        search_big=child["search_big"],
        lookup_big=child["lookup_big"],
        small_deliveries=child["small_deliveries"],
        ratio=child["search_big"] / child["search_small"],
    )


def _report(section: Section, expected: int) -> None:
    """The rows, from what `_measure` put in the section's data."""
    data = section.data
    deliveries, read_s = data["deliveries"], data["read_seconds"]
    section.add(
        "deliveries in the plan", f"{deliveries:,}", f"{expected:,}", deliveries == expected
    )
    section.add(
        "build: compiling the plan ÷ reading the files' bytes",
        f"{data['compile_seconds'] / read_s:,.0f}× "
        f"({data['bytes'] / 1e6:.1f} MB in {data['files']:,} files)",
    )
    section.add(
        "function: cold load of the compiled plan ÷ reading the campaign files' bytes",
        f"{data['load_seconds'] / read_s:.1f}×",
    )
    section.add(
        "function: peak RSS of its process (plan loaded, lookups run)",
        f"{data['rss_mb']:.0f} MB",
        f"≤ {TARGET_RSS_MB} MB",
        data["rss_mb"] <= TARGET_RSS_MB,
    )
    section.add(
        f"binary search of one minute, {deliveries:,} ÷ {data['small_deliveries']:,} deliveries",
        f"{data['ratio']:.2f}×",
        "≈ 1 (O(log n))",
        data["ratio"] <= 1.5,
    )
    section.add(
        f"due lookup per tick (24 h look-back) at {deliveries:,} deliveries",
        f"{data['lookup_big'] * 1e6:.2f} µs",
        "≤ 1 ms",
        data["lookup_big"] <= 0.001,
    )
