"""Reconciliation against the fake X over real HTTP, with posts listed as X lists them:
t.co links in `text`, `entities.urls` expanding them, a media link appended, `created_at`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from requests_oauthlib import OAuth1

from herald.channels import OutcomeKind
from herald.channels.x import XChannel
from herald.delivery import MediaItem
from herald_dev.fake_x import TWEETS, FakeX, FaultKind
from herald_dev.images import PNG
from herald_dev.x_accounts import X_SECRET

pytestmark = pytest.mark.integration

SMITH = "Missing person appeal: have you seen him? https://www.herts.police.uk/appeals/smith"
JONES = "Missing person appeal: have you seen him? https://www.herts.police.uk/appeals/jones"


def an_hour_ago() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def listing(fake: FakeX, fields: str) -> list[dict[str, object]]:
    """The account's posts as GET /2/users/:id/tweets answers, with `tweet.fields`."""
    keys = X_SECRET["x"]["hertspolice"]
    auth = OAuth1(
        keys["consumer_key"],
        client_secret=keys["consumer_secret"],
        resource_owner_key=keys["access_token"],
        resource_owner_secret=keys["access_token_secret"],
    )
    answer = requests.get(
        f"{fake.url}/2/users/{fake.user_id('hertspolice')}/tweets",
        params={"max_results": "10", "tweet.fields": fields},
        auth=auth,
        timeout=5,
    )
    assert answer.status_code == 200
    return list(answer.json()["data"])


@pytest.fixture
def image(tmp_path: Path) -> MediaItem:
    path = tmp_path / "appeal.png"
    path.write_bytes(PNG)
    return MediaItem(path=path, alt="Photo of the missing man")


def test_the_fake_lists_posts_as_x_does(
    fake_x: FakeX, x_channel: XChannel, image: MediaItem
) -> None:
    # Given a post with an ampersand, a link ending a sentence, and an image
    text = "Tips & advice: https://www.saferinternet.org.uk/safer-internet-day."
    sent = x_channel.publish("hertspolice", text, None, [image])
    assert sent.kind is OutcomeKind.SENT
    # When the account's posts are listed with their creation time and entities
    [post] = listing(fake_x, "created_at,entities")
    # Then the text has t.co links, `&` escaped, and the media link appended
    listed = str(post["text"])
    assert listed.startswith("Tips &amp; advice: https://t.co/")
    link, media = post["entities"]["urls"]  # type: ignore[index]
    assert listed == f"Tips &amp; advice: {link['url']}. {media['url']}"
    # And the entities expand each t.co link, the sentence's full stop left out
    assert link["expanded_url"] == "https://www.saferinternet.org.uk/safer-internet-day"
    assert link["display_url"].startswith("www.saferinternet.org.uk/")
    assert listed[link["start"] : link["end"]] == link["url"]
    assert media["media_key"] == sent_media_key(fake_x)
    assert media["expanded_url"] == f"https://x.com/HertsPolice/status/{sent.remote_id}/photo/1"
    assert str(post["created_at"]).endswith("Z")
    # And without `entities` asked for, X gives none
    [bare] = listing(fake_x, "created_at")
    assert "entities" not in bare


def sent_media_key(fake: FakeX) -> str:
    [post] = fake.posts
    return post.media[0].media_key


def test_an_appeal_that_never_went_out_is_not_taken_for_one_with_another_link(
    fake_x: FakeX, x_channel: XChannel
) -> None:
    # Given the Smith appeal published, and X answering 503 to the Jones appeal, unmade
    smith = x_channel.publish("hertspolice", SMITH, None, [])
    assert smith.kind is OutcomeKind.SENT
    fake_x.fail_next(TWEETS, FaultKind.SERVER_ERROR, status=503)
    attempting = datetime.now(UTC)
    assert x_channel.publish("hertspolice", JONES, None, []).kind is OutcomeKind.UNKNOWN
    # When reconciliation looks for the Jones appeal, since its attempt or over the last hour
    since_attempt = x_channel.find_recent("hertspolice", JONES, attempting)
    over_the_hour = x_channel.find_recent("hertspolice", JONES, an_hour_ago())
    # Then it is not there: the Smith appeal's id is never recorded for it
    assert since_attempt is None
    assert over_the_hour is None
    # And the Smith appeal is found as itself
    found = x_channel.find_recent("hertspolice", SMITH, an_hour_ago())
    assert found is not None and found.remote_id == smith.remote_id


def test_each_appeal_is_found_with_its_own_id(fake_x: FakeX, x_channel: XChannel) -> None:
    # Given both appeals on the account, differing only in their link
    ids = {
        text: x_channel.publish("hertspolice", text, None, []).remote_id for text in (SMITH, JONES)
    }
    # When reconciliation looks for each
    found = {text: x_channel.find_recent("hertspolice", text, an_hour_ago()) for text in ids}
    # Then each is its own post
    assert {text: (f.remote_id if f else None) for text, f in found.items()} == ids
    assert len(set(ids.values())) == 2


def test_a_post_whose_id_another_delivery_recorded_is_never_returned(
    fake_x: FakeX, x_channel: XChannel
) -> None:
    # Given a post on the account, its id recorded for another delivery
    other = x_channel.publish("hertspolice", "Station open 8am to 8pm", None, [])
    assert other.remote_id is not None
    # When reconciliation looks for the same text, excluding that id
    found = x_channel.find_recent(
        "hertspolice",
        "Station open 8am to 8pm",
        an_hour_ago(),
        exclude_ids=frozenset({other.remote_id}),
    )
    # Then nothing is found
    assert found is None


def test_a_post_with_links_and_an_image_accepted_but_unanswered_is_found(
    fake_x: FakeX, x_channel: XChannel, image: MediaItem
) -> None:
    # Given X accepts a post with two links and an image, then drops the connection
    text = (
        "Have you seen him? Details: https://www.herts.police.uk/appeals/smith (call 101) "
        "or https://crimestoppers-uk.org!"
    )
    fake_x.fail_next(TWEETS, FaultKind.DROP_AFTER_ACCEPT)
    attempting = datetime.now(UTC)
    assert x_channel.publish("hertspolice", text, None, [image]).kind is OutcomeKind.UNKNOWN
    # When reconciliation looks for it since the attempt
    found = x_channel.find_recent("hertspolice", text, attempting)
    # Then the post X made is recognised, t.co links expanded and media link set aside
    [post] = fake_x.posts
    assert found is not None
    assert (found.kind, found.remote_id) == (OutcomeKind.SENT, post.id)
