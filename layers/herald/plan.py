"""The plan: every delivery of every loaded campaign, sorted by due time.

One entry per (campaign, post part, channel, account); `between(start, end)` is a binary
search, O(log n + k). The CLI, the simulator and `herald compile` use it; the function
starts from the index `herald compile` writes (herald.compiled_plan) and falls back to this.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from herald.campaign import Account, Campaign, Part, Post, load_campaigns
from herald.delivery import DeliveryKey, MediaItem, due_between
from herald.problems import InputError, Problem


@dataclass(frozen=True)
class LoadedDelivery:
    key: DeliveryKey
    at: datetime  # UTC; when it is due
    campaign: Campaign
    post: Post
    part: Part
    reply_to: str | None  # the id of the part this one replies to (same channel, account)
    # On a channel without threads (a Facebook Page), the post's parts published together
    # as this one delivery: `part` then carries every part's images.
    joined: tuple[Part, ...] = ()

    @property
    def deadline(self) -> datetime:
        """The latest moment it may still be published."""
        return self.at + self.campaign.max_lateness

    @property
    def account(self) -> Account:
        return self.campaign.accounts[self.key.channel][self.key.account]

    @property
    def parent_key(self) -> DeliveryKey | None:
        if self.reply_to is None:
            return None
        return self.key._replace(post=self.reply_to)

    @property
    def thread_position(self) -> tuple[int, int]:
        if self.joined:
            return 1, 1
        return self.part.number, len(self.post.parts)

    def media(self) -> list[MediaItem]:
        """The part's images, each bound to the campaign's folder: a channel reads a file
        only if it is under it."""
        folder = self.campaign.path.parent
        return [MediaItem(m.path, m.alt, folder) for m in self.part.media]

    def render(self) -> str:
        """The text published: on a channel without threads, the parts joined by a blank
        line, unless the post overrides its text on that channel (which replaces it all)."""
        from herald.render import RenderError, render

        channel = self.key.channel
        if not self.joined or channel in self.part.overrides:
            return render(self.campaign, self.post, self.part, channel)
        texts = []
        for part in self.joined:
            try:
                texts.append(render(self.campaign, self.post, part, channel))
            except RenderError as error:
                if part.number == 1:
                    raise
                raise RenderError(f"its thread part {part.id}: {error}") from None
        return "\n\n".join(text for text in texts if text)


def deliveries(campaign: Campaign) -> Iterator[LoadedDelivery]:
    """A campaign's deliveries in file order: for each post, each channel and account, its
    parts in thread order; on a channel without threads, one delivery for the whole post."""
    from herald.channels.rules import rules_for

    for post in campaign.posts:
        for channel in post.channels:
            threads = rules_for(channel).threads
            for account in campaign.accounts.get(channel, {}):
                if not threads and len(post.parts) > 1:
                    yield _joined(campaign, post, channel, account)
                    continue
                previous: str | None = None
                for part in post.parts:
                    key = DeliveryKey(campaign.id, part.id, channel, account)
                    yield LoadedDelivery(key, post.at, campaign, post, part, previous)
                    previous = part.id


def _joined(campaign: Campaign, post: Post, channel: str, account: str) -> LoadedDelivery:
    """A post and its thread as one delivery: the first part, carrying every part's images."""
    first = post.parts[0]
    every_image = tuple(media for part in post.parts for media in part.media)
    part = replace(first, media=every_image)
    key = DeliveryKey(campaign.id, first.id, channel, account)
    return LoadedDelivery(key, post.at, campaign, post, part, None, joined=post.parts)


def due_order(delivery: LoadedDelivery) -> tuple[datetime, str, str, str, str, int]:
    """Due time, then campaign, channel and account, then post and part number: a thread's
    parts stay in order (part 10 after part 9, not after part 1)."""
    key = delivery.key
    return (
        delivery.at,
        key.campaign,
        key.channel,
        key.account,
        delivery.post.id,
        delivery.part.number,
    )


class LoadedPlan:
    """All deliveries in due order, with lookup by time window and by key."""

    def __init__(self, campaigns: Iterable[Campaign]) -> None:
        self.campaigns = {c.id: c for c in campaigns}
        items = [d for c in self.campaigns.values() for d in deliveries(c)]
        items.sort(key=due_order)
        self.deliveries: Sequence[LoadedDelivery] = tuple(items)
        self._times = [d.at for d in self.deliveries]
        self._by_key = {d.key: d for d in self.deliveries}
        lateness = [c.max_lateness for c in self.campaigns.values()]
        self.max_lateness = max(lateness, default=timedelta(0))

    def __len__(self) -> int:
        return len(self.deliveries)

    def between(self, start: datetime, end: datetime) -> Sequence[LoadedDelivery]:
        """Deliveries due in (start, end], in due order."""
        return self.deliveries[due_between(self._times, start, end)]

    def any_between(self, start: datetime, end: datetime) -> bool:
        window = due_between(self._times, start, end)
        return window.start < window.stop

    def next_after(self, moment: datetime) -> LoadedDelivery | None:
        index = bisect_right(self._times, moment)
        return self.deliveries[index] if index < len(self.deliveries) else None

    def get(self, key: DeliveryKey) -> LoadedDelivery | None:
        return self._by_key.get(key)


def load_plan(paths: Sequence[Path]) -> tuple[LoadedPlan, list[Problem]]:
    """Load every campaign under `paths` into a plan. Broken campaigns are left out and
    their problems returned: one bad file never stops the others from publishing."""
    results = load_campaigns(paths)
    problems = [p for r in results for p in r.problems]
    plan = LoadedPlan(r.campaign for r in results if r.campaign is not None)
    return plan, problems


def load_plan_strict(paths: Sequence[Path]) -> LoadedPlan:
    plan, problems = load_plan(paths)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise InputError(errors)
    return plan
