"""The simulator: the real engine, tick by tick on a virtual clock, on the embedded
defaults (SQLite ledger, outbox channel). Nothing leaves the machine."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from herald.channels import Channel, Reply
from herald.delivery import DeliveryKey
from herald.engine import Engine, Event, Observer, Result, Summary
from herald.ledger import Ledger
from herald.plan import LoadedPlan
from herald.timeutil import parse_utc


class MomentError(ValueError):
    """A --from/--to value herald cannot read; its message says what to write."""


_LOCAL = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})(?:[ T](?P<time>\d{1,2}:\d{2}(?::\d{2})?))?$")
_UK_LOCAL = re.compile(r"^(?P<day>\d{1,2}/\d{1,2}/\d{2,4})(?:[ T](?P<time>\d{1,2}:\d{2}))?$")
_ZONED = re.compile(r"(?:[zZ]|[+-]\d{2}:?\d{2})$")


def plan_zone(plan: LoadedPlan) -> ZoneInfo | None:
    """The campaigns' time zone when they share one, else None."""
    zones = {c.timezone.key: c.timezone for c in plan.campaigns.values()}
    return next(iter(zones.values())) if len(zones) == 1 else None


def shown(moment: datetime, plan: LoadedPlan) -> str:
    """`2021-02-09 08:00 GMT (08:00Z)`: local to the campaigns' zone, and in UTC."""
    zone = plan_zone(plan)
    utc = moment.astimezone(UTC)
    if zone is None:
        return f"{utc:%Y-%m-%d %H:%MZ}"
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M %Z} ({utc:%H:%MZ})"


def read_moment(text: str, zone: ZoneInfo | None, *, end_of_day: bool = False) -> datetime:
    """A moment written as a person would: UTC ISO 8601 (`2026-12-07T08:00Z`, or with an
    offset), or local to `zone`: a day (`2026-12-07`, `07/12/2026`: its first minute, or its
    last with `end_of_day`) or a day and time (`2026-12-07 08:00`)."""
    value = text.strip()
    where = f"in {zone.key}" if zone is not None else "local"
    advice = (
        f"write a day, 2026-12-07, or a day and time, 2026-12-07 08:00 (both {where}),"
        " or a UTC time, 2026-12-07T08:00Z"
    )
    if _ZONED.search(value):
        moment = _zoned(value.replace("z", "Z"))
        if moment is None:
            raise MomentError(f"not a time herald can read: {advice}")
        return moment
    local = _LOCAL.match(value) or _UK_LOCAL.match(value)
    if local is None:
        raise MomentError(f"not a time herald can read: {advice}")
    if zone is None:
        raise MomentError(
            "the campaigns are in several time zones, so a local time is not one moment:"
            " write it in UTC, like 2026-12-07T08:00Z"
        )
    try:
        day = _day(local["day"])
    except ValueError as error:
        raise MomentError(str(error)) from None
    if local["time"]:
        try:
            clock = time.fromisoformat(local["time"].zfill(5))
        except ValueError:
            raise MomentError(f"not a time of day: {advice}") from None
        return datetime.combine(day, clock, zone).astimezone(UTC)
    if end_of_day:
        midnight = datetime.combine(day + timedelta(days=1), time(0), zone)
        return (midnight - timedelta(minutes=1)).astimezone(UTC)
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _zoned(value: str) -> datetime | None:
    """`2026-12-07T08:00Z`, `2026-12-07 08:00+01:00`, or a day alone in UTC, `2026-12-07Z`."""
    try:
        if re.match(r"^\d{4}-\d{2}-\d{2}Z$", value):
            return datetime.combine(date.fromisoformat(value[:-1]), time(0), UTC)
        return parse_utc(value)
    except ValueError:
        return None


def _day(text: str) -> date:
    """A day written ISO (2026-12-07) or as a UK reader writes it (07/12/2026)."""
    if "/" not in text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError("not a day of the calendar") from None
    from herald.release import read_date

    iso = read_date(text)  # day first; ValueError (saying why) if written month first
    if iso is None:
        raise ValueError("not a day of the calendar")
    return date.fromisoformat(iso)


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
