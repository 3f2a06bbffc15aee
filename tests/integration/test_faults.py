"""Every way X and DynamoDB fail, through the engine: nothing published twice, nothing lost
without a FAILED, UNKNOWN or MISSED record."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald.channels import READ_BACK_THEN_RESEND, CreateCall, Outcome, Reply, why_not
from herald.channels.x import XChannel
from herald.delivery import DeliveryKey, MediaItem
from herald.engine import Engine, Event, Summary
from herald.ledger import Record, State
from herald.ledger.dynamodb import DynamoLedger
from herald.plan import LoadedPlan
from herald_dev.fake_x import DUPLICATE_DETAIL, TWEETS, USER_TWEETS, FakeX, FaultKind
from herald_dev.images import PNG
from tests.integration.conftest import (
    another_ledger,
    assert_nothing_lost,
    plan_of,
    record_of,
    tweet_calls,
    worker_command,
    worker_env,
    write_campaign,
)

pytestmark = pytest.mark.integration

CAMPAIGN = """\
campaign: faults
title: Faults
timezone: Europe/London
max_lateness: 15m
accounts:
  x:
    hertspolice: {handle: HertsPolice}
posts:
  - id: launch
    at: 2021-02-09 08:00
    text: "Today is Safer Internet Day: together for a better internet"
"""

T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)
KEY = DeliveryKey("faults", "launch", "x", "hertspolice")
TEXT = "Today is Safer Internet Day: together for a better internet"
AFTER = T0 + timedelta(minutes=30)  # past the 15-minute deadline

MakeChannel = Callable[..., XChannel]


@pytest.fixture
def plan(tmp_path: Path) -> LoadedPlan:
    return plan_of(tmp_path, CAMPAIGN)


@pytest.fixture
def channel(make_x_channel: MakeChannel) -> XChannel:
    return make_x_channel()


def plan_with_image(folder: Path) -> LoadedPlan:
    """The campaign, its post with an image: its claim is CLAIMED while the image is
    uploaded, then ATTEMPTING (a post without images is claimed straight as ATTEMPTING)."""
    (folder / "launch.png").write_bytes(PNG)
    line = f'    text: "{TEXT}"\n'
    media = "    media: [{file: launch.png, alt: Launch}]\n"
    return plan_of(folder, CAMPAIGN.replace(line, line + media))


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def tick_minutes(engine: Engine, first: int, last: int) -> list[Summary]:
    return [engine.tick(at(minute)) for minute in range(first, last + 1)]


def record(ledger: DynamoLedger) -> Record:
    found = record_of(ledger, KEY)
    assert found is not None
    return found


def events(summary: Summary) -> list[tuple[Event, str]]:
    return [(r.event, r.detail) for r in summary.results]


# --- X --------------------------------------------------------------------------------


def test_a_429_waits_for_the_reset_then_publishes_once(
    plan: LoadedPlan, ledger: DynamoLedger, fake_x: FakeX, channel: XChannel
) -> None:
    # Given X answers the first post with 429, its window resetting at 08:05
    fake_x.fail_next(TWEETS, FaultKind.RATE_LIMIT, reset_at=int(at(5).timestamp()))
    engine = Engine(plan, ledger, {"x": channel})
    # When the due minute ticks
    first = engine.tick(T0)
    # Then the record is FAILED, retryable, not before the reset
    assert first.counts["RateLimited"] == 1
    limited = record(ledger)
    assert (limited.state, limited.retryable, limited.not_before) == (State.FAILED, True, at(5))
    # When the minutes before the reset tick, nothing is tried
    tick_minutes(engine, 1, 4)
    assert tweet_calls(fake_x) == 1
    # When the reset minute ticks, it is published, once
    assert engine.tick(at(5)).counts["Published"] == 1
    tick_minutes(engine, 6, 30)
    assert [p.text for p in fake_x.posts] == [TEXT]
    assert tweet_calls(fake_x) == 2
    sent = record(ledger)
    assert (sent.state, sent.remote_id, sent.attempts) == (State.SENT, fake_x.posts[0].id, 2)
    assert_nothing_lost(engine, plan, AFTER, ledger)


@pytest.mark.parametrize(
    ("kind", "options", "said"),
    [
        (FaultKind.SERVER_ERROR, {"status": 500}, "X answered 500 to the post"),
        (FaultKind.SERVER_ERROR, {"status": 503}, "X answered 503 to the post"),
        (FaultKind.HANG, {"seconds": 5}, "X did not answer within the read timeout"),
        (
            FaultKind.FORBIDDEN,
            {"detail": DUPLICATE_DETAIL},
            "X refused the post as duplicate content (403)",
        ),
    ],
    ids=["500", "503", "hang", "403-duplicate"],
)
def test_an_answer_that_leaves_it_open_is_settled_then_sent_exactly_once(
    plan: LoadedPlan,
    ledger: DynamoLedger,
    fake_x: FakeX,
    make_x_channel: MakeChannel,
    kind: FaultKind,
    options: dict[str, Any],
    said: str,
) -> None:
    # Given X fails the post in a way that does not say whether it went out (it did not)
    fake_x.fail_next(TWEETS, kind, **options)
    engine = Engine(plan, ledger, {"x": make_x_channel(read_timeout=1.0)})
    # When the due minute ticks
    first = engine.tick(T0)
    # Then the record is UNKNOWN, saying why
    assert [e for e, _ in events(first)] == [Event.UNKNOWN]
    unknown = record(ledger)
    assert unknown.state is State.UNKNOWN
    assert said in (unknown.reason or "")
    # When the next minute reads the account back, nothing is re-sent yet
    tick_minutes(engine, 1, 1)
    assert tweet_calls(fake_x) == 1
    # When the minute after reads it back again and still finds nothing, it goes once more
    assert engine.tick(at(2)).counts["Published"] == 1
    tick_minutes(engine, 3, 30)
    # Then it is on the account exactly once, two minutes late, and the record says why
    assert [p.text for p in fake_x.posts] == [TEXT]
    assert tweet_calls(fake_x) == 2
    assert fake_x.counts.get(USER_TWEETS, 0) >= 2
    sent = record(ledger)
    assert (sent.state, sent.remote_id, sent.resends) == (State.SENT, fake_x.posts[0].id, 1)
    assert [a.event for a in sent.history].count("READ_BACK") == 2
    assert_nothing_lost(engine, plan, AFTER, ledger)


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        (FaultKind.DROP_AFTER_ACCEPT, {}),
        (FaultKind.HANG, {"seconds": 5, "accept": True}),
    ],
    ids=["drop-after-accept", "hang-after-accept"],
)
def test_a_post_accepted_but_unanswered_is_reconciled_to_sent(
    plan: LoadedPlan,
    ledger: DynamoLedger,
    fake_x: FakeX,
    make_x_channel: MakeChannel,
    kind: FaultKind,
    options: dict[str, Any],
) -> None:
    # Given X records the post, then never answers
    fake_x.fail_next(TWEETS, kind, **options)
    engine = Engine(plan, ledger, {"x": make_x_channel(read_timeout=1.0)})
    # When the due minute ticks
    first = engine.tick(T0)
    # Then it is UNKNOWN
    assert [e for e, _ in events(first)] == [Event.UNKNOWN]
    assert record(ledger).state is State.UNKNOWN
    # When the next minute ticks, it is found on the account (GET /2/users/:id/tweets): SENT
    second = engine.tick(at(1))
    assert second.counts["Reconciled"] == 1
    assert fake_x.counts[USER_TWEETS] >= 1
    [post] = fake_x.posts
    found = record(ledger)
    assert (found.state, found.remote_id) == (State.SENT, post.id)
    assert found.remote_url == f"https://x.com/HertsPolice/status/{post.id}"
    # And it was posted once, and never again
    tick_minutes(engine, 2, 30)
    assert tweet_calls(fake_x) == 1
    assert len(fake_x.posts) == 1
    assert engine.audit(AFTER) == []


def test_a_real_duplicate_is_found_on_the_account_and_recorded_sent(
    plan: LoadedPlan, ledger: DynamoLedger, fake_x: FakeX, channel: XChannel
) -> None:
    # Given the same text is already on the account (someone posted it by hand)
    earlier = channel.publish("hertspolice", TEXT, None, [])
    engine = Engine(plan, ledger, {"x": channel})
    # When the due minute ticks, X refuses it as a duplicate, and that refusal is evidence:
    # the channel finds the existing post at once, and it is recorded SENT with its id
    assert engine.tick(T0).counts["Published"] == 1
    assert record(ledger).remote_id == earlier.remote_id
    # And there is still only one copy
    tick_minutes(engine, 2, 30)
    assert [p.text for p in fake_x.posts] == [TEXT]
    assert engine.audit(AFTER) == []


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        (FaultKind.BAD_REQUEST, "X refused the post (400)"),
        (FaultKind.UNAUTHORIZED, "401 Unauthorized"),
        (FaultKind.FORBIDDEN, "X refused the post (403)"),
    ],
    ids=["400", "401", "403"],
)
def test_a_refusal_is_failed_with_the_reason_and_not_retried(
    plan: LoadedPlan,
    ledger: DynamoLedger,
    fake_x: FakeX,
    channel: XChannel,
    kind: FaultKind,
    said: str,
) -> None:
    # Given X refuses the post
    fake_x.fail_next(TWEETS, kind)
    engine = Engine(plan, ledger, {"x": channel})
    # When the due minute and the half hour after it tick
    first = engine.tick(T0)
    tick_minutes(engine, 1, 30)
    # Then it is FAILED for good, with X's reason, tried once, and nothing went out
    assert first.counts["Failed"] == 1
    failed = record(ledger)
    assert (failed.state, failed.retryable) == (State.FAILED, False)
    assert said in (failed.reason or "")
    if kind is FaultKind.UNAUTHORIZED:
        assert "reconnect the account" in (failed.reason or "")
    assert tweet_calls(fake_x) == 1
    assert fake_x.posts == []
    # And the audit reports it
    [finding] = engine.audit(AFTER)
    assert finding.event is Event.FAILED
    assert_nothing_lost(engine, plan, AFTER, ledger)


# --- DynamoDB conditional checks --------------------------------------------------------


def test_a_delivery_claimed_by_another_worker_is_left_to_it(
    plan: LoadedPlan, ledger: DynamoLedger, dynamodb_local: str, fake_x: FakeX, channel: XChannel
) -> None:
    # Given another worker, on its own ledger client, claimed the delivery first
    other = another_ledger(ledger, dynamodb_local)
    assert other.claim(KEY, "other-worker", T0, at(3), T0) is not None
    engine = Engine(plan, ledger, {"x": channel})
    # When this worker ticks while the claim holds, its claim loses the conditional write
    held = engine.tick(T0)
    engine.tick(at(2))
    # Then it publishes nothing and leaves the claim alone
    assert held.counts["Published"] == 0
    assert tweet_calls(fake_x) == 0
    assert record(ledger).claim_token == "other-worker"
    # When the other worker died before its call and its lease ended, this one publishes once
    assert engine.tick(at(3)).counts["Published"] == 1
    tick_minutes(engine, 4, 30)
    assert [p.text for p in fake_x.posts] == [TEXT]
    assert record(ledger).state is State.SENT


class StallAfterClaim(DynamoLedger):
    """A ledger whose worker stalls right after its claim, while `meanwhile` runs."""

    meanwhile: Callable[[], None] | None = None

    def claim(self, key: DeliveryKey, token: str, *args: Any, **kwargs: Any) -> Record | None:
        claimed = super().claim(key, token, *args, **kwargs)
        if self.meanwhile is not None:
            run, self.meanwhile = self.meanwhile, None
            run()
        return claimed


def test_a_worker_whose_claim_was_taken_over_does_not_publish(
    tmp_path: Path,
    ledger: DynamoLedger,
    dynamodb_client: Any,
    fake_x: FakeX,
    make_x_channel: MakeChannel,
) -> None:
    # Given a post with an image (so its claim is CLAIMED while the image is uploaded), and
    # a worker that claims it and then stalls past its lease, while another worker (its own
    # ledger object, same table) ticks three minutes later
    plan = plan_with_image(tmp_path)
    slow = StallAfterClaim(ledger.table_name, client=dynamodb_client)
    other = Engine(plan, ledger, {"x": make_x_channel()})
    takeover: list[Summary] = []
    slow.meanwhile = lambda: takeover.append(other.tick(at(3)))
    stalled = Engine(plan, slow, {"x": make_x_channel()})
    # When the stalled worker resumes
    summary = stalled.tick(T0)
    # Then the other worker took the expired claim and published it
    assert takeover[0].counts["Published"] == 1
    # And the stalled one's ATTEMPTING write lost (LedgerConflict): it deferred, sent nothing
    [(event, detail)] = events(summary)
    assert event is Event.DEFERRED
    assert "cannot mark it ATTEMPTING" in detail
    assert tweet_calls(fake_x) == 1
    assert [p.text for p in fake_x.posts] == [TEXT]
    sent = record(ledger)
    assert (sent.state, sent.attempts) == (State.SENT, 2)


class StallBeforeCall:
    """A channel whose worker stalls after writing ATTEMPTING, while `meanwhile` runs."""

    name = "x"
    settlement = READ_BACK_THEN_RESEND

    def __init__(self, inner: XChannel, meanwhile: Callable[[], None]) -> None:
        self.inner = inner
        self.create_seconds = inner.create_seconds
        self.meanwhile: Callable[[], None] | None = meanwhile

    def new_key(self, key: DeliveryKey) -> str | None:
        return None

    def publish(
        self, account: str, text: str, reply_to: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        def stall_after_attempting() -> str | None:
            stop = why_not(call)
            if stop is None and self.meanwhile is not None:
                run, self.meanwhile = self.meanwhile, None
                run()
            return stop

        return self.inner.publish(
            account, text, reply_to, media, CreateCall(stall_after_attempting)
        )

    def find_recent(
        self, account: str, text: str, since: datetime, **options: Any
    ) -> Outcome | None:
        return self.inner.find_recent(account, text, since, **options)


def test_a_worker_whose_attempt_expired_records_nothing_and_it_is_reconciled(
    plan: LoadedPlan,
    ledger: DynamoLedger,
    dynamodb_local: str,
    fake_x: FakeX,
    make_x_channel: MakeChannel,
) -> None:
    # Given a worker that wrote ATTEMPTING (its claim, straight: the post has no image),
    # then stalled past its lease before its call, while another worker ticked three
    # minutes later (expiring the attempt to UNKNOWN, never claiming it)
    other = Engine(plan, another_ledger(ledger, dynamodb_local), {"x": make_x_channel()})
    takeover: list[Summary] = []
    slow = StallBeforeCall(make_x_channel(), lambda: takeover.append(other.tick(at(3))))
    stalled = Engine(plan, ledger, {"x": slow})
    # When the stalled worker resumes and publishes
    summary = stalled.tick(T0)
    # Then the other worker had marked it UNKNOWN (not found yet) and never posted it
    assert takeover[0].counts["Unknown"] == 1
    # And the stalled worker's SENT write lost: it reports UNKNOWN, the record stays UNKNOWN
    [(event, detail)] = events(summary)
    assert event is Event.UNKNOWN
    assert "cannot mark it SENT" in detail
    assert record(ledger).state is State.UNKNOWN
    # When a later tick reconciles, the post is found: SENT, and X has one copy
    later = Engine(plan, ledger, {"x": make_x_channel()})
    assert later.tick(at(9)).counts["Reconciled"] == 1
    [post] = fake_x.posts
    assert record(ledger).remote_id == post.id
    assert tweet_calls(fake_x) == 1
    assert later.audit(AFTER) == []
    # And the record's history starts with the straight claim, never a second claim
    steps = [a.event for a in record(ledger).history]
    assert steps[0] == "ATTEMPTING" and "CLAIMED" not in steps


# --- DynamoDB throttling ------------------------------------------------------------------


class Throttle:
    """Answers the next `times` UpdateItem calls that set `state` with DynamoDB's
    ThrottlingException, as if botocore's retries were spent."""

    def __init__(self, client: Any, state: State, times: int = 1) -> None:
        self.state = state
        self.times = times
        self.throttled = 0
        client.meta.events.register("before-call.dynamodb.UpdateItem", self.before_call)

    def before_call(self, params: dict[str, Any], **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders

        body = json.loads(params["body"])
        if self.times and body["ExpressionAttributeValues"].get(":state") == {"S": self.state}:
            self.times -= 1
            self.throttled += 1
            error = {
                "Error": {
                    "Code": "ThrottlingException",
                    "Message": "Rate of requests exceeds the allowed throughput.",
                },
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            return AWSResponse(params["url"], 400, HTTPHeaders(), None), error
        return None


class AttemptingFirst:
    """A channel that notes the ledger state of each delivery at the moment it is sent."""

    name = "x"
    settlement = READ_BACK_THEN_RESEND

    def __init__(self, inner: XChannel, ledger: DynamoLedger) -> None:
        self.inner = inner
        self.create_seconds = inner.create_seconds
        self.ledger = ledger
        self.seen: list[State | None] = []

    def new_key(self, key: DeliveryKey) -> str | None:
        return None

    def publish(
        self, account: str, text: str, reply_to: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        def note_the_state() -> str | None:
            stop = why_not(call)
            if stop is None:  # the call is about to be made
                found = record_of(self.ledger, KEY)
                self.seen.append(found.state if found else None)
            return stop

        return self.inner.publish(account, text, reply_to, media, CreateCall(note_the_state))

    def find_recent(
        self, account: str, text: str, since: datetime, **options: Any
    ) -> Outcome | None:
        return self.inner.find_recent(account, text, since, **options)


@pytest.mark.parametrize(
    ("image", "state", "retry_minute", "said"),
    [
        (False, State.ATTEMPTING, 1, "could not claim"),
        (True, State.CLAIMED, 1, "could not claim"),
        (True, State.ATTEMPTING, 1, "could not record"),
    ],
    ids=["straight-claim", "claim", "attempting"],
)
def test_a_throttled_write_before_the_call_defers_and_a_later_tick_publishes(
    tmp_path: Path,
    ledger: DynamoLedger,
    dynamodb_client: Any,
    fake_x: FakeX,
    channel: XChannel,
    image: bool,
    state: State,
    retry_minute: int,
    said: str,
) -> None:
    # Given DynamoDB throttles the write that claims (straight as ATTEMPTING, for a post
    # without images), or, for a post with one, the claim or the write that marks ATTEMPTING
    plan = plan_with_image(tmp_path) if image else plan_of(tmp_path, CAMPAIGN)
    throttle = Throttle(dynamodb_client, state)
    checked = AttemptingFirst(channel, ledger)
    engine = Engine(plan, ledger, {"x": checked})
    # When the due minute ticks
    first = engine.tick(T0)
    # Then the engine defers, and nothing was sent
    assert throttle.throttled == 1
    [(event, detail)] = events(first)
    assert event is Event.DEFERRED
    assert said in detail
    assert tweet_calls(fake_x) == 0
    # When later minutes tick (a stranded claim is taken again once its lease ends)
    summaries = tick_minutes(engine, 1, retry_minute)
    # Then it is published once, only after an ATTEMPTING record was written
    assert summaries[-1].counts["Published"] == 1
    assert checked.seen == [State.ATTEMPTING]
    tick_minutes(engine, retry_minute + 1, 30)
    assert [p.text for p in fake_x.posts] == [TEXT]
    assert record(ledger).state is State.SENT
    assert engine.audit(AFTER) == []


def test_a_throttled_sent_write_is_reconciled_not_reposted(
    plan: LoadedPlan, ledger: DynamoLedger, dynamodb_client: Any, fake_x: FakeX, channel: XChannel
) -> None:
    # Given DynamoDB throttles the write that records SENT
    Throttle(dynamodb_client, State.SENT)
    engine = Engine(plan, ledger, {"x": channel})
    # When the due minute ticks
    first = engine.tick(T0)
    # Then X has the post, but the record stays ATTEMPTING and the tick says UNKNOWN
    [(event, detail)] = events(first)
    assert event is Event.UNKNOWN
    assert "outcome not recorded" in detail
    assert record(ledger).state is State.ATTEMPTING
    [post] = fake_x.posts
    # When the ticks after the lease run, the attempt is expired, then found on the account
    tick_minutes(engine, 1, 30)
    found = record(ledger)
    assert (found.state, found.remote_id) == (State.SENT, post.id)
    # And it was never posted again
    assert tweet_calls(fake_x) == 1
    assert engine.audit(AFTER) == []


# --- a worker killed mid-call -----------------------------------------------------------


def test_a_worker_killed_during_the_call_is_reconciled_after_its_lease(
    plan: LoadedPlan,
    ledger: DynamoLedger,
    dynamodb_local: str,
    fake_x: FakeX,
    channel: XChannel,
    x_credentials: dict[str, Any],
    tmp_path: Path,
) -> None:
    # Given a worker process whose post X accepts but does not answer
    fake_x.fail_next(TWEETS, FaultKind.HANG, seconds=30, accept=True)
    command = worker_command(
        "tick",
        endpoint=dynamodb_local,
        table=ledger.table_name,
        x_url=fake_x.url,
        campaign=write_campaign(tmp_path, CAMPAIGN),
        now=T0,
        extra=["--read-timeout", "30"],
    )
    worker = subprocess.Popen(
        command, env=worker_env(x_credentials), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while not fake_x.posts or record_of(ledger, KEY) is None:
            assert worker.poll() is None, worker.communicate()[1]
            assert time.monotonic() < deadline, "the worker never made its call"
            time.sleep(0.02)
        # When it is killed while it waits for X's answer
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait()
    assert worker.returncode == -signal.SIGKILL
    # Then its record is ATTEMPTING, leased for three minutes
    stranded = record(ledger)
    assert (stranded.state, stranded.lease_until) == (State.ATTEMPTING, at(3))
    # When the next ticks run, nothing happens until the lease has ended
    engine = Engine(plan, ledger, {"x": channel})
    assert [engine.tick(at(m)).results for m in (1, 2)] == [[], []]
    # When the tick after the lease runs, it is UNKNOWN, then found on the account: SENT
    after = engine.tick(at(3))
    assert [e for e, _ in events(after)] == [Event.UNKNOWN, Event.RECONCILED]
    [post] = fake_x.posts
    found = record(ledger)
    assert (found.state, found.remote_id) == (State.SENT, post.id)
    # And X has exactly one copy
    tick_minutes(engine, 4, 30)
    assert tweet_calls(fake_x) == 1
    assert len(fake_x.posts) == 1
    assert engine.audit(AFTER) == []
