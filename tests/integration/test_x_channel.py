"""The X channel through tweepy and requests, over real HTTP to the fake X API."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald.channels import OutcomeKind, PostRef, Reply
from herald.channels.x import XChannel, XLookupError
from herald.delivery import MediaItem
from herald_dev.fake_x import (
    DUPLICATE_DETAIL,
    MEDIA_METADATA,
    MEDIA_UPLOAD,
    TWEETS,
    USER_TWEETS,
    USERS_ME,
    FakeX,
    FaultKind,
)
from herald_dev.images import PNG
from herald_dev.x_accounts import X_SECRET

pytestmark = pytest.mark.integration


MakeChannel = Callable[..., XChannel]


@pytest.fixture
def image(tmp_path: Path) -> MediaItem:
    path = tmp_path / "sid.png"
    path.write_bytes(PNG)
    return MediaItem(path=path, alt="Safer Internet Day logo")


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def test_a_text_post_is_sent_with_its_id_and_url(fake_x: FakeX, x_channel: XChannel) -> None:
    # Given a channel on the fake with the account's keys
    # When a text is published
    outcome = x_channel.publish("hertspolice", "Today is Safer Internet Day", None, [])
    # Then it is SENT with X's id and the post's public URL, and X has it
    assert outcome.kind is OutcomeKind.SENT
    [post] = fake_x.posts
    assert outcome.remote_id == post.id
    assert outcome.url == f"https://x.com/HertsPolice/status/{post.id}"
    assert (post.account, post.text) == ("hertspolice", "Today is Safer Internet Day")


def test_a_thread_chains_each_part_to_the_previous_one(fake_x: FakeX, x_channel: XChannel) -> None:
    # Given a three-part thread
    parts = ["1/3 Talk to your children", "2/3 Set up controls", "3/3 Know where to report"]
    # When each part is published as a reply to the one before
    reply_to = None
    ids = []
    for text in parts:
        outcome = x_channel.publish("hertspolice", text, reply_to, [])
        assert outcome.kind is OutcomeKind.SENT and outcome.remote_id
        root = reply_to.root if reply_to else PostRef(outcome.remote_id)
        reply_to = Reply(PostRef(outcome.remote_id), root)
        ids.append(outcome.remote_id)
    # Then X holds the chain
    assert [(p.text, p.reply_to) for p in fake_x.posts] == [
        (parts[0], None),
        (parts[1], ids[0]),
        (parts[2], ids[1]),
    ]


def test_an_image_is_uploaded_with_its_alt_text(
    fake_x: FakeX, x_channel: XChannel, image: MediaItem
) -> None:
    # Given an image with alt text
    # When a post with it is published
    outcome = x_channel.publish("hertspolice", "With the logo", None, [image])
    # Then the post went out with the image and X recorded the alt text
    assert outcome.kind is OutcomeKind.SENT
    [post] = fake_x.posts
    [media] = post.media
    assert (media.alt, media.content_type) == ("Safer Internet Day logo", "image/png")
    assert fake_x.counts[MEDIA_UPLOAD] == fake_x.counts[MEDIA_METADATA] == 1


def test_an_account_without_a_handle_gets_a_url_x_still_serves(
    fake_x: FakeX, make_x_channel: MakeChannel
) -> None:
    # Given a channel that knows no handle for the account
    channel = make_x_channel(accounts={})
    # When it publishes
    outcome = channel.publish("hertspolice", "No handle configured", None, [])
    # Then the URL uses X's i/web form
    assert outcome.url == f"https://x.com/i/web/status/{fake_x.posts[0].id}"


def test_a_wrong_secret_fails_and_asks_to_reconnect_the_account(
    fake_x: FakeX, make_x_channel: MakeChannel, x_credentials: dict[str, Any]
) -> None:
    # Given credentials whose access token secret X does not know
    x_credentials["x"]["hertspolice"]["access_token_secret"] = "revoked-secret"
    channel = make_x_channel(credentials=x_credentials)
    # When a post is published
    outcome = channel.publish("hertspolice", "Never goes out", None, [])
    # Then it FAILED for good, telling people to reconnect, and nothing was posted
    assert outcome.kind is OutcomeKind.FAILED
    assert not outcome.retryable
    assert "reconnect the account" in (outcome.reason or "")
    assert fake_x.posts == []


def test_an_account_with_no_credentials_fails_naming_it(fake_x: FakeX, x_channel: XChannel) -> None:
    # Given an account the secret does not hold
    # When it publishes
    outcome = x_channel.publish("herts_fire", "Hello", None, [])
    # Then it FAILED, naming the account, without any request to X
    assert outcome.kind is OutcomeKind.FAILED
    assert "herts_fire" in (outcome.reason or "")
    assert fake_x.requests == []


def test_a_duplicate_is_found_on_the_account_and_sent_with_its_id(
    fake_x: FakeX, x_channel: XChannel
) -> None:
    # Given a text already on the account: an earlier attempt got through, unanswered
    fake_x.fail_next(TWEETS, FaultKind.DROP_AFTER_ACCEPT)
    assert x_channel.publish("hertspolice", "Said once", None, []).kind is OutcomeKind.UNKNOWN
    # When the same text is published again
    outcome = x_channel.publish("hertspolice", "Said once", None, [])
    # Then X's 403 duplicate is evidence: the post is found, SENT with its id, marked
    [post] = fake_x.posts
    assert (outcome.kind, outcome.remote_id) == (OutcomeKind.SENT, post.id)
    assert outcome.url == f"https://x.com/HertsPolice/status/{post.id}"
    assert outcome.duplicate
    assert "duplicate" in (outcome.reason or "")


def test_a_duplicate_refusal_for_a_post_not_found_stays_unknown(
    fake_x: FakeX, x_channel: XChannel
) -> None:
    # Given X refuses the next post as a duplicate, though the account does not show it
    fake_x.fail_next(TWEETS, FaultKind.FORBIDDEN, detail=DUPLICATE_DETAIL)
    # When it is published
    outcome = x_channel.publish("hertspolice", "Refused, yet nowhere", None, [])
    # Then it stays UNKNOWN for the engine to settle, marked as a duplicate refusal
    assert outcome.kind is OutcomeKind.UNKNOWN
    assert outcome.duplicate
    assert fake_x.posts == []


def test_a_429_is_rate_limited_until_xs_reset_time(fake_x: FakeX, x_channel: XChannel) -> None:
    # Given X rate limits the next post until a known moment
    reset = int((datetime.now(UTC) + timedelta(minutes=7)).timestamp())
    fake_x.fail_next(TWEETS, FaultKind.RATE_LIMIT, reset_at=reset)
    # When a post is published
    outcome = x_channel.publish("hertspolice", "Too soon", None, [])
    # Then it is RATE_LIMITED until x-rate-limit-reset, and was not posted
    assert outcome.kind is OutcomeKind.RATE_LIMITED
    assert outcome.retry_at == datetime.fromtimestamp(reset, UTC)
    assert fake_x.posts == []


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_unknown(fake_x: FakeX, x_channel: XChannel, status: int) -> None:
    # Given X answers the next post with a server error
    fake_x.fail_next(TWEETS, FaultKind.SERVER_ERROR, status=status)
    # When a post is published
    outcome = x_channel.publish("hertspolice", "Maybe out", None, [])
    # Then nobody can say whether it went out: UNKNOWN
    assert outcome.kind is OutcomeKind.UNKNOWN
    assert str(status) in (outcome.reason or "")


@pytest.mark.timeout(20)
def test_a_hang_is_unknown_once_the_read_timeout_passes(
    fake_x: FakeX, make_x_channel: MakeChannel
) -> None:
    # Given X will not answer the next post for a minute, and a 0.5 s read timeout
    fake_x.fail_next(TWEETS, FaultKind.HANG, seconds=60)
    channel = make_x_channel(read_timeout=0.5)
    # When a post is published
    outcome = channel.publish("hertspolice", "Into the void", None, [])
    # Then the read timeout ended the wait (the test's own timeout is far below the hang)
    assert outcome.kind is OutcomeKind.UNKNOWN
    assert "read timeout" in (outcome.reason or "")


def test_a_dropped_connection_after_accept_is_unknown_and_the_post_exists(
    fake_x: FakeX, x_channel: XChannel
) -> None:
    # Given X accepts the next post and then drops the connection unanswered
    fake_x.fail_next(TWEETS, FaultKind.DROP_AFTER_ACCEPT)
    # When the post is published
    outcome = x_channel.publish("hertspolice", "The double-post trap", None, [])
    # Then the channel says UNKNOWN, although the post is on X: retrying would post it twice
    assert outcome.kind is OutcomeKind.UNKNOWN
    assert [p.text for p in fake_x.posts] == ["The double-post trap"]
    # And reconciliation finds it, with its id
    found = x_channel.find_recent("hertspolice", "The double-post trap", an_hour_ago())
    assert found is not None
    assert found.kind is OutcomeKind.SENT
    assert found.remote_id == fake_x.posts[0].id


def test_connection_refused_fails_retryably_since_nothing_left(
    make_x_channel: MakeChannel,
) -> None:
    # Given an address where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = make_x_channel(base_url=f"http://127.0.0.1:{port}")
    # When a post is published
    outcome = channel.publish("hertspolice", "Nobody home", None, [])
    # Then it FAILED, retryable: the request never left
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.retryable


@pytest.mark.parametrize(
    ("endpoint", "kind", "retryable"),
    [
        (MEDIA_UPLOAD, FaultKind.SERVER_ERROR, True),
        (MEDIA_METADATA, FaultKind.SERVER_ERROR, True),
        (MEDIA_UPLOAD, FaultKind.BAD_REQUEST, False),
        (MEDIA_UPLOAD, FaultKind.DROP, True),
    ],
)
def test_a_media_failure_before_the_post_fails_and_posts_nothing(
    fake_x: FakeX,
    x_channel: XChannel,
    image: MediaItem,
    endpoint: str,
    kind: FaultKind,
    retryable: bool,
) -> None:
    # Given the media step fails
    fake_x.fail_next(endpoint, kind)
    # When a post with an image is published
    outcome = x_channel.publish("hertspolice", "Picture post", None, [image])
    # Then it FAILED (nothing was published), retryable unless X refused the media
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.retryable is retryable
    assert "sid.png" in (outcome.reason or "")
    assert TWEETS not in fake_x.counts


def test_find_recent_returns_none_for_a_text_not_posted(fake_x: FakeX, x_channel: XChannel) -> None:
    # Given the account posted something else
    x_channel.publish("hertspolice", "Something else", None, [])
    # When reconciliation looks for a text never posted
    found = x_channel.find_recent("hertspolice", "Never posted", an_hour_ago())
    # Then it is not there
    assert found is None


def test_find_recent_ignores_posts_before_since(fake_x: FakeX, x_channel: XChannel) -> None:
    # Given a post made now
    x_channel.publish("hertspolice", "Earlier post", None, [])
    # When reconciliation looks only after a later moment
    found = x_channel.find_recent(
        "hertspolice", "Earlier post", datetime.now(UTC) + timedelta(minutes=5)
    )
    # Then it is not found
    assert found is None


def test_find_recent_matches_text_as_x_rewrites_it(fake_x: FakeX, x_channel: XChannel) -> None:
    # Given X lists texts with t.co links and escaped ampersands (as the fake does)
    text = "Tips & advice: https://www.saferinternet.org.uk/safer-internet-day"
    assert x_channel.publish("hertspolice", text, None, []).kind is OutcomeKind.SENT
    # When reconciliation looks for the text as it was published
    found = x_channel.find_recent("hertspolice", text, an_hour_ago())
    # Then the rewritten post is recognised
    assert found is not None
    assert found.remote_id == fake_x.posts[0].id


def test_find_recent_asks_for_the_user_id_once(fake_x: FakeX, x_channel: XChannel) -> None:
    # Given the account settings give no user id
    x_channel.publish("hertspolice", "Look me up", None, [])
    # When reconciliation runs twice
    x_channel.find_recent("hertspolice", "Look me up", an_hour_ago())
    x_channel.find_recent("hertspolice", "Look me up", an_hour_ago())
    # Then GET /2/users/me was asked once and the user's posts twice
    assert fake_x.counts[USERS_ME] == 1
    assert fake_x.counts[USER_TWEETS] == 2


def test_find_recent_uses_a_configured_user_id(fake_x: FakeX, make_x_channel: MakeChannel) -> None:
    # Given the account settings carry the user id
    accounts = {"hertspolice": {"handle": "HertsPolice", "user_id": fake_x.user_id("hertspolice")}}
    channel = make_x_channel(accounts=accounts)
    channel.publish("hertspolice", "Known user", None, [])
    # When reconciliation runs
    found = channel.find_recent("hertspolice", "Known user", an_hour_ago())
    # Then it found the post without asking who the user is
    assert found is not None
    assert USERS_ME not in fake_x.counts


def test_find_recent_raises_when_x_cannot_be_read(fake_x: FakeX, x_channel: XChannel) -> None:
    # Given X fails the listing
    fake_x.fail_next(USER_TWEETS, FaultKind.SERVER_ERROR, status=503)
    # When reconciliation runs
    # Then it raises rather than say "not there"
    with pytest.raises(XLookupError, match="503"):
        x_channel.find_recent("hertspolice", "Anything", an_hour_ago())


def test_credentials_never_reach_logs_or_output(
    fake_x: FakeX,
    make_x_channel: MakeChannel,
    x_credentials: dict[str, Any],
    image: MediaItem,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given every logger at DEBUG, a good channel and one with a wrong secret
    caplog.set_level(logging.DEBUG)
    for name in ("oauthlib", "requests_oauthlib", "tweepy", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    good = make_x_channel(read_timeout=0.5)
    x_credentials["x"]["hertspolice"]["consumer_secret"] = "wrong-consumer-secret"
    bad = make_x_channel(credentials=x_credentials)
    # When posts succeed, fail, time out and are reconciled
    outcomes = [
        good.publish("hertspolice", "Logged post", None, [image]),
        bad.publish("hertspolice", "Refused post", None, []),
    ]
    fake_x.fail_next(TWEETS, FaultKind.HANG, seconds=30)
    outcomes.append(good.publish("hertspolice", "Slow post", None, []))
    good.find_recent("hertspolice", "Logged post", an_hour_ago())
    with pytest.raises(XLookupError) as lookup_error:
        bad.find_recent("hertspolice", "Logged post", an_hour_ago())
    # Then no credential value appears in any log record, output, reason or message
    captured = capsys.readouterr()
    seen = "\n".join(
        [
            caplog.text,
            captured.out,
            captured.err,
            repr(good),
            str(lookup_error.value),
            *(repr(o) for o in outcomes),
        ]
    )
    assert [o.kind for o in outcomes] == [
        OutcomeKind.SENT,
        OutcomeKind.FAILED,
        OutcomeKind.UNKNOWN,
    ]
    assert caplog.records  # the libraries did log at DEBUG
    for keys in X_SECRET["x"].values():
        for value in keys.values():
            assert value not in seen
