"""The outbox channel: a folder standing in for X in local runs, with X's outcome rules."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from herald.channels import Outcome, OutcomeKind, PostRef, Reply
from herald.channels.outbox import OUTBOX_FILE, OutboxChannel, OutboxFault
from herald.delivery import MediaItem

NOW = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)


@pytest.fixture
def outbox(tmp_path: Path) -> OutboxChannel:
    return OutboxChannel(tmp_path / "outbox", clock=lambda: NOW)


def lines(channel: OutboxChannel) -> list[dict[str, object]]:
    return [json.loads(line) for line in channel.path.read_text("utf-8").splitlines()]


def test_a_publication_appends_a_json_line_and_a_readable_file(
    outbox: OutboxChannel, tmp_path: Path
) -> None:
    # Given an image with alt text
    image = tmp_path / "sid.png"
    image.write_bytes(b"\x89PNG")
    # When a post with it is published
    outcome = outbox.publish("hertspolice", "Safer Internet Day", None, [MediaItem(image, "Logo")])
    # Then it is SENT, one line records it, and a readable file shows it
    assert outcome.kind is OutcomeKind.SENT
    assert lines(outbox) == [
        {
            "id": outcome.remote_id,
            "channel": "x",
            "account": "hertspolice",
            "text": "Safer Internet Day",
            "reply_to": None,
            "media": [{"file": str(image), "alt": "Logo"}],
            "published_at": "2021-02-09T08:00:00Z",
        }
    ]
    readable = (outbox.folder / f"{outcome.remote_id}.txt").read_text("utf-8")
    assert "Safer Internet Day" in readable and "alt: Logo" in readable
    assert outcome.url == (outbox.folder / f"{outcome.remote_id}.txt").resolve().as_uri()


def test_ids_are_sequential_and_replies_chain(outbox: OutboxChannel) -> None:
    # Given a thread of three parts
    # When each replies to the previous
    first = outbox.publish("hertspolice", "1/3", None, [])
    second = outbox.publish("hertspolice", "2/3", reply_to(first, first), [])
    third = outbox.publish("hertspolice", "3/3", reply_to(second, first), [])
    # Then ids follow each other and each line names its parent
    assert [first.remote_id, second.remote_id, third.remote_id] == ["000001", "000002", "000003"]
    assert [e.reply_to for e in outbox.entries()] == [None, "000001", "000002"]


def test_the_same_text_twice_from_an_account_is_unknown_like_xs_403(
    outbox: OutboxChannel,
) -> None:
    # Given a text already published by the account
    outbox.publish("hertspolice", "Said once", None, [])
    # When it is published again, and by another account
    again = outbox.publish("hertspolice", "Said once", None, [])
    other = outbox.publish("saferinternet", "Said once", None, [])
    # Then the repeat is UNKNOWN (maybe out already) and writes nothing; the other is SENT
    assert again.kind is OutcomeKind.UNKNOWN
    assert "duplicate" in (again.reason or "")
    assert other.kind is OutcomeKind.SENT
    assert [e.account for e in outbox.entries()] == ["hertspolice", "saferinternet"]


def test_a_reply_to_an_unknown_id_fails(outbox: OutboxChannel) -> None:
    # Given an empty outbox
    # When a post replies to an id it never published
    outcome = outbox.publish(
        "hertspolice", "Orphan", Reply(PostRef("999999"), PostRef("999999")), []
    )
    # Then it FAILED for good and nothing was written
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert outbox.entries() == []


def test_a_missing_media_file_fails(outbox: OutboxChannel, tmp_path: Path) -> None:
    # Given a media file that does not exist
    # When a post with it is published
    outcome = outbox.publish("hertspolice", "Pic", None, [MediaItem(tmp_path / "no.png", "x")])
    # Then it FAILED for good
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)


def test_find_recent_finds_a_published_text_since_a_moment(outbox: OutboxChannel) -> None:
    # Given a published post
    sent = outbox.publish("hertspolice", "Find me", None, [])
    # When reconciliation looks for it, before and after its time, and for another text
    found = outbox.find_recent("hertspolice", "Find me", NOW - timedelta(minutes=1))
    too_late = outbox.find_recent("hertspolice", "Find me", NOW + timedelta(minutes=1))
    absent = outbox.find_recent("hertspolice", "Not me", NOW - timedelta(minutes=1))
    # Then only the first finds it, with its id
    assert found is not None
    assert (found.kind, found.remote_id) == (OutcomeKind.SENT, sent.remote_id)
    assert too_late is None and absent is None


def test_find_recent_on_an_empty_folder_is_none(tmp_path: Path) -> None:
    # Given a folder never written to
    outbox = OutboxChannel(tmp_path / "nothing")
    # When reconciliation looks
    # Then nothing is there
    assert outbox.find_recent("hertspolice", "Anything", NOW) is None


@pytest.mark.parametrize(
    ("fault", "kind", "retryable"),
    [
        (OutboxFault.FAILED, OutcomeKind.FAILED, True),
        (OutboxFault.REJECTED, OutcomeKind.FAILED, False),
        (OutboxFault.UNAUTHORIZED, OutcomeKind.FAILED, False),
        (OutboxFault.UNKNOWN, OutcomeKind.UNKNOWN, False),
    ],
)
def test_injected_faults_report_without_writing(
    outbox: OutboxChannel, fault: OutboxFault, kind: OutcomeKind, retryable: bool
) -> None:
    # Given a fault for the next publication
    outbox.fail_next(fault)
    # When two posts are published
    failed = outbox.publish("hertspolice", "First", None, [])
    sent = outbox.publish("hertspolice", "Second", None, [])
    # Then the first reports the fault and is not written; the second goes through
    assert (failed.kind, failed.retryable) == (kind, retryable)
    assert sent.kind is OutcomeKind.SENT
    assert [e.text for e in outbox.entries()] == ["Second"]


def test_an_injected_rate_limit_carries_retry_at(outbox: OutboxChannel) -> None:
    # Given two rate-limit faults, one with a set time
    outbox.fail_next(OutboxFault.RATE_LIMITED, retry_at=NOW + timedelta(minutes=3))
    outbox.fail_next(OutboxFault.RATE_LIMITED)
    # When two posts are published
    given = outbox.publish("hertspolice", "A", None, [])
    default = outbox.publish("hertspolice", "B", None, [])
    # Then each is RATE_LIMITED until its time (default: X's fifteen-minute window)
    assert given.kind is default.kind is OutcomeKind.RATE_LIMITED
    assert given.retry_at == NOW + timedelta(minutes=3)
    assert default.retry_at == NOW + timedelta(minutes=15)


def test_unknown_after_write_is_the_double_post_trap(outbox: OutboxChannel) -> None:
    # Given the next publication is written but its caller hears UNKNOWN
    outbox.fail_next(OutboxFault.UNKNOWN_AFTER_WRITE)
    # When the post is published, and then (blindly) again
    first = outbox.publish("hertspolice", "Trap", None, [])
    retry = outbox.publish("hertspolice", "Trap", None, [])
    # Then both say UNKNOWN, the post exists once, and reconciliation finds it
    assert first.kind is retry.kind is OutcomeKind.UNKNOWN
    assert [e.text for e in outbox.entries()] == ["Trap"]
    found = outbox.find_recent("hertspolice", "Trap", NOW)
    assert found is not None and found.remote_id == "000001"


def test_times_repeats_a_fault(outbox: OutboxChannel) -> None:
    # Given a fault for the next two publications
    outbox.fail_next("failed", times=2)
    # When three posts are published
    kinds = [outbox.publish("hertspolice", f"P{n}", None, []).kind for n in range(3)]
    # Then the first two fail
    assert kinds == [OutcomeKind.FAILED, OutcomeKind.FAILED, OutcomeKind.SENT]


def test_the_channel_stands_in_for_the_channel_it_is_named_after(tmp_path: Path) -> None:
    # Given an outbox standing in for another channel in the same folder
    x = OutboxChannel(tmp_path, clock=lambda: NOW)
    other = OutboxChannel(tmp_path, channel="mastodon", clock=lambda: NOW)
    # When both publish the same text from the same account
    x.publish("hertspolice", "Same text", None, [])
    outcome = other.publish("hertspolice", "Same text", None, [])
    # Then they are no duplicates of each other, and each line names its channel
    assert (x.name, other.name) == ("x", "mastodon")
    assert outcome.kind is OutcomeKind.SENT
    assert [line["channel"] for line in lines(x)] == ["x", "mastodon"]


def publish_many(folder: str, worker: int, count: int) -> list[str]:
    """One process's share of the concurrent-writers test."""
    channel = OutboxChannel(folder)
    ids = []
    for n in range(count):
        outcome = channel.publish("hertspolice", f"worker {worker} post {n}", None, [])
        assert outcome.remote_id is not None
        ids.append(outcome.remote_id)
    return ids


def test_concurrent_processes_never_corrupt_the_outbox(tmp_path: Path) -> None:
    # Given four processes writing to one folder at once
    folder = tmp_path / "shared"
    context = multiprocessing.get_context("spawn")
    # When each publishes fifteen posts
    with context.Pool(4) as pool:
        results = pool.starmap(publish_many, [(str(folder), w, 15) for w in range(4)])
    # Then every id is unique, every line parses, and no post is lost
    ids = [i for result in results for i in result]
    assert len(set(ids)) == 60
    entries = OutboxChannel(folder).entries()
    assert sorted(e.id for e in entries) == sorted(ids)
    assert len((folder / OUTBOX_FILE).read_text("utf-8").splitlines()) == 60


def reply_to(parent: Outcome, root: Outcome) -> Reply:
    """A reply to the post `parent` published, in the thread `root` began."""
    assert parent.remote_id and root.remote_id
    return Reply(PostRef(parent.remote_id), PostRef(root.remote_id))
