"""Reconciliation against the fake X over real HTTP, with posts listed as X lists them:
t.co links in `text`, `entities.urls` expanding them, a media link appended, `created_at`."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from requests_oauthlib import OAuth1

from herald.channels import OutcomeKind
from herald.channels.x import XChannel
from herald.delivery import MediaItem
from herald_dev.fake_x import FakeX
from tests.fixtures.x_api import PNG, X_SECRET

pytestmark = pytest.mark.integration


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
