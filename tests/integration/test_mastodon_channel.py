"""The Mastodon channel against the strict fake Mastodon, over real HTTP: what it sends,
every answer it maps, and, through the engine and DynamoDB Local, every injected fault
ending with the status published once (0 duplicates) or on record (0 silent losses)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from herald.channels import CreateCall, OutcomeKind, PostRef, Reply
from herald.channels.mastodon import MastodonChannel
from herald.delivery import DeliveryKey, MediaItem
from herald.engine import Engine
from herald.ledger import State
from herald.ledger.dynamodb import DynamoLedger
from herald_dev.fake_mastodon import ACCOUNT_STATUSES, MEDIA_UPLOAD, STATUSES, FakeMastodon
from herald_dev.images import PNG
from herald_dev.mastodon_facebook_accounts import MASTODON_SECRET
from tests.fixtures.mastodon_facebook import FakeClock
from tests.integration.conftest import assert_nothing_lost, plan_of, record_of

pytestmark = pytest.mark.integration

TOKEN = MASTODON_SECRET["mastodon"]["hertspolice"]["access_token"]
T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)
TEXT = "Today is #SaferInternetDay: together for a better internet https://example.org/sid"
KEY = DeliveryKey("faults", "launch", "mastodon", "hertspolice")

CAMPAIGN = """\
campaign: faults
title: Faults
timezone: Europe/London
max_lateness: {lateness}
accounts:
  mastodon:
    hertspolice: {{handle: "@hertspolice@police.example", instance: "https://police.example"}}
posts:
  - id: launch
    at: 2021-02-09 08:00
    text: "{text}"
    media: [{{file: sid.png, alt: A shield in front of a globe}}]
    thread:
      - "Report it online: https://example.org/report"
"""

MakeChannel = Callable[..., MastodonChannel]


@pytest.fixture
def image(tmp_path: Path) -> MediaItem:
    path = tmp_path / "sid.png"
    path.write_bytes(PNG)
    return MediaItem(path, "A shield in front of a globe", tmp_path)


def campaign(tmp_path: Path, lateness: str = "15m") -> Any:
    (tmp_path / "sid.png").write_bytes(PNG)
    return plan_of(tmp_path, CAMPAIGN.format(lateness=lateness, text=TEXT))


def run(engine: Engine, clock: FakeClock, minutes: range) -> None:
    """Tick the engine minute by minute, the fake's clock with it."""
    for minute in minutes:
        clock.now = T0 + timedelta(minutes=minute)
        engine.tick(clock.now)


# -- publishing --


def test_a_status_is_published_with_its_image_alt_text_and_key(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon, image: MediaItem
) -> None:
    # When the channel publishes a text with an image and a key
    outcome = make_mastodon_channel().publish(
        "hertspolice", TEXT, None, [image], CreateCall(idempotency_key="herald-k1")
    )
    # Then it is SENT, with the status's id and URL, exactly as written
    assert outcome.kind is OutcomeKind.SENT
    status = fake_mastodon.statuses[0]
    assert (outcome.remote_id, status.text, status.visibility) == (status.id, TEXT, "public")
    assert outcome.url == f"https://police.example/@hertspolice/{status.id}"
    assert [m.description for m in status.media] == ["A shield in front of a globe"]
    assert status.idempotency_key == "herald-k1"


def test_a_reply_names_its_parent(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon
) -> None:
    channel = make_mastodon_channel()
    first = channel.publish("hertspolice", "first", None, [])
    assert first.remote_id is not None
    parent = PostRef(first.remote_id)
    second = channel.publish("hertspolice", "second", Reply(parent, parent), [])
    assert second.kind is OutcomeKind.SENT
    assert fake_mastodon.statuses[1].in_reply_to_id == first.remote_id


def test_an_image_never_processed_is_waited_for_a_minute_at_most(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon, image: MediaItem
) -> None:
    fake_mastodon.processing_polls = 1_000
    waits: list[float] = []
    outcome = make_mastodon_channel(sleep=waits.append).publish("hertspolice", TEXT, None, [image])
    assert (outcome.kind, outcome.stopped) == (OutcomeKind.FAILED, True)
    assert sum(waits) <= 60
    assert fake_mastodon.statuses == []


def test_an_image_still_processing_is_waited_for(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon, image: MediaItem
) -> None:
    # Given Mastodon takes three looks to process an image
    fake_mastodon.processing_polls = 3
    waits: list[float] = []
    channel = make_mastodon_channel(sleep=waits.append)
    # When it is published with plenty of time left
    outcome = channel.publish(
        "hertspolice", TEXT, None, [image], CreateCall(remaining=lambda: 600.0)
    )
    # Then the channel waited between looks and attached it once processed
    assert outcome.kind is OutcomeKind.SENT
    assert len(waits) == 3
    assert len(fake_mastodon.statuses[0].media) == 1


def test_out_of_time_while_an_image_processes_nothing_is_posted(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon, image: MediaItem
) -> None:
    # Given an image Mastodon never finishes and an invocation with 20 s left
    fake_mastodon.processing_polls = 1_000
    channel = make_mastodon_channel(connect_timeout=3.05, read_timeout=10.0)
    outcome = channel.publish(
        "hertspolice", TEXT, None, [image], CreateCall(remaining=lambda: 20.0)
    )
    # Then the delivery FAILED, retryable, and nothing was posted
    assert (outcome.kind, outcome.retryable, outcome.stopped) == (OutcomeKind.FAILED, True, True)
    assert "still processing sid.png" in (outcome.reason or "")
    assert fake_mastodon.statuses == []


def test_the_same_key_twice_is_one_status(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon
) -> None:
    channel = make_mastodon_channel()
    first = channel.publish("hertspolice", TEXT, None, [], CreateCall(idempotency_key="k"))
    again = channel.publish("hertspolice", TEXT, None, [], CreateCall(idempotency_key="k"))
    assert first.remote_id == again.remote_id
    assert len(fake_mastodon.statuses) == 1


# -- answers --


def test_a_429_is_claimable_again_at_the_reset(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon, fake_clock: FakeClock
) -> None:
    fake_mastodon.fail_next(STATUSES, "rate_limit", reset_in=300)
    outcome = make_mastodon_channel().publish("hertspolice", TEXT, None, [])
    assert outcome.kind is OutcomeKind.RATE_LIMITED
    assert outcome.retry_at == fake_clock.now + timedelta(minutes=5)


def test_a_revoked_token_is_failed_reconnect_the_account(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon
) -> None:
    fake_mastodon.revoke("hertspolice")
    outcome = make_mastodon_channel().publish("hertspolice", TEXT, None, [])
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert "reconnect the account" in (outcome.reason or "")
    assert TOKEN not in (outcome.reason or "")


def test_a_token_without_scopes_names_the_scopes(
    fake_clock: FakeClock, make_mastodon_channel: MakeChannel
) -> None:
    accounts = {
        "hertspolice": {"handle": "@hertspolice@police.example", "scopes": ["read:statuses"]}
    }
    with FakeMastodon(MASTODON_SECRET, accounts=accounts, clock=fake_clock) as fake:
        outcome = make_mastodon_channel(base_url=fake.url).publish("hertspolice", TEXT, None, [])
    assert outcome.kind is OutcomeKind.FAILED
    assert "write:statuses write:media read:statuses" in (outcome.reason or "")


def test_a_text_over_the_instances_limit_is_refused_with_mastodons_words(
    make_mastodon_channel: MakeChannel,
) -> None:
    outcome = make_mastodon_channel().publish("hertspolice", "a" * 501, None, [])
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert "Text character limit of 500 exceeded" in (outcome.reason or "")


def test_a_token_in_the_wrong_channels_place_is_a_sentence_without_the_token(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon
) -> None:
    # Given the secret holds the account's token under a Facebook Page token's name
    secret = {"mastodon": {"hertspolice": {"page_access_token": TOKEN}}}
    outcome = make_mastodon_channel(credentials=secret).publish("hertspolice", TEXT, None, [])
    # Then it is FAILED with a sentence naming the channel and the account, never the token
    reason = outcome.reason or ""
    assert outcome.kind is OutcomeKind.FAILED
    assert "mastodon" in reason and "'hertspolice'" in reason and "access_token" in reason
    assert TOKEN not in reason
    assert fake_mastodon.requests == []


def test_a_proxy_error_page_on_the_upload_is_failed_with_a_sentence(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon, image: MediaItem
) -> None:
    fake_mastodon.fail_next(MEDIA_UPLOAD, "html_page")
    outcome = make_mastodon_channel().publish("hertspolice", TEXT, None, [image])
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, True)
    assert outcome.reason == (
        "sid.png: a proxy in front of the instance answered 502 with an HTML error page to "
        "the image upload; nothing was posted"
    )


class _Website(BaseHTTPRequestHandler):
    """A web site where an instance should be: it answers every request with a page."""

    def _page(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<!DOCTYPE html><html><body>Welcome to police.example</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _page

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def website() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Website)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_instance_that_answers_html_is_failed_with_a_sentence(
    make_mastodon_channel: MakeChannel, website: str, image: MediaItem
) -> None:
    channel = make_mastodon_channel(base_url=website)
    for media in ([], [image]):
        outcome = channel.publish("hertspolice", TEXT, None, media)
        assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
        assert "with an HTML page (200), not Mastodon's API; check the account's instance" in (
            outcome.reason or ""
        )


# -- reading back --


def test_find_recent_compares_the_source_text_not_the_html(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon
) -> None:
    channel = make_mastodon_channel()
    sent = channel.publish("hertspolice", "Fish & chips <b>now</b> " + TEXT, None, [])
    found = channel.find_recent("hertspolice", "Fish & chips <b>now</b> " + TEXT, T0)
    assert found is not None and found.remote_id == sent.remote_id
    assert channel.find_recent("hertspolice", "Fish & chips now " + TEXT, T0) is None
    assert (
        channel.find_recent(
            "hertspolice",
            "Fish & chips <b>now</b> " + TEXT,
            T0,
            exclude_ids=frozenset({sent.remote_id or ""}),
        )
        is None
    )


def test_find_recent_raises_when_the_account_cannot_be_read(
    make_mastodon_channel: MakeChannel, fake_mastodon: FakeMastodon
) -> None:
    fake_mastodon.revoke("hertspolice")
    with pytest.raises(Exception, match="reconnect the account"):
        make_mastodon_channel().find_recent("hertspolice", TEXT, T0)


# -- faults, through the engine and the DynamoDB ledger --


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("drop_after_commit", {}),
        ("server_error_after_commit", {"status": 503}),
        ("timeout_after_commit", {"seconds": 3}),
        ("server_error", {}),
        ("timeout", {"seconds": 3}),
        ("html_page", {}),
    ],
)
def test_every_fault_on_the_create_ends_with_one_status(
    tmp_path: Path,
    ledger: DynamoLedger,
    fake_mastodon: FakeMastodon,
    fake_clock: FakeClock,
    make_mastodon_channel: MakeChannel,
    kind: str,
    options: dict[str, Any],
) -> None:
    # Given the first create fails this way, and the timeline lags its writes by 5 s
    plan = campaign(tmp_path)
    fake_mastodon.set_timeline_lag(5)
    fake_mastodon.fail_next(STATUSES, kind, **options)
    engine = Engine(plan, ledger, {"mastodon": make_mastodon_channel()})
    # When the campaign's minutes tick
    run(engine, fake_clock, range(0, 30))
    # Then the post and its reply are each on the account once: 0 duplicates
    texts = [s.text for s in fake_mastodon.statuses]
    assert texts == [TEXT, "Report it online: https://example.org/report"]
    launch = record_of(ledger, KEY)
    assert launch is not None and launch.state is State.SENT
    assert launch.remote_id == fake_mastodon.statuses[0].id
    assert fake_mastodon.statuses[1].in_reply_to_id == launch.remote_id
    # And every create carried the one key the ledger chose at the claim
    keys = {s.idempotency_key for s in fake_mastodon.statuses[:1]}
    assert keys == {launch.idempotency_key}
    assert_nothing_lost(engine, plan, T0 + timedelta(minutes=30), ledger)


def lost_answer(
    folder: Path,
    ledger: DynamoLedger,
    fake: FakeMastodon,
    clock: FakeClock,
    channel: MastodonChannel,
) -> Engine:
    """The engine after its first minute, on a campaign that may be two hours late, whose
    create posted the status but lost the answer (UNKNOWN)."""
    fake.fail_next(STATUSES, "drop_after_commit")
    engine = Engine(campaign(folder, lateness="2h"), ledger, {"mastodon": channel})
    run(engine, clock, range(0, 1))
    return engine


@pytest.mark.parametrize("resume", [1, 61], ids=["inside-the-keys-hour", "after-it"])
def test_a_failed_read_back_holds_the_post_until_the_account_can_be_read(
    tmp_path: Path,
    ledger: DynamoLedger,
    fake_mastodon: FakeMastodon,
    fake_clock: FakeClock,
    make_mastodon_channel: MakeChannel,
    resume: int,
) -> None:
    # Given a create that posted but whose answer was lost, then ticks (inside the key's
    # hour, or after it) while the account's statuses answer 503: an instance in trouble,
    # where a repeated create would most likely fail too and use up the attempts allowed
    engine = lost_answer(tmp_path, ledger, fake_mastodon, fake_clock, make_mastodon_channel())
    fake_mastodon.fail_next(ACCOUNT_STATUSES, "server_error", times=3, status=503)
    run(engine, fake_clock, range(resume, resume + 3))
    # Then nothing is concluded and nothing posted again: it stays UNKNOWN, no resend used
    record = record_of(ledger, KEY)
    assert record is not None and record.state is State.UNKNOWN and record.resends == 0
    assert [s.text for s in fake_mastodon.statuses].count(TEXT) == 1
    # And once the account can be read, it is settled without a person: one status
    run(engine, fake_clock, range(resume + 3, resume + 10))
    record = record_of(ledger, KEY)
    assert record is not None and record.state is State.SENT
    assert record.remote_id == fake_mastodon.statuses[0].id
    assert [s.text for s in fake_mastodon.statuses].count(TEXT) == 1


def test_after_the_keys_hour_an_unknown_is_settled_by_reading_back(
    tmp_path: Path,
    ledger: DynamoLedger,
    fake_mastodon: FakeMastodon,
    fake_clock: FakeClock,
    make_mastodon_channel: MakeChannel,
) -> None:
    # Given a campaign that may be two hours late, and a create that posted but was lost
    engine = lost_answer(tmp_path, ledger, fake_mastodon, fake_clock, make_mastodon_channel())
    assert record_of(ledger, KEY).state is State.UNKNOWN  # type: ignore[union-attr]
    # When the next tick comes only after the key's hour (an outage) and Mastodon forgot it
    run(engine, fake_clock, range(61, 62))
    # Then the status is found by its source text, not posted again
    record = record_of(ledger, KEY)
    assert record is not None and record.state is State.SENT
    assert [s.text for s in fake_mastodon.statuses].count(TEXT) == 1


def test_after_the_keys_hour_absence_needs_read_backs_minutes_apart(
    tmp_path: Path,
    ledger: DynamoLedger,
    fake_mastodon: FakeMastodon,
    fake_clock: FakeClock,
    make_mastodon_channel: MakeChannel,
) -> None:
    # Given a create that never reached Mastodon but answered nothing (a timeout)
    plan = campaign(tmp_path, lateness="2h")
    fake_mastodon.fail_next(STATUSES, "timeout", seconds=3)
    engine = Engine(plan, ledger, {"mastodon": make_mastodon_channel()})
    run(engine, fake_clock, range(0, 1))
    # When ticks resume after the key's hour
    run(engine, fake_clock, range(61, 65))
    # Then nothing is sent again before read-backs five minutes apart found nothing
    assert fake_mastodon.statuses == []
    assert record_of(ledger, KEY).state is State.UNKNOWN  # type: ignore[union-attr]
    run(engine, fake_clock, range(65, 70))
    assert [s.text for s in fake_mastodon.statuses] == [
        TEXT,
        "Report it online: https://example.org/report",
    ]
