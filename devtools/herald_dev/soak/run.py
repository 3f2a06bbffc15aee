"""The soak itself: services up, a month of minutes ticked by racing workers, faults on.

`run(config)` writes the generated campaigns, loads them with herald's loader and compiles
them (as `sam build` does), starts DynamoDB Local (unless given one), a fault proxy in front
of it, and the fake X on a simulated clock, then ticks every minute of the span with
`config.workers` worker processes at once, killing some at random. It returns what the
ledger and the fake X hold at the end, for herald_dev.soak.report.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from herald_dev.soak.clock import SimClock
from herald_dev.soak.pool import Answer, WorkerPool

if TYPE_CHECKING:
    from herald.delivery import DeliveryKey
    from herald.ledger import Record
    from herald.plan import LoadedPlan
    from herald_dev.fake_x import FakeX, PublishedPost
    from herald_dev.soak.dynamodb_proxy import DynamoDBProxy

ROUND_TIMEOUT = 65.0  # seconds: the function's 60 s timeout, and a little for the pipes
SETTLE = timedelta(minutes=30)  # ticks after the last deadline (leases, read-backs, audit)


@dataclass(frozen=True)
class SoakConfig:
    days: int = 31
    start: date = date(2027, 3, 1)  # a March: the clocks go forward on the 28th
    seed: int = 1
    fault_rate: float = 0.05  # per request, to X and to DynamoDB
    workers: int = 3  # ticks racing each minute
    kill_rate: float = 0.01  # per worker tick, in minutes when some delivery's window is open
    kill_window: float = 0.3  # wall seconds: a kill lands uniformly this soon into a tick
    timeline_lag: float = 20.0  # simulated seconds before a post shows on the timeline
    read_timeout: float = 1.0  # the X channel's; a hang outlasts it
    hang_seconds: float = 1.5
    burst_seconds: tuple[float, float] = (30.0, 180.0)  # how long a 429 burst lasts
    backoff_scale: float = 0.05  # botocore's retry sleeps, scaled
    x_refuses_duplicates: bool = True
    render_like_x: bool = True
    max_seconds: float = 14400.0  # wall seconds; the soak stops by itself after them
    dynamodb_endpoint: str | None = None  # a running DynamoDB Local to use (tests)


@dataclass
class RunStats:
    """What the rounds of ticks did."""

    minutes: int = 0
    span: int = 0  # minutes the soak meant to tick
    ticks: int = 0
    tick_errors: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    fates: Counter[str] = field(default_factory=Counter)  # killed, timed_out, died
    kills_drawn: int = 0
    out_of_time: int = 0
    wall_seconds: float = 0.0
    load_before: float = 0.0  # the machine's 1-minute load average
    load_after: float = 0.0
    round_seconds: list[float] = field(default_factory=list)  # wall time of each minute
    last_minute: datetime | None = None  # the last minute ticked
    interrupted: bool = False  # stopped from outside before the end

    @property
    def complete(self) -> bool:
        return self.minutes == self.span

    def record(self, answers: list[Answer], seconds: float) -> None:
        self.minutes += 1
        self.round_seconds.append(seconds)
        for answer in answers:
            if answer.fate != "answered":
                self.fates[answer.fate] += 1
                continue
            reply = answer.reply or {}
            self.ticks += 1
            if "error" in reply:
                self.tick_errors[str(reply["error"]).split(":")[0]] += 1
            self.events.update(reply.get("counts") or {})
            self.out_of_time += bool(reply.get("out_of_time"))


@dataclass
class SoakRun:
    """Everything the report needs, read after the last tick."""

    config: SoakConfig
    plan: LoadedPlan
    texts: dict[DeliveryKey, str]  # each delivery's text, rendered
    records: dict[DeliveryKey, Record]  # the ledger at the end
    posts: list[PublishedPost]  # what the fake X holds at the end
    duplicate_refusals: int
    x_faults: dict[str, int]
    x_requests: dict[str, int]
    dynamodb_faults: dict[str, int]
    dynamodb_requests: dict[str, int]
    stats: RunStats
    commit: str = "an unknown commit"  # the sources that ran


def run(config: SoakConfig, echo: Callable[[str], None] = print) -> SoakRun:
    from herald.compiled_plan import write_index
    from herald.plan import load_plan_strict
    from herald_dev.soak.campaigns import write_month

    began = time.monotonic()
    load_before = os.getloadavg()[0]
    commit = source_commit()
    with tempfile.TemporaryDirectory(prefix="herald-soak-") as name:
        work = Path(name)
        folder = work / "campaigns"
        write_month(folder, config.start, config.days, config.seed)
        plan = load_plan_strict([folder])
        write_index(folder, plan)  # what `sam build` runs: the function loads this index
        texts = {d.key: d.render() for d in plan.deliveries}
        echo(
            f"soak: {len(plan)} deliveries in {len(plan.campaigns)} campaigns, {config.days} day(s)"
        )
        with _services(config, plan) as services:
            stats = _tick_all(config, plan, services, work, echo, began)
            result = _collect(config, plan, texts, services, stats)
    stats.wall_seconds = time.monotonic() - began
    stats.load_before, stats.load_after = load_before, os.getloadavg()[0]
    result.commit = commit
    return result


@dataclass
class _Services:
    endpoint: str
    table: str
    fake: FakeX
    proxy: DynamoDBProxy
    clock: SimClock
    secret: dict[str, Any]
    x_faults: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def _services(config: SoakConfig, plan: LoadedPlan) -> Iterator[_Services]:
    from herald.ledger.table import create_table, table_definition_from_template
    from herald_dev import dynamodb_local
    from herald_dev.fake_x import FakeX
    from herald_dev.soak.dynamodb_proxy import DynamoDBProxy

    first = plan.deliveries[0].at - timedelta(minutes=1)
    clock = SimClock(first)
    secret = {"x": {a: _oauth_keys() for a in _accounts(plan)}}
    with contextlib.ExitStack() as stack:
        endpoint = config.dynamodb_endpoint
        if endpoint is None:
            endpoint = stack.enter_context(dynamodb_local.running()).endpoint
        table = f"herald-soak-{uuid.uuid4().hex[:10]}"
        client = dynamodb_local.make_client(endpoint)
        create_table(client, table, table_definition_from_template(dynamodb_local.TEMPLATE))
        stack.callback(_delete_table, client, table)
        fake = stack.enter_context(
            FakeX(secret, accounts=_accounts(plan), clock=clock, render_like_x=config.render_like_x)
        )
        fake.refuse_duplicates = config.x_refuses_duplicates
        fake.set_timeline_lag(config.timeline_lag)
        proxy = stack.enter_context(DynamoDBProxy(endpoint, seed=config.seed + 2))
        yield _Services(endpoint, table, fake, proxy, clock, secret)


def _accounts(plan: LoadedPlan) -> dict[str, dict[str, str]]:
    return {
        account.id: {"handle": account.handle}
        for campaign in plan.campaigns.values()
        for account in campaign.accounts.get("x", {}).values()
    }


def _oauth_keys() -> dict[str, str]:
    names = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    return {name: secrets.token_hex(12) for name in names}


def _delete_table(client: Any, table: str) -> None:
    with contextlib.suppress(Exception):
        client.delete_table(TableName=table)


def _tick_all(
    config: SoakConfig,
    plan: LoadedPlan,
    services: _Services,
    work: Path,
    echo: Callable[[str], None],
    began: float,
) -> RunStats:
    minutes = _span(plan)
    active = _open_windows(plan)
    stats = RunStats(span=len(minutes))
    pool = WorkerPool(
        _worker_command(config, services, work),
        _worker_env(config, services),
        work,
        size=config.workers,
    )
    try:
        echo(
            f"soak: {config.workers} workers ready after {time.monotonic() - began:.0f} s; "
            f"ticking {len(minutes)} minutes"
        )
        _faults_on(config, services)
        _rounds(config, pool, services.clock, minutes, active, stats, echo, began)
    finally:
        services.x_faults = _faults_off(services)
        pool.close()
    return stats


def _rounds(
    config: SoakConfig,
    pool: WorkerPool,
    clock: SimClock,
    minutes: list[datetime],
    active: set[datetime],
    stats: RunStats,
    echo: Callable[[str], None],
    began: float,
) -> None:
    """Tick every minute. In a minute when some delivery's window is open, each worker's
    tick is doomed with probability `kill_rate`: SIGKILL a uniform 0-`kill_window` seconds
    into it. A doomed worker that answers first stays doomed for its next open minute, so
    every kill drawn lands in a tick that was doing something."""
    rng = random.Random(config.seed + 3)
    doomed: dict[int, float] = {}
    try:
        for minute in minutes:
            if time.monotonic() - began > config.max_seconds:
                echo(f"soak: out of time (--max-seconds {config.max_seconds:.0f}) at {minute}")
                return
            _round(config, pool, clock, minute, minute in active, rng, doomed, stats)
            if minute.hour % 6 == 0 and minute.minute == 0:
                echo(_progress(minute, stats, began))
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see __main__): report what ran so far
        stats.interrupted = True
        echo("soak: interrupted; reporting the minutes ticked so far")


def _round(
    config: SoakConfig,
    pool: WorkerPool,
    clock: SimClock,
    minute: datetime,
    window_open: bool,
    rng: random.Random,
    doomed: dict[int, float],
    stats: RunStats,
) -> None:
    from herald.timeutil import format_utc

    clock.set(minute)
    kills = {}
    if window_open:
        for slot in range(config.workers):
            if slot not in doomed and rng.random() < config.kill_rate:
                doomed[slot] = rng.uniform(0.0, config.kill_window)
                stats.kills_drawn += 1
        kills = dict(doomed)
    started = time.monotonic()
    answers = pool.round(format_utc(minute), kills, ROUND_TIMEOUT)
    stats.record(answers, time.monotonic() - started)
    stats.last_minute = minute
    for answer in answers:
        if answer.fate != "answered":
            doomed.pop(answer.slot, None)


def _progress(minute: datetime, stats: RunStats, began: float) -> str:
    events = stats.events
    return (
        f"soak: {minute:%Y-%m-%d %H:%MZ} ({time.monotonic() - began:.0f} s): "
        f"published {events['Published']}, reconciled {events['Reconciled']}, "
        f"unknown {events['Unknown']}, skipped late {events['SkippedLate']}, "
        f"workers killed {stats.fates['killed']}"
    )


def _span(plan: LoadedPlan) -> list[datetime]:
    first = plan.deliveries[0].at - timedelta(minutes=1)
    last = max(d.deadline for d in plan.deliveries) + SETTLE
    count = int((last - first).total_seconds() // 60) + 1
    return [first + timedelta(minutes=n) for n in range(count)]


def _open_windows(plan: LoadedPlan) -> set[datetime]:
    """Every minute in which some delivery is due or still inside its max_lateness."""
    minutes: set[datetime] = set()
    for delivery in plan.deliveries:
        moment = delivery.at
        while moment <= delivery.deadline:
            minutes.add(moment)
            moment += timedelta(minutes=1)
    return minutes


def _faults_on(config: SoakConfig, services: _Services) -> None:
    services.fake.set_random_faults(
        config.fault_rate,
        seed=config.seed + 1,
        hang_seconds=config.hang_seconds,
        burst_seconds=config.burst_seconds,
    )
    services.proxy.set_rate(config.fault_rate)


def _faults_off(services: _Services) -> dict[str, int]:
    """Stop the random faults; those X had injected, by kind."""
    services.proxy.set_rate(0.0)
    injected: dict[str, int] = services.fake.random_fault_counts
    services.fake.set_random_faults(0.0)
    return injected


def _worker_command(config: SoakConfig, services: _Services, work: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "herald_dev.soak.worker",
        "--campaigns",
        str(work / "campaigns"),
        "--table",
        services.table,
        "--x-url",
        services.fake.url,
        "--read-timeout",
        str(config.read_timeout),
    ]


def _worker_env(config: SoakConfig, services: _Services) -> dict[str, str]:
    """The AWS sandbox (herald_dev.aws_env), the ledger behind the fault proxy, the secret."""
    from herald_dev.aws_env import sandboxed
    from herald_dev.soak.worker import BACKOFF_VARIABLE, SECRET_VARIABLE

    inherited = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    return sandboxed(
        inherited,
        **{
            SECRET_VARIABLE: json.dumps(services.secret),
            BACKOFF_VARIABLE: str(config.backoff_scale),
            "AWS_ENDPOINT_URL_DYNAMODB": services.proxy.url,
        },
    )


def _collect(
    config: SoakConfig,
    plan: LoadedPlan,
    texts: dict[DeliveryKey, str],
    services: _Services,
    stats: RunStats,
) -> SoakRun:
    from herald.ledger.dynamodb import DynamoLedger
    from herald_dev.dynamodb_local import make_client
    from herald_dev.fake_x import TWEETS

    ledger = DynamoLedger(services.table, client=make_client(services.endpoint))
    records = ledger.get_many([d.key for d in plan.deliveries])
    fake = services.fake
    refusals = sum(
        1 for r in fake.requests if r.endpoint == TWEETS and r.status == 403 and r.fault is None
    )
    return SoakRun(
        config=config,
        plan=plan,
        texts=texts,
        records=records,
        posts=fake.posts,
        duplicate_refusals=refusals,
        x_faults=services.x_faults,
        x_requests=fake.counts,
        dynamodb_faults=dict(services.proxy.faults),
        dynamodb_requests=dict(services.proxy.counts),
        stats=stats,
    )


def source_commit() -> str:
    """The repository's commit, and whether herald's or the soak's sources differ from it."""
    from herald_dev.dynamodb_local import REPO_ROOT

    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "layers", "devtools"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "an unknown commit"
    return f"`{done.stdout.strip()}`" + (" with uncommitted changes" if dirty.stdout else "")
