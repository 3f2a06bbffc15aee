"""The ledger: one record per delivery, moved through a state machine by conditional writes.

States (DESIGN.md): CLAIMED -> ATTEMPTING -> SENT | FAILED | UNKNOWN; SKIPPED is final.
A record is *claimable* when it does not exist, when it is CLAIMED with an expired lease,
or when it is FAILED, retryable, and its `not_before` has passed. Nothing else is ever
claimed: a stale ATTEMPTING record becomes UNKNOWN, never "retry".

Every transition after the claim is conditional on the claim token, so a worker that lost
its lease can never overwrite the winner's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from herald.delivery import DeliveryKey

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
    attempts: int = 0

    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def is_claimable(self, now: datetime) -> bool:
        if self.state is State.CLAIMED:
            return self.lease_until is not None and self.lease_until <= now
        if self.state is State.FAILED:
            return self.retryable and (self.not_before is None or self.not_before <= now)
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
        self, key: DeliveryKey, token: str, now: datetime, lease_until: datetime, due_at: datetime
    ) -> Record | None:
        """Claim a new or claimable delivery: state CLAIMED, attempts+1. None if not won."""
        ...

    def mark_attempting(self, key: DeliveryKey, token: str, now: datetime) -> Record:
        """CLAIMED (by `token`) -> ATTEMPTING, written just before the network call."""
        ...

    def mark_sent(
        self, key: DeliveryKey, token: str, now: datetime, remote_id: str, remote_url: str
    ) -> Record:
        """ATTEMPTING (by `token`) -> SENT."""
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
        """ATTEMPTING whose lease ended before `now` -> UNKNOWN (the worker died mid-call).
        None if the record is not a stale ATTEMPTING."""
        ...

    def resolve_unknown(
        self, key: DeliveryKey, now: datetime, remote_id: str, remote_url: str
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
