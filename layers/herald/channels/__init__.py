"""Channels publish one delivery and report what happened, without raising for outcomes.

Adapters: X (tweepy, real HTTP), Bluesky (XRPC on requests, herald.channels.bluesky_xrpc),
Mastodon and Facebook Pages (plain HTTP, herald.channels.web) and the outbox (a local folder,
the embedded default).
Each channel's checkable rules (lengths, media, threads, price) are in herald.channels.rules;
herald.channels.lazy builds a channel only when a delivery needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from herald.delivery import DeliveryKey, MediaItem


class OutcomeKind(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # definitely not published
    RATE_LIMITED = "rate_limited"  # not published; claimable again at retry_at
    UNKNOWN = "unknown"  # may have been published: reconcile, never re-post blindly


@dataclass(frozen=True)
class PostRef:
    """A published post as a reply must name it: its remote id, and on Bluesky its cid
    (a strong reference is uri + cid)."""

    id: str
    cid: str | None = None


@dataclass(frozen=True)
class Reply:
    """What a thread part replies to: its parent, and the thread's first post (the root;
    the parent itself when the parent is the root)."""

    parent: PostRef
    root: PostRef


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
    # The channel stopped before its create call (`not_created`): nothing was sent.
    stopped: bool = False
    # the content id of what was published, where the network names posts by it too
    # (Bluesky); the ledger keeps it beside remote_id, for the replies that follow.
    cid: str | None = None


class SettleBy(StrEnum):
    """What a network guarantees that lets an UNKNOWN outcome be settled."""

    IDEMPOTENCY_KEY = "idempotency_key"  # the same key can never make a second post
    READ_BACK_AND_DUPLICATE_REFUSAL = "read_back_and_duplicate_refusal"  # X
    READ_BACK = "read_back"  # reading the account back is all there is


@dataclass(frozen=True)
class Settlement:
    """How the engine may settle a channel's UNKNOWN outcome, inside the delivery's window:
    read the account back; once read-backs `absence_gap` apart found nothing (at once, for
    an idempotency key), attempt again, at most `resends` times.

    A network that keeps an idempotency key only for a while (Mastodon: about an hour)
    gives its `key_lifetime`, counted from the first attempt sent with the key, and the
    rule that holds once it is over (`after_key`): from then on a repeated create could
    make a second post, so only reading back settles it."""

    by: SettleBy
    absence_gap: timedelta
    resends: int
    key_lifetime: timedelta | None = None
    after_key: Settlement | None = None

    def in_force(self, first_attempt: datetime | None, now: datetime) -> Settlement:
        """The rule for an UNKNOWN whose key was first sent at `first_attempt` (None: not
        known, so the key may have expired): this one while the key lives, else
        `after_key`."""
        if self.key_lifetime is None or self.after_key is None:
            return self
        if first_attempt is not None and now - first_attempt < self.key_lifetime:
            return self
        return self.after_key


# X refuses identical text from an account (403 duplicate), so one more attempt after two
# read-backs a minute apart found nothing cannot make a second post; a minute outlasts the
# lag of X's timeline. At most two such attempts.
READ_BACK_THEN_RESEND = Settlement(
    SettleBy.READ_BACK_AND_DUPLICATE_REFUSAL, timedelta(seconds=60), resends=2
)


# Called by a channel just before its create call, once the media are uploaded; the engine
# records ATTEMPTING there (unless the claim was written straight as ATTEMPTING, for a post
# without images) and claims the account's next delivery while the call is in flight. It
# answers None to go ahead, or why the call must not be made (too little time left, the
# record could not be written): the channel then returns `not_created(why)` and creates
# nothing.
BeforeCreate = Callable[[], str | None]


@dataclass(frozen=True)
class CreateCall:
    """What the engine hands a channel for one create call: the hook to call just before
    it, the idempotency key to send with it (channels that take one), and the seconds left
    in the invocation (None: no limit), for a channel that must wait before it (Mastodon,
    while an image is processed) and may never wait beyond them."""

    before: BeforeCreate | None = None
    idempotency_key: str | None = None
    remaining: Callable[[], float] | None = None


def why_not(call: CreateCall | None) -> str | None:
    """Run the call's `before` hook: None to go ahead, else why not to make the call."""
    return call.before() if call is not None and call.before is not None else None


class Channel(Protocol):
    name: str
    settlement: Settlement
    create_seconds: float  # the longest the create call can take (its timeouts)

    def new_key(self, key: DeliveryKey) -> str | None:
        """The idempotency key for a delivery being claimed (a Bluesky record key, a
        Mastodon Idempotency-Key), or None for a channel that takes none. Called once per
        delivery when its settlement is IDEMPOTENCY_KEY; the ledger keeps the first key
        and every later attempt sends that one (`CreateCall.idempotency_key`)."""
        ...

    def publish(
        self, account: str, text: str, reply_to: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        """Publish `text` from `account`, as a reply to `reply_to` if given. Media are
        uploaded first; then `why_not(call)` runs just before the create call, and nothing
        is created when it gives a reason not to."""
        ...

    def find_recent(
        self,
        account: str,
        text: str,
        since: datetime,
        *,
        exclude_ids: frozenset[str] = frozenset(),
        idempotency_key: str | None = None,
    ) -> Outcome | None:
        """Reconciliation: a SENT outcome if a post with exactly `text` (links included) is
        among the account's posts created at or after `since`; None if it is not there.
        `idempotency_key` is the key the delivery's attempts were sent with (None if the
        channel takes none): a channel that can look a post up by it (Bluesky's record
        key) answers from that alone.

        `since` is the moment the attempt began (the record's ATTEMPTING time): an older
        post is another delivery's, never this one's. A channel whose clock is not the
        caller's may allow a small skew, which it documents. Posts whose remote id is in
        `exclude_ids` (recorded for other deliveries) are never returned. Raises when the
        account cannot be read: an error is never reported as "not there"."""
        ...


def not_created(reason: str) -> Outcome:
    """The outcome when `before_create` stopped a publication: nothing was created."""
    return Outcome(OutcomeKind.FAILED, reason=f"not sent: {reason}", retryable=True, stopped=True)
