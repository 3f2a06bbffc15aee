"""The ledger: one record per delivery, moved through a state machine by conditional writes.

States (DESIGN.md): CLAIMED -> ATTEMPTING -> SENT | FAILED | UNKNOWN; SKIPPED is final for
its due time. A delivery with nothing to upload is claimed straight as ATTEMPTING: its claim
and its attempt are one write (README, "The ledger").

A record is *claimable* when it does not exist, when it is CLAIMED with an expired lease,
when it is FAILED, retryable, and its `not_before` has passed, or when it is SKIPPED for
another due time than the plan's (the post was re-timed). A stale ATTEMPTING
record becomes UNKNOWN, never "retry"; an UNKNOWN one is claimed again only through
`reclaim_unknown`, once the network's own guarantee settled it as absent.

Every record keeps its history: each transition appends an `Attempt` (when, what was sent,
what came back, which idempotency key), so a person can tell from the record alone why a
post went out late.

Every transition after the claim is conditional on the claim token, so a worker that lost
its lease can never overwrite the winner's outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from herald.delivery import DeliveryKey
from herald.timeutil import format_utc, parse_utc

# Pause scope that stops every campaign.
ALL_CAMPAIGNS = "*"


class State(StrEnum):
    CLAIMED = "CLAIMED"
    ATTEMPTING = "ATTEMPTING"
    SENT = "SENT"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    SKIPPED = "SKIPPED"


FINAL_STATES = frozenset({State.SENT, State.SKIPPED})


# The history's event for a read-back of the account that did not find the post.
READ_BACK = "READ_BACK"
# How much of a sent text the history keeps (a post on X is at most 280 characters).
HISTORY_TEXT_LIMIT = 1000


@dataclass(frozen=True)
class Attempt:
    """One entry of a delivery's history: what happened, when, and what was sent or found."""

    at: datetime
    event: str  # the state it moved to (CLAIMED, ATTEMPTING, SENT...), or READ_BACK
    detail: str = ""
    text: str | None = None  # what was sent (ATTEMPTING), cut at HISTORY_TEXT_LIMIT
    key: str | None = None  # the idempotency key the call carried, if the channel takes one
    remote_id: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The entry as strings, without empty fields: how both adapters store it."""
        values = {
            "at": format_utc(self.at),
            "event": self.event,
            "detail": self.detail,
            "text": self.text,
            "key": self.key,
            "remote_id": self.remote_id,
        }
        return {name: value for name, value in values.items() if value}

    @classmethod
    def from_dict(cls, values: Mapping[str, str]) -> Attempt:
        return cls(
            at=parse_utc(values["at"]),
            event=values["event"],
            detail=values.get("detail", ""),
            text=values.get("text"),
            key=values.get("key"),
            remote_id=values.get("remote_id"),
        )


def absent_note(now: datetime) -> Attempt:
    """The history entry of a read-back that did not find the post."""
    return Attempt(now, READ_BACK, "not found on the account")


def resend_note(now: datetime) -> Attempt:
    """The history entry of the claim for one more attempt at a settled UNKNOWN."""
    return Attempt(now, State.CLAIMED, "settled as absent: one more attempt")


def found_note(now: datetime, remote_id: str) -> Attempt:
    """The history entry of an UNKNOWN delivery found on the account."""
    return Attempt(now, State.SENT, "found on the account", remote_id=remote_id)


def sent_text(text: str | None) -> str | None:
    """The part of a sent text that the history keeps."""
    if text is None or len(text) <= HISTORY_TEXT_LIMIT:
        return text
    return text[: HISTORY_TEXT_LIMIT - 1] + "…"


@dataclass(frozen=True)
class Record:
    key: DeliveryKey
    state: State
    updated_at: datetime
    due_at: datetime | None = None
    claim_token: str | None = None
    lease_until: datetime | None = None
    not_before: datetime | None = None
    retryable: bool = False
    reason: str | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    remote_cid: str | None = None  # the post's content id, where replies need it (Bluesky)
    attempts: int = 0
    attempted_at: datetime | None = None  # when the last create call was about to be made
    absent_since: datetime | None = None  # UNKNOWN, and a read-back first found nothing then
    resends: int = 0  # attempts made again after an UNKNOWN, once the network settled it
    idempotency_key: str | None = None  # chosen at the first claim, sent with every create
    history: tuple[Attempt, ...] = ()

    def is_final(self, due_at: datetime | None = None) -> bool:
        """SENT, or SKIPPED for this due time: a SKIPPED delivery that was re-timed since
        (paused, then moved to tomorrow) is due again at its new time."""
        if self.state is State.SKIPPED and due_at is not None and self.due_at is not None:
            return self.due_at == due_at
        return self.state in FINAL_STATES

    def is_claimable(self, now: datetime, due_at: datetime | None = None) -> bool:
        if self.state is State.CLAIMED:
            return self.lease_until is not None and self.lease_until <= now
        if self.state is State.FAILED:
            return self.retryable and (self.not_before is None or self.not_before <= now)
        if self.state is State.SKIPPED:
            return not self.is_final(due_at) and due_at is not None
        return False


@dataclass(frozen=True)
class Pause:
    scope: str  # a campaign id, or ALL_CAMPAIGNS
    reason: str
    since: datetime


class LedgerConflict(Exception):
    """A conditional write lost: another worker holds the claim, or the state moved on."""


class Ledger(Protocol):
    """What the engine and the CLI need from a ledger. Adapters: SQLite, DynamoDB."""

    def get_many(self, keys: list[DeliveryKey]) -> dict[DeliveryKey, Record]:
        """Records for the keys that have one (absent keys are left out)."""
        ...

    def records(self, campaign: str) -> list[Record]:
        """Every record of one campaign, in post order (a Query, never a Scan)."""
        ...

    def claim(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        lease_until: datetime,
        due_at: datetime,
        idempotency_key: str | None = None,
        *,
        attempt_text: str | None = None,
    ) -> Record | None:
        """Claim a new or claimable delivery (a SKIPPED one too, when it was re-timed to
        `due_at`): state CLAIMED, attempts+1. `idempotency_key` is stored the first time and
        kept after. None if not won.

        With `attempt_text` (what is about to be sent), the claim is written straight as
        ATTEMPTING, for a delivery with nothing to upload before its create call: one
        conditional write instead of two, under the same condition and lease."""
        ...

    def mark_attempting(
        self, key: DeliveryKey, token: str, now: datetime, text: str | None = None
    ) -> Record:
        """CLAIMED (by `token`) -> ATTEMPTING, written just before the create call; `text`
        is what is about to be sent, for the history."""
        ...

    def mark_sent(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        remote_id: str,
        remote_url: str,
        cid: str | None = None,
    ) -> Record:
        """ATTEMPTING (by `token`) -> SENT; `cid` where the channel names posts by it too."""
        ...

    def mark_failed(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        reason: str,
        retryable: bool,
        not_before: datetime | None = None,
    ) -> Record:
        """CLAIMED or ATTEMPTING (by `token`) -> FAILED; claimable again if retryable and
        `not_before` has passed (a 429 uses this with not_before = x-rate-limit-reset)."""
        ...

    def mark_unknown(self, key: DeliveryKey, token: str, now: datetime, reason: str) -> Record:
        """ATTEMPTING (by `token`) -> UNKNOWN: it may have been published."""
        ...

    def skip(self, key: DeliveryKey, now: datetime, reason: str, due_at: datetime) -> Record | None:
        """A new or claimable delivery -> SKIPPED (paused, late, cancelled). None if the
        record is in any other state (someone else owns it, or it is final)."""
        ...

    def expire_attempt(self, key: DeliveryKey, now: datetime, reason: str) -> Record | None:
        """ATTEMPTING whose lease ended before `now` -> UNKNOWN (the worker died during or
        just before the call). None if the record is not a stale ATTEMPTING."""
        ...

    def note_absent(self, key: DeliveryKey, now: datetime) -> Record | None:
        """An UNKNOWN delivery that a read-back did not find: `absent_since` is set the first
        time and kept. None if the record is no longer UNKNOWN."""
        ...

    def reclaim_unknown(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        lease_until: datetime,
        absent_before: datetime,
        max_resends: int,
    ) -> Record | None:
        """UNKNOWN -> CLAIMED for one more attempt, once the network settled it as absent:
        only if read-backs found nothing since `absent_before` or earlier and fewer than
        `max_resends` were made. None if not won (another worker, or not settled)."""
        ...

    def resolve_unknown(
        self,
        key: DeliveryKey,
        now: datetime,
        remote_id: str,
        remote_url: str,
        cid: str | None = None,
    ) -> Record:
        """UNKNOWN -> SENT, after reconciliation found the post on the account."""
        ...

    def requeue(self, key: DeliveryKey, now: datetime, reason: str) -> Record:
        """A person's `herald retry`: UNKNOWN or FAILED -> FAILED retryable, not_before=now."""
        ...

    def pause(self, scope: str, reason: str, now: datetime) -> Pause: ...

    def resume(self, scope: str) -> bool:
        """Lift a pause; False if that scope was not paused."""
        ...

    def pauses(self) -> list[Pause]: ...


def sort_key(key: DeliveryKey) -> str:
    """A record's key within its campaign: both adapters store and list records by it, so
    they list them in the same order."""
    return f"{key.post}#{key.channel}#{key.account}"


def conflict(
    key: DeliveryKey, action: str, expected: str, token: str | None, old: Record | None
) -> LedgerConflict:
    """The LedgerConflict for a lost conditional write, saying what the record really is."""
    if old is None:
        found = "there is no record of it"
    else:
        found = f"it is {old.state}"
        held = old.state in (State.CLAIMED, State.ATTEMPTING)
        if token is not None and held and old.claim_token != token:
            found += " under another worker's claim"
    return LedgerConflict(f"{key}: cannot {action}: {found} (expected {expected}).")
