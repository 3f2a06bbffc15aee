"""The simulator: the real engine, tick by tick on a virtual clock, on the embedded
defaults (SQLite ledger, outbox channel). Nothing leaves the machine."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from herald.channels import Channel, Reply
from herald.delivery import DeliveryKey
from herald.engine import Engine, Event, Observer, Result, Summary
from herald.ledger import Ledger
from herald.plan import LoadedPlan


def minutes(start: datetime, end: datetime) -> Iterator[datetime]:
    """Every minute from `start` (floored) to `end`, inclusive."""
    moment = start.replace(second=0, microsecond=0)
    while moment <= end:
        yield moment
        moment += timedelta(minutes=1)


@dataclass
class Timeline:
    """Collects what the simulated ticks did, for printing and for tests."""

    results: list[Result] = field(default_factory=list)
    echo: Callable[[str], None] | None = None
    # Accounts publish in parallel: one line at a time, never two run together.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def outcome(self, result: Result) -> None:
        if result.event is Event.DEFERRED:
            return
        with self._lock:
            self.results.append(result)
            if self.echo is not None:
                self.echo(describe(result))


def describe(result: Result) -> str:
    key = result.key
    late = result.lateness
    lateness = f" (+{late:.0f}s)" if late > 0 else ""
    detail = result.detail or result.url or ""
    return (
        f"{result.at:%Y-%m-%d %H:%M:%SZ}  {result.event.value:<13} {key.campaign}/{key.post}"
        f"  {key.channel}:{key.account}{lateness}  {detail}".rstrip()
    )


def run(
    plan: LoadedPlan,
    ledger: Ledger,
    channels: dict[str, Channel],
    start: datetime,
    end: datetime,
    observer: Observer | None = None,
    jitter: Callable[[], float] | None = None,
    clock: VirtualClock | None = None,
) -> list[Summary]:
    """Tick every minute from `start` to `end`. `jitter` gives the seconds after the minute
    at which each tick runs (a real schedule fires late by up to a minute); `clock` is set
    to each tick's time, for channels that stamp what they publish."""
    engine = Engine(plan, ledger, channels, observer)
    summaries = []
    for minute in minutes(start, end):
        now = minute + timedelta(seconds=jitter()) if jitter is not None else minute
        if clock is not None:
            clock.now = now
        summaries.append(engine.tick(now))
    return summaries


@dataclass
class VirtualClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


class FaultyChannel:
    """Wraps a local channel so that chosen texts meet a fault (for rehearsing failures)."""

    def __init__(self, inner: Any, faults: dict[str, str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.settlement = inner.settlement
        self.create_seconds = inner.create_seconds
        self.faults = dict(faults)  # rendered text -> fault kind, used once

    def new_key(self, key: DeliveryKey) -> str | None:
        return self.inner.new_key(key)

    def publish(self, account: str, text: str, reply_to: Reply | None, *rest: Any) -> Any:
        kind = self.faults.pop(text, None)
        if kind is not None:
            self.inner.fail_next(kind)
        return self.inner.publish(account, text, reply_to, *rest)

    def find_recent(self, account: str, text: str, since: datetime, **options: Any) -> Any:
        return self.inner.find_recent(account, text, since, **options)


def uniform_jitter(seed: int = 0, high: float = 59.0) -> Callable[[], float]:
    rng = random.Random(seed)
    return lambda: rng.uniform(0.0, high)
