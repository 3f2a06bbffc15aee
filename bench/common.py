"""What every benchmark shares: the result shape, counting proxies, generated campaigns."""

from __future__ import annotations

import socket
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from herald.channels import (
    READ_BACK_THEN_RESEND,
    CreateCall,
    Outcome,
    OutcomeKind,
    Reply,
    not_created,
    why_not,
)
from herald.delivery import DeliveryKey, MediaItem

REPO_ROOT = Path(__file__).resolve().parent.parent
CAMPAIGNS = REPO_ROOT / "campaigns"
COMMAND = ".venv/bin/python -m bench.run"


@dataclass
class Row:
    """One measured figure, with its target and whether it was met (None: no target)."""

    metric: str
    measured: str
    target: str = ""
    met: bool | None = None


@dataclass
class Section:
    """One benchmark's outcome, as docs/performance.md shows it."""

    name: str
    title: str
    measures: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def command(self) -> str:
        return f"{COMMAND} --only {self.name}"

    def add(self, metric: str, measured: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(metric, measured, target, met))

    @property
    def misses(self) -> list[Row]:
        return [r for r in self.rows if r.met is False]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (fraction in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


class CountingProxy:
    """Wraps a ledger or channel and counts every method called on it, by name."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return value(*args, **kwargs)

        return counted

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@contextmanager
def counting_connects() -> Iterator[Counter[str]]:
    """Counts socket connections and DNS lookups made inside the block."""
    counts: Counter[str] = Counter()
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    getaddrinfo = socket.getaddrinfo

    def counted_connect(self: socket.socket, address: Any) -> None:
        counts["connect"] += 1
        connect(self, address)

    def counted_connect_ex(self: socket.socket, address: Any) -> int:
        counts["connect"] += 1
        return connect_ex(self, address)

    def counted_getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        counts["getaddrinfo"] += 1
        return getaddrinfo(*args, **kwargs)

    # Counting means replacing socket methods on the class (method-assign), with wrappers
    # typed looser than the C methods' overloads (assignment).
    socket.socket.connect = counted_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = counted_connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = counted_getaddrinfo
    try:
        yield counts
    finally:
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo


class MemoryChannel:
    """A trivial in-process channel: every publication is SENT and counted."""

    name = "x"
    settlement = READ_BACK_THEN_RESEND
    create_seconds = 1.0

    def __init__(self) -> None:
        self.published: list[tuple[str, str, str | None]] = []
        self._ids = iter(range(1, 10**12))

    def new_key(self, key: DeliveryKey) -> str | None:
        return None

    def publish(
        self, account: str, text: str, reply_to: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        stop = why_not(call)
        if stop is not None:
            return not_created(stop)
        remote = str(next(self._ids))
        self.published.append((account, text, None if reply_to is None else reply_to.parent.id))
        return Outcome(OutcomeKind.SENT, remote_id=remote, url=f"https://x.test/{remote}")

    def find_recent(
        self, account: str, text: str, since: datetime, **options: Any
    ) -> Outcome | None:
        return None


def timed(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


# ---- generated campaigns -------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedPost:
    id: str
    at: datetime  # local wall-clock time (naive), in Europe/London
    thread: int = 0  # follow-up parts


def campaign_yaml(
    campaign: str, accounts: Sequence[str], posts: Sequence[GeneratedPost], max_lateness: str
) -> str:
    """A campaign file in herald's format: small texts, no release, no media."""
    lines = [
        f"campaign: {campaign}",
        f"title: Generated {campaign}",
        "timezone: Europe/London",
        f"max_lateness: {max_lateness}",
        "accounts:",
        "  x:",
        *(f"    {a}: {{handle: {a.replace('-', '')}}}" for a in accounts),
        "defaults:",
        "  channels: [x]",
        "variables:",
        '  tag: "#Bench"',
        "posts:",
    ]
    for post in posts:
        lines += [
            f"  - id: {post.id}",
            f"    at: {post.at:%Y-%m-%d %H:%M}",
            f'    text: "{campaign} {post.id} {{{{ tag }}}}"',
        ]
        if post.thread:
            lines.append("    thread:")
            lines += [f'      - "{post.id} part {n + 2}"' for n in range(post.thread)]
    return "\n".join(lines) + "\n"


def write_campaign(
    folder: Path,
    campaign: str,
    accounts: Sequence[str],
    posts: Sequence[GeneratedPost],
    max_lateness: str = "15m",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{campaign}.yaml"
    path.write_text(campaign_yaml(campaign, accounts, posts, max_lateness), encoding="utf-8")
    return path


SCALE_START = datetime(2027, 1, 4, 9, 0)  # local; a Monday, far from any DST change


def scale_posts(index: int, campaigns: int, posts: int) -> list[GeneratedPost]:
    """Campaign `index` of `campaigns` spread over a year: ten posts a day, 09:00-15:45 local,
    starting on its own day, so each day has a few campaigns running and nights are quiet."""
    first_day = index * 365 // max(campaigns, 1)
    return [
        GeneratedPost(
            f"p{n:03d}",
            SCALE_START + timedelta(days=first_day + n // 10, minutes=45 * (n % 10)),
        )
        for n in range(posts)
    ]


def write_scale_campaigns(folder: Path, campaigns: int, posts: int) -> list[Path]:
    return [
        write_campaign(
            folder, f"gen-{i:04d}", [f"acct-{i % 50:02d}"], scale_posts(i, campaigns, posts)
        )
        for i in range(campaigns)
    ]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
