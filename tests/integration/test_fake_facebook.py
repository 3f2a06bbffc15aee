"""The strict fake Facebook Graph API itself, over real HTTP: Page tokens and permissions,
unpublished photos attached once, duplicate refusal, the lagging published_posts, Business
Use Case limits and injected faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from herald_dev.fake_facebook import (
    FEED,
    GRAPH_VERSION,
    MAX_ATTACHED_MEDIA,
    PHOTOS,
    FakeFacebook,
)
from herald_dev.images import PNG
from herald_dev.mastodon_facebook_accounts import FACEBOOK_PAGES, FACEBOOK_SECRET

pytestmark = pytest.mark.integration

TOKEN = FACEBOOK_SECRET["facebook"]["hertspolice"]["page_access_token"]
PAGE = FACEBOOK_PAGES["hertspolice"]["page_id"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeFacebook]:
    with FakeFacebook(FACEBOOK_SECRET, pages=FACEBOOK_PAGES, clock=clock) as server:
        yield server


def url(fake: FakeFacebook, edge: str, page: str = PAGE, version: str = GRAPH_VERSION) -> str:
    return f"{fake.url}/{version}/{page}/{edge}"


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def feed(fake: FakeFacebook, token: str = TOKEN, **form: Any) -> requests.Response:
    return requests.post(url(fake, "feed"), data=form, headers=auth(token), timeout=5)


def photo(fake: FakeFacebook, alt: str = "A shield", published: str = "false") -> requests.Response:
    data = {"published": published}
    if alt:
        data["alt_text_custom"] = alt
    return requests.post(
        url(fake, "photos"),
        files={"source": ("a.png", PNG, "image/png")},
        data=data,
        headers=auth(),
        timeout=5,
    )


def published(fake: FakeFacebook, **params: str) -> requests.Response:
    query = {"fields": "id,message,created_time", **params}
    return requests.get(url(fake, "published_posts"), params=query, headers=auth(), timeout=5)


def error_of(response: requests.Response) -> dict[str, Any]:
    return dict(response.json()["error"])


# -- tokens and permissions --


def test_a_page_token_posts_to_the_feed(fake: FakeFacebook) -> None:
    response = feed(fake, message="Today is #SaferInternetDay", link="https://example.org/a")
    assert response.status_code == 200
    assert response.json()["id"].startswith(f"{PAGE}_")
    assert fake.posts_of("hertspolice")[0].link == "https://example.org/a"


def test_the_token_may_come_as_the_access_token_parameter(fake: FakeFacebook) -> None:
    response = requests.post(
        url(fake, "feed"), data={"message": "hi", "access_token": TOKEN}, timeout=5
    )
    assert response.status_code == 200


def test_no_token_is_code_104_and_a_wrong_one_190(fake: FakeFacebook) -> None:
    assert (
        error_of(requests.post(url(fake, "feed"), data={"message": "x"}, timeout=5))["code"] == 104
    )
    assert error_of(feed(fake, "EAAnot-a-token", message="x"))["code"] == 190
    assert fake.posts == []


def test_an_invalidated_token_is_190_with_its_subcode(fake: FakeFacebook) -> None:
    # Given the Page's admin changed their password
    fake.invalidate("hertspolice", 460)
    error = error_of(feed(fake, message="x"))
    assert (error["code"], error["error_subcode"]) == (190, 460)
    assert "changed their password" in error["message"]


def test_a_user_token_cannot_post_nor_read_the_page(fake: FakeFacebook) -> None:
    fake.add_user_token("EAAuser")
    assert error_of(feed(fake, "EAAuser", message="x"))["code"] == 200
    read = requests.get(url(fake, "published_posts"), headers=auth("EAAuser"), timeout=5)
    assert "Page Access Token" in error_of(read)["message"]


def test_another_pages_token_is_refused(fake: FakeFacebook) -> None:
    response = requests.post(
        url(fake, "feed", page="999"), data={"message": "x"}, headers=auth(), timeout=5
    )
    assert error_of(response)["code"] == 200


def test_missing_permissions_are_named(clock: Clock) -> None:
    pages = {"hertspolice": {**FACEBOOK_PAGES["hertspolice"], "permissions": ["pages_show_list"]}}
    with FakeFacebook(FACEBOOK_SECRET, pages=pages, clock=clock) as fake:
        write = error_of(feed(fake, message="x"))
        assert write["code"] == 200
        assert (
            "pages_manage_posts" in write["message"] and "pages_read_engagement" in write["message"]
        )
        read = error_of(published(fake))
        assert read["code"] == 10
        assert "pages_read_engagement" in read["message"]


def test_another_graph_version_is_refused(fake: FakeFacebook) -> None:
    response = requests.post(
        url(fake, "feed", version="v2.0"), data={"message": "x"}, headers=auth(), timeout=5
    )
    assert response.status_code == 400
    assert fake.posts == []


# -- posts and photos --


def test_an_unpublished_photo_is_attached_once(fake: FakeFacebook) -> None:
    # Given an unpublished photo with alt text
    photo_id = photo(fake).json()["id"]
    assert fake.posts == []
    # When it is attached to a feed post
    made = feed(
        fake, message="with photo", **{"attached_media[0]": json.dumps({"media_fbid": photo_id})}
    )
    assert made.status_code == 200
    assert fake.posts[0].photos[0].alt_text == "A shield"
    # Then it cannot be attached again
    again = feed(
        fake, message="again", **{"attached_media[0]": json.dumps({"media_fbid": photo_id})}
    )
    assert "already attached" in error_of(again)["message"]


def test_a_published_photo_becomes_a_photo_post_not_a_feed_post(fake: FakeFacebook) -> None:
    response = photo(fake, published="true")
    assert "post_id" in response.json()
    assert [p.kind for p in fake.posts] == ["photo"]
    attach = feed(
        fake,
        message="x",
        **{"attached_media[0]": json.dumps({"media_fbid": response.json()["id"]})},
    )
    assert "Invalid media_fbid" in error_of(attach)["message"]


def test_a_photo_without_alt_text_or_not_an_image_is_refused(fake: FakeFacebook) -> None:
    assert error_of(photo(fake, alt=""))["code"] == 100
    not_image = requests.post(
        url(fake, "photos"),
        files={"source": ("a.png", b"text", "image/png")},
        data={"published": "false", "alt_text_custom": "x"},
        headers=auth(),
        timeout=5,
    )
    assert error_of(not_image)["code"] == 324


def test_too_many_photos_and_link_with_photos_are_refused(fake: FakeFacebook) -> None:
    ids = [photo(fake).json()["id"] for _ in range(MAX_ATTACHED_MEDIA + 1)]
    many = {f"attached_media[{i}]": json.dumps({"media_fbid": m}) for i, m in enumerate(ids)}
    assert error_of(feed(fake, message="many", **many))["code"] == 100
    one = {"attached_media[0]": json.dumps({"media_fbid": ids[0]})}
    assert error_of(feed(fake, message="both", link="https://example.org", **one))["code"] == 100
    assert fake.posts == []


def test_an_empty_post_and_an_overlong_message_are_refused(fake: FakeFacebook) -> None:
    assert "Missing message" in error_of(feed(fake, message=""))["message"]
    assert error_of(feed(fake, message="a" * 63_207))["code"] == 100
    assert feed(fake, message="a" * 63_206).status_code == 200


def test_the_same_message_again_is_refused_as_506(fake: FakeFacebook) -> None:
    feed(fake, message="once")
    error = error_of(feed(fake, message="once"))
    assert (error["code"], error["message"]) == (506, "(#506) Duplicate status message")
    assert len(fake.posts) == 1


# -- reading back --


def test_published_posts_are_newest_first_paged_and_lag_their_writes(
    fake: FakeFacebook, clock: Clock
) -> None:
    fake.set_timeline_lag(5)
    for n in range(3):
        feed(fake, message=f"post {n}")
        clock.now += timedelta(seconds=1)
    # Five seconds after the first, only the first is visible
    clock.now += timedelta(seconds=2)
    assert [p["message"] for p in published(fake).json()["data"]] == ["post 0"]
    clock.now += timedelta(seconds=10)
    first = published(fake, limit="2").json()
    assert [p["message"] for p in first["data"]] == ["post 2", "post 1"]
    assert first["data"][0]["created_time"].endswith("+0000")
    second = published(fake, limit="2", after=first["paging"]["cursors"]["after"]).json()
    assert [p["message"] for p in second["data"]] == ["post 0"]


def test_an_unknown_field_is_refused(fake: FakeFacebook) -> None:
    assert error_of(published(fake, fields="id,colour"))["code"] == 100


# -- limits --


def test_every_answer_carries_the_business_use_case_usage(fake: FakeFacebook) -> None:
    response = feed(fake, message="counted")
    usage = json.loads(response.headers["X-Business-Use-Case-Usage"])
    entry = usage[PAGE][0]
    assert entry["type"] == "pages"
    assert entry["estimated_time_to_regain_access"] == 0


def test_past_the_pages_limit_calls_are_refused_with_32_until_the_hour_ends(
    fake: FakeFacebook, clock: Clock
) -> None:
    fake.set_call_limit(2)
    feed(fake, message="one")
    feed(fake, message="two")
    refused = feed(fake, message="three")
    assert error_of(refused)["code"] == 32
    usage = json.loads(refused.headers["X-Business-Use-Case-Usage"])[PAGE][0]
    assert usage["call_count"] == 100
    assert usage["estimated_time_to_regain_access"] == 60
    clock.now += timedelta(hours=1)
    assert feed(fake, message="three").status_code == 200


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_injected_rate_limits_come_in_the_body_not_as_429(fake: FakeFacebook, code: int) -> None:
    fake.fail_next(FEED, "rate_limit", code=code, reset_in=600)
    response = feed(fake, message="x")
    assert response.status_code != 429
    assert error_of(response)["code"] == code
    usage = json.loads(response.headers["X-Business-Use-Case-Usage"])[PAGE][0]
    assert usage["estimated_time_to_regain_access"] == 10
    assert fake.posts == []


# -- faults --


def test_a_500_code_2_after_commit_has_posted(fake: FakeFacebook) -> None:
    fake.fail_next(FEED, "server_error_after_commit")
    response = feed(fake, message="made anyway")
    assert response.status_code == 500
    error = error_of(response)
    assert (error["code"], error["is_transient"]) == (2, True)
    assert [p.message for p in fake.posts] == ["made anyway"]


def test_a_500_before_commit_has_not(fake: FakeFacebook) -> None:
    fake.fail_next(FEED, "server_error")
    assert error_of(feed(fake, message="not made"))["code"] == 2
    assert fake.posts == []


def test_drop_after_commit_and_timeouts(fake: FakeFacebook) -> None:
    fake.fail_next(FEED, "drop_after_commit")
    with pytest.raises(requests.ConnectionError):
        feed(fake, message="dropped")
    fake.fail_next(PHOTOS, "timeout", seconds=2)
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            url(fake, "photos"), data={"published": "false"}, headers=auth(), timeout=(3, 0.3)
        )
    assert [p.message for p in fake.posts] == ["dropped"]
    assert fake.photos == []
