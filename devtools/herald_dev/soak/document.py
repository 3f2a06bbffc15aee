"""The soak's report as Markdown: printed after every run, and `--write` puts it in
docs/reliability.md, in the style of docs/performance.md."""

from __future__ import annotations

import os
import platform
from datetime import datetime

from herald_dev.soak.report import Findings, Target, percentile, targets
from herald_dev.soak.run import SoakRun

MISSED_SHOWN = 40


def render(
    run: SoakRun, findings: Findings, command: str, written: datetime, alias: str | None = None
) -> str:
    """The report; `command` produced it (`alias` is its make target, if it was that)."""
    goals = targets(run, findings)
    met = sum(t.met for t in goals)
    lines = [
        "# herald reliability",
        "",
        _preamble(run, f"`{command}`" + (f" (`{alias}`)" if alias else ""), written),
        "",
        f"Targets met: {met}/{len(goals)}. To run one simulated day instead: "
        "`.venv/bin/python -m herald_dev.soak --days 1 --start 2027-03-09 --seed 7`, the day "
        "`tests/integration/test_soak.py` runs in `make test`.",
        "",
        "| target | measured | wanted | met |",
        "| --- | --- | --- | --- |",
        *(f"| {t.name} | {t.measured} | {t.wanted} | {_met(t)} |" for t in goals),
        "",
        *_what_ran(run),
        *_outcomes(findings),
        *_lateness(findings),
        *_faults(run),
        *_events(run),
        *_time(run),
        *_missed(findings),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _preamble(run: SoakRun, command: str, written: datetime) -> str:
    config, stats = run.config, run.stats
    return (
        f"Written by {command} on {written:%Y-%m-%d %H:%M} UTC, Python "
        f"{platform.python_version()} on {platform.machine()}, herald at {run.commit}. "
        f"Seed {config.seed}; fault rate {config.fault_rate:.0%} of requests, to X and to "
        f"DynamoDB each; {config.workers} workers tick every minute. {config.days} simulated "
        f"day(s) from {config.start:%Y-%m-%d} ({stats.span:,} minutes) took "
        f"{stats.wall_seconds:,.0f} s of wall time on {os.cpu_count()} CPUs, whose load "
        f"average was {stats.load_before:.1f} at the start and {stats.load_after:.1f} at the end."
    )


def _met(target: Target) -> str:
    return "met" if target.met else "**missed**"


def _what_ran(run: SoakRun) -> list[str]:
    config = run.config
    plan = run.plan
    replies = sum(1 for d in plan.deliveries if d.parent_key is not None)
    images = sum(1 for d in plan.deliveries if d.media())
    accounts = {d.key.account for d in plan.deliveries}
    return [
        "## What ran",
        "",
        f"{len(plan):,} deliveries in {len(plan.campaigns)} generated campaigns "
        f"(herald_dev.soak.campaigns, seed {config.seed}) from {len(accounts)} X accounts: "
        f"{replies} thread replies, {images} deliveries with images, most posts due at the "
        "same few minutes. The campaign files were loaded with `herald.plan.load_plan_strict` "
        "and compiled as `sam build` does; each worker runs what the function runs: the "
        "compiled plan, the engine, the DynamoDB ledger on the SDK's default client, the X "
        "channel (tweepy) over HTTP on 127.0.0.1.",
        "",
        f"Each minute, {config.workers} worker processes tick at once on the same ledger. "
        f"X is the fake X API (OAuth checked; `refuse_duplicates` "
        f"{'on, as X' if config.x_refuses_duplicates else 'off'}; posts listed as X lists "
        f"them: {'yes' if config.render_like_x else 'no'}), its timeline "
        f"{config.timeline_lag:.0f} simulated seconds behind its writes. DynamoDB is "
        "DynamoDB Local behind a proxy that throttles requests (400 "
        "ProvisionedThroughputExceededException, not forwarded) or loses their answers "
        "(forwarded, applied, connection closed). In minutes when some delivery's window is "
        f"open, each worker's tick is doomed with probability {config.kill_rate:.0%}: SIGKILL "
        f"a uniform 0-{config.kill_window * 1000:.0f} ms into it, or into its next tick in "
        "such a minute if it answered first; a warm spare takes its place. The X channel's "
        "read timeout is "
        f"{config.read_timeout:g} s and a hang lasts {config.hang_seconds:g} s; botocore's "
        f"retry sleeps are scaled by {config.backoff_scale:g}.",
        "",
        "The seed fixes the campaigns and the sequence of random draws; which request meets "
        "which draw depends on how the workers' requests interleave, so two runs with one seed "
        "differ in detail. While X refuses a text its account already posted, a second copy "
        "cannot reach the fake X: a re-send it refused is counted as such, a target of its "
        "own. `--x-allows-duplicates` turns the refusal off, so that a re-send of a post "
        "that was already there shows as a duplicate.",
        "",
    ]


def _outcomes(findings: Findings) -> list[str]:
    rows = sorted(findings.outcomes.items(), key=lambda item: (-item[1], item[0]))
    return [
        "## Outcomes",
        "",
        "Final ledger state of every delivery, and whether its post is on the fake X.",
        "",
        "| final state | deliveries |",
        "| --- | ---: |",
        *(f"| {name} | {count:,} |" for name, count in rows),
        f"| **all judged** | **{findings.deliveries:,}** |",
        *(
            [f"| not judged: still in their window at the end | {findings.unjudged:,} |"]
            if findings.unjudged
            else []
        ),
        "",
    ]


def _lateness(findings: Findings) -> list[str]:
    values = findings.lateness
    cells = (
        " | ".join(f"{percentile(values, q):.1f} s" for q in (0.5, 0.9, 0.99))
        + f" | {max(values, default=0.0):.1f} s"
    )
    return [
        "## Lateness",
        "",
        "Of the deliveries published within their window: the post's creation time on X "
        "minus its due time, in simulated seconds.",
        "",
        "| p50 | p90 | p99 | max |",
        "| ---: | ---: | ---: | ---: |",
        f"| {cells} |",
        "",
    ]


def _faults(run: SoakRun) -> list[str]:
    stats = run.stats
    x_total = sum(run.x_requests.values())
    ddb_total = sum(run.dynamodb_requests.values())
    rows = [(f"X: {k}", v) for k, v in sorted(run.x_faults.items())]
    rows += [(f"DynamoDB: {k}", v) for k, v in sorted(run.dynamodb_faults.items())]
    rows += [
        ("workers: killed with SIGKILL mid-tick", stats.fates["killed"]),
        ("workers: killed at the 60 s timeout", stats.fates["timed_out"]),
        ("workers: died by themselves", stats.fates["died"]),
    ]
    return [
        "## Faults injected",
        "",
        f"Requests: {x_total:,} to X, {ddb_total:,} to DynamoDB. A 429 burst is one drawn "
        "fault; `rate_limit_burst` counts the 429s that followed it until its reset.",
        "",
        "| fault | count |",
        "| --- | ---: |",
        *(f"| {name} | {count:,} |" for name, count in rows),
        "",
    ]


def _events(run: SoakRun) -> list[str]:
    stats = run.stats
    rows = sorted(stats.events.items())
    errors = ", ".join(f"{k} × {v}" for k, v in stats.tick_errors.most_common()) or "none"
    return [
        "## Engine events",
        "",
        f"Summed over the {stats.ticks:,} ticks that answered; `Unknown` counts both the "
        "outcomes a tick met and the hourly audit's reminders of those still open. Ticks that "
        f"raised: {errors}. Ticks out of time: {stats.out_of_time}.",
        "",
        "| event | count |",
        "| --- | ---: |",
        *(f"| {name} | {count:,} |" for name, count in rows),
        "",
    ]


def _time(run: SoakRun) -> list[str]:
    rounds = run.stats.round_seconds
    spent = ", ".join(
        f"{label} {percentile(rounds, q) * 1000:,.0f} ms"
        for label, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))
    )
    return [
        "## Simulated time",
        "",
        "Each tick's `now` is its simulated minute, as the function's `now` is the schedule's "
        "time; so every rule the engine states in time (leases, read-backs a minute apart, "
        "max_lateness, rate-limit resets) runs on simulated time. The fake X stamps posts, "
        "and a 429's `x-rate-limit-reset`, with the same clock: the minute being ticked plus "
        "the wall time since its ticks began (never reaching the next minute), so a reset is "
        "simulated epoch seconds that the engine compares with its `now`, and the timeline's "
        "lag is simulated seconds. Time-outs and botocore's retries run in wall time.",
        "",
        f"Wall time per simulated minute (every worker's tick of it): {spent}.",
        "",
    ]


def _missed(findings: Findings) -> list[str]:
    if not findings.missed:
        return []
    shown = findings.missed[:MISSED_SHOWN]
    more = len(findings.missed) - len(shown)
    return [
        "## Not published within the window",
        "",
        *(f"- {line}" for line in shown),
        *([f"- … and {more} more"] if more else []),
        "",
    ]
