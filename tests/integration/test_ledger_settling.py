"""The ledger's part in settling unknown outcomes, against both adapters: the history of
every attempt, read-backs that found nothing, one more attempt once the network's guarantee
allows it, re-timed posts, idempotency keys, and (DynamoDB) writes whose answer was lost."""

# The contract suite's `ledger` fixture (both adapters) is imported and used by name.
# ruff: noqa: F811

from __future__ import annotations

import sqlite3
import threading
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from herald.ledger import READ_BACK, Ledger, Record, State
from herald.ledger.dynamodb import DynamoLedger
from herald.ledger.sqlite import SqliteLedger
from tests.integration.test_ledger_contract import (  # noqa: F401
    KEY,
    LEASE,
    T0,
    attempting,
    claim,
    ledger,
    state_of,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

MINUTE = timedelta(minutes=1)


def unknown(ledger: Ledger) -> Record:
    attempting(ledger)
    return ledger.mark_unknown(KEY, "w1", T0, "X answered 503 to the post")


def test_every_transition_is_kept_in_the_history(ledger: Ledger) -> None:
    # Given a delivery claimed with an idempotency key, sent, lost, read back and re-sent
    ledger.claim(KEY, "w1", T0, T0 + LEASE, due_at=T0, idempotency_key="3kabc")
    ledger.mark_attempting(KEY, "w1", T0, text="Today is #SaferInternetDay")
    ledger.mark_unknown(KEY, "w1", T0, "X answered 503 to the post")
    ledger.note_absent(KEY, T0 + MINUTE)
    ledger.reclaim_unknown(KEY, "w2", T0 + 2 * MINUTE, T0 + LEASE * 2, T0 + MINUTE, 2)
    ledger.mark_attempting(KEY, "w2", T0 + 2 * MINUTE, text="Today is #SaferInternetDay")
    # When it is finally sent
    record = ledger.mark_sent(KEY, "w2", T0 + 2 * MINUTE, "1357", "https://x.com/a/status/1357")

    # Then the record alone tells the whole story, in order
    events = [(a.at, a.event) for a in record.history]
    assert events == [
        (T0, State.CLAIMED),
        (T0, State.ATTEMPTING),
        (T0, State.UNKNOWN),
        (T0 + MINUTE, READ_BACK),
        (T0 + 2 * MINUTE, State.CLAIMED),
        (T0 + 2 * MINUTE, State.ATTEMPTING),
        (T0 + 2 * MINUTE, State.SENT),
    ]
    assert record.history[0].key == "3kabc"
    assert record.history[1].text == "Today is #SaferInternetDay"
    assert record.history[2].detail == "X answered 503 to the post"
    assert record.history[-1].remote_id == "1357"
    # And the counts and times a person needs
    assert (record.attempts, record.resends, record.idempotency_key) == (2, 1, "3kabc")
    assert record.attempted_at == T0 + 2 * MINUTE
    assert state_of(ledger) == record


def test_a_long_text_is_kept_in_the_history_cut_short(ledger: Ledger) -> None:
    # Given a text of 63,206 characters (a Facebook Page's limit)
    claim(ledger)
    # When it is recorded as being sent
    record = ledger.mark_attempting(KEY, "w1", T0, text="a" * 63_206)
    # Then the history keeps its first thousand characters
    sent = record.history[-1].text
    assert sent is not None and len(sent) == 1000 and sent.endswith("…")


def test_the_first_idempotency_key_is_kept_for_every_later_claim(ledger: Ledger) -> None:
    # Given a delivery first claimed with key "k1", which failed retryably
    ledger.claim(KEY, "w1", T0, T0 + LEASE, due_at=T0, idempotency_key="k1")
    ledger.mark_failed(KEY, "w1", T0, "could not connect", retryable=True)
    # When it is claimed again with another key
    again = ledger.claim(KEY, "w2", T0 + MINUTE, T0 + LEASE, due_at=T0, idempotency_key="k2")
    # Then it keeps the first: a retry carries the same key as the call that may have landed
    assert again is not None and again.idempotency_key == "k1"


def test_a_read_back_that_found_nothing_keeps_its_first_time(ledger: Ledger) -> None:
    # Given an UNKNOWN delivery
    unknown(ledger)
    # When two read-backs a minute apart find nothing
    first = ledger.note_absent(KEY, T0 + MINUTE)
    second = ledger.note_absent(KEY, T0 + 2 * MINUTE)
    # Then absence counts from the first
    assert first is not None and second is not None
    assert second.absent_since == T0 + MINUTE
    assert [a.event for a in second.history[-2:]] == [READ_BACK, READ_BACK]


def test_a_read_back_changes_nothing_but_an_unknown_record(ledger: Ledger) -> None:
    # Given a delivery being sent
    attempting(ledger)
    # When a read-back is noted on it
    # Then nothing happens
    assert ledger.note_absent(KEY, T0 + MINUTE) is None
    record = state_of(ledger)
    assert record is not None and record.state is State.ATTEMPTING
    assert record.absent_since is None


def test_one_more_attempt_only_once_absence_is_settled(ledger: Ledger) -> None:
    # Given an UNKNOWN delivery first read back absent at T0+1
    unknown(ledger)
    ledger.note_absent(KEY, T0 + MINUTE)
    # When a worker asks for absence since T0 (before the first read-back), it is refused
    early = ledger.reclaim_unknown(KEY, "w2", T0 + MINUTE, T0 + LEASE, T0, 2)
    # And when it asks for absence since T0+1, it wins the claim
    settled = ledger.reclaim_unknown(KEY, "w2", T0 + 2 * MINUTE, T0 + LEASE, T0 + MINUTE, 2)

    # Then only the second succeeds, as CLAIMED under its token, absence forgotten
    assert early is None
    assert settled is not None
    assert (settled.state, settled.claim_token, settled.resends) == (State.CLAIMED, "w2", 1)
    assert settled.absent_since is None


def test_attempts_after_an_unknown_are_bounded(ledger: Ledger) -> None:
    # Given a delivery that went UNKNOWN, was settled absent and re-sent, twice
    unknown(ledger)
    for n in (1, 2):
        ledger.note_absent(KEY, T0 + n * MINUTE)
        token = f"r{n}"
        ledger.reclaim_unknown(KEY, token, T0 + n * MINUTE, T0 + LEASE, T0 + n * MINUTE, 2)
        ledger.mark_attempting(KEY, token, T0 + n * MINUTE)
        ledger.mark_unknown(KEY, token, T0 + n * MINUTE, "no answer again")
    ledger.note_absent(KEY, T0 + 3 * MINUTE)

    # When a third re-send is asked for
    third = ledger.reclaim_unknown(KEY, "r3", T0 + 4 * MINUTE, T0 + LEASE, T0 + 3 * MINUTE, 2)

    # Then it is refused: the delivery stays UNKNOWN for a person
    assert third is None
    record = state_of(ledger)
    assert record is not None and (record.state, record.resends) == (State.UNKNOWN, 2)


def test_racing_workers_re_send_an_unknown_delivery_once(ledger: Ledger) -> None:
    # Given an UNKNOWN delivery settled absent
    unknown(ledger)
    ledger.note_absent(KEY, T0 + MINUTE)
    start = threading.Barrier(6)
    won: list[str] = []

    def worker(token: str) -> None:
        start.wait()
        if ledger.reclaim_unknown(KEY, token, T0 + 2 * MINUTE, T0 + LEASE, T0 + MINUTE, 2):
            won.append(token)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(6)]
    # When six workers ask for the one more attempt at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one gets it
    assert len(won) == 1


def test_a_post_skipped_then_re_timed_is_due_again(ledger: Ledger) -> None:
    # Given a post SKIPPED (paused) at its first time
    skipped = ledger.skip(KEY, T0 + 20 * MINUTE, "paused: a real incident", T0)
    assert skipped is not None and skipped.is_final(T0)
    tomorrow = T0 + timedelta(days=1)

    # When the campaign moves it to tomorrow, and a worker claims it for that time
    same_time = ledger.claim(KEY, "w1", tomorrow, tomorrow + LEASE, due_at=T0)
    new_time = ledger.claim(KEY, "w1", tomorrow, tomorrow + LEASE, due_at=tomorrow)

    # Then the old time stays final, and the new one is claimed
    assert not skipped.is_final(tomorrow)
    assert same_time is None
    assert new_time is not None and (new_time.state, new_time.due_at) == (State.CLAIMED, tomorrow)


def test_an_old_sqlite_ledger_gains_the_history_when_opened(tmp_path: Path) -> None:
    # Given a ledger file made before records kept a history
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE deliveries (campaign TEXT NOT NULL, sk TEXT NOT NULL, post TEXT NOT "
            "NULL, channel TEXT NOT NULL, account TEXT NOT NULL, state TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, due_at TEXT, claim_token TEXT, lease_until TEXT, "
            "not_before TEXT, retryable INTEGER NOT NULL DEFAULT 0, reason TEXT, remote_id "
            "TEXT, remote_url TEXT, attempts INTEGER NOT NULL DEFAULT 0, "
            "PRIMARY KEY (campaign, sk)) WITHOUT ROWID"
        )
        connection.execute(
            "INSERT INTO deliveries VALUES ('safer-internet-day-2021', 'launch#x#hertspolice', "
            "'launch', 'x', 'hertspolice', 'SENT', '2021-02-09T08:00:00Z', "
            "'2021-02-09T08:00:00Z', 't', NULL, NULL, 0, NULL, '1', 'u', 1)"
        )
    # When herald opens it
    with SqliteLedger(path) as ledger:
        record = state_of(ledger)
    # Then the old record reads, with an empty history
    assert record is not None and (record.state, record.history) == (State.SENT, ())


# --- DynamoDB: a write whose answer was lost ---------------------------------------------


def lose_the_first_answer(client: DynamoDBClient, endpoint: str) -> list[str]:
    """Make the client's next UpdateItem reach DynamoDB Local, then lose its answer, as a
    dropped connection does; botocore then retries it. The operations so lost are listed."""
    from botocore.exceptions import ConnectionClosedError

    lost: list[str] = []

    def send_then_drop(request: Any, **kwargs: Any) -> None:
        if lost:
            return None
        sent = urllib.request.Request(
            request.url, data=request.body, headers=dict(request.headers), method="POST"
        )
        with urllib.request.urlopen(sent, timeout=5) as answer:
            answer.read()
        lost.append(request.headers.get("X-Amz-Target", b"").decode())
        raise ConnectionClosedError(endpoint_url=endpoint)

    client.meta.events.register("before-send.dynamodb.UpdateItem", send_then_drop)
    return lost


@pytest.mark.parametrize("move", ["claim", "mark_attempting", "mark_sent", "mark_failed"])
def test_dynamodb_a_transition_whose_answer_was_lost_still_succeeds(
    move: str, dynamodb_client: DynamoDBClient, ledger_table: str, dynamodb_local: str
) -> None:
    # Given a DynamoDB ledger whose next write is applied but answered into a dropped line
    ledger = DynamoLedger(ledger_table, dynamodb_client)
    if move != "claim":
        claim(ledger)
    if move in ("mark_sent", "mark_failed"):
        ledger.mark_attempting(KEY, "w1", T0)
    lost = lose_the_first_answer(dynamodb_client, dynamodb_local)

    # When the transition is made (botocore retries it; the retry fails its condition)
    calls = {
        "claim": lambda: ledger.claim(KEY, "w1", T0, T0 + LEASE, due_at=T0),
        "mark_attempting": lambda: ledger.mark_attempting(KEY, "w1", T0),
        "mark_sent": lambda: ledger.mark_sent(KEY, "w1", T0, "1357", "u"),
        "mark_failed": lambda: ledger.mark_failed(KEY, "w1", T0, "refused", retryable=False),
    }
    record = calls[move]()

    # Then the answer really was lost once, and the worker still holds its success
    assert lost == ["DynamoDB_20120810.UpdateItem"]
    expected = {
        "claim": State.CLAIMED,
        "mark_attempting": State.ATTEMPTING,
        "mark_sent": State.SENT,
        "mark_failed": State.FAILED,
    }[move]
    assert record is not None and (record.state, record.claim_token) == (expected, "w1")
    # And the write was made once: one history entry for it
    stored = state_of(ledger)
    assert stored is not None
    assert [a.event for a in stored.history].count(expected) == 1
