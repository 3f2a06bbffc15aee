"""Status: every delivery of the plan joined with its ledger record, as people read it.

Beyond the ledger's own states, two are derived here: MISSED (past its deadline with no
final record and nothing that explains it) and SCHEDULED (not yet due).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from herald.delivery import DeliveryKey
from herald.ledger import ALL_CAMPAIGNS, Ledger, Pause, Record, State
from herald.plan import LoadedDelivery, LoadedPlan


class View(StrEnum):
    SCHEDULED = "SCHEDULED"
    DUE = "DUE"  # due, inside its window, not yet claimed
    IN_PROGRESS = "IN PROGRESS"  # CLAIMED or ATTEMPTING
    SENT = "SENT"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    SKIPPED = "SKIPPED"
    MISSED = "MISSED"


ADVICE = {
    View.UNKNOWN: (
        "it may have been published: check the account on X; if it is there, nothing to do"
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
        return text.format(ref=self.ref) if text else None


@dataclass(frozen=True)
class Report:
    now: datetime
    pauses: list[Pause]
    rows: list[Row]

    def count(self, view: View) -> int:
        return sum(1 for r in self.rows if r.view is view)


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
    plan: LoadedPlan, ledger: Ledger, now: datetime, campaigns: Sequence[str] | None = None
) -> Report:
    """Every delivery of the chosen campaigns (default: all), in due order."""
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
    return Report(now, pauses, rows)
