"""Pages for comms officers: the campaign as a calendar (preview) and what went out (status).

Each page is one self-contained HTML file: inline CSS, images as data: URIs, no script, no
font or request leaving the file, so it can be mailed or opened from a shared drive. A
Content-Security-Policy forbids anything else. Templates use a normal Jinja2 environment
with autoescape on (not the posts' sandbox): every text is escaped except the post markup
built by `linkify`, which escapes each piece itself. `status_text` is the terminal version
of the status page, used by `herald status`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from markupsafe import Markup, escape

from herald.ledger import ALL_CAMPAIGNS
from herald.problems import Problem
from herald.timeutil import format_utc

if TYPE_CHECKING:
    from jinja2 import Environment

    from herald.plan import LoadedDelivery
    from herald.status import Report as StatusReport
    from herald.status import Row
    from herald.validate import Rendered
    from herald.validate import Report as ValidationReport

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Every colour the pages use, as (text, background) pairs that appear together. Unit tests
# hold each pair to WCAG AA (contrast >= 4.5:1); the CSS gets them as custom properties
# `--<name>-fg` and `--<name>-bg` and uses no other colour for text.
PALETTE: dict[str, tuple[str, str]] = {
    "page": ("#1b1f24", "#f2f4f6"),  # body text on the page
    "page-muted": ("#4b5560", "#f2f4f6"),  # secondary text on the page
    "page-link": ("#0a4f94", "#f2f4f6"),  # links on the page
    "card": ("#0f1419", "#ffffff"),  # a post as X shows it
    "muted": ("#536471", "#ffffff"),  # handle, times and counts on a card
    "link": ("#0b5aa6", "#ffffff"),  # links, hashtags and mentions on a card
    "card-error": ("#8f1116", "#ffffff"),  # a length over the limit, on a card
    "warning": ("#5e3b00", "#fff1c7"),
    "error": ("#8f1116", "#fde7e7"),
    "running": ("#0d4f24", "#e1f3e6"),
    "paused": ("#ffffff", "#a3161b"),
    "sent": ("#0d4f24", "#e1f3e6"),
    "failed": ("#8f1116", "#fde7e7"),
    "unknown": ("#4a2f00", "#ffd666"),
    "skipped": ("#36404a", "#e6e9ec"),
    "missed": ("#7a0f3d", "#fbe2ec"),
    "scheduled": ("#173f73", "#e4edf9"),
    "due": ("#44237a", "#eee7fa"),
    "in-progress": ("#0f4a52", "#def2f4"),
}

# Lines and borders only (not text): kept distinct from PALETTE so tests know what is text.
RULE = "#c4ccd4"
FOCUS = "#0a4f94"

_HASHTAG = re.compile(r"(?<![\w&])[#＃](?![\ufe0f\u20e3])(?P<tag>\w++)(?![#＃]|://)")
_MENTION = re.compile(
    r"(?<![A-Za-z0-9_!#$%&*@＠])[@＠](?P<handle>[A-Za-z0-9_]{1,15}+)(?![A-Za-z0-9_@＠]|://)"
)
_ENTITY = re.compile(f"{_HASHTAG.pattern}|{_MENTION.pattern}")
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)


def linkify(text: str) -> Markup:
    """A post's text as HTML, marked up as X shows it: URLs link to themselves, hashtags to
    X's hashtag search and mentions to the account; everything else escaped."""
    from herald import textcount

    textcount.urls("")  # loads twitter-text (its URL rules are X's own)
    from twitter_text import extract_urls_with_indices

    pieces: list[str] = []
    position = 0
    for found in extract_urls_with_indices(text):
        start, end = found["indices"]
        pieces.append(_entities(text, position, start))
        url = text[start:end]
        href = url if _SCHEME.match(url) else f"https://{url}"
        pieces.append(f'<a class="url" href="{escape(href)}">{escape(url)}</a>')
        position = end
    pieces.append(_entities(text, position, len(text)))
    return Markup("".join(pieces))


def _entities(text: str, start: int, end: int) -> str:
    """Hashtags and mentions in text[start:end] as links; the rest escaped."""
    pieces: list[str] = []
    position = start
    for match in _ENTITY.finditer(text, start, end):
        tag, handle = match.group("tag"), match.group("handle")
        if tag is not None and not any(c.isalpha() for c in tag):
            continue  # '#2021' is not a hashtag on X
        pieces.append(str(escape(text[position : match.start()])))
        shown = escape(match.group(0))
        if tag is not None:
            href = f"https://x.com/hashtag/{quote(tag)}"
            pieces.append(f'<a class="hashtag" href="{href}">{shown}</a>')
        else:
            pieces.append(f'<a class="mention" href="https://x.com/{handle}">{shown}</a>')
        position = match.end()
    pieces.append(str(escape(text[position:end])))
    return "".join(pieces)


_CODE = re.compile(r"`([^`]+)`")


def code_spans(text: str) -> Markup:
    """Text escaped, with `backquoted` commands shown as code."""
    pieces = _CODE.split(text)
    return Markup("").join(
        Markup("<code>{}</code>").format(p) if odd else escape(p)
        for odd, p in ((i % 2 == 1, p) for i, p in enumerate(pieces))
    )


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["palette"] = PALETTE
    env.globals["rule"] = RULE
    env.globals["focus"] = FOCUS
    env.filters["utc"] = format_utc
    env.filters["code"] = code_spans
    return env


def _write(path: Path, page: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def _day_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {words or word + 's'}"


# ---- preview ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Image:
    src: str | None  # a data: URI; None when the file cannot be read
    alt: str
    name: str


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


_MIME = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


def _data_uri(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    mime = next((m for magic, m in _MIME if data.startswith(magic)), None)
    if mime is None:
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _anchor(*parts: str) -> str:
    return "--".join(re.sub(r"[^A-Za-z0-9_-]", "-", p) for p in parts)


def _problem_places(delivery: LoadedDelivery) -> set[tuple[str, int]]:
    """Where in its file a problem about this delivery would point."""
    files = {delivery.campaign.name, str(delivery.campaign.path.resolve())}
    lines = {delivery.part.line, *(m.line for m in delivery.part.media)}
    if delivery.part.number == 1:
        lines.add(delivery.post.line)
    return {(f, line) for f in files for line in lines}


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


def preview_html(report: ValidationReport, rendered: Sequence[Rendered]) -> str:
    """The preview page as a string (see `write_preview`)."""
    from herald.preview import cost, ordered

    by_place: dict[tuple[str, int], list[Problem]] = {}
    for problem in report.problems:
        for file in {problem.file, _same_file(problem)}:
            by_place.setdefault((file, problem.line), []).append(problem)
    images: dict[Path, str | None] = {}
    attached: set[Problem] = set()
    days: dict[date, _Day] = {}
    threads: dict[tuple[str, str, str, str], _Thread] = {}
    campaigns: dict[str, _CampaignSummary] = {}
    for item in ordered(rendered):
        d = item.delivery
        local = d.post.at_local
        day = days.setdefault(local.date(), _Day(local.date(), _day_label(local.date())))
        thread_key = (d.key.campaign, d.post.id, d.key.channel, d.key.account)
        thread = threads.get(thread_key)
        if thread is None:
            thread = _Thread(
                _anchor(*thread_key),
                d.key.campaign,
                d.campaign.title,
                d.post.id,
                d.at,
                local,
                d.key.channel,
                d.account.handle,
            )
            threads[thread_key] = thread
            day.threads.append(thread)
        mine = list(
            dict.fromkeys(p for place in _problem_places(d) for p in by_place.get(place, []))
        )
        attached.update(mine)
        pictures = []
        for media in d.part.media:
            if media.path not in images:
                images[media.path] = _data_uri(media.path)
            pictures.append(_Image(images[media.path], media.alt, media.path.name))
        number, total = d.thread_position
        thread.tweets.append(
            _Tweet(
                _anchor(*d.key),
                number,
                total,
                d.account.name or d.account.handle,
                d.account.handle,
                item.text,
                linkify(item.text),
                pictures,
                item.weighted_length,
                item.limit,
                d.reply_to,
                _grouped(mine),
            )
        )
        if d.key.campaign not in campaigns:
            campaigns[d.key.campaign] = _CampaignSummary(
                d.key.campaign,
                d.campaign.title,
                _shown_file(d.campaign.name),
                d.campaign.timezone.key,
                len(d.campaign.posts),
            )
        campaigns[d.key.campaign].deliveries += 1
    for day in days.values():
        for thread in day.threads:
            thread.tweets.sort(key=lambda t: t.number)
    others = [p for p in report.problems if p not in attached]
    titles = [c.title for c in campaigns.values()]
    return (
        _environment()
        .get_template("preview.html.j2")
        .render(
            title=" and ".join(titles) if titles else "no campaign",
            campaigns=list(campaigns.values()),
            days=sorted(days.values(), key=lambda d: d.day),
            deliveries=len(rendered),
            posts=len(threads),
            cost=cost(rendered).describe(),
            errors=len(report.errors),
            warnings=len(report.warnings),
            others=_grouped(others),
            unattached=len(others),
            plural=_plural,
        )
    )


def write_preview(path: Path, report: ValidationReport, rendered: list[Rendered]) -> None:
    """Write the campaign calendar: days, posts at their local times as they will appear on
    X (threads together, images inline), lengths against the limit, every problem next to
    its post, and the X API cost."""
    _write(path, preview_html(report, rendered))


# ---- status ------------------------------------------------------------------------------

# States in the order their counts are shown: what needs a person first.
_VIEW_ORDER = (
    "UNKNOWN",
    "FAILED",
    "MISSED",
    "IN PROGRESS",
    "DUE",
    "SENT",
    "SKIPPED",
    "SCHEDULED",
)
_ATTENTION = frozenset({"UNKNOWN", "FAILED", "MISSED"})


def _tone(view: str) -> str:
    return view.lower().replace(" ", "-")


def _display_zone(report: StatusReport) -> tzinfo:
    """The campaigns' time zone when they share one, else UTC."""
    zones = {r.delivery.campaign.timezone.key: r.delivery.campaign.timezone for r in report.rows}
    return next(iter(zones.values())) if len(zones) == 1 else UTC


@dataclass(frozen=True)
class _PauseView:
    scope: str
    what: str
    reason: str
    since: datetime
    since_local: datetime


def _pauses(report: StatusReport, zone: tzinfo) -> list[_PauseView]:
    titles = {r.delivery.key.campaign: r.delivery.campaign.title for r in report.rows}
    shown = []
    for pause in sorted(report.pauses, key=lambda p: (p.scope != ALL_CAMPAIGNS, p.scope)):
        what = (
            "all campaigns"
            if pause.scope == ALL_CAMPAIGNS
            else f"{titles.get(pause.scope, pause.scope)} ({pause.scope})"
        )
        shown.append(
            _PauseView(pause.scope, what, pause.reason, pause.since, pause.since.astimezone(zone))
        )
    return shown


@dataclass(frozen=True)
class _RowView:
    anchor: str
    row: Row
    view: str
    tone: str
    at: datetime
    at_local: datetime
    label: str
    handle: str
    text: str | None
    html: Markup | None
    updated_local: datetime | None

    @property
    def link(self) -> str | None:
        record = self.row.record
        url = record.remote_url if record is not None else None
        return url if url and _SCHEME.match(url) else None


@dataclass
class _StatusDay:
    day: date
    label: str
    rows: list[_RowView] = field(default_factory=list)


@dataclass
class _StatusCampaign:
    id: str
    title: str
    timezone: str
    paused: _PauseView | None
    days: list[_StatusDay] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _label(delivery: LoadedDelivery) -> str:
    number, total = delivery.thread_position
    part = f" (part {number} of {total})" if total > 1 else ""
    return f"{delivery.key.post}{part}"


def _short_label(delivery: LoadedDelivery) -> str:
    number, total = delivery.thread_position
    return f"{delivery.key.post} {number}/{total}" if total > 1 else delivery.key.post


def _rendered_text(delivery: LoadedDelivery) -> str | None:
    from herald.render import RenderError

    try:
        return delivery.render()
    except RenderError:
        return None


def _counts(views: Iterable[str]) -> dict[str, int]:
    found = list(views)
    return {v: found.count(v) for v in _VIEW_ORDER if found.count(v)}


def status_html(report: StatusReport) -> str:
    """The status page as a string (see `write_status`)."""
    zone = _display_zone(report)
    pauses = _pauses(report, zone)
    by_scope = {p.scope: p for p in pauses}
    campaigns: dict[str, _StatusCampaign] = {}
    attention: list[_RowView] = []
    for row in report.rows:
        d = row.delivery
        campaign = campaigns.get(d.key.campaign)
        if campaign is None:
            campaign = _StatusCampaign(
                d.key.campaign,
                d.campaign.title,
                d.campaign.timezone.key,
                by_scope.get(d.key.campaign) or by_scope.get(ALL_CAMPAIGNS),
            )
            campaigns[d.key.campaign] = campaign
        local = d.post.at_local
        if not campaign.days or campaign.days[-1].day != local.date():
            campaign.days.append(_StatusDay(local.date(), _day_label(local.date())))
        text = _rendered_text(d)
        record = row.record
        shown = _RowView(
            _anchor(*d.key),
            row,
            str(row.view),
            _tone(str(row.view)),
            d.at,
            local,
            _label(d),
            d.account.handle,
            text,
            linkify(text) if text is not None else None,
            record.updated_at.astimezone(d.campaign.timezone) if record is not None else None,
        )
        campaign.days[-1].rows.append(shown)
        if shown.view in _ATTENTION:
            attention.append(shown)
    for campaign in campaigns.values():
        campaign.counts = _counts(r.view for day in campaign.days for r in day.rows)
    return (
        _environment()
        .get_template("status.html.j2")
        .render(
            now=report.now,
            now_local=report.now.astimezone(zone),
            pauses=pauses,
            campaigns=list(campaigns.values()),
            counts=_counts(str(r.view) for r in report.rows),
            total=len(report.rows),
            attention=attention,
            plural=_plural,
        )
    )


def write_status(path: Path, report: StatusReport) -> None:
    """Write the status page: the pause state first, then every delivery by campaign and
    day with its state (the live post's link, the failure's reason, what to check)."""
    _write(path, status_html(report))


def _pause_line(pause: _PauseView) -> str:
    return (
        f"PAUSED: publishing is paused for {pause.what} since"
        f" {pause.since_local:%Y-%m-%d %H:%M %Z}: {pause.reason}"
    )


def _summary(counts: dict[str, int], total: int) -> str:
    parts = ", ".join(f"{n} {view.lower()}" for view, n in counts.items())
    return f"{_plural(total, 'delivery', 'deliveries')}: {parts or 'none'}"


_COLOURS = {
    "UNKNOWN": "\x1b[1;33m",
    "FAILED": "\x1b[1;31m",
    "MISSED": "\x1b[1;35m",
    "SENT": "\x1b[32m",
    "SKIPPED": "\x1b[2m",
    "DUE": "\x1b[36m",
    "IN PROGRESS": "\x1b[36m",
    "PAUSED": "\x1b[1;41;97m",
}
_RESET = "\x1b[0m"


def status_text(report: StatusReport, *, colour: bool = False) -> str:
    """The status for a terminal: the pause state, then one line per delivery (grouped by
    campaign and day), a line of counts, and what to check for each delivery that needs a
    person. `colour` adds ANSI colours: pass it only when stdout is a TTY."""

    def paint(view: str, text: str) -> str:
        return f"{_COLOURS[view]}{text}{_RESET}" if colour and view in _COLOURS else text

    zone = _display_zone(report)
    lines: list[str] = []
    pauses = _pauses(report, zone)
    for pause in pauses:
        lines.append(paint("PAUSED", _pause_line(pause)))
    if not pauses:
        lines.append("Publishing is running (no pause).")
    lines.append(f"As of {report.now.astimezone(zone):%Y-%m-%d %H:%M %Z}.")

    labels = [_short_label(r.delivery) for r in report.rows]
    label_width = min(max((len(x) for x in labels), default=0), 36)
    view_width = max(len(v) for v in _VIEW_ORDER)
    campaign = day = None
    for row, label in zip(report.rows, labels, strict=True):
        d = row.delivery
        if d.key.campaign != campaign:
            campaign, day = d.key.campaign, None
            lines.append("")
            lines.append(f"{d.campaign.title} ({d.key.campaign}, {d.campaign.timezone.key})")
        local = d.post.at_local
        if local.date() != day:
            day = local.date()
            lines.append(f"  {_day_label(day)}")
        view = str(row.view)
        detail = row.detail
        lines.append(
            f"    {local:%H:%M} {paint(view, view.ljust(view_width))}"
            f"  {label.ljust(label_width)}  @{d.account.handle}" + (f"  {detail}" if detail else "")
        )
    lines.append("")
    lines.append(_summary(_counts(str(r.view) for r in report.rows), len(report.rows)))
    needing = [r for r in report.rows if r.advice]
    if needing:
        lines.append("")
        lines.append("What to check:")
        for row in needing:
            lines.append(f"  {paint(str(row.view), str(row.view))} {row.ref}: {row.advice}")
    return "\n".join(lines) + "\n"


__all__ = [
    "PALETTE",
    "code_spans",
    "linkify",
    "preview_html",
    "status_html",
    "status_text",
    "write_preview",
    "write_status",
]
