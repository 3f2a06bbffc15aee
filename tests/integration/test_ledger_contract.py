"""The ledger contract, run against both adapters: SQLite on a file, DynamoDB on DynamoDB Local.

The tables are created from template.yaml's LedgerTable, so these tests also prove the
deployed key schema serves every access the ledger makes.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from herald.delivery import DeliveryKey
from herald.ledger import ALL_CAMPAIGNS, Ledger, LedgerConflict, Record, State
from herald.ledger.dynamodb import DynamoLedger, LedgerUnavailable
from herald.ledger.sqlite import SqliteLedger
from herald.ledger.table import Intrinsic, load_template, table_definition_from_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
CAMPAIGN = "safer-internet-day-2021"
KEY = DeliveryKey(CAMPAIGN, "launch", "x", "hertspolice")
# Every DynamoDB operation the ledger may send; a Scan would be a defect.
LEDGER_OPERATIONS = {"UpdateItem", "BatchGetItem", "Query", "DeleteItem"}


def record_operations(client: DynamoDBClient) -> list[str]:
    """The names of the operations the client sends from now on, in order."""
    operations: list[str] = []

    def note(model: Any, **kwargs: Any) -> None:
        operations.append(model.name)

    client.meta.events.register("before-call.dynamodb", note)
    return operations


@pytest.fixture(params=["sqlite", "dynamodb"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        sqlite = SqliteLedger(tmp_path / "ledger.sqlite3")
        yield sqlite
        sqlite.close()
        return
    client: DynamoDBClient = request.getfixturevalue("dynamodb_client")
    table: str = request.getfixturevalue("ledger_table")
    operations = record_operations(client)
    yield DynamoLedger(table, client)
    assert "Scan" not in operations


def claim(ledger: Ledger, key: DeliveryKey = KEY, token: str = "w1", at: datetime = T0) -> Record:
    record = ledger.claim(key, token, at, at + LEASE, due_at=T0)
    assert record is not None, f"{key} could not be claimed at {at}"
    return record


def attempting(ledger: Ledger, key: DeliveryKey = KEY, token: str = "w1") -> Record:
    claim(ledger, key, token)
    return ledger.mark_attempting(key, token, T0)


def state_of(ledger: Ledger, key: DeliveryKey = KEY) -> Record | None:
    return ledger.get_many([key]).get(key)


# --- claiming ------------------------------------------------------------------------


def test_a_delivery_is_claimed_once_only(ledger: Ledger) -> None:
    # Given a delivery nobody has touched
    # When one worker claims it, then another tries
    first = ledger.claim(KEY, "w1", T0, T0 + LEASE, due_at=T0)
    second = ledger.claim(KEY, "w2", T0 + timedelta(seconds=30), T0 + LEASE, due_at=T0)

    # Then the first holds it and the second gets nothing
    assert first is not None
    assert (first.state, first.claim_token, first.attempts) == (State.CLAIMED, "w1", 1)
    assert (first.lease_until, first.due_at, first.updated_at) == (T0 + LEASE, T0, T0)
    assert second is None
    assert state_of(ledger) == first


def test_eight_racing_workers_have_exactly_one_winner(ledger: Ledger) -> None:
    # Given eight workers released at the same moment
    start = threading.Barrier(8)
    results: dict[str, Record | None] = {}

    def worker(token: str) -> None:
        start.wait()
        results[token] = ledger.claim(KEY, token, T0, T0 + LEASE, due_at=T0)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(8)]

    # When they all claim the same delivery
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one wins, and the ledger names that winner
    winners = [token for token, record in results.items() if record is not None]
    assert len(results) == 8
    assert len(winners) == 1
    stored = state_of(ledger)
    assert stored is not None
    assert (stored.claim_token, stored.attempts) == (winners[0], 1)


def test_a_claim_written_straight_as_attempting_is_one_write_with_the_text(
    ledger: Ledger,
) -> None:
    # Given a delivery nobody has touched, with nothing to upload before its create call
    # When one worker claims it straight as ATTEMPTING, and another then tries to claim it
    first = ledger.claim(KEY, "w1", T0, T0 + LEASE, T0, "key-1", attempt_text="Safer together")
    second = ledger.claim(KEY, "w2", T0, T0 + LEASE, T0, attempt_text="Safer together")

    # Then the first holds it as ATTEMPTING, under its lease, with the text and key noted
    assert first is not None and second is None
    assert (first.state, first.claim_token, first.attempts) == (State.ATTEMPTING, "w1", 1)
    assert (first.lease_until, first.attempted_at, first.idempotency_key) == (
        T0 + LEASE,
        T0,
        "key-1",
    )
    [entry] = first.history
    assert (entry.event, entry.text, entry.key) == ("ATTEMPTING", "Safer together", "key-1")
    assert state_of(ledger) == first
    # And it moves on as any ATTEMPTING record: SENT under its token, or UNKNOWN after its
    # lease, never claimable again
    assert ledger.claim(KEY, "w3", T0 + 2 * LEASE, T0 + 3 * LEASE, T0) is None
    sent = ledger.mark_sent(KEY, "w1", T0, "1358", "https://x.com/a/status/1358")
    assert sent.state is State.SENT
    assert [a.event for a in sent.history] == ["ATTEMPTING", "SENT"]


def test_a_straight_attempt_takes_a_retryable_failure_and_expires_like_any(
    ledger: Ledger,
) -> None:
    # Given a delivery FAILED and retryable (a 429), claimed again straight as ATTEMPTING
    claim(ledger)
    ledger.mark_failed(KEY, "w1", T0, "rate limited", retryable=True)
    later = T0 + timedelta(minutes=1)
    again = ledger.claim(KEY, "w2", later, later + LEASE, T0, attempt_text="Safer together")
    assert again is not None
    assert (again.state, again.attempts, again.attempted_at) == (State.ATTEMPTING, 2, later)
    assert (again.reason, again.retryable) == (None, False)
    # When its worker dies and its lease ends
    expired = ledger.expire_attempt(KEY, later + LEASE, "worker vanished")
    # Then it is UNKNOWN, to be settled on the account, never re-claimed blindly
    assert expired is not None and expired.state is State.UNKNOWN
    assert ledger.claim(KEY, "w3", later + 2 * LEASE, later + 3 * LEASE, T0) is None


def test_a_claim_whose_lease_expired_can_be_claimed_again(ledger: Ledger) -> None:
    # Given a worker that claimed a delivery and died before attempting it
    claim(ledger, token="dead")

    # When another worker tries before, then at, the end of the lease
    early = ledger.claim(KEY, "w2", T0 + LEASE - timedelta(seconds=1), T0 + 2 * LEASE, T0)
    late = ledger.claim(KEY, "w2", T0 + LEASE, T0 + 2 * LEASE, T0)

    # Then only the claim after the lease wins, and it counts a second attempt
    assert early is None
    assert late is not None
    assert (late.claim_token, late.attempts, late.lease_until) == ("w2", 2, T0 + 2 * LEASE)
    # And the dead worker's token is worthless now
    with pytest.raises(LedgerConflict):
        ledger.mark_attempting(KEY, "dead", T0 + LEASE)


def test_attempting_is_never_claimable_even_after_its_lease(ledger: Ledger) -> None:
    # Given a worker that wrote ATTEMPTING and then went silent
    attempting(ledger)
    much_later = T0 + timedelta(days=1)

    # When others try to claim or skip it long after the lease
    claimed = ledger.claim(KEY, "w2", much_later, much_later + LEASE, due_at=T0)
    skipped = ledger.skip(KEY, much_later, "too late", due_at=T0)

    # Then it is neither claimed nor skipped: it may have been published
    assert claimed is None
    assert skipped is None
    stored = state_of(ledger)
    assert stored is not None
    assert (stored.state, stored.claim_token) == (State.ATTEMPTING, "w1")


def test_a_stale_attempt_expires_to_unknown_and_stays_unclaimable(ledger: Ledger) -> None:
    # Given an ATTEMPTING record
    attempting(ledger)

    # When it is expired before its lease ends, then after
    before = ledger.expire_attempt(KEY, T0 + LEASE - timedelta(seconds=1), "worker vanished")
    after = ledger.expire_attempt(KEY, T0 + LEASE, "worker vanished")

    # Then only the expiry after the lease moves it, to UNKNOWN, never back to claimable
    assert before is None
    assert after is not None
    assert (after.state, after.reason, after.lease_until) == (
        State.UNKNOWN,
        "worker vanished",
        None,
    )
    assert ledger.claim(KEY, "w2", T0 + timedelta(hours=1), T0 + timedelta(hours=2), T0) is None
    assert ledger.expire_attempt(KEY, T0 + timedelta(hours=1), "again") is None


def test_expire_attempt_leaves_anything_but_attempting_alone(ledger: Ledger) -> None:
    # Given a delivery with no record and one whose CLAIMED lease ran out
    other = KEY._replace(post="reminder")
    claimed_before = claim(ledger, other)

    # When both are expired
    missing = ledger.expire_attempt(KEY, T0 + timedelta(hours=1), "late")
    claimed = ledger.expire_attempt(other, T0 + timedelta(hours=1), "late")

    # Then neither moves
    assert (missing, claimed) == (None, None)
    assert state_of(ledger) is None
    assert state_of(ledger, other) == claimed_before


# --- transitions under the claim token ------------------------------------------------


TokenMove = Callable[[Ledger, str], Record]
MOVES_FROM_ATTEMPTING: dict[str, TokenMove] = {
    "mark_sent": lambda ledger, token: ledger.mark_sent(KEY, token, T0, "1", "https://x.com/1"),
    "mark_failed": lambda ledger, token: ledger.mark_failed(KEY, token, T0, "bad", False),
    "mark_unknown": lambda ledger, token: ledger.mark_unknown(KEY, token, T0, "timeout"),
}


@pytest.mark.parametrize("move", sorted(MOVES_FROM_ATTEMPTING))
def test_a_wrong_token_cannot_record_an_outcome(ledger: Ledger, move: str) -> None:
    # Given a delivery ATTEMPTING under w1's claim
    before = attempting(ledger)

    # When a worker holding another token records an outcome
    with pytest.raises(LedgerConflict) as refused:
        MOVES_FROM_ATTEMPTING[move](ledger, "w2")

    # Then it is refused with the record's state, and nothing changed
    assert "ATTEMPTING under another worker's claim" in str(refused.value)
    assert str(KEY) in str(refused.value)
    assert state_of(ledger) == before


def test_a_wrong_token_cannot_mark_attempting(ledger: Ledger) -> None:
    # Given a delivery CLAIMED by w1
    before = claim(ledger)

    # When w2 marks it ATTEMPTING
    with pytest.raises(LedgerConflict, match="CLAIMED under another worker's claim"):
        ledger.mark_attempting(KEY, "w2", T0)

    # Then nothing changed
    assert state_of(ledger) == before


def test_the_claim_holder_follows_the_state_machine_in_order(ledger: Ledger) -> None:
    # Given a delivery CLAIMED by w1
    claimed = claim(ledger)

    # When w1 skips ATTEMPTING and tries to record SENT or UNKNOWN
    # Then it is refused: only a FAILED may follow a bare claim
    with pytest.raises(LedgerConflict, match="it is CLAIMED"):
        ledger.mark_sent(KEY, "w1", T0, "1", "https://x.com/1")
    with pytest.raises(LedgerConflict, match="it is CLAIMED"):
        ledger.mark_unknown(KEY, "w1", T0, "timeout")
    assert state_of(ledger) == claimed

    # When w1 goes through ATTEMPTING to SENT
    moving = ledger.mark_attempting(KEY, "w1", T0 + timedelta(seconds=1))
    sent = ledger.mark_sent(KEY, "w1", T0 + timedelta(seconds=2), "1357", "https://x.com/h/1357")

    # Then each step is recorded
    assert moving.state is State.ATTEMPTING
    assert (sent.state, sent.remote_id, sent.remote_url) == (
        State.SENT,
        "1357",
        "https://x.com/h/1357",
    )
    assert (sent.updated_at, sent.attempts) == (T0 + timedelta(seconds=2), 1)
    assert state_of(ledger) == sent


def test_a_transition_on_a_missing_record_is_a_conflict(ledger: Ledger) -> None:
    # Given no record at all
    # When a worker marks it ATTEMPTING
    with pytest.raises(LedgerConflict, match="there is no record of it"):
        ledger.mark_attempting(KEY, "w1", T0)

    # Then still no record exists
    assert state_of(ledger) is None


# --- failures and retries ---------------------------------------------------------------


def test_a_retryable_failure_is_claimable_only_after_not_before(ledger: Ledger) -> None:
    # Given a 429: FAILED, retryable, not before the rate-limit reset
    attempting(ledger)
    reset = T0 + timedelta(minutes=15)
    failed = ledger.mark_failed(KEY, "w1", T0, "rate limited", retryable=True, not_before=reset)

    # When workers try to claim it before and at the reset
    early = ledger.claim(KEY, "w2", reset - timedelta(seconds=1), reset + LEASE, due_at=T0)
    on_time = ledger.claim(KEY, "w2", reset, reset + LEASE, due_at=T0)

    # Then only the claim at the reset wins
    assert (failed.state, failed.retryable, failed.not_before) == (State.FAILED, True, reset)
    assert early is None
    assert on_time is not None
    assert (on_time.state, on_time.claim_token, on_time.attempts) == (State.CLAIMED, "w2", 2)
    assert (on_time.not_before, on_time.reason) == (None, None)


def test_a_retryable_failure_without_not_before_is_claimable_at_once(ledger: Ledger) -> None:
    # Given a retryable failure with no not_before, straight from the claim
    claim(ledger)
    ledger.mark_failed(KEY, "w1", T0, "connection refused", retryable=True)

    # When another worker claims it
    again = ledger.claim(KEY, "w2", T0, T0 + LEASE, due_at=T0)

    # Then it wins
    assert again is not None
    assert again.claim_token == "w2"


def test_a_permanent_failure_is_never_claimed_or_skipped(ledger: Ledger) -> None:
    # Given a non-retryable failure
    attempting(ledger)
    failed = ledger.mark_failed(KEY, "w1", T0, "401 bad credentials", retryable=False)
    next_year = T0 + timedelta(days=365)

    # When workers claim or skip it much later
    # Then nothing moves it
    assert ledger.claim(KEY, "w2", next_year, next_year + LEASE, due_at=T0) is None
    assert ledger.skip(KEY, next_year, "late", due_at=T0) is None
    assert state_of(ledger) == failed
    assert (failed.reason, failed.retryable) == ("401 bad credentials", False)


@pytest.mark.parametrize("final", [State.SENT, State.SKIPPED])
def test_final_states_never_move(ledger: Ledger, final: State) -> None:
    # Given a delivery that was sent, or skipped
    if final is State.SENT:
        attempting(ledger)
        done = ledger.mark_sent(KEY, "w1", T0, "1", "https://x.com/1")
    else:
        skipped = ledger.skip(KEY, T0, "paused", due_at=T0)
        assert skipped is not None
        done = skipped
    later = T0 + timedelta(days=1)

    # When anyone tries to claim, skip, expire, resolve, requeue or mark it
    assert ledger.claim(KEY, "w2", later, later + LEASE, due_at=T0) is None
    assert ledger.skip(KEY, later, "again", due_at=T0) is None
    assert ledger.expire_attempt(KEY, later, "stale") is None
    with pytest.raises(LedgerConflict, match=f"it is {final}"):
        ledger.resolve_unknown(KEY, later, "2", "https://x.com/2")
    with pytest.raises(LedgerConflict, match=f"it is {final}"):
        ledger.requeue(KEY, later, "retry")
    with pytest.raises(LedgerConflict, match=f"it is {final}"):
        ledger.mark_failed(KEY, "w1", later, "oops", retryable=True)

    # Then it is still final and unchanged
    assert done.is_final()
    assert state_of(ledger) == done


# --- skipping -------------------------------------------------------------------------------


def test_skip_records_a_delivery_never_claimed(ledger: Ledger) -> None:
    # Given a delivery with no record
    # When it is skipped because the campaign is paused
    skipped = ledger.skip(KEY, T0 + timedelta(minutes=3), "paused: incident", due_at=T0)

    # Then it is SKIPPED with the reason and when it was due, and no attempt counted
    assert skipped is not None
    assert (skipped.state, skipped.reason, skipped.due_at) == (
        State.SKIPPED,
        "paused: incident",
        T0,
    )
    assert (skipped.attempts, skipped.claim_token, skipped.updated_at) == (
        0,
        None,
        T0 + timedelta(minutes=3),
    )
    assert state_of(ledger) == skipped


def test_skip_takes_claimable_records(ledger: Ledger) -> None:
    # Given an expired claim and a retryable failure whose wait is over
    expired = KEY
    retry = KEY._replace(post="reminder")
    claim(ledger, expired)
    claim(ledger, retry)
    ledger.mark_failed(retry, "w1", T0, "429", retryable=True, not_before=T0 + LEASE)

    # When both are skipped after the lease
    first = ledger.skip(expired, T0 + LEASE, "too late", due_at=T0)
    second = ledger.skip(retry, T0 + LEASE, "too late", due_at=T0)

    # Then both are SKIPPED, keeping the attempt they had
    assert first is not None and second is not None
    assert (first.state, first.attempts, first.lease_until) == (State.SKIPPED, 1, None)
    assert (second.state, second.not_before, second.retryable) == (State.SKIPPED, None, False)


def test_skip_refuses_records_someone_owns(ledger: Ledger) -> None:
    # Given a live claim and a retryable failure still waiting
    claimed = claim(ledger)
    waiting_key = KEY._replace(post="reminder")
    claim(ledger, waiting_key)
    waiting = ledger.mark_failed(waiting_key, "w1", T0, "429", True, not_before=T0 + LEASE)

    # When they are skipped too early
    # Then nothing happens
    assert ledger.skip(KEY, T0 + timedelta(seconds=10), "paused", due_at=T0) is None
    assert ledger.skip(waiting_key, T0 + timedelta(seconds=10), "paused", due_at=T0) is None
    assert state_of(ledger) == claimed
    assert state_of(ledger, waiting_key) == waiting


# --- people's tools: reconciliation and retry ------------------------------------------------


def test_resolve_unknown_records_the_post_found_on_the_account(ledger: Ledger) -> None:
    # Given a delivery that timed out mid-call
    attempting(ledger)
    ledger.mark_unknown(KEY, "w1", T0, "read timeout")

    # When reconciliation finds the post on the account
    resolved = ledger.resolve_unknown(KEY, T0 + timedelta(minutes=1), "42", "https://x.com/h/42")

    # Then it is SENT with the found post
    assert (resolved.state, resolved.remote_id, resolved.remote_url) == (
        State.SENT,
        "42",
        "https://x.com/h/42",
    )
    assert state_of(ledger) == resolved


def test_resolve_unknown_refuses_anything_else(ledger: Ledger) -> None:
    # Given an ATTEMPTING delivery (the worker may still be mid-call)
    before = attempting(ledger)

    # When someone resolves it
    with pytest.raises(LedgerConflict, match="it is ATTEMPTING"):
        ledger.resolve_unknown(KEY, T0, "42", "https://x.com/h/42")

    # Then nothing changed
    assert state_of(ledger) == before


@pytest.mark.parametrize("stuck", [State.UNKNOWN, State.FAILED])
def test_requeue_makes_unknown_or_failed_claimable_now(ledger: Ledger, stuck: State) -> None:
    # Given a delivery that ended UNKNOWN, or FAILED for good
    attempting(ledger)
    if stuck is State.UNKNOWN:
        ledger.mark_unknown(KEY, "w1", T0, "read timeout")
    else:
        ledger.mark_failed(KEY, "w1", T0, "403 forbidden", retryable=False)
    now = T0 + timedelta(hours=2)

    # When a person retries it
    requeued = ledger.requeue(KEY, now, "checked: not on the account")

    # Then it is FAILED, retryable from now, and the next claim takes it
    assert (requeued.state, requeued.retryable, requeued.not_before) == (State.FAILED, True, now)
    assert requeued.reason == "checked: not on the account"
    again = ledger.claim(KEY, "w2", now, now + LEASE, due_at=T0)
    assert again is not None
    assert (again.claim_token, again.attempts) == ("w2", 2)


def test_requeue_refuses_live_or_missing_records(ledger: Ledger) -> None:
    # Given a live claim and a delivery with no record
    claimed = claim(ledger)
    missing = KEY._replace(post="reminder")

    # When a person retries them
    # Then both are refused, and nothing is created
    with pytest.raises(LedgerConflict, match="it is CLAIMED"):
        ledger.requeue(KEY, T0, "retry")
    with pytest.raises(LedgerConflict, match="there is no record of it"):
        ledger.requeue(missing, T0, "retry")
    assert state_of(ledger) == claimed
    assert state_of(ledger, missing) is None


# --- reads ----------------------------------------------------------------------------------


def test_get_many_reads_hundreds_of_keys(ledger: Ledger) -> None:
    # Given 250 recorded deliveries across two campaigns, and keys with no record
    recorded = [
        DeliveryKey(CAMPAIGN if n % 2 else "other-campaign", f"post-{n:03d}", "x", "hertspolice")
        for n in range(250)
    ]
    for key in recorded:
        ledger.skip(key, T0, "bulk", due_at=T0)
    absent = [KEY._replace(post=f"absent-{n}") for n in range(20)]
    asked = [*recorded, *absent, *recorded[:5]]  # duplicates too
    random.Random(7).shuffle(asked)

    # When they are read in one call
    found = ledger.get_many(asked)

    # Then every recorded one comes back, keyed by its delivery, and absent ones are left out
    assert set(found) == set(recorded)
    assert all(found[key].key == key and found[key].state is State.SKIPPED for key in recorded)
    if isinstance(ledger, DynamoLedger):
        assert ledger.requests["BatchGetItem"] >= 3  # at most 100 keys a call


def test_get_many_of_nothing_is_empty(ledger: Ledger) -> None:
    # Given an empty ledger
    # When nothing, then unknown keys, are asked for
    # Then nothing comes back
    assert ledger.get_many([]) == {}
    assert ledger.get_many([KEY]) == {}


def test_records_lists_one_campaign_in_post_order(ledger: Ledger) -> None:
    # Given deliveries of a thread, on two accounts, written out of order, and another campaign
    keys = [
        DeliveryKey(CAMPAIGN, "reminder", "x", "hertspolice"),
        DeliveryKey(CAMPAIGN, "launch.2", "x", "hertspolice"),
        DeliveryKey(CAMPAIGN, "launch", "x", "hertsfire"),
        DeliveryKey(CAMPAIGN, "launch", "x", "hertspolice"),
        DeliveryKey(CAMPAIGN, "launch.3", "x", "hertspolice"),
        DeliveryKey("another-campaign", "launch", "x", "hertspolice"),
    ]
    for key in keys:
        ledger.skip(key, T0, "written", due_at=T0)

    # When the campaign's records are listed
    listed = ledger.records(CAMPAIGN)

    # Then they come by post id, thread parts after their head, then channel and account
    assert [(r.key.post, r.key.account) for r in listed] == [
        ("launch", "hertsfire"),
        ("launch", "hertspolice"),
        ("launch.2", "hertspolice"),
        ("launch.3", "hertspolice"),
        ("reminder", "hertspolice"),
    ]
    assert ledger.records("no-such-campaign") == []


# --- the pause switch -------------------------------------------------------------------------


def test_pause_and_resume_a_campaign_and_everything(ledger: Ledger) -> None:
    # Given no pause
    assert ledger.pauses() == []

    # When a campaign, then every campaign, is paused, and the campaign paused again
    campaign = ledger.pause(CAMPAIGN, "wrong date", T0)
    everything = ledger.pause(ALL_CAMPAIGNS, "major incident", T0 + timedelta(minutes=1))
    again = ledger.pause(CAMPAIGN, "wrong date and text", T0 + timedelta(minutes=5))

    # Then both pauses are listed; pausing again keeps `since` and takes the new reason
    assert (campaign.scope, campaign.reason, campaign.since) == (CAMPAIGN, "wrong date", T0)
    assert (everything.scope, everything.since) == (ALL_CAMPAIGNS, T0 + timedelta(minutes=1))
    assert (again.reason, again.since) == ("wrong date and text", T0)
    assert ledger.pauses() == [everything, again]
    # And the pause items never show up as a campaign's records
    assert ledger.records(CAMPAIGN) == []

    # When they are resumed, one of them twice
    # Then the first resume of each lifts it, and the second says there was none
    assert ledger.resume(ALL_CAMPAIGNS) is True
    assert ledger.resume(ALL_CAMPAIGNS) is False
    assert ledger.pauses() == [again]
    assert ledger.resume(CAMPAIGN) is True
    assert ledger.pauses() == []


# --- DynamoDB only ---------------------------------------------------------------------------


def test_dynamodb_ledger_sends_no_scan_over_a_whole_lifecycle(
    dynamodb_client: DynamoDBClient, ledger_table: str
) -> None:
    # Given a DynamoDB ledger whose client reports every operation
    operations = record_operations(dynamodb_client)
    ledger = DynamoLedger(ledger_table, dynamodb_client)

    # When every ledger method is used
    attempting(ledger)
    ledger.mark_unknown(KEY, "w1", T0, "timeout")
    ledger.requeue(KEY, T0, "retry")
    claim(ledger, token="w2")
    ledger.mark_failed(KEY, "w2", T0, "bad", retryable=False)
    ledger.skip(KEY._replace(post="other"), T0, "late", due_at=T0)
    ledger.get_many([KEY])
    ledger.records(CAMPAIGN)
    ledger.pause(ALL_CAMPAIGNS, "incident", T0)
    ledger.pauses()
    ledger.resume(ALL_CAMPAIGNS)

    # Then only keyed reads, queries and conditional writes were sent
    assert set(operations) <= LEDGER_OPERATIONS
    assert "Scan" not in operations
    # And the request counter agrees with the client
    assert sum(ledger.requests.values()) == len(operations)
    assert ledger.reads == operations.count("BatchGetItem") + operations.count("Query")


def test_dynamodb_records_follows_query_pages(
    dynamodb_client: DynamoDBClient, ledger_table: str
) -> None:
    # Given seven records, and a client that makes DynamoDB return pages of two
    ledger = DynamoLedger(ledger_table, dynamodb_client)
    keys = [KEY._replace(post=f"post-{n}") for n in range(7)]
    for key in keys:
        ledger.skip(key, T0, "written", due_at=T0)

    def small_pages(params: dict[str, Any], **kwargs: Any) -> None:
        params["Limit"] = 2

    dynamodb_client.meta.events.register("provide-client-params.dynamodb.Query", small_pages)

    # When the campaign's records are listed
    listed = ledger.records(CAMPAIGN)

    # Then every page was read
    assert [record.key for record in listed] == keys
    assert ledger.requests["Query"] == 4


def test_dynamodb_get_many_retries_unprocessed_keys(
    dynamodb_client: DynamoDBClient, ledger_table: str
) -> None:
    # Given 30 records, and DynamoDB answering the first batch with half its keys unprocessed
    delays: list[float] = []
    ledger = DynamoLedger(ledger_table, dynamodb_client, sleep=delays.append)
    keys = [KEY._replace(post=f"post-{n:02d}") for n in range(30)]
    for key in keys:
        ledger.skip(key, T0, "written", due_at=T0)
    calls = defer_half_of_first_batch(dynamodb_client, ledger_table)

    # When they are read
    found = ledger.get_many(keys)

    # Then the unprocessed half was asked for again, after a short backoff
    assert set(found) == set(keys)
    assert calls == [30, 15]
    assert ledger.requests["BatchGetItem"] == 2
    assert len(delays) == 1
    assert 0 < delays[0] <= 1


def test_dynamodb_get_many_gives_up_when_keys_stay_unprocessed(
    dynamodb_client: DynamoDBClient, ledger_table: str
) -> None:
    # Given DynamoDB that never processes any key
    delays: list[float] = []
    ledger = DynamoLedger(ledger_table, dynamodb_client, batch_tries=4, sleep=delays.append)
    ledger.skip(KEY, T0, "written", due_at=T0)

    def unprocess_everything(parsed: dict[str, Any], **kwargs: Any) -> None:
        asked = kwargs["context"].get("asked_keys") or []
        parsed["Responses"] = {ledger_table: []}
        parsed["UnprocessedKeys"] = {ledger_table: {"Keys": asked, "ConsistentRead": True}}

    remember_asked_keys(dynamodb_client, ledger_table)
    dynamodb_client.meta.events.register("after-call.dynamodb.BatchGetItem", unprocess_everything)

    # When the key is read
    with pytest.raises(LedgerUnavailable, match="1 ledger reads unprocessed after 4 tries"):
        ledger.get_many([KEY])

    # Then it tried a bounded number of times with growing, capped waits
    assert ledger.requests["BatchGetItem"] == 4
    assert delays == sorted(delays)
    assert len(delays) == 3
    assert all(0 < delay <= 1 for delay in delays)


@pytest.fixture
def sdk_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits botocore's retry loop asks for, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", waits.append)
    return waits


def test_dynamodb_throttling_is_retried_by_the_sdk(
    dynamodb_env: str, ledger_table: str, sdk_backoff: list[float]
) -> None:
    # Given a ledger building its own client from the SDK's standard settings,
    # and DynamoDB throttling the first write
    ledger = DynamoLedger(ledger_table)
    sent = throttle(ledger.client, times=1)

    # When a delivery is claimed
    claimed = ledger.claim(KEY, "w1", T0, T0 + LEASE, due_at=T0)

    # Then the SDK retried and the claim won; the client is the one the SDK variables name
    assert claimed is not None
    assert sent == ["throttled", "sent"]
    assert len(sdk_backoff) == 1
    assert ledger.client.meta.endpoint_url == dynamodb_env
    assert ledger.requests["UpdateItem"] == 1


def test_dynamodb_throttling_that_persists_is_surfaced(
    dynamodb_env: str,
    ledger_table: str,
    dynamodb_client: DynamoDBClient,
    sdk_backoff: list[float],
) -> None:
    # Given DynamoDB that throttles every write
    from botocore.exceptions import ClientError

    ledger = DynamoLedger(ledger_table)
    sent = throttle(ledger.client, times=100)

    # When a delivery is claimed
    with pytest.raises(ClientError) as raised:
        ledger.claim(KEY, "w1", T0, T0 + LEASE, due_at=T0)

    # Then the SDK retried three times (max_attempts counts retries), backing off before
    # each, then the throttling error reached the caller, and nothing was written
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert sent == ["throttled"] * 4
    assert len(sdk_backoff) == 3
    assert DynamoLedger(ledger_table, dynamodb_client).get_many([KEY]) == {}


def test_dynamodb_ledger_needs_a_table_name() -> None:
    # Given no table name
    # When a ledger is made
    # Then it says what is missing
    with pytest.raises(ValueError, match="table name"):
        DynamoLedger("")


def test_the_function_ledger_client_has_a_connection_for_every_concurrent_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the ledger the function builds (its own client, from the SDK's settings)
    from herald.engine import MAX_WORKERS

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = DynamoLedger("herald-ledger").client
    config: Any = client.meta.config
    # Then a busy tick's writers (the account threads, and up to twice as many side
    # workers) each have a connection, the SDK retries throttling, DynamoDB alone checks
    # the requests, and the User-Agent names herald (given once, not rebuilt per request)
    assert config.max_pool_connections >= 3 * MAX_WORKERS
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert (config.connect_timeout, config.read_timeout) == (2.0, 5.0)
    from botocore.validate import ParamValidationDecorator

    assert not isinstance(client._serializer, ParamValidationDecorator)  # type: ignore[attr-defined]
    sent: list[str] = []

    class Stop(Exception):
        pass

    def capture(request: Any, **kwargs: Any) -> None:
        sent.append(request.headers["User-Agent"].decode())
        raise Stop

    client.meta.events.register("before-send.dynamodb", capture)
    for _ in range(2):
        with pytest.raises(Stop):
            client.get_item(TableName="herald-ledger", Key={"pk": {"S": "a"}, "sk": {"S": "b"}})
    assert sent[0] == sent[1] and sent[0].startswith("herald/0.")


def remember_asked_keys(client: DynamoDBClient, table: str) -> None:
    """Keep each BatchGetItem's keys in the request context for after-call hooks."""

    def remember(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        context["asked_keys"] = list(params["RequestItems"][table]["Keys"])

    client.meta.events.register("provide-client-params.dynamodb.BatchGetItem", remember)


def defer_half_of_first_batch(client: DynamoDBClient, table: str) -> list[int]:
    """Make the first BatchGetItem answer leave half its keys unprocessed; keys per call."""
    calls: list[int] = []
    remember_asked_keys(client, table)

    def defer(parsed: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        calls.append(len(context["asked_keys"]))
        if len(calls) > 1:
            return
        items = parsed["Responses"][table]
        kept, deferred = items[: len(items) // 2], items[len(items) // 2 :]
        parsed["Responses"][table] = kept
        parsed["UnprocessedKeys"] = {
            table: {
                "Keys": [{"pk": item["pk"], "sk": item["sk"]} for item in deferred],
                "ConsistentRead": True,
            }
        }

    client.meta.events.register("after-call.dynamodb.BatchGetItem", defer)
    return calls


def throttle(client: DynamoDBClient, times: int) -> list[str]:
    """Answer the first `times` UpdateItem requests with a ThrottlingException."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    sent: list[str] = []
    body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
            "message": "Rate of requests exceeds the allowed throughput.",
        }
    ).encode()

    class Raw:
        def stream(self, **kwargs: Any) -> Iterator[bytes]:
            yield body

    def maybe_throttle(request: Any, **kwargs: Any) -> AWSResponse | None:
        if sent.count("throttled") >= times:
            sent.append("sent")
            return None
        sent.append("throttled")
        headers = HTTPHeaders.from_dict(
            {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "throttled"}
        )
        return AWSResponse(request.url, 400, headers, Raw())

    # A before-send handler that returns a response stands in for the network.
    handler: Any = maybe_throttle
    client.meta.events.register("before-send.dynamodb.UpdateItem", handler)
    return sent


# --- the table definition ----------------------------------------------------------------


def test_the_table_definition_comes_from_template_yaml() -> None:
    # Given the repository's SAM template
    template = Path(__file__).resolve().parents[2] / "template.yaml"

    # When the ledger table's definition is read
    definition = table_definition_from_template(template)

    # Then it has the ledger's key schema, on demand
    assert definition["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "pk", "AttributeType": "S"} in definition["AttributeDefinitions"]
    assert {"AttributeName": "sk", "AttributeType": "S"} in definition["AttributeDefinitions"]
    assert definition["BillingMode"] == "PAY_PER_REQUEST"


def test_cloudformation_short_tags_load_and_the_table_keeps_its_indexes(tmp_path: Path) -> None:
    # Given a template using !Ref, !Sub, !GetAtt, !If, !Equals and a table with an index
    template = tmp_path / "template.yaml"
    template.write_text(
        """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  LedgerTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "herald-${Env}-ledger"
      BillingMode: PAY_PER_REQUEST
      DeletionProtectionEnabled: !If [IsProd, true, false]
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: due, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: by-due
          KeySchema: [{AttributeName: due, KeyType: HASH}]
          Projection: {ProjectionType: KEYS_ONLY}
          ContributorInsightsSpecification: {Enabled: true}
  Publisher:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          LEDGER_TABLE: !Ref LedgerTable
          LEDGER_ARN: !GetAtt LedgerTable.Arn
""",
        encoding="utf-8",
    )

    # When it is loaded and the table definition taken
    loaded = load_template(template)
    definition = table_definition_from_template(template)

    # Then the tags are kept as values, and the definition holds what create_table accepts
    variables = loaded["Resources"]["Publisher"]["Properties"]["Environment"]["Variables"]
    assert variables["LEDGER_TABLE"] == Intrinsic("!Ref", "LedgerTable")
    assert variables["LEDGER_ARN"] == Intrinsic("!GetAtt", "LedgerTable.Arn")
    assert definition["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "by-due",
            "KeySchema": [{"AttributeName": "due", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ]
    assert "TableName" not in definition


def test_a_table_without_a_literal_key_schema_is_refused(tmp_path: Path) -> None:
    # Given a template whose key schema is computed, and one without the ledger table
    computed = tmp_path / "computed.yaml"
    computed.write_text(
        "Resources:\n  LedgerTable:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
        "      AttributeDefinitions: !Ref Attributes\n"
        "      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n",
        encoding="utf-8",
    )
    missing = tmp_path / "missing.yaml"
    missing.write_text("Resources: {}\n", encoding="utf-8")

    # When their definitions are read
    # Then each is refused with a sentence naming the file and the problem
    with pytest.raises(ValueError, match="AttributeDefinitions uses !Ref"):
        table_definition_from_template(computed)
    with pytest.raises(ValueError, match="no AWS::DynamoDB::Table resource named LedgerTable"):
        table_definition_from_template(missing)
