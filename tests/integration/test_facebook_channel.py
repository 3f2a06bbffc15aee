"""The Facebook Page channel against the strict fake Graph API, over real HTTP: what it
sends, every answer it maps, a thread as one post, and, through the engine and DynamoDB
Local, every injected fault ending with the post on the Page once (0 duplicates) or on
record (0 silent losses)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald.channels import CreateCall, OutcomeKind
from herald.channels.facebook import GRAPH_API_VERSION, FacebookChannel
from herald.delivery import DeliveryKey, MediaItem
from herald.engine import Engine
from herald.ledger import State
from herald.ledger.dynamodb import DynamoLedger
from herald_dev.fake_facebook import FEED, GRAPH_VERSION, PHOTOS, FakeFacebook
from herald_dev.images import PNG
from herald_dev.mastodon_facebook_accounts import FACEBOOK_PAGES, FACEBOOK_SECRET
from tests.fixtures.mastodon_facebook import FakeClock
from tests.integration.conftest import assert_nothing_lost, plan_of, record_of

pytestmark = pytest.mark.integration

TOKEN = FACEBOOK_SECRET["facebook"]["hertspolice"]["page_access_token"]
PAGE = FACEBOOK_PAGES["hertspolice"]["page_id"]
T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)
TEXT = "Today is #SaferInternetDay: together for a better internet https://example.org/sid"
KEY = DeliveryKey("faults", "launch", "facebook", "hertspolice")
JOINED = f"{TEXT}\n\nReport it online: https://example.org/report"

CAMPAIGN = """\
campaign: faults
title: Faults
timezone: Europe/London
max_lateness: {lateness}
accounts:
  facebook:
    hertspolice: {{page_id: "{page}", name: Hertfordshire Constabulary}}
posts:
  - id: launch
    at: 2021-02-09 08:00
    text: "{text}"
    media: [{{file: sid.png, alt: A shield in front of a globe}}]
    thread:
      - text: "Report it online: https://example.org/report"
        media: [{{file: sid.png, alt: The report form}}]
"""

MakeChannel = Callable[..., FacebookChannel]


@pytest.fixture
def image(tmp_path: Path) -> MediaItem:
    path = tmp_path / "sid.png"
    path.write_bytes(PNG)
    return MediaItem(path, "A shield in front of a globe", tmp_path)


def campaign(tmp_path: Path, lateness: str = "15m") -> Any:
    (tmp_path / "sid.png").write_bytes(PNG)
    return plan_of(tmp_path, CAMPAIGN.format(lateness=lateness, text=TEXT, page=PAGE))


def run(engine: Engine, clock: FakeClock, minutes: range) -> None:
    for minute in minutes:
        clock.now = T0 + timedelta(minutes=minute)
        engine.tick(clock.now)


def test_herald_and_the_fake_speak_the_same_graph_version() -> None:
    assert GRAPH_API_VERSION == GRAPH_VERSION


# -- publishing --


def test_a_text_with_a_link_goes_to_the_feed_with_the_link(
    make_facebook_channel: MakeChannel, fake_facebook: FakeFacebook
) -> None:
    outcome = make_facebook_channel().publish("hertspolice", TEXT, None, [])
    assert outcome.kind is OutcomeKind.SENT
    post = fake_facebook.posts[0]
    assert (post.kind, post.message, post.link) == ("status", TEXT, "https://example.org/sid")
    assert outcome.remote_id == post.id
    assert outcome.url == post.permalink_url


def test_images_are_unpublished_photos_attached_to_one_feed_post(
    make_facebook_channel: MakeChannel, fake_facebook: FakeFacebook, image: MediaItem
) -> None:
    outcome = make_facebook_channel().publish("hertspolice", TEXT, None, [image, image])
    assert outcome.kind is OutcomeKind.SENT
    # Then one feed post (not a photo post) carries both photos and their alt text, no link
    [post] = fake_facebook.posts
    assert (post.kind, post.link) == ("status", None)
    assert [p.alt_text for p in post.photos] == ["A shield in front of a globe"] * 2
    assert all(not p.published and p.attached_to == post.id for p in fake_facebook.photos)


def test_a_thread_is_one_post_of_its_parts_and_all_their_images(
    tmp_path: Path, ledger: DynamoLedger, fake_facebook: FakeFacebook, fake_clock: FakeClock,
    make_facebook_channel: MakeChannel,
) -> None:  # fmt: skip
    plan = campaign(tmp_path)
    # The plan has one Facebook delivery for the post and its thread
    assert [d.key for d in plan.deliveries] == [KEY]
    engine = Engine(plan, ledger, {"facebook": make_facebook_channel()})
    run(engine, fake_clock, range(0, 3))
    [post] = fake_facebook.posts
    assert post.message == JOINED
    assert [p.alt_text for p in post.photos] == ["A shield in front of a globe", "The report form"]


# -- answers --


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_a_rate_limit_in_the_body_is_claimable_again_when_facebook_says(
    make_facebook_channel: MakeChannel,
    fake_facebook: FakeFacebook,
    fake_clock: FakeClock,
    code: int,
) -> None:
    fake_facebook.fail_next(FEED, "rate_limit", code=code, reset_in=17 * 60)
    outcome = make_facebook_channel().publish("hertspolice", TEXT, None, [])
    assert outcome.kind is OutcomeKind.RATE_LIMITED
    assert outcome.retry_at == fake_clock.now + timedelta(minutes=17)
    assert f"(#{code})" in (outcome.reason or "")


def test_the_pages_own_limit_is_claimable_again_at_the_hour(
    make_facebook_channel: MakeChannel, fake_facebook: FakeFacebook, fake_clock: FakeClock
) -> None:
    fake_facebook.set_call_limit(1)
    channel = make_facebook_channel()
    assert channel.publish("hertspolice", "one", None, []).kind is OutcomeKind.SENT
    limited = channel.publish("hertspolice", "two", None, [])
    assert limited.kind is OutcomeKind.RATE_LIMITED
    assert limited.retry_at == datetime(2021, 2, 9, 9, 0, tzinfo=UTC)


def test_an_invalidated_token_is_failed_reconnect_the_page(
    make_facebook_channel: MakeChannel, fake_facebook: FakeFacebook
) -> None:
    fake_facebook.invalidate("hertspolice", 460)
    outcome = make_facebook_channel().publish("hertspolice", TEXT, None, [])
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert "reconnect the Page" in (outcome.reason or "")
    assert "(#190)" in (outcome.reason or "")
    assert TOKEN not in (outcome.reason or "")


@pytest.mark.parametrize("permissions", [["pages_show_list"], ["pages_manage_posts"]])
def test_a_missing_permission_is_failed_naming_the_permissions(
    fake_clock: FakeClock,
    make_facebook_channel: MakeChannel,
    permissions: list[str],
    image: MediaItem,
) -> None:
    pages = {"hertspolice": {"page_id": PAGE, "permissions": permissions}}
    with FakeFacebook(FACEBOOK_SECRET, pages=pages, clock=fake_clock) as fake:
        outcome = make_facebook_channel(graph_url=fake.url).publish(
            "hertspolice", TEXT, None, [image]
        )
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    reason = outcome.reason or ""
    assert "pages_manage_posts and pages_read_engagement" in reason
    assert "Unknown" not in reason


def test_a_user_token_is_refused_with_a_sentence(
    make_facebook_channel: MakeChannel, fake_facebook: FakeFacebook
) -> None:
    fake_facebook.add_user_token("EAA-user-token-77")
    secret = {"facebook": {"hertspolice": {"page_access_token": "EAA-user-token-77"}}}
    outcome = make_facebook_channel(credentials=secret).publish("hertspolice", TEXT, None, [])
    assert outcome.kind is OutcomeKind.FAILED
    assert "(#200)" in (outcome.reason or "")


def test_a_token_in_the_wrong_channels_place_is_a_sentence_without_the_token(
    make_facebook_channel: MakeChannel, fake_facebook: FakeFacebook
) -> None:
    # Given the Page token sits where a Mastodon token would
    secret = {"facebook": {"hertspolice": {"access_token": TOKEN}}}
    outcome = make_facebook_channel(credentials=secret).publish("hertspolice", TEXT, None, [])
    reason = outcome.reason or ""
    assert outcome.kind is OutcomeKind.FAILED
    assert "facebook" in reason and "'hertspolice'" in reason and "page_access_token" in reason
    assert TOKEN not in reason
    assert fake_facebook.requests == []


def test_a_page_without_page_id_is_failed_with_a_sentence(
    make_facebook_channel: MakeChannel,
) -> None:
    outcome = make_facebook_channel(accounts={"hertspolice": {"name": "Herts"}}).publish(
        "hertspolice", TEXT, None, []
    )
    assert outcome.kind is OutcomeKind.FAILED
    assert "has no page_id" in (outcome.reason or "")


def test_a_proxy_error_page_is_a_sentence(
    make_facebook_channel: MakeChannel, fake_facebook: FakeFacebook, image: MediaItem
) -> None:
    fake_facebook.fail_next(PHOTOS, "html_page")
    outcome = make_facebook_channel().publish("hertspolice", TEXT, None, [image])
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, True)
    assert "answered 502 with an HTML page to the photo upload; nothing was posted" in (
        outcome.reason or ""
    )
    assert fake_facebook.posts == []


def test_a_duplicate_refusal_finds_the_post_already_there(
    make_facebook_channel: MakeChannel, fake_facebook: FakeFacebook
) -> None:
    channel = make_facebook_channel()
    first = channel.publish("hertspolice", TEXT, None, [])
    again = channel.publish("hertspolice", TEXT, None, [], CreateCall())
    assert (again.kind, again.remote_id, again.duplicate) == (
        OutcomeKind.SENT,
        first.remote_id,
        True,
    )
    assert len(fake_facebook.posts) == 1


def test_find_recent_reads_published_posts_back(
    make_facebook_channel: MakeChannel, fake_facebook: FakeFacebook, fake_clock: FakeClock
) -> None:
    channel = make_facebook_channel()
    sent = channel.publish("hertspolice", TEXT, None, [])
    found = channel.find_recent("hertspolice", TEXT, T0)
    assert found is not None and found.remote_id == sent.remote_id
    assert channel.find_recent("hertspolice", TEXT, T0 + timedelta(minutes=1)) is None
    assert (
        channel.find_recent("hertspolice", TEXT, T0, exclude_ids=frozenset({sent.remote_id or ""}))
        is None
    )


def test_find_recent_raises_when_the_page_cannot_be_read(
    make_facebook_channel: MakeChannel, fake_facebook: FakeFacebook
) -> None:
    fake_facebook.invalidate("hertspolice")
    with pytest.raises(Exception, match="reconnect the Page"):
        make_facebook_channel().find_recent("hertspolice", TEXT, T0)


# -- faults, through the engine and the DynamoDB ledger --


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("server_error_after_commit", {}),  # koala#699: a 500 code 2, and the post was made
        ("drop_after_commit", {}),
        ("timeout_after_commit", {"seconds": 3}),
        ("server_error", {}),
        ("timeout", {"seconds": 3}),
        ("html_page", {}),
    ],
)
def test_every_fault_on_the_feed_ends_with_one_post(
    tmp_path: Path,
    ledger: DynamoLedger,
    fake_facebook: FakeFacebook,
    fake_clock: FakeClock,
    make_facebook_channel: MakeChannel,
    kind: str,
    options: dict[str, Any],
) -> None:
    # Given the first feed post fails this way, published_posts lags by 5 s, and Facebook
    # would let a copy through (its duplicate refusal is no guarantee)
    plan = campaign(tmp_path)
    fake_facebook.set_timeline_lag(5)
    fake_facebook.refuse_duplicates = False
    fake_facebook.fail_next(FEED, kind, **options)
    engine = Engine(plan, ledger, {"facebook": make_facebook_channel()})
    # When the campaign's minutes tick
    run(engine, fake_clock, range(0, 30))
    # Then the post is on the Page once: 0 duplicates, and the record says where
    assert [p.message for p in fake_facebook.posts] == [JOINED]
    record = record_of(ledger, KEY)
    assert record is not None and record.state is State.SENT
    assert record.remote_id == fake_facebook.posts[0].id
    assert record.resends <= 1
    assert_nothing_lost(engine, plan, T0 + timedelta(minutes=30), ledger)


def test_a_post_whose_window_closed_before_absence_was_settled_stays_unknown(
    tmp_path: Path,
    ledger: DynamoLedger,
    fake_facebook: FakeFacebook,
    fake_clock: FakeClock,
    make_facebook_channel: MakeChannel,
) -> None:
    # Given a campaign that may be only 2 minutes late and a feed post that timed out
    plan = campaign(tmp_path, lateness="2m")
    fake_facebook.fail_next(FEED, "timeout", seconds=3)
    engine = Engine(plan, ledger, {"facebook": make_facebook_channel()})
    run(engine, fake_clock, range(0, 20))
    # Then nothing was sent again (read-backs 3 minutes apart did not fit in the window),
    # and the audit names it for a person: not lost in silence
    assert fake_facebook.posts == []
    record = record_of(ledger, KEY)
    assert record is not None and record.state is State.UNKNOWN
    assert_nothing_lost(engine, plan, T0 + timedelta(minutes=20), ledger)
