"""The status page: the pause state first, then every delivery by campaign and day with its
state (the live post's link, the failure's reason, what to check). `herald.status` builds
the report it shows, and its terminal version."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from herald.channels.rules import account_label, title
from herald.ledger import ALL_CAMPAIGNS
from herald.pages.common import anchor, linkify, network_links, render, web_link, write
from herald.status import ATTENTION, Report, Row, ShownPause, attempt_line, counts
from herald.wording import day_label

if TYPE_CHECKING:
    from herald.plan import LoadedDelivery
    from herald.status import View


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
    def channel_title(self) -> str:
        return title(self.row.delivery.key.channel)

    @property
    def link(self) -> str | None:
        record = self.row.record
        return web_link(record.remote_url if record is not None else None)

    @property
    def attempt_lines(self) -> list[str]:
        return [attempt_line(attempt) for attempt in self.row.history]


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
    paused: ShownPause | None
    days: list[_StatusDay] = field(default_factory=list)

    @property
    def counts(self) -> dict[View, int]:
        return counts(r.row.view for day in self.days for r in day.rows)


def _tone(view: str) -> str:
    return view.lower().replace(" ", "-")


def _label(delivery: LoadedDelivery) -> str:
    number, total = delivery.thread_position
    part = f" (part {number} of {total})" if total > 1 else ""
    return f"{delivery.key.post}{part}"


def _rendered_text(delivery: LoadedDelivery) -> str | None:
    from herald.render import RenderError

    try:
        return delivery.render()
    except RenderError:
        return None


def _row_view(row: Row) -> _RowView:
    d = row.delivery
    text = _rendered_text(d)
    record = row.record
    return _RowView(
        anchor(*d.key),
        row,
        str(row.view),
        _tone(str(row.view)),
        d.at,
        d.post.at_local,
        _label(d),
        account_label(d.key.channel, d.account.handle),
        text,
        linkify(text, *network_links(d.key.channel, d.account)) if text is not None else None,
        record.updated_at.astimezone(d.campaign.timezone) if record is not None else None,
    )


def _campaigns(rows: list[_RowView], pauses: list[ShownPause]) -> list[_StatusCampaign]:
    """The rows by campaign and local day, each campaign with the pause over it."""
    by_scope = {p.scope: p for p in pauses}
    campaigns: dict[str, _StatusCampaign] = {}
    for shown in rows:
        d = shown.row.delivery
        campaign = campaigns.get(d.key.campaign)
        if campaign is None:
            paused = by_scope.get(d.key.campaign) or by_scope.get(ALL_CAMPAIGNS)
            campaign = _StatusCampaign(
                d.key.campaign, d.campaign.title, d.campaign.timezone.key, paused
            )
            campaigns[d.key.campaign] = campaign
        local = shown.at_local.date()
        if not campaign.days or campaign.days[-1].day != local:
            campaign.days.append(_StatusDay(local, day_label(local)))
        campaign.days[-1].rows.append(shown)
    return list(campaigns.values())


def status_html(report: Report) -> str:
    """The status page as a string (see `write_status`)."""
    pauses = report.shown_pauses()
    rows = [_row_view(row) for row in report.rows]
    return render(
        "status.html.j2",
        now=report.now,
        now_local=report.now.astimezone(report.zone),
        pauses=pauses,
        stray_pauses=report.stray_pauses(),
        simulated=report.simulation_lines(),
        simulated_ids=set(report.simulated),
        campaigns=_campaigns(rows, pauses),
        counts=report.counts(),
        total=len(report.rows),
        attention=[r for r in rows if r.row.view in ATTENTION],
    )


def write_status(path: Path, report: Report) -> None:
    """Write the status page: the pause state first, then every delivery by campaign and
    day with its state (the live post's link, the failure's reason, what to check)."""
    write(path, status_html(report))
