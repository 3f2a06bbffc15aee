"""Scale: 10,000 generated campaigns × 100 posts, a million deliveries. The build compiles
them into the plan index (`herald compile`, on every core); the function's process then
maps that index. Measured: the compile's time and peak memory, the function process's cold
load of the plan next to just reading the campaign files' bytes, its peak RSS, the due
lookup per tick, and the binary search at two plan sizes, to show it does not grow with
the plan."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Section, write_scale_campaigns

TARGET_RSS_MB = 128
TARGET_LOAD_RATIO = 2.0
TARGET_LOOKUP_SECONDS = 50e-6
TARGET_COMPILE_SECONDS = 180.0
TARGET_COMPILE_MB = 1024

# Runs in a fresh process, as the function would: map the compiled plan, then look up.
CHILD = r"""
import json, resource, sys, time
from datetime import timedelta
from pathlib import Path
from herald.compiled_plan import load_compiled

LOOKBACK = timedelta(hours=24)
MINUTE = timedelta(minutes=1)

def moments(plan, count):
    first, last = plan.deliveries[0].at, plan.deliveries[-1].at
    span = (last - first).total_seconds()
    return [first + timedelta(seconds=span * n / count) for n in range(count)]

def search_seconds(plan, calls):
    # The binary search alone: a one-minute window at night (nothing due then, so no
    # object is made), on days spread over the year.
    todo = [m.replace(hour=3, minute=m.minute) for m in moments(plan, calls)]
    start = time.perf_counter()
    for now in todo:
        plan.between(now - MINUTE, now)
    return (time.perf_counter() - start) / calls

def tick_lookups(plan, days, minutes):
    # What each tick asks: the 24-hour look-back, minute after minute from a few moments
    # of the year; the first lookup of each run (a cold window) is timed apart.
    first, steady, count = [], 0.0, 0
    for start in moments(plan, days):
        began = time.perf_counter()
        plan.between(start - LOOKBACK, start)
        first.append(time.perf_counter() - began)
        began = time.perf_counter()
        for n in range(1, minutes):
            now = start + n * MINUTE
            plan.between(now - LOOKBACK, now)
        steady += time.perf_counter() - began
        count += minutes - 1
    return steady / count, max(first), len(plan.between(start - LOOKBACK, start))

def peak_rss_mb():
    # VmHWM, not getrusage: ru_maxrss survives exec and would count the parent's memory.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

big, small, calls = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
start = time.perf_counter()
plan = load_compiled(big, check_files=False)  # Lambda: packaged, read-only
load = time.perf_counter() - start
start = time.perf_counter()
load_compiled(big)  # locally: the files' sizes and times checked against the index
checked = time.perf_counter() - start
steady, cold, window = tick_lookups(plan, 20, calls // 20)
result = {
    "deliveries": len(plan),
    "load_seconds": load,
    "checked_load_seconds": checked,
    "lookup_big": steady,
    "lookup_cold": cold,
    "window": window,
    "search_big": search_seconds(plan, calls),
}
small_plan = load_compiled(small, check_files=False)
result["small_deliveries"] = len(small_plan)
result["search_small"] = search_seconds(small_plan, calls)
result["rss_mb"] = peak_rss_mb()
print(json.dumps(result))
"""


def _tree_rss_kb(pid: int) -> int:
    """The resident memory of a process and all its descendants, from /proc."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
        )
        todo += [int(child) for child in children]
    return total


def compile_folder(folder: Path) -> tuple[float, float, float]:
    """`herald compile`, as sam build runs it: its seconds, the peak resident memory of its
    processes together (sampled every 50 ms) in MB, and their CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "herald.cli", "compile", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        problems = process.stderr.read() if process.stderr else ""
        raise RuntimeError(f"herald compile failed: {problems}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds, peak / 1024, cpu


def run(quick: bool = False) -> Section:
    campaigns, posts = (20, 20) if quick else (10_000, 100)
    small_campaigns = campaigns // 10
    section = Section(
        "scale",
        "Scale",
        f"{campaigns:,} generated campaigns × {posts} posts (50 accounts, small texts, no "
        "release, no media; ten posts a day 09:00-15:45, the campaigns spread over a year), "
        "written to a temporary folder. The build's compile (`herald compile`: parse and "
        "check on every core, write plan.index), its time and the peak memory of its "
        "processes together; then, in a fresh process as the function runs: the cold load "
        "(mapping) of the compiled plan next to the time to just read the campaign files' "
        "bytes, its peak RSS (VmHWM), the due lookup per tick (`between(now - 24h, now)`, "
        "minute after minute, as the function ticks), and the binary search alone (a "
        "one-minute window at night, when nothing is due, on days spread over the year) on "
        f"this plan and on one {campaigns // small_campaigns}× smaller.",
    )
    calls = 2_000 if quick else 100_000
    section.data.update(_measure(campaigns, small_campaigns, posts, calls))
    _report(section, campaigns * posts)
    section.notes.append(
        "Compiling is the build's work (`herald compile`, run by `sam build`); the function "
        "maps only the index, makes objects of the deliveries in its look-back window, and "
        "loads a campaign's file when one of its deliveries is rendered. In Lambda the "
        "packaged campaigns are read-only and were compiled with their index, so the "
        "function does not check them again; elsewhere (`sam local`, tests, a local run) it "
        "compares the files' sizes and modification times with the index's, and hashes a "
        "file only when its time differs."
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
        load_before = os.getloadavg()[0]
        compile_s, compile_mb, compile_cpu = compile_folder(folder / "big")
        load_after = os.getloadavg()[0]
        compile_folder(folder / "small")
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(folder / "big"), str(folder / "small"), str(calls)],
            capture_output=True,
            text=True,
            check=True,
        )
    child = json.loads(done.stdout)
    return dict(
        child,
        compile_seconds=compile_s,
        compile_mb=compile_mb,
        compile_cpu=compile_cpu,
        load_average=(load_before, load_after),
        cores=os.cpu_count() or 1,
        read_seconds=read_s,
        bytes=size,
        files=len(paths),
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
        "build: compile time (`herald compile`)",
        f"{data['compile_seconds']:,.0f} s "
        f"({data['bytes'] / 1e6:.1f} MB in {data['files']:,} files)",
        f"≤ {TARGET_COMPILE_SECONDS:.0f} s",
        data["compile_seconds"] <= TARGET_COMPILE_SECONDS,
    )
    before, after = data["load_average"]
    section.add(
        "of which CPU time, all processes (÷ cores)",
        f"{data['compile_cpu']:,.0f} s (÷ {data['cores']} = "
        f"{data['compile_cpu'] / data['cores']:,.0f} s); load average {before:.1f} before, "
        f"{after:.1f} after",
    )
    section.add(
        "build: compile peak memory (all its processes)",
        f"{data['compile_mb']:,.0f} MB",
        f"≤ {TARGET_COMPILE_MB:,} MB",
        data["compile_mb"] <= TARGET_COMPILE_MB,
    )
    section.add(
        "function: cold load of the compiled plan ÷ reading the campaign files' bytes",
        f"{data['load_seconds'] / read_s:.3f}×",
        f"≤ {TARGET_LOAD_RATIO:.0f}×",
        data["load_seconds"] / read_s <= TARGET_LOAD_RATIO,
    )
    section.add(
        "of which, outside Lambda: with the files' sizes and times checked",
        f"{data['checked_load_seconds'] / read_s:.2f}×",
    )
    section.add(
        "function: peak RSS of its process (plan loaded, lookups run)",
        f"{data['rss_mb']:.0f} MB",
        f"≤ {TARGET_RSS_MB} MB",
        data["rss_mb"] <= TARGET_RSS_MB,
    )
    section.add(
        f"due lookup per tick (24 h look-back, {data['window']:,} deliveries in it), "
        "minute after minute",
        f"{data['lookup_big'] * 1e6:.1f} µs",
        f"≤ {TARGET_LOOKUP_SECONDS * 1e6:.0f} µs",
        data["lookup_big"] <= TARGET_LOOKUP_SECONDS,
    )
    section.add(
        "first lookup after a cold start (the window's objects made)",
        f"{data['lookup_cold'] * 1e3:.1f} ms",
    )
    section.add(
        f"binary search of one minute, {deliveries:,} ÷ {data['small_deliveries']:,} deliveries",
        f"{data['ratio']:.2f}×",
        "≈ 1 (O(log n))",
        data["ratio"] <= 1.5,
    )
