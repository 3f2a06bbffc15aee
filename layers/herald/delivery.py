"""The words every layer shares: a delivery, its key, its media, and a plan of deliveries.

A *delivery* is one part of a post (the post itself, or one reply of its thread) for one
channel and one account. A *plan* is every delivery in due order. The campaign model, the
plans (herald.plan, herald.compiled_plan), the ledger, the channels and the engine all
import these types from here, so none of them depends on another for its vocabulary.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Protocol


class DeliveryKey(NamedTuple):
    """One delivery: a post part of a campaign, on one channel, from one account."""

    campaign: str
    post: str
    channel: str
    account: str

    def __str__(self) -> str:
        return f"{self.campaign}/{self.post} [{self.channel}:{self.account}]"


def thread_root(key: DeliveryKey) -> DeliveryKey:
    """The delivery of the first post of the thread `key` is part of (`key` itself for a
    post): a thread part's id is `<post>.<n>`, and post ids hold no dot."""
    return key._replace(post=key.post.partition(".")[0])


@dataclass(frozen=True)
class MediaItem:
    """An image to publish with a delivery, and its alt text. `folder` is the campaign's
    folder: the file is published only if it is under it (herald.media.read_media)."""

    path: Path
    alt: str
    folder: Path | None = None


class Delivery(Protocol):
    """One delivery as the engine sees it, whichever plan it came from."""

    @property
    def key(self) -> DeliveryKey: ...
    @property
    def at(self) -> datetime: ...
    @property
    def deadline(self) -> datetime: ...
    @property
    def parent_key(self) -> DeliveryKey | None: ...
    def render(self) -> str: ...
    def media(self) -> list[MediaItem]: ...


def due_between(times: Sequence[datetime], start: datetime, end: datetime) -> slice:
    """The positions, in a plan's sorted due times, of the deliveries due in (start, end]:
    a binary search, O(log n)."""
    return slice(bisect_right(times, start), bisect_right(times, end))


class Plan(Protocol):
    """Every delivery in due order; what the engine asks of a plan."""

    def between(self, start: datetime, end: datetime) -> Sequence[Delivery]:
        """Deliveries due in (start, end], in due order."""
        ...
