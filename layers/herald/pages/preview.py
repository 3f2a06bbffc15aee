"""The preview page: the campaigns as a calendar, every post on its day at its local time as
it will appear on X (threads together, images inline), lengths against the limit, every
problem next to its post, and the X API cost."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from herald.channels.rules import account_label, rules_for, title
from herald.media import image_type
from herald.pages.common import anchor, linkify, network_links, render, write
from herald.problems import Problem
from herald.wording import day_label

if TYPE_CHECKING:
    from herald.plan import LoadedDelivery
    from herald.validate import Rendered
    from herald.validate import Report as ValidationReport


@dataclass(frozen=True)
class _Image:
    src: str | None  # a data: URI; None when the file cannot be read
    alt: str
    name: str


@dataclass(frozen=True)
class _ProblemGroup:
    """Problems with one message in one file, shown once with all their lines."""

    is_error: bool
    message: str
    file: str
    lines: list[int]

    @property
    def where(self) -> str:
        if len(self.lines) == 1:
            return f"{self.file}:{self.lines[0]}"
        return f"{self.file}, lines {', '.join(str(n) for n in self.lines)}"


@dataclass(frozen=True)
class _Tweet:
    anchor: str
    number: int
    total: int
    name: str
    handle: str
    text: str
    html: Markup
    images: list[_Image]
    weighted_length: int
    limit: int
    reply_to: str | None
    problems: list[_ProblemGroup]
    profile: str | None = None  # the account's profile address on its channel
    unit: str = "characters"  # what the length counts

    @property
    def over(self) -> int:
        return max(0, self.weighted_length - self.limit)

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.weighted_length / self.limit)) if self.limit else 100


@dataclass
class _Thread:
    anchor: str
    campaign: str
    campaign_title: str
    post: str
    at: datetime
    at_local: datetime
    channel: str
    handle: str
    tweets: list[_Tweet] = field(default_factory=list)

    @property
    def channel_title(self) -> str:
        return title(self.channel)


@dataclass
class _Day:
    day: date
    label: str
    threads: list[_Thread] = field(default_factory=list)


@dataclass
class _CampaignSummary:
    id: str
    title: str
    file: str
    timezone: str
    posts: int
    deliveries: int = 0


def _data_uri(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    mime = image_type(data[:32])
    if mime is None:
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _problem_places(delivery: LoadedDelivery) -> set[tuple[str, int]]:
    """Where in its file a problem about this delivery would point."""
    files = {delivery.campaign.name, str(delivery.campaign.path.resolve())}
    part = delivery.part
    lines = {part.line, *(m.line for m in part.media)}
    for spot, (start, exact) in part.spots.items():  # every line of its templates
        template = part.text if spot == "text" else part.overrides.get(spot, "")
        lines.update(range(start, start + (template.count("\n") + 1 if exact else 1)))
    if delivery.part.number == 1:
        lines.add(delivery.post.line)
    return {(f, line) for f in files for line in lines}


def _shown_file(name: str) -> str:
    """A path as a person reads it: relative to the working directory when inside it."""
    path = Path(name)
    if path.is_absolute():
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return name
    return name


def _grouped(problems: Iterable[Problem]) -> list[_ProblemGroup]:
    groups: dict[tuple[bool, str, str], list[int]] = {}
    for p in sorted(problems, key=lambda p: (not p.is_error, p.file, p.line, p.message)):
        groups.setdefault((p.is_error, p.message, p.file), []).append(p.line)
    return [
        _ProblemGroup(is_error, message, _shown_file(file), lines)
        for (is_error, message, file), lines in groups.items()
    ]


def _same_file(problem: Problem) -> str:
    try:
        return str(Path(problem.file).resolve())
    except OSError:
        return problem.file


class _Calendar:
    """The preview's days, threads and campaigns, filled one rendered delivery at a time."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.by_place: dict[tuple[str, int], list[Problem]] = {}
        for problem in problems:
            for file in {problem.file, _same_file(problem)}:
                self.by_place.setdefault((file, problem.line), []).append(problem)
        self.attached: set[Problem] = set()  # the problems shown next to a post
        self.images: dict[Path, str | None] = {}
        self.days: dict[date, _Day] = {}
        self.threads: dict[tuple[str, str, str, str], _Thread] = {}
        self.campaigns: dict[str, _CampaignSummary] = {}

    def add(self, item: Rendered) -> None:
        d = item.delivery
        self._thread(d).tweets.append(self._tweet(item))
        summary = self.campaigns.get(d.key.campaign)
        if summary is None:
            summary = _CampaignSummary(
                d.key.campaign,
                d.campaign.title,
                _shown_file(d.campaign.name),
                d.campaign.timezone.key,
                len(d.campaign.posts),
            )
            self.campaigns[d.key.campaign] = summary
        summary.deliveries += 1

    def in_order(self) -> list[_Day]:
        """The days in date order, each thread's parts in thread order."""
        for day in self.days.values():
            for thread in day.threads:
                thread.tweets.sort(key=lambda t: t.number)
        return sorted(self.days.values(), key=lambda d: d.day)

    def _thread(self, d: LoadedDelivery) -> _Thread:
        key = (d.key.campaign, d.post.id, d.key.channel, d.key.account)
        thread = self.threads.get(key)
        if thread is None:
            local = d.post.at_local
            day = self.days.setdefault(local.date(), _Day(local.date(), day_label(local.date())))
            thread = _Thread(
                anchor(*key),
                d.key.campaign,
                d.campaign.title,
                d.post.id,
                d.at,
                local,
                d.key.channel,
                d.account.handle,
            )
            self.threads[key] = thread
            day.threads.append(thread)
        return thread

    def _tweet(self, item: Rendered) -> _Tweet:
        d = item.delivery
        number, total = d.thread_position
        if d.key.channel == "bluesky":  # exactly the facets herald will send
            from herald.pages import bluesky

            html = bluesky.linkify(item.text)
        else:
            html = linkify(item.text, *network_links(d.key.channel, d.account))
        return _Tweet(
            anchor(*d.key),
            number,
            total,
            d.account.name or d.account.handle,
            account_label(d.key.channel, d.account.handle),
            item.text,
            html,
            self._images(d),
            item.weighted_length,
            item.limit,
            d.reply_to,
            _grouped(self._problems(d)),
            rules_for(d.key.channel).profile(d.account.handle, d.account.settings),
            item.unit,
        )

    def _problems(self, d: LoadedDelivery) -> list[Problem]:
        places = _problem_places(d)
        mine = list(dict.fromkeys(p for place in places for p in self.by_place.get(place, [])))
        self.attached.update(mine)
        return mine

    def _images(self, d: LoadedDelivery) -> list[_Image]:
        pictures = []
        for media in d.part.media:
            if media.path not in self.images:
                self.images[media.path] = _data_uri(media.path)
            pictures.append(_Image(self.images[media.path], media.alt, media.path.name))
        return pictures


def preview_html(report: ValidationReport, rendered: Sequence[Rendered]) -> str:
    """The preview page as a string (see `write_preview`)."""
    from herald.preview import cost, free_channels, ordered

    calendar = _Calendar(report.problems)
    for item in ordered(rendered):
        calendar.add(item)
    others = [p for p in report.problems if p not in calendar.attached]
    titles = [c.title for c in calendar.campaigns.values()]
    return render(
        "preview.html.j2",
        title=" and ".join(titles) if titles else "no campaign",
        campaigns=list(calendar.campaigns.values()),
        days=calendar.in_order(),
        deliveries=len(rendered),
        posts=len(calendar.threads),
        cost=". ".join(filter(None, [cost(rendered).describe(), free_channels(rendered)])),
        errors=len(report.errors),
        warnings=len(report.warnings),
        others=_grouped(others),
        unattached=len(others),
    )


def write_preview(path: Path, report: ValidationReport, rendered: Sequence[Rendered]) -> None:
    """Write the campaign calendar: days, posts at their local times as they will appear on
    X (threads together, images inline), lengths against the limit, every problem next to
    its post, and the X API cost."""
    write(path, preview_html(report, rendered))
