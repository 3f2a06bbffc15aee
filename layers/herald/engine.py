"""The publisher engine: one tick at minute `now` publishes what is due, exactly once.

For the deliveries due in the look-back window that are not known to be final:
read the ledger in batches; skip what is final; mark late ones SKIPPED; hold paused ones
until their deadline, then SKIPPED (paused); expire dead attempts to UNKNOWN and reconcile
them; claim the rest with a conditional write, render, mark ATTEMPTING, publish, record.
Accounts are published to concurrently (bounded), each account's deliveries in order.
A tick with nothing due returns at once: no ledger read, no network, no Jinja, no tweepy.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from threading import Lock
from typing import Protocol

from herald.channels import Channel, Outcome, OutcomeKind
from herald.delivery import Delivery, DeliveryKey, Plan
from herald.ledger import ALL_CAMPAIGNS, Ledger, LedgerConflict, Pause, Record, State

LOOKBACK = timedelta(hours=24)  # how far back a tick looks for deliveries without an outcome
AUDIT_LOOKBACK = timedelta(hours=25)  # the audit looks a little further: what the tick missed
LEASE = timedelta(minutes=3)  # longer than the function's timeout plus scheduling skew
RECONCILE_EVERY = timedelta(minutes=5)  # how often an UNKNOWN is looked for on the account
SAFETY_MARGIN_SECONDS = 15.0  # stop claiming work when less than this is left
MAX_WORKERS = 16  # accounts published to at once (each account in order)


class Event(StrEnum):
    PUBLISHED = "Published"
    FAILED = "Failed"
    RATE_LIMITED = "RateLimited"
    UNKNOWN = "Unknown"
    RECONCILED = "Reconciled"
    SKIPPED_LATE = "SkippedLate"
    SKIPPED_PAUSED = "SkippedPaused"
    MISSED = "Missed"
    DEFERRED = "Deferred"  # not claimed this tick: out of time, or its thread parent pending


@dataclass(frozen=True)
class Result:
    """One thing the tick did to one delivery."""

    event: Event
    key: DeliveryKey
    due: datetime
    at: datetime  # the tick's `now`
    detail: str = ""
    url: str | None = None

    @property
    def lateness(self) -> float:
        return (self.at - self.due).total_seconds()


class Observer(Protocol):
    """Where outcomes go: logs and metrics in Lambda, a timeline in the simulator."""

    def outcome(self, result: Result) -> None: ...


class NullObserver:
    def outcome(self, result: Result) -> None:
        return None


@dataclass
class Summary:
    now: datetime
    examined: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    results: list[Result] = field(default_factory=list)
    out_of_time: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "now": self.now.isoformat().replace("+00:00", "Z"),
            "examined": self.examined,
            "out_of_time": self.out_of_time,
            **{str(k): v for k, v in sorted(self.counts.items())},
        }


class Engine:
    """Publishes a plan through channels, recording every outcome in the ledger."""

    def __init__(
        self,
        plan: Plan,
        ledger: Ledger,
        channels: dict[str, Channel],
        observer: Observer | None = None,
        *,
        lease: timedelta = LEASE,
        max_workers: int = MAX_WORKERS,
        safety_margin: float = SAFETY_MARGIN_SECONDS,
    ) -> None:
        self.plan = plan
        self.ledger = ledger
        self.channels = channels
        self.observer = observer or NullObserver()
        self.lease = lease
        self.max_workers = max_workers
        self.safety_margin = safety_margin
        self._final: set[DeliveryKey] = set()  # known SENT or SKIPPED: never read again
        self._last_reconcile: dict[DeliveryKey, datetime] = {}
        self._last_audit: datetime | None = None
        self._lock = Lock()

    # ---- the tick ----------------------------------------------------------------------

    def _pending(self, start: datetime, now: datetime) -> list[Delivery]:
        """Deliveries due in (start, now] not known to be final."""
        return [d for d in self.plan.between(start, now) if d.key not in self._final]

    def has_work(self, now: datetime) -> bool:
        """Whether a tick at `now` would touch the ledger (so the caller can set up tracing
        only then). False for an idle tick: nothing pending, no audit with anything to read."""
        if self._pending(now - LOOKBACK, now):
            return True
        if not self._audit_due(now):
            return False
        return any(d.deadline < now for d in self._pending(now - AUDIT_LOOKBACK, now))

    def tick(self, now: datetime, remaining: Callable[[], float] | None = None) -> Summary:
        summary = Summary(now)
        window = self._pending(now - LOOKBACK, now)
        if window:
            self._process(window, now, remaining, summary)
        if self._audit_due(now):
            self._audit_in_tick(now, summary)
        return summary

    def _process(
        self,
        window: list[Delivery],
        now: datetime,
        remaining: Callable[[], float] | None,
        summary: Summary,
    ) -> None:
        summary.examined = len(window)
        records = self.ledger.get_many([d.key for d in window])
        pauses = {p.scope: p for p in self.ledger.pauses()}

        ready: list[Delivery] = []
        for delivery in window:
            record = records.get(delivery.key)
            if record is not None and record.is_final():
                self._final.add(delivery.key)
                continue
            self._triage(delivery, record, now, pauses, ready, summary)

        by_account: dict[tuple[str, str], list[Delivery]] = {}
        for delivery in ready:
            by_account.setdefault((delivery.key.channel, delivery.key.account), []).append(delivery)
        if not by_account:
            return
        sent_ids: dict[DeliveryKey, str] = {
            key: r.remote_id for key, r in records.items() if r.state is State.SENT and r.remote_id
        }
        queues = list(by_account.values())
        if len(queues) == 1:
            self._publish_queue(queues[0], now, remaining, sent_ids, summary)
        else:
            with ThreadPoolExecutor(max_workers=min(self.max_workers, len(queues))) as pool:
                futures = [
                    pool.submit(self._publish_queue, q, now, remaining, sent_ids, summary)
                    for q in queues
                ]
                for future in futures:
                    future.result()

    def _triage(
        self,
        delivery: Delivery,
        record: Record | None,
        now: datetime,
        pauses: dict[str, Pause],
        ready: list[Delivery],
        summary: Summary,
    ) -> None:
        key = delivery.key
        if record is not None and record.state is State.ATTEMPTING:
            if record.lease_until is not None and record.lease_until <= now:
                expired = self.ledger.expire_attempt(
                    key, now, "the publisher stopped during the call; it may have been published"
                )
                if expired is not None:
                    self._emit(summary, Event.UNKNOWN, delivery, now, expired.reason or "")
                    self._reconcile(delivery, expired, now, summary, force=True)
            return
        if record is not None and record.state is State.UNKNOWN:
            self._reconcile(delivery, record, now, summary)
            return
        if record is not None and not record.is_claimable(now):
            return  # owned by another worker, or FAILED for good, or waiting for not_before
        pause = pauses.get(key.campaign) or pauses.get(ALL_CAMPAIGNS)
        if now > delivery.deadline:
            event = Event.SKIPPED_PAUSED if pause else Event.SKIPPED_LATE
            reason = (
                f"paused: {pause.reason}"
                if pause
                else f"late: due {_hm(delivery.at)}, not published by {_hm(delivery.deadline)}"
            )
            if self.ledger.skip(key, now, reason, delivery.at) is not None:
                self._final.add(key)
                self._emit(summary, event, delivery, now, reason)
            return
        if pause:
            return  # held: published if resumed inside its window, else SKIPPED (paused)
        ready.append(delivery)

    # ---- publishing --------------------------------------------------------------------

    def _publish_queue(
        self,
        queue: Sequence[Delivery],
        now: datetime,
        remaining: Callable[[], float] | None,
        sent_ids: dict[DeliveryKey, str],
        summary: Summary,
    ) -> None:
        for delivery in queue:
            if remaining is not None and remaining() < self.safety_margin:
                with self._lock:
                    summary.out_of_time = True
                self._emit(summary, Event.DEFERRED, delivery, now, "out of time: next tick")
                continue
            reply_to = None
            parent = delivery.parent_key
            if parent is not None:
                with self._lock:
                    reply_to = sent_ids.get(parent)
                if reply_to is None:
                    reply_to = self._parent_remote_id(parent)
                if reply_to is None:
                    self._emit(summary, Event.DEFERRED, delivery, now, "waiting for its parent")
                    continue
            remote_id = self._publish(delivery, now, reply_to, summary)
            if remote_id is not None:
                with self._lock:
                    sent_ids[delivery.key] = remote_id

    def _parent_remote_id(self, parent: DeliveryKey) -> str | None:
        record = self.ledger.get_many([parent]).get(parent)
        if record is not None and record.state is State.SENT:
            return record.remote_id
        return None

    def _publish(
        self, delivery: Delivery, now: datetime, reply_to: str | None, summary: Summary
    ) -> str | None:
        key = delivery.key
        token = uuid.uuid4().hex
        try:
            claimed = self.ledger.claim(key, token, now, now + self.lease, delivery.at)
        except LedgerConflict:
            claimed = None
        except Exception as error:  # throttled or unavailable: nothing was sent; next tick
            self._emit(summary, Event.DEFERRED, delivery, now, f"could not claim: {error}")
            return None
        if claimed is None:
            return None  # another worker has it
        from herald.render import RenderError

        try:
            text = delivery.render()
        except RenderError as error:
            reason = f"the template did not render: {error}"
            self.ledger.mark_failed(key, token, now, reason, retryable=False)
            self._emit(summary, Event.FAILED, delivery, now, reason)
            return None
        channel = self.channels[key.channel]
        try:
            self.ledger.mark_attempting(key, token, now)
        except Exception as error:  # nothing sent: the claim's lease lapses, then re-claimable
            self._emit(summary, Event.DEFERRED, delivery, now, f"could not record: {error}")
            return None
        outcome = channel.publish(key.account, text, reply_to, delivery.media())
        try:
            return self._record(delivery, token, now, outcome, summary)
        except Exception as error:
            # The outcome could not be written: the record stays ATTEMPTING, becomes UNKNOWN
            # when its lease ends, and is reconciled on the account. Never re-posted blindly.
            self._emit(summary, Event.UNKNOWN, delivery, now, f"outcome not recorded ({error})")
            return outcome.remote_id if outcome.kind is OutcomeKind.SENT else None

    def _record(
        self, delivery: Delivery, token: str, now: datetime, outcome: Outcome, summary: Summary
    ) -> str | None:
        key = delivery.key
        match outcome.kind:
            case OutcomeKind.SENT:
                self.ledger.mark_sent(key, token, now, outcome.remote_id or "", outcome.url or "")
                self._final.add(key)
                self._emit(summary, Event.PUBLISHED, delivery, now, "", outcome.url)
                return outcome.remote_id
            case OutcomeKind.RATE_LIMITED:
                reason = outcome.reason or "rate limited"
                self.ledger.mark_failed(
                    key, token, now, reason, retryable=True, not_before=outcome.retry_at
                )
                self._emit(summary, Event.RATE_LIMITED, delivery, now, reason)
            case OutcomeKind.FAILED:
                reason = outcome.reason or "failed"
                self.ledger.mark_failed(key, token, now, reason, retryable=outcome.retryable)
                self._emit(summary, Event.FAILED, delivery, now, reason)
            case OutcomeKind.UNKNOWN:
                reason = outcome.reason or "no answer: it may have been published"
                self.ledger.mark_unknown(key, token, now, reason)
                self._emit(summary, Event.UNKNOWN, delivery, now, reason)
        return None

    # ---- reconciliation ----------------------------------------------------------------

    def _reconcile(
        self,
        delivery: Delivery,
        record: Record,
        now: datetime,
        summary: Summary,
        *,
        force: bool = False,
    ) -> None:
        """Look for an UNKNOWN delivery on the account: found -> SENT; else it stays UNKNOWN
        for a person to decide. Never re-posts."""
        key = delivery.key
        last = self._last_reconcile.get(key)
        if not force and last is not None and now - last < RECONCILE_EVERY:
            return
        self._last_reconcile[key] = now
        from herald.render import RenderError

        try:
            text = delivery.render()
        except RenderError:  # validated campaigns render; if not, nothing to look for
            return
        channel = self.channels[key.channel]
        try:
            found = channel.find_recent(key.account, text, delivery.at - timedelta(minutes=5))
        except Exception as error:  # the lookup failed: it stays UNKNOWN; try again later
            self._emit(summary, Event.DEFERRED, delivery, now, f"reconciliation failed: {error}")
            return
        if found is None or found.kind is not OutcomeKind.SENT:
            return
        try:
            self.ledger.resolve_unknown(key, now, found.remote_id or "", found.url or "")
        except LedgerConflict:
            return
        self._final.add(key)
        self._emit(summary, Event.RECONCILED, delivery, now, "found on the account", found.url)

    # ---- audit ---------------------------------------------------------------------------

    def _audit_due(self, now: datetime) -> bool:
        return self._last_audit is None or now - self._last_audit >= timedelta(hours=1)

    def _audit_in_tick(self, now: datetime, summary: Summary) -> None:
        self._last_audit = now
        for finding in self.audit(now, AUDIT_LOOKBACK):
            if finding.event in (Event.MISSED, Event.UNKNOWN):
                self._emit(summary, finding.event, finding.delivery, now, finding.detail)

    def audit(self, now: datetime, lookback: timedelta | None = None) -> list[Finding]:
        """Every delivery past its deadline without a final record: MISSED when nothing
        explains it, else its FAILED or UNKNOWN record."""
        start = now - lookback if lookback is not None else datetime.min.replace(tzinfo=now.tzinfo)
        past = [d for d in self._pending(start, now) if d.deadline < now]
        if not past:
            return []
        records = self.ledger.get_many([d.key for d in past])
        findings = []
        for delivery in past:
            record = records.get(delivery.key)
            if record is not None and record.is_final():
                self._final.add(delivery.key)
                continue
            findings.append(_finding(delivery, record))
        return findings

    # ---- helpers -------------------------------------------------------------------------

    def _emit(
        self,
        summary: Summary,
        event: Event,
        delivery: Delivery,
        now: datetime,
        detail: str = "",
        url: str | None = None,
    ) -> None:
        result = Result(event, delivery.key, delivery.at, now, detail, url)
        with self._lock:
            summary.counts[event.value] += 1
            summary.results.append(result)
        self.observer.outcome(result)


@dataclass(frozen=True)
class Finding:
    delivery: Delivery
    event: Event
    record: Record | None
    detail: str


def _finding(delivery: Delivery, record: Record | None) -> Finding:
    if record is None:
        return Finding(delivery, Event.MISSED, None, "past its deadline with no record")
    if record.state is State.UNKNOWN:
        return Finding(delivery, Event.UNKNOWN, record, record.reason or "")
    if record.state is State.FAILED:
        return Finding(delivery, Event.FAILED, record, record.reason or "")
    return Finding(delivery, Event.MISSED, record, f"stuck in {record.state.value}")


def _hm(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%MZ")
