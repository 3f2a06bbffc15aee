"""The publisher engine: one tick at minute `now` publishes what is due, exactly once.

For the deliveries due in the look-back window that are not known to be final:
read the ledger in batches; skip what is final; mark late ones SKIPPED; hold paused ones
until their deadline, then SKIPPED (paused); expire dead attempts to UNKNOWN and reconcile
them; render the rest and claim each with a conditional write (straight as ATTEMPTING when
it has no images to upload; else CLAIMED, then ATTEMPTING just before the create call),
publish, record. Accounts are published to concurrently (bounded), each account's
deliveries in order; while one's create call is in flight, the account's next delivery is
claimed, and a SENT outcome is written on the side (every write is still made before the
tick returns).
A tick with nothing due returns at once: no ledger read, no network, no Jinja, no tweepy.
"""

from __future__ import annotations

import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from threading import Condition, Lock
from typing import Any, Protocol

from herald.channels import (
    Channel,
    CreateCall,
    Outcome,
    OutcomeKind,
    PostRef,
    Reply,
    SettleBy,
    Settlement,
)
from herald.delivery import Delivery, DeliveryKey, Plan, thread_root
from herald.ledger import ALL_CAMPAIGNS, Ledger, LedgerConflict, Pause, Record, State

LOOKBACK = timedelta(hours=24)  # how far back a tick looks for deliveries without an outcome
AUDIT_LOOKBACK = timedelta(hours=25)  # the audit looks a little further: what the tick missed
LEASE = timedelta(minutes=3)  # longer than the function's timeout plus scheduling skew
RECONCILE_EVERY = timedelta(minutes=5)  # how often an UNKNOWN is looked for on the account
SAFETY_MARGIN_SECONDS = 15.0  # stop claiming work when less than this is left
RECORD_SECONDS = 5.0  # what recording an outcome may take, after the create call
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
    ledger_unavailable: bool = False  # the tick could not read the ledger: nothing was done
    refused: str | None = None  # why the tick was refused (its event's time), if it was

    def as_dict(self) -> dict[str, object]:
        return {
            "now": self.now.isoformat().replace("+00:00", "Z"),
            "examined": self.examined,
            "out_of_time": self.out_of_time,
            "ledger_unavailable": self.ledger_unavailable,
            **({"refused": self.refused} if self.refused else {}),
            **{str(k): v for k, v in sorted(self.counts.items())},
        }


class Engine:
    """Publishes a plan through channels, recording every outcome in the ledger."""

    def __init__(
        self,
        plan: Plan,
        ledger: Ledger,
        channels: Mapping[str, Channel],
        observer: Observer | None = None,
        *,
        lease: timedelta = LEASE,
        max_workers: int = MAX_WORKERS,
        safety_margin: float = SAFETY_MARGIN_SECONDS,
        refused: Sequence[str] = (),
    ) -> None:
        self.plan = plan
        self.ledger = ledger
        self.channels = channels
        self.observer = observer or NullObserver()
        self.lease = lease
        self.max_workers = max_workers
        self.safety_margin = safety_margin
        self.refused = list(refused)  # problems of campaigns that could not be loaded
        self._final: set[DeliveryKey] = set()  # known SENT or SKIPPED: never read again
        self._last_reconcile: dict[DeliveryKey, datetime] = {}
        self._last_audit: datetime | None = None
        self._lock = Lock()
        self._workers = _Workers(max_workers)

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
        return bool(self.refused) or any(
            d.deadline < now for d in self._pending(now - AUDIT_LOOKBACK, now)
        )

    def tick(self, now: datetime, remaining: Callable[[], float] | None = None) -> Summary:
        summary = Summary(now)
        window = self._pending(now - LOOKBACK, now)
        if window:
            self._process(window, now, remaining, summary)
        if self._audit_due(now) and not summary.ledger_unavailable:
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
        try:
            paused = self._workers.reader.submit(self.ledger.pauses)  # both reads at once
            try:
                records = self.ledger.get_many([d.key for d in window])
            finally:
                wait([paused])  # neither read outlives the tick
            pauses = {p.scope: p for p in paused.result()}
        except Exception as error:  # throttled or unreachable: nothing was claimed; next tick
            summary.ledger_unavailable = True
            for delivery in window:
                self._emit(summary, Event.DEFERRED, delivery, now, f"ledger unavailable: {error}")
            return
        tick = _Tick(now, remaining, summary, _sent_ids(records))
        ready: list[tuple[Delivery, Record | None]] = []
        for delivery in window:
            record = records.get(delivery.key)
            if record is not None and record.is_final(delivery.at):
                self._final.add(delivery.key)
                continue
            if self._triage(delivery, record, tick, pauses):
                ready.append((delivery, record))
        self._publish_all(ready, tick)

    def _publish_all(self, ready: list[tuple[Delivery, Record | None]], tick: _Tick) -> None:
        """Each account's deliveries in order; accounts concurrently (bounded)."""
        by_account: dict[tuple[str, str], list[tuple[Delivery, Record | None]]] = {}
        for delivery, record in ready:
            by_account.setdefault((delivery.key.channel, delivery.key.account), []).append(
                (delivery, record)
            )
        queues = list(by_account.values())
        if not queues:
            return
        tick.first_calls.expect(min(len(queues), self.max_workers))  # the queues begun at once
        if len(queues) == 1:
            self._publish_queue(queues[0], tick)
            return
        futures = [self._workers.accounts.submit(self._publish_queue, q, tick) for q in queues]
        wait(futures)  # every queue has ended (its writes made) before any error is raised
        for future in futures:
            future.result()

    def _triage(
        self, delivery: Delivery, record: Record | None, tick: _Tick, pauses: dict[str, Pause]
    ) -> bool:
        """What to do with a delivery that is not final; True when it is to be published
        (a claim, or one more attempt at an UNKNOWN the network settled as absent)."""
        now, key = tick.now, delivery.key
        if record is not None and record.state is State.ATTEMPTING:
            self._expire(delivery, record, tick)
            return False
        if record is not None and record.state is State.UNKNOWN:
            return self._settle(delivery, record, tick)
        if record is not None and not record.is_claimable(now, delivery.at):
            return False  # owned by another worker, FAILED for good, or waiting for not_before
        pause = pauses.get(key.campaign) or pauses.get(ALL_CAMPAIGNS)
        if now > delivery.deadline:
            self._skip(delivery, pause, tick)
            return False
        return pause is None  # held while paused: published if resumed inside its window

    def _skip(self, delivery: Delivery, pause: Pause | None, tick: _Tick) -> None:
        if pause:
            event, reason = Event.SKIPPED_PAUSED, f"paused: {pause.reason}"
        else:
            deadline = _hm(delivery.deadline)
            event, reason = (
                Event.SKIPPED_LATE,
                f"late: due {_hm(delivery.at)}, not published by {deadline}",
            )
        if self.ledger.skip(delivery.key, tick.now, reason, delivery.at) is not None:
            self._final.add(delivery.key)
            self._emit(tick.summary, event, delivery, tick.now, reason)

    def _expire(self, delivery: Delivery, record: Record, tick: _Tick) -> None:
        """A stale ATTEMPTING record (its worker died during or just before the call, or
        left a claim made ahead) becomes UNKNOWN, then is looked for at once."""
        if record.lease_until is None or record.lease_until > tick.now:
            return
        expired = self.ledger.expire_attempt(
            delivery.key,
            tick.now,
            "the publisher stopped during the call; it may have been published",
        )
        if expired is not None:
            self._emit(tick.summary, Event.UNKNOWN, delivery, tick.now, expired.reason or "")
            self._settle(delivery, expired, tick, force=True)

    # ---- publishing --------------------------------------------------------------------

    def _publish_queue(self, queue: Sequence[tuple[Delivery, Record | None]], tick: _Tick) -> None:
        """One account's deliveries in order. Its side work (the next claim and the SENT
        writes, made while a create call is in flight) is done before it returns."""
        ahead = _Ahead(self, tick, queue)
        try:
            self._publish_in_order(queue, tick, ahead)
        finally:  # a claim made ahead and not reached (the queue stopped) is given back
            ahead.first_call()
            ahead.release_all("not sent: the account's queue stopped; claimed again next tick")
            ahead.wait_for_writes()

    def _publish_in_order(
        self, queue: Sequence[tuple[Delivery, Record | None]], tick: _Tick, ahead: _Ahead
    ) -> None:
        for position, (delivery, record) in enumerate(queue):
            ahead.position = position
            if tick.remaining is not None and tick.remaining() < self.safety_margin:
                ahead.release(delivery.key, "not sent: out of time; claimed again next tick")
                with self._lock:
                    tick.summary.out_of_time = True
                self._emit(
                    tick.summary, Event.DEFERRED, delivery, tick.now, "out of time: next tick"
                )
                continue
            reply = None
            if delivery.parent_key is not None:
                reply = self._reply(delivery.parent_key, tick)
                if reply is None:
                    self._emit(
                        tick.summary, Event.DEFERRED, delivery, tick.now, "waiting for its parent"
                    )
                    continue
            sent = self._publish(delivery, record, reply, tick, ahead)
            if sent is not None:
                tick.sent(delivery.key, sent)

    def _reply(self, parent: DeliveryKey, tick: _Tick) -> Reply | None:
        """What a thread part replies to: its parent and its thread's root, both SENT (None
        while either is not)."""
        root = thread_root(parent)
        parent_ref = tick.sent_id(parent) or self._sent_ref(parent)
        root_ref = parent_ref if root == parent else tick.sent_id(root) or self._sent_ref(root)
        if parent_ref is None or root_ref is None:
            return None
        return Reply(parent_ref, root_ref)

    def _sent_ref(self, key: DeliveryKey) -> PostRef | None:
        record = self.ledger.get_many([key]).get(key)
        if record is not None and record.state is State.SENT and record.remote_id:
            return PostRef(record.remote_id, record.remote_cid)
        return None

    def _claim(
        self, delivery: Delivery, record: Record | None, token: str, tick: _Tick
    ) -> _Claimed | None:
        """The claim on a delivery, with its text rendered: a new or claimable one, or one
        more attempt at an UNKNOWN one whose absence the network's guarantee settled. None
        if not won. A delivery with nothing to upload, whose create call can still be made
        in the time left, is claimed straight as ATTEMPTING (one write instead of two)."""
        now, key = tick.now, delivery.key
        text, problem = _rendered(delivery)
        if record is not None and record.state is State.UNKNOWN:
            settlement = self._settlement(record, now)
            won = self.ledger.reclaim_unknown(
                key, token, now, now + self.lease, now - settlement.absence_gap, settlement.resends
            )
            return None if won is None else _Claimed(token, won, text, problem, False)
        channel = self.channels[key.channel]
        wanted = channel.settlement.by is SettleBy.IDEMPOTENCY_KEY
        stored = record.idempotency_key if record is not None else None
        # The ledger keeps the key of the first claim; the attempt's history names it.
        chosen = (stored or channel.new_key(key)) if wanted else None
        straight = text is not None and not delivery.media() and tick.time_for(channel)
        claimed = self.ledger.claim(
            key,
            token,
            now,
            now + self.lease,
            delivery.at,
            chosen,
            attempt_text=text if straight else None,
        )
        return None if claimed is None else _Claimed(token, claimed, text, problem, straight)

    def _publish(
        self,
        delivery: Delivery,
        record: Record | None,
        reply: Reply | None,
        tick: _Tick,
        ahead: _Ahead | None = None,
    ) -> PostRef | None:
        now, key, summary = tick.now, delivery.key, tick.summary
        made = ahead.take(key) if ahead is not None else None
        try:
            if made is not None:
                claimed = made.result()
            else:
                claimed = self._claim(delivery, record, uuid.uuid4().hex, tick)
        except LedgerConflict:
            claimed = None
        except Exception as error:  # throttled or unavailable: nothing was sent; next tick
            self._emit(summary, Event.DEFERRED, delivery, now, f"could not claim: {error}")
            return None
        if claimed is None:
            return None  # another worker has it
        if claimed.text is None:
            reason = f"the template did not render: {claimed.problem}"
            self.ledger.mark_failed(key, claimed.token, now, reason, retryable=False)
            self._emit(summary, Event.FAILED, delivery, now, reason)
            return None
        call = _Call(self, delivery, claimed, tick, ahead)
        outcome = self.channels[key.channel].publish(
            key.account,
            claimed.text,
            reply,
            delivery.media(),
            CreateCall(call.before_create, claimed.record.idempotency_key, tick.remaining),
        )
        return call.record(outcome)

    def _record(
        self, delivery: Delivery, token: str, now: datetime, outcome: Outcome, summary: Summary
    ) -> PostRef | None:
        key = delivery.key
        match outcome.kind:
            case OutcomeKind.SENT:
                remote_id, url = outcome.remote_id or "", outcome.url or ""
                self.ledger.mark_sent(key, token, now, remote_id, url, outcome.cid)
                self._final.add(key)
                self._emit(
                    summary, Event.PUBLISHED, delivery, now, outcome.reason or "", outcome.url
                )
                return PostRef(remote_id, outcome.cid)
            case OutcomeKind.RATE_LIMITED:
                reason = outcome.reason or "rate limited"
                self.ledger.mark_failed(
                    key, token, now, reason, retryable=True, not_before=outcome.retry_at
                )
                self._emit(summary, Event.RATE_LIMITED, delivery, now, reason)
            case OutcomeKind.FAILED:
                reason = outcome.reason or "failed"
                self.ledger.mark_failed(key, token, now, reason, retryable=outcome.retryable)
                event = Event.DEFERRED if outcome.stopped else Event.FAILED
                self._emit(summary, event, delivery, now, reason)
            case OutcomeKind.UNKNOWN:
                reason = outcome.reason or "no answer: it may have been published"
                self.ledger.mark_unknown(key, token, now, reason)
                self._emit(summary, Event.UNKNOWN, delivery, now, reason)
        return None

    # ---- settling an unknown outcome ---------------------------------------------------

    def _settle(
        self, delivery: Delivery, record: Record, tick: _Tick, *, force: bool = False
    ) -> bool:
        """Look for an UNKNOWN delivery on the account: found -> SENT. Inside its window, by
        the channel's guarantee (settlement): once read-backs far enough apart found
        nothing, True: attempt it once more. Otherwise it stays UNKNOWN for a person."""
        key, now = delivery.key, tick.now
        in_window = now <= delivery.deadline
        last = self._last_reconcile.get(key)
        if not (force or in_window) and last is not None and now - last < RECONCILE_EVERY:
            return False
        self._last_reconcile[key] = now
        found = self._read_back(delivery, record, tick)
        if found is None or found.kind is not OutcomeKind.SENT:
            return found is None and in_window and self._settled_absent(delivery, record, tick)
        try:
            remote_id, url = found.remote_id or "", found.url or ""
            self.ledger.resolve_unknown(key, now, remote_id, url, found.cid)
        except LedgerConflict:
            return False
        self._final.add(key)
        tick.sent(key, PostRef(found.remote_id or "", found.cid))
        self._emit(tick.summary, Event.RECONCILED, delivery, now, "found on the account", found.url)
        return False

    def _read_back(self, delivery: Delivery, record: Record, tick: _Tick) -> Outcome | None:
        """The post on the account, None if it is not there, or FAILED when the read-back
        itself failed (then nothing is concluded)."""
        from herald.render import RenderError

        key = delivery.key
        try:
            text = delivery.render()
        except RenderError:  # validated campaigns render; if not, nothing to look for
            return Outcome(OutcomeKind.FAILED, reason="the template does not render")
        since = record.attempted_at or delivery.at - timedelta(minutes=5)
        try:
            return self.channels[key.channel].find_recent(
                key.account,
                text,
                since,
                exclude_ids=tick.ids_of_others(key),
                idempotency_key=record.idempotency_key,
            )
        except Exception as error:  # the lookup failed: it stays UNKNOWN; try again later
            reason = f"reconciliation failed: {error}"
            self._emit(tick.summary, Event.DEFERRED, delivery, tick.now, reason)
            return Outcome(OutcomeKind.FAILED, reason=reason)

    def _settled_absent(self, delivery: Delivery, record: Record, tick: _Tick) -> bool:
        """The read-back found nothing: note it; True once the channel's guarantee allows
        one more attempt (absent on read-backs far enough apart, resends left)."""
        settlement = self._settlement(record, tick.now)
        if record.resends >= settlement.resends:
            return False
        noted = self.ledger.note_absent(delivery.key, tick.now)
        if noted is None or noted.absent_since is None:
            return False
        return tick.now - noted.absent_since >= settlement.absence_gap

    def _settlement(self, record: Record, now: datetime) -> Settlement:
        """The channel's settling rule for this UNKNOWN record now: a key the network keeps
        only for a while (Mastodon) settles by a repeated create while it lives, counted
        from the first attempt that carried it; after that, by reading back."""
        settlement = self.channels[record.key.channel].settlement
        return settlement.in_force(_first_attempt(record), now)

    # ---- audit ---------------------------------------------------------------------------

    def _audit_due(self, now: datetime) -> bool:
        return self._last_audit is None or now - self._last_audit >= timedelta(hours=1)

    def _audit_in_tick(self, now: datetime, summary: Summary) -> None:
        self._last_audit = now
        for finding in self.audit(now, AUDIT_LOOKBACK):
            if finding.event in (Event.MISSED, Event.UNKNOWN):
                self._emit(summary, finding.event, finding.delivery, now, finding.detail)
        for problem in self.refused:  # a whole campaign that could not be loaded
            refused = DeliveryKey(problem.split(":", 1)[0], "(refused campaign)", "-", "-")
            result = Result(Event.MISSED, refused, now, now, f"campaign refused: {problem}")
            with self._lock:
                summary.counts[Event.MISSED.value] += 1
                summary.results.append(result)
            self.observer.outcome(result)

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
            if record is not None and record.is_final(delivery.at):
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


class _Tick:
    """What one tick shares across its accounts: its time, its budget, its summary, and the
    remote ids of the deliveries known SENT (parents of replies; never matched twice)."""

    def __init__(
        self,
        now: datetime,
        remaining: Callable[[], float] | None,
        summary: Summary,
        sent_ids: dict[DeliveryKey, PostRef],
    ) -> None:
        self.now = now
        self.remaining = remaining
        self.summary = summary
        self.sent_ids = sent_ids
        self._lock = Lock()
        self.first_calls = _FirstCalls()

    def time_for(self, channel: Channel, margin: float = 0.0) -> bool:
        """Whether a create call on `channel`, and recording its outcome, fit in the time
        left, with `margin` to spare (always, outside Lambda)."""
        budget = channel.create_seconds + RECORD_SECONDS + margin
        return self.remaining is None or self.remaining() >= budget

    def sent_id(self, key: DeliveryKey) -> PostRef | None:
        with self._lock:
            return self.sent_ids.get(key)

    def sent(self, key: DeliveryKey, ref: PostRef) -> None:
        with self._lock:
            self.sent_ids[key] = ref

    def ids_of_others(self, key: DeliveryKey) -> frozenset[str]:
        """The remote ids recorded for every delivery but `key` (accounts publish
        concurrently: read under the lock)."""
        with self._lock:
            return frozenset(ref.id for k, ref in self.sent_ids.items() if k != key)


class _FirstCalls:
    """A busy tick's first moments, when every account queue claims and makes its first
    create call at once. A claim made ahead is not needed for a whole create call, so it
    waits until every queue has made its first call (or ended), or until its own queue
    asks for it, rather than hold up another account's first call. (A busy tick took
    0.5-2% less, near the benchmark's noise.)"""

    def __init__(self) -> None:
        self._turn = Condition()
        self._queues = 0
        self._asked: set[DeliveryKey] = set()

    def expect(self, queues: int) -> None:
        with self._turn:
            self._queues = queues

    def made(self) -> None:
        """One queue made its first create call, or ended without one."""
        with self._turn:
            self._queues -= 1
            if self._queues <= 0:
                self._turn.notify_all()

    def ask(self, key: DeliveryKey) -> None:
        """The claim made ahead on `key` is needed now."""
        with self._turn:
            self._asked.add(key)
            self._turn.notify_all()

    def wait(self, key: DeliveryKey) -> None:
        """Until every queue has made its first call, or `key`'s claim is asked for."""
        with self._turn:
            self._turn.wait_for(lambda: self._queues <= 0 or key in self._asked)


class _Ahead:
    """One account's queue: while a delivery's create call is in flight, the next one is
    claimed on the side, so that its claim's round trip is not waited for. Only a new
    delivery that replies to nothing is claimed ahead (a reply waits for its parent); a
    claim made ahead and then not used is given back (`release`), having sent nothing."""

    def __init__(
        self, engine: Engine, tick: _Tick, queue: Sequence[tuple[Delivery, Record | None]]
    ) -> None:
        self.engine, self.tick, self.queue = engine, tick, queue
        self.side = _Lane(engine._workers.side)
        self.position = 0
        self._first_call = False
        self._made: dict[DeliveryKey, Future[_Claimed | None]] = {}
        self._writes: list[Future[PostRef | None]] = []

    def claim_next(self) -> None:
        if self.position + 1 >= len(self.queue):
            return
        delivery, record = self.queue[self.position + 1]
        if record is not None or delivery.parent_key is not None:
            return
        engine, tick = self.engine, self.tick
        if not tick.time_for(engine.channels[delivery.key.channel], engine.safety_margin):
            return  # it might not be reached this tick: claim it then, or next tick
        self._made[delivery.key] = self.side.submit(self._claim_after_first_calls, delivery)

    def _claim_after_first_calls(self, delivery: Delivery) -> _Claimed | None:
        self.tick.first_calls.wait(delivery.key)
        return self.engine._claim(delivery, None, uuid.uuid4().hex, self.tick)

    def first_call(self) -> None:
        """This queue made its first create call this tick, or ended (counted once)."""
        if not self._first_call:
            self._first_call = True
            self.tick.first_calls.made()

    def take(self, key: DeliveryKey) -> Future[_Claimed | None] | None:
        made = self._made.pop(key, None)
        if made is not None:
            self.tick.first_calls.ask(key)
        return made

    def release(self, key: DeliveryKey, reason: str) -> None:
        """A claim made ahead that will not be used this tick: FAILED and retryable at
        once (nothing was sent), so the next tick claims it again without waiting for its
        lease. Should that write fail too, the claim lapses with its lease (a claim made
        straight as ATTEMPTING becomes UNKNOWN then, and is settled on the account)."""
        made = self.take(key)
        if made is None:
            return
        try:
            claimed = made.result()
            if claimed is not None:
                ledger, now = self.engine.ledger, self.tick.now
                ledger.mark_failed(key, claimed.token, now, reason, retryable=True)
        except Exception:  # not won, or not released: either way nothing was sent
            return

    def release_all(self, reason: str) -> None:
        """Every claim still made ahead, given back (the queue stopped before them)."""
        for key in list(self._made):
            self.release(key, reason)

    def writing(self, write: Future[PostRef | None]) -> None:
        """An outcome being written on the side (`_Call._write` reports its own errors)."""
        self._writes.append(write)

    def wait_for_writes(self) -> None:
        """Until every outcome written on the side is on record: the tick returns then."""
        wait(self._writes)


class _Lane(Executor):
    """One account queue's side work (its claims made ahead, its SENT writes), run in the
    order given, one task at a time, on the engine's side workers. An account needs no
    more at once: its next claim has a whole create call's time. Fewer threads then wait
    for the interpreter's lock beside the account threads; with one per side task, a busy
    tick took about 2% longer."""

    def __init__(self, workers: Executor) -> None:
        self._workers = workers
        self._lock = Lock()
        self._waiting: deque[tuple[Future[Any], Callable[[], Any]]] = deque()
        self._running = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            self._waiting.append((future, lambda: fn(*args, **kwargs)))
            if self._running:
                return future  # the worker running the lane takes it next
            self._running = True
        self._workers.submit(self._run)
        return future

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._running = False
                    return
                future, task = self._waiting.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(task())
            except BaseException as error:  # kept for whoever waits on it, as an executor does
                future.set_exception(error)


class _Workers:
    """The engine's threads, started on its first busy tick and kept for the next ones (a
    warm Lambda container's): one for each account queue, one for its side work (and as
    many again to spare), and one for the tick's second read. Starting some forty threads
    afresh in every busy tick held up its first create calls, as each start waits for the
    interpreter's lock. An idle worker waits on its queue and costs nothing; they end with
    the engine."""

    def __init__(self, max_workers: int) -> None:
        self.accounts = ThreadPoolExecutor(max_workers, thread_name_prefix="herald-account")
        self.side = ThreadPoolExecutor(2 * max_workers, thread_name_prefix="herald-side")
        self.reader = ThreadPoolExecutor(1, thread_name_prefix="herald-read")


def _first_attempt(record: Record) -> datetime | None:
    """When the first create call carrying the record's idempotency key was about to be
    made (its earliest ATTEMPTING); None if the history does not say."""
    times = [
        entry.at
        for entry in record.history
        if entry.event == State.ATTEMPTING.value
        and (record.idempotency_key is None or entry.key in (None, record.idempotency_key))
    ]
    return min(times, default=None)


@dataclass(frozen=True)
class _Claimed:
    """A claim won: its token and record, the delivery's text (None when the template did
    not render: `problem` says why), and whether it was written straight as ATTEMPTING."""

    token: str
    record: Record
    text: str | None
    problem: str | None
    attempting: bool


def _rendered(delivery: Delivery) -> tuple[str | None, str | None]:
    """The delivery's text, or None and why its template did not render."""
    from herald.render import RenderError

    try:
        return delivery.render(), None
    except RenderError as error:
        return None, str(error)


class _Call:
    """One create call of a claimed delivery: ATTEMPTING is written just before the call,
    after the media are uploaded (or was written with the claim, when there were none),
    and the call is made only when its worst-case time is left."""

    def __init__(
        self,
        engine: Engine,
        delivery: Delivery,
        claimed: _Claimed,
        tick: _Tick,
        ahead: _Ahead | None = None,
    ) -> None:
        self.engine, self.delivery, self.tick = engine, delivery, tick
        self.token, self.text = claimed.token, claimed.text
        # The account's queue: its next delivery is claimed while this call is in flight,
        # and a SENT outcome is written on its side pool, off the queue.
        self.ahead = ahead
        self.attempting = claimed.attempting

    def before_create(self) -> str | None:
        channel = self.engine.channels[self.delivery.key.channel]
        if not self.tick.time_for(channel):
            budget = channel.create_seconds + RECORD_SECONDS
            return f"too little time left for the create call (it can take {budget:.0f} s)"
        if not self.attempting:  # CLAIMED (images were uploaded since): write ATTEMPTING
            try:
                self.engine.ledger.mark_attempting(
                    self.delivery.key, self.token, self.tick.now, self.text
                )
            except Exception as error:  # nothing sent: the claim's lease lapses, then again
                return f"could not record the attempt ({error})"
            self.attempting = True
        if self.ahead is not None:
            self.ahead.first_call()
            self.ahead.claim_next()  # while the call is in flight
        return None

    def record(self, outcome: Outcome) -> PostRef | None:
        engine, delivery, tick = self.engine, self.delivery, self.tick
        if outcome.duplicate and outcome.remote_id in tick.ids_of_others(delivery.key):
            # The post found after a duplicate refusal is recorded for another delivery:
            # it is no evidence for this one.
            reason = f"refused as a duplicate of post {outcome.remote_id}, another delivery's"
            outcome = Outcome(OutcomeKind.UNKNOWN, reason=reason, duplicate=True)
        if not self.attempting and outcome.kind in (OutcomeKind.SENT, OutcomeKind.UNKNOWN):
            # A channel that made its call without asking first: record the attempt now.
            engine.ledger.mark_attempting(delivery.key, self.token, tick.now, self.text)
        if outcome.kind is OutcomeKind.SENT and self.attempting and self.ahead is not None:
            # The post is out and its id known: the account's next delivery (a reply to it
            # included) need not wait for the record. Were the worker to die first, the
            # ATTEMPTING record becomes UNKNOWN and the read-back finds the post.
            self.ahead.writing(self.ahead.side.submit(self._write, outcome))
            return PostRef(outcome.remote_id or "", outcome.cid)
        return self._write(outcome)

    def _write(self, outcome: Outcome) -> PostRef | None:
        engine, delivery, tick = self.engine, self.delivery, self.tick
        try:
            return engine._record(delivery, self.token, tick.now, outcome, tick.summary)
        except Exception as error:
            nothing_sent = outcome.kind in (OutcomeKind.FAILED, OutcomeKind.RATE_LIMITED)
            if not self.attempting or nothing_sent:
                # Nothing was sent: the claim lapses with its lease (one made straight as
                # ATTEMPTING becomes UNKNOWN then, and the account is read back).
                detail = outcome.reason or f"outcome not recorded ({error})"
                engine._emit(tick.summary, Event.DEFERRED, delivery, tick.now, detail)
                return None
            # The outcome could not be written: the record stays ATTEMPTING, becomes UNKNOWN
            # when its lease ends, and is settled on the account. Never re-posted blindly.
            detail = f"outcome not recorded ({error})"
            engine._emit(tick.summary, Event.UNKNOWN, delivery, tick.now, detail)
            if outcome.kind is OutcomeKind.SENT and outcome.remote_id:
                return PostRef(outcome.remote_id, outcome.cid)
            return None


def _sent_ids(records: dict[DeliveryKey, Record]) -> dict[DeliveryKey, PostRef]:
    return {
        k: PostRef(r.remote_id, r.remote_cid)
        for k, r in records.items()
        if r.state is State.SENT and r.remote_id
    }


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
