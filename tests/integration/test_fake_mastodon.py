"""The strict fake Mastodon itself, over real HTTP: each refusal a real server makes, the
idempotency key, media processing, the lagging timeline, rate limits and injected faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from herald_dev.fake_mastodon import (
    MEDIA_UPLOAD,
    STATUSES,
    FakeMastodon,
    status_length,
)
from herald_dev.images import PNG
from herald_dev.mastodon_facebook_accounts import MASTODON_ACCOUNTS, MASTODON_SECRET

pytestmark = pytest.mark.integration

TOKEN = MASTODON_SECRET["mastodon"]["hertspolice"]["access_token"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeMastodon]:
    with FakeMastodon(MASTODON_SECRET, accounts=MASTODON_ACCOUNTS, clock=clock) as server:
        yield server


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post(fake: FakeMastodon, text: str, **form: Any) -> requests.Response:
    headers = auth()
    key = form.pop("key", None)
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(
        f"{fake.url}/api/v1/statuses",
        data={"status": text, "visibility": "public", **form},
        headers=headers,
        timeout=5,
    )


def upload(
    fake: FakeMastodon, description: str = "A shield", content: bytes = PNG
) -> requests.Response:
    return requests.post(
        f"{fake.url}/api/v2/media",
        files={"file": ("a.png", content, "image/png")},
        data={"description": description},
        headers=auth(),
        timeout=5,
    )


def ready_media(fake: FakeMastodon) -> str:
    media_id = str(upload(fake).json()["id"])
    while (
        requests.get(f"{fake.url}/api/v1/media/{media_id}", headers=auth(), timeout=5).status_code
        == 206
    ):
        pass
    return media_id


# -- auth --


def test_a_status_with_the_token_is_posted_and_its_content_is_html(fake: FakeMastodon) -> None:
    # When the account posts with its bearer token
    response = post(fake, "Today is #SaferInternetDay https://example.org/a")
    # Then Mastodon answers the Status, whose content is HTML, not the text
    assert response.status_code == 200
    status = response.json()
    assert status["content"].startswith("<p>Today is")
    assert "<a href=" in status["content"]
    assert status["visibility"] == "public"
    assert (
        fake.statuses_by("hertspolice")[0].text
        == "Today is #SaferInternetDay https://example.org/a"
    )


@pytest.mark.parametrize(
    "header", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
def test_a_missing_or_wrong_token_is_refused_with_401(
    fake: FakeMastodon, header: dict[str, str]
) -> None:
    response = requests.post(
        f"{fake.url}/api/v1/statuses", data={"status": "x"}, headers=header, timeout=5
    )
    assert response.status_code == 401
    assert response.json() == {"error": "The access token is invalid"}
    assert fake.statuses == []


def test_a_revoked_token_is_refused(fake: FakeMastodon) -> None:
    fake.revoke("hertspolice")
    assert post(fake, "hello").status_code == 401


def test_a_token_without_the_scope_is_refused_with_403(clock: Clock) -> None:
    # Given a token that may read but not write statuses
    accounts = {"hertspolice": {**MASTODON_ACCOUNTS["hertspolice"], "scopes": ["read:statuses"]}}
    with FakeMastodon(MASTODON_SECRET, accounts=accounts, clock=clock) as fake:
        # Then posting and uploading are outside its scopes, and verify_credentials too
        assert post(fake, "hello").json() == {
            "error": "This action is outside the authorized scopes"
        }
        assert upload(fake).status_code == 403
        me = requests.get(
            f"{fake.url}/api/v1/accounts/verify_credentials", headers=auth(), timeout=5
        )
        assert me.status_code == 403


# -- lengths --


def test_the_length_counts_graphemes_urls_as_23_and_remote_mentions_by_user() -> None:
    assert status_length("👨‍👩‍👧‍👦") == 1
    assert status_length("e\u0301") == 1
    assert status_length("see https://example.org/" + "a" * 200) == 4 + 23
    assert status_length("hi @press@police.example") == len("hi @press")


def test_a_text_over_max_characters_is_refused_and_one_at_it_is_not(fake: FakeMastodon) -> None:
    assert post(fake, "🇬🇧" * 500).status_code == 200  # 500 graphemes, 1,000 code points
    refused = post(fake, "a" * 501)
    assert refused.status_code == 422
    assert refused.json() == {"error": "Validation failed: Text character limit of 500 exceeded"}


def test_the_limit_is_the_instances_max_characters(clock: Clock) -> None:
    with FakeMastodon(
        MASTODON_SECRET, accounts=MASTODON_ACCOUNTS, max_characters=1000, clock=clock
    ) as fake:
        assert post(fake, "a" * 1000).status_code == 200
        instance = requests.get(f"{fake.url}/api/v2/instance", timeout=5).json()
        assert instance["configuration"]["statuses"]["max_characters"] == 1000


def test_an_empty_status_is_refused(fake: FakeMastodon) -> None:
    assert post(fake, " ").json() == {"error": "Validation failed: Text can't be blank"}


# -- media --


def test_media_is_processing_then_ready_and_only_then_attachable(fake: FakeMastodon) -> None:
    # Given an image just uploaded: 202 with no url yet
    uploaded = upload(fake)
    assert uploaded.status_code == 202
    assert uploaded.json()["url"] is None
    media_id = uploaded.json()["id"]
    # When it is attached before it finished processing, Mastodon refuses
    not_ready = post(fake, "with image", **{"media_ids[]": [media_id]})
    assert not_ready.status_code == 422
    assert "not finished processing" in not_ready.json()["error"]
    # Then GET answers 206 while processing, 200 once done, and it can be attached
    first = requests.get(f"{fake.url}/api/v1/media/{media_id}", headers=auth(), timeout=5)
    second = requests.get(f"{fake.url}/api/v1/media/{media_id}", headers=auth(), timeout=5)
    assert (first.status_code, second.status_code) == (206, 200)
    assert second.json()["url"]
    posted = post(fake, "with image", **{"media_ids[]": [media_id]})
    assert posted.status_code == 200
    assert posted.json()["media_attachments"][0]["description"] == "A shield"
    # And once attached it can be attached no more, nor polled
    assert post(fake, "again", **{"media_ids[]": [media_id]}).status_code == 422
    assert (
        requests.get(f"{fake.url}/api/v1/media/{media_id}", headers=auth(), timeout=5).status_code
        == 404
    )


def test_five_images_are_refused(fake: FakeMastodon) -> None:
    ids = [ready_media(fake) for _ in range(5)]
    response = post(fake, "five", **{"media_ids[]": ids})
    assert response.json() == {"error": "Cannot attach more than 4 files"}


@pytest.mark.parametrize(
    ("description", "content", "message"),
    [
        ("", PNG, "Description can't be blank"),
        ("d" * 1501, PNG, "Description is too long (maximum is 1500 characters)"),
        ("an image", b"not an image", "File content type is invalid"),
    ],
)
def test_an_image_without_alt_text_too_long_alt_text_or_not_an_image_is_refused(
    fake: FakeMastodon, description: str, content: bytes, message: str
) -> None:
    response = upload(fake, description, content)
    assert response.status_code == 422
    assert message in response.json()["error"]


def test_an_image_over_the_size_limit_is_refused(clock: Clock) -> None:
    with FakeMastodon(
        MASTODON_SECRET, accounts=MASTODON_ACCOUNTS, image_size_limit=len(PNG) - 1, clock=clock
    ) as fake:
        assert "file size must be less than" in upload(fake).json()["error"]


def test_another_accounts_media_cannot_be_attached(clock: Clock) -> None:
    secret = {"mastodon": {**MASTODON_SECRET["mastodon"], "other": {"access_token": "other-token"}}}
    with FakeMastodon(secret, accounts=MASTODON_ACCOUNTS, processing_polls=0, clock=clock) as fake:
        media_id = upload(fake).json()["id"]
        response = requests.post(
            f"{fake.url}/api/v1/statuses",
            data={"status": "theirs", "media_ids[]": [media_id]},
            headers=auth("other-token"),
            timeout=5,
        )
        assert response.status_code == 422


# -- threads and read-back --


def test_a_reply_needs_an_existing_parent(fake: FakeMastodon) -> None:
    parent = post(fake, "first").json()["id"]
    reply = post(fake, "second", in_reply_to_id=parent)
    assert reply.json()["in_reply_to_id"] == parent
    assert post(fake, "orphan", in_reply_to_id="1").json() == {"error": "Record not found"}


def test_the_source_is_the_text_as_posted(fake: FakeMastodon) -> None:
    text = "Fish & chips <b>now</b>\n\nhttps://example.org"
    status_id = post(fake, text).json()["id"]
    source = requests.get(
        f"{fake.url}/api/v1/statuses/{status_id}/source", headers=auth(), timeout=5
    )
    assert source.json() == {"id": status_id, "text": text, "spoiler_text": ""}


def test_the_timeline_lags_its_writes(fake: FakeMastodon, clock: Clock) -> None:
    # Given a timeline that shows a status five seconds after it was made
    fake.set_timeline_lag(5)
    post(fake, "just now")
    account = requests.get(
        f"{fake.url}/api/v1/accounts/lookup", params={"acct": "hertspolice"}, timeout=5
    ).json()
    url = f"{fake.url}/api/v1/accounts/{account['id']}/statuses"
    # Then it is not listed at once, and is five seconds later
    assert requests.get(url, headers=auth(), timeout=5).json() == []
    clock.now += timedelta(seconds=5)
    listed = requests.get(url, headers=auth(), timeout=5)
    assert [s["content"] for s in listed.json()] == ["<p>just now</p>"]
    assert 'rel="next"' in listed.headers["Link"]


# -- idempotency --


def test_the_same_key_within_the_hour_answers_the_same_status(
    fake: FakeMastodon, clock: Clock
) -> None:
    first = post(fake, "once", key="herald-key-1").json()
    clock.now += timedelta(minutes=59)
    again = post(fake, "once", key="herald-key-1").json()
    assert again["id"] == first["id"]
    assert len(fake.statuses) == 1
    # After the hour the key is forgotten: a new status
    clock.now += timedelta(minutes=2)
    assert post(fake, "once", key="herald-key-1").json()["id"] != first["id"]
    assert len(fake.statuses) == 2


def test_a_key_belongs_to_its_account(clock: Clock) -> None:
    secret = {"mastodon": {**MASTODON_SECRET["mastodon"], "other": {"access_token": "other-token"}}}
    with FakeMastodon(secret, accounts=MASTODON_ACCOUNTS, clock=clock) as fake:
        post(fake, "mine", key="k")
        headers = {**auth("other-token"), "Idempotency-Key": "k"}
        requests.post(
            f"{fake.url}/api/v1/statuses", data={"status": "theirs"}, headers=headers, timeout=5
        )
        assert len(fake.statuses) == 2


# -- rate limits --


def test_every_answer_carries_the_rate_limit_headers(fake: FakeMastodon) -> None:
    response = post(fake, "counted")
    assert response.headers["X-RateLimit-Limit"] == "300"
    assert response.headers["X-RateLimit-Remaining"] == "299"
    assert response.headers["X-RateLimit-Reset"] == "2026-11-30T08:05:00.000Z"


def test_past_the_limit_mastodon_answers_429_until_the_window_ends(
    fake: FakeMastodon, clock: Clock
) -> None:
    fake.set_rate_limits(statuses=(2, timedelta(hours=3)))
    post(fake, "one")
    post(fake, "two")
    refused = post(fake, "three")
    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many requests"}
    assert refused.headers["X-RateLimit-Reset"] == "2026-11-30T09:00:00.000Z"
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert post(fake, "three").status_code == 200


def test_an_injected_rate_limit_says_when_it_lifts(fake: FakeMastodon) -> None:
    fake.fail_next(MEDIA_UPLOAD, "rate_limit", reset_in=120)
    response = upload(fake)
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Reset"] == "2026-11-30T08:02:00.000Z"


# -- faults --


def test_drop_after_commit_posts_and_answers_nothing(fake: FakeMastodon) -> None:
    fake.fail_next(STATUSES, "drop_after_commit")
    with pytest.raises(requests.ConnectionError):
        post(fake, "dropped", key="k-drop")
    assert [s.text for s in fake.statuses] == ["dropped"]
    # And the key kept: the same create answers the status it made
    assert post(fake, "dropped", key="k-drop").json()["id"] == fake.statuses[0].id
    assert len(fake.statuses) == 1


def test_a_server_error_before_commit_posts_nothing(fake: FakeMastodon) -> None:
    fake.fail_next(STATUSES, "server_error", status=503)
    assert post(fake, "not yet").status_code == 503
    assert fake.statuses == []


def test_a_server_error_after_commit_has_posted(fake: FakeMastodon) -> None:
    fake.fail_next(STATUSES, "server_error_after_commit")
    assert post(fake, "made").status_code == 500
    assert len(fake.statuses) == 1


def test_a_timeout_outlasts_the_clients_read_timeout(fake: FakeMastodon) -> None:
    fake.fail_next(STATUSES, "timeout", seconds=2)
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            f"{fake.url}/api/v1/statuses", data={"status": "slow"}, headers=auth(), timeout=(3, 0.3)
        )
    assert fake.statuses == []


def test_a_proxy_error_page_is_html(fake: FakeMastodon) -> None:
    fake.fail_next(STATUSES, "html_page")
    response = post(fake, "behind a proxy")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert fake.statuses == []


def test_faults_are_injected_from_another_process_through_control(fake: FakeMastodon) -> None:
    requests.post(
        f"{fake.url}/__control/faults",
        json={"endpoint": STATUSES, "kind": "server_error", "times": 1},
        timeout=5,
    )
    assert post(fake, "x").status_code == 500
    posts = requests.get(f"{fake.url}/__control/posts", timeout=5).json()
    assert posts == []
    assert post(fake, "x").status_code == 200
    assert [p["text"] for p in requests.get(f"{fake.url}/__control/posts", timeout=5).json()] == [
        "x"
    ]
