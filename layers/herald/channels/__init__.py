"""Channels publish one delivery and report what happened, without raising for outcomes.

Adapters: X (tweepy, real HTTP) and the outbox (a local folder, the embedded default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from herald.delivery import MediaItem


class OutcomeKind(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # definitely not published
    RATE_LIMITED = "rate_limited"  # not published; claimable again at retry_at
    UNKNOWN = "unknown"  # may have been published: reconcile, never re-post blindly


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    remote_id: str | None = None
    url: str | None = None
    reason: str | None = None
    retryable: bool = False
    retry_at: datetime | None = None
    # The network refused the call as duplicate content (X's 403): evidence that the same
    # text is already on the account, perhaps from an earlier attempt. SENT with it: the
    # post was found there (its remote_id); UNKNOWN with it: it was not found (yet).
    duplicate: bool = False


class Channel(Protocol):
    name: str

    def publish(
        self, account: str, text: str, reply_to: str | None, media: list[MediaItem]
    ) -> Outcome:
        """Publish `text` from `account`, as a reply to the remote id `reply_to` if given."""
        ...

    def find_recent(
        self,
        account: str,
        text: str,
        since: datetime,
        *,
        exclude_ids: frozenset[str] = frozenset(),
    ) -> Outcome | None:
        """Reconciliation: a SENT outcome if a post with exactly `text` (links included) is
        among the account's posts created at or after `since`; None if it is not there.

        `since` is the moment the attempt began (the record's ATTEMPTING time): an older
        post is another delivery's, never this one's. A channel whose clock is not the
        caller's may allow a small skew, which it documents. Posts whose remote id is in
        `exclude_ids` (recorded for other deliveries) are never returned. Raises when the
        account cannot be read: an error is never reported as "not there"."""
        ...
