"""Status: every delivery of the plan joined with its ledger record, as people read it,
and `status_text`, the report for a terminal (`herald status`; the page is in
`herald.pages.status`).

Beyond the ledger's own states, two are derived here: MISSED (past its deadline with no
final record and nothing that explains it) and SCHEDULED (not yet due).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum

from herald.channels.rules import account_label, title
from herald.delivery import DeliveryKey
from herald.ledger import ALL_CAMPAIGNS, Attempt, Ledger, Pause, Record, State
from herald.plan import LoadedDelivery, LoadedPlan
from herald.wording import day_label, plural


class View(StrEnum):
    SCHEDULED = "SCHEDULED"
    DUE = "DUE"  # due, inside its window, not yet claimed
    IN_PROGRESS = "IN PROGRESS"  # CLAIMED or ATTEMPTING
    SENT = "SENT"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    SKIPPED = "SKIPPED"
    MISSED = "MISSED"


# The views in the order their counts are shown: what needs a person first.
VIEW_ORDER = (
    View.UNKNOWN,
    View.FAILED,
    View.MISSED,
    View.IN_PROGRESS,
    View.DUE,
    View.SENT,
    View.SKIPPED,
    View.SCHEDULED,
)
ATTENTION = frozenset({View.UNKNOWN, View.FAILED, View.MISSED})

ADVICE = {
    View.UNKNOWN: (
        "it may have been published: check the account on {channel}; if it is there, nothing"
        " to do"
        " (the next tick records it); if not, `herald retry {ref}`"
    ),
    View.MISSED: "it was never attempted: check the publisher ran (alarms, `herald audit`)",
    View.FAILED: "not published: fix the cause, then `herald retry {ref}` if still wanted",
}


@dataclass(frozen=True)
class Row:
    delivery: LoadedDelivery
    record: Record | None
    view: View
    detail: str

    @property
    def ref(self) -> str:
        return f"{self.delivery.key.campaign}/{self.delivery.key.post}"

    @property
    def advice(self) -> str | None:
        text = ADVICE.get(self.view)
        return text.format(ref=self.ref, channel=title(self.delivery.key.channel)) if text else None

    @property
    def history(self) -> tuple[Attempt, ...]:
        """The record's attempts when they tell more than "claimed, sent": a failure, an
        unknown outcome, a read-back, a second attempt. Empty for a clean run."""
        if self.record is None:
            return ()
        events = [a.event for a in self.record.history]
        return () if events in _CLEAN_RUNS else self.record.history


# Histories that went out cleanly (shown without their lines): a post with images claimed,
# then attempted; one without, claimed straight as ATTEMPTING; or skipped.
_CLEAN_RUNS: tuple[list[str], ...] = (
    [],
    ["CLAIMED", "ATTEMPTING", "SENT"],
    ["ATTEMPTING", "SENT"],
    ["SKIPPED"],
)


def attempt_line(attempt: Attempt) -> str:
    """One attempt as a person reads it: its time, what happened, what was sent or found."""
    said = attempt.detail
    if attempt.text:
        said = f'"{attempt.text if len(attempt.text) <= 60 else attempt.text[:59] + "…"}"'
    if attempt.remote_id and not said:
        said = f"post {attempt.remote_id}"
    key = f" (key {attempt.key})" if attempt.key else ""
    return f"{attempt.at:%H:%M:%SZ} {attempt.event:<10} {said}{key}".rstrip()


@dataclass(frozen=True)
class ShownPause:
    """A pause as people read it: what it stops, why, and since when (also in the report's
    time zone)."""

    scope: str
    what: str
    reason: str
    since: datetime
    since_local: datetime


@dataclass(frozen=True)
class Report:
    now: datetime
    pauses: list[Pause]
    rows: list[Row]
    # Campaigns whose records a simulation made (`herald simulate`), with what it was.
    simulated: dict[str, str] = field(default_factory=dict)

    def simulation_lines(self) -> list[str]:
        """One sentence per simulated campaign shown: its records are not real."""
        shown = dict.fromkeys(r.delivery.key.campaign for r in self.rows)
        return [
            f"SIMULATED: the records of {campaign} were {self.simulated[campaign]}."
            for campaign in shown
            if campaign in self.simulated
        ]

    def count(self, view: View) -> int:
        return sum(1 for r in self.rows if r.view is view)

    def counts(self) -> dict[View, int]:
        return counts(r.view for r in self.rows)

    @property
    def zone(self) -> tzinfo:
        """The time zone to show times in: the campaigns' when they share one, else UTC."""
        zones = {r.delivery.campaign.timezone.key: r.delivery.campaign.timezone for r in self.rows}
        return next(iter(zones.values())) if len(zones) == 1 else UTC

    def applies(self, pause: Pause) -> bool:
        """Whether a pause stops anything shown: it is over all campaigns, or one of them."""
        return pause.scope == ALL_CAMPAIGNS or any(
            r.delivery.key.campaign == pause.scope for r in self.rows
        )

    def stray_pauses(self) -> list[Pause]:
        """Pauses that stop nothing shown (a campaign that is not in the plan): not a reason
        to show PAUSED, but worth lifting."""
        return [p for p in self.pauses if not self.applies(p)]

    def shown_pauses(self) -> list[ShownPause]:
        """The pauses that apply to something shown, the one over all campaigns first, each
        naming what it stops."""
        titles = {r.delivery.key.campaign: r.delivery.campaign.title for r in self.rows}
        zone = self.zone
        shown = []
        applying = [p for p in self.pauses if self.applies(p)]
        for pause in sorted(applying, key=lambda p: (p.scope != ALL_CAMPAIGNS, p.scope)):
            what = (
                "all campaigns"
                if pause.scope == ALL_CAMPAIGNS
                else f"{titles.get(pause.scope, pause.scope)} ({pause.scope})"
            )
            since_local = pause.since.astimezone(zone)
            shown.append(ShownPause(pause.scope, what, pause.reason, pause.since, since_local))
        return shown


def counts(views: Iterable[View]) -> dict[View, int]:
    """How many of each view, in VIEW_ORDER; views with none are left out."""
    found = list(views)
    return {v: found.count(v) for v in VIEW_ORDER if found.count(v)}


def classify(
    delivery: LoadedDelivery, record: Record | None, now: datetime, pause: Pause | None = None
) -> tuple[View, str]:
    """How a person should read a delivery's state; `pause` is the pause that covers its
    campaign, if any (a held post is neither due to go out nor missed)."""
    if record is None:
        if delivery.at > now:
            return View.SCHEDULED, ""
        if delivery.deadline >= now:
            if pause is not None:
                return View.DUE, (
                    f"held by the pause ({pause.reason}): goes out if resumed by"
                    f" {delivery.deadline:%H:%MZ}"
                )
            return View.DUE, "due; the next tick publishes it"
        # Even while paused: a running publisher records a held post SKIPPED (paused) at
        # its deadline, so no record at all means the publisher did not run.
        return View.MISSED, "past its deadline with no record"
    reason = record.reason or ""
    match record.state:
        case State.SENT:
            return View.SENT, record.remote_url or record.remote_id or ""
        case State.SKIPPED:
            return View.SKIPPED, reason
        case State.UNKNOWN:
            return View.UNKNOWN, reason
        case State.FAILED:
            if record.retryable and delivery.deadline >= now:
                return View.FAILED, f"{reason} (will retry)"
            return View.FAILED, reason
        case _:
            if delivery.deadline < now and record.state is State.CLAIMED:
                return View.MISSED, f"claimed but never attempted ({reason})".replace(" ()", "")
            return View.IN_PROGRESS, record.state.value


def collect(
    plan: LoadedPlan,
    ledger: Ledger,
    now: datetime,
    campaigns: Sequence[str] | None = None,
    simulated: dict[str, str] | None = None,
) -> Report:
    """Every delivery of the chosen campaigns (default: all), in due order. `simulated`
    names the campaigns whose records a simulation made, with what it was."""
    chosen = set(campaigns) if campaigns else set(plan.campaigns)
    records: dict[DeliveryKey, Record] = {}
    for campaign in sorted(chosen):
        for record in ledger.records(campaign):
            records[record.key] = record
    pauses = ledger.pauses()
    by_scope = {p.scope: p for p in pauses}
    rows = []
    for delivery in plan.deliveries:
        if delivery.key.campaign not in chosen:
            continue
        found = records.get(delivery.key)
        pause = by_scope.get(delivery.key.campaign) or by_scope.get(ALL_CAMPAIGNS)
        view, detail = classify(delivery, found, now, pause)
        rows.append(Row(delivery, found, view, detail))
    return Report(now, pauses, rows, dict(simulated or {}))


# ---- for a terminal ---------------------------------------------------------------------

_COLOURS = {
    "UNKNOWN": "\x1b[1;33m",
    "FAILED": "\x1b[1;31m",
    "MISSED": "\x1b[1;35m",
    "SENT": "\x1b[32m",
    "SKIPPED": "\x1b[2m",
    "DUE": "\x1b[36m",
    "IN PROGRESS": "\x1b[36m",
    "PAUSED": "\x1b[1;41;97m",
    "SIMULATED": "\x1b[1;44;97m",
}
_RESET = "\x1b[0m"
_LABEL_WIDTH = 36  # at most: a longer label pushes its line's account along

Paint = Callable[[str, str], str]


def status_text(report: Report, *, colour: bool = False) -> str:
    """The status for a terminal: the pause state, then one line per delivery (grouped by
    campaign and day), a line of counts, and what to check for each delivery that needs a
    person. `colour` adds ANSI colours: pass it only when stdout is a TTY."""

    def paint(view: str, text: str) -> str:
        return f"{_COLOURS[view]}{text}{_RESET}" if colour and view in _COLOURS else text

    lines = _state_lines(report, paint) + _delivery_lines(report, paint)
    lines += ["", _summary(report.counts(), len(report.rows)), *_advice_lines(report, paint)]
    return "\n".join(lines) + "\n"


def _state_lines(report: Report, paint: Paint) -> list[str]:
    """Whether publishing is paused (and for what, why, since when), and the report's time."""
    lines = [
        paint(
            "PAUSED",
            f"PAUSED: publishing is paused for {pause.what} since"
            f" {pause.since_local:%Y-%m-%d %H:%M %Z}: {pause.reason}",
        )
        for pause in report.shown_pauses()
    ]
    if not lines:
        lines.append("Publishing is running (no pause).")
    for pause in report.stray_pauses():
        lines.append(
            f"Note: a pause on '{pause.scope}' stops no campaign shown here ({pause.reason});"
            f" lift it with `herald resume --campaign {pause.scope}`."
        )
    lines += [paint("SIMULATED", line) for line in report.simulation_lines()]
    lines.append(f"As of {report.now.astimezone(report.zone):%Y-%m-%d %H:%M %Z}.")
    return lines


def _delivery_lines(report: Report, paint: Paint) -> list[str]:
    """One line per delivery, under a heading for its campaign and one for its day."""
    labels = [_short_label(r.delivery) for r in report.rows]
    label_width = min(max((len(x) for x in labels), default=0), _LABEL_WIDTH)
    view_width = max(len(v) for v in VIEW_ORDER)
    lines: list[str] = []
    campaign = day = None
    for row, label in zip(report.rows, labels, strict=True):
        d = row.delivery
        if d.key.campaign != campaign:
            campaign, day = d.key.campaign, None
            simulated = ", simulated" if d.key.campaign in report.simulated else ""
            lines += [
                "",
                f"{d.campaign.title} ({d.key.campaign}, {d.campaign.timezone.key}{simulated})",
            ]
        local = d.post.at_local
        if local.date() != day:
            day = local.date()
            lines.append(f"  {day_label(day)}")
        view = str(row.view)
        lines.append(
            f"    {local:%H:%M} {paint(view, view.ljust(view_width))}"
            f"  {label.ljust(label_width)}  {title(d.key.channel)} "
            f"{account_label(d.key.channel, d.account.handle)}"
            + (f"  {row.detail}" if row.detail else "")
        )
        lines += [f"          {attempt_line(a)}" for a in row.history]
    return lines


def _short_label(delivery: LoadedDelivery) -> str:
    number, total = delivery.thread_position
    return f"{delivery.key.post} {number}/{total}" if total > 1 else delivery.key.post


def _summary(found: dict[View, int], total: int) -> str:
    parts = ", ".join(f"{n} {view.lower()}" for view, n in found.items())
    return f"{plural(total, 'delivery', 'deliveries')}: {parts or 'none'}"


def _advice_lines(report: Report, paint: Paint) -> list[str]:
    """What to check for each delivery that needs a person; nothing when none does."""
    needing = [r for r in report.rows if r.advice]
    if not needing:
        return []
    return [
        "",
        "What to check:",
        *(f"  {paint(str(r.view), str(r.view))} {r.ref}: {r.advice}" for r in needing),
    ]
