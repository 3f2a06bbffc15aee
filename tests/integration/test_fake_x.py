"""The fake X API itself, over real HTTP: signatures, endpoints, faults, control, shutdown."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from requests_oauthlib import OAuth1

from herald_dev.fake_x import (
    DUPLICATE_DETAIL,
    TWEETS,
    USER_TWEETS,
    USERS_ME,
    FakeX,
    FaultKind,
)
from herald_dev.images import PNG
from herald_dev.x_accounts import X_SECRET
from tests.integration.conftest import serving

pytestmark = pytest.mark.integration


def oauth(account: str = "hertspolice", **override: str) -> OAuth1:
    keys = {**X_SECRET["x"][account], **override}
    return OAuth1(
        keys["consumer_key"],
        client_secret=keys["consumer_secret"],
        resource_owner_key=keys["access_token"],
        resource_owner_secret=keys["access_token_secret"],
    )


def post_text(fake: FakeX, text: str, **body: Any) -> requests.Response:
    return requests.post(
        f"{fake.url}/2/tweets", json={"text": text, **body}, auth=oauth(), timeout=5
    )


def test_a_correctly_signed_request_is_answered(fake_x: FakeX) -> None:
    # Given the fake knows the account's keys
    # When the account asks who it is, signing with those keys
    response = requests.get(f"{fake_x.url}/2/users/me", auth=oauth(), timeout=5)
    # Then X's answer names the user
    assert response.status_code == 200
    assert response.json()["data"] == {
        "id": fake_x.user_id("hertspolice"),
        "name": "HertsPolice",
        "username": "HertsPolice",
    }


def test_a_wrong_secret_is_refused_with_xs_401_body(fake_x: FakeX) -> None:
    # Given a request signed with a wrong consumer secret
    auth = oauth(consumer_secret="not-the-secret")
    # When it reaches the fake
    response = requests.get(f"{fake_x.url}/2/users/me", auth=auth, timeout=5)
    # Then it is refused the way X refuses it
    assert response.status_code == 401
    assert response.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }


def test_the_signature_covers_the_query_actually_requested(fake_x: FakeX) -> None:
    # Given a request signed for one query string
    user_id = fake_x.user_id("hertspolice")
    signed = requests.Request(
        "GET", f"{fake_x.url}/2/users/{user_id}/tweets?max_results=5", auth=oauth()
    ).prepare()
    with requests.Session() as session:
        assert session.send(signed, timeout=5).status_code == 200
        # When the query is changed after signing (and the nonce is new, so it is no replay)
        tampered = requests.Request(
            "GET", f"{fake_x.url}/2/users/{user_id}/tweets?max_results=5", auth=oauth()
        ).prepare()
        tampered.url = f"{fake_x.url}/2/users/{user_id}/tweets?max_results=6"
        response = session.send(tampered, timeout=5)
    # Then the fake refuses it
    assert response.status_code == 401


def test_form_encoded_body_parameters_are_part_of_the_signature(fake_x: FakeX) -> None:
    # Given form-encoded requests signed by OAuth1 (which signs form bodies)
    url = f"{fake_x.url}/2/media/upload"

    def signed(data: str) -> requests.PreparedRequest:
        return requests.Request(
            "POST",
            url,
            data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=oauth(),
        ).prepare()

    with requests.Session() as session:
        # When one is sent as signed, and another has its body changed after signing
        intact = session.send(signed("media_category=tweet_image"), timeout=5)
        tampered_request = signed("media_category=tweet_image")
        tampered_request.body = "media_category=tweet_gif"
        tampered_request.headers["Content-Length"] = str(len(tampered_request.body))
        tampered = session.send(tampered_request, timeout=5)
    # Then the intact one passes authentication (and fails only on not being multipart)
    assert intact.status_code == 400
    assert tampered.status_code == 401


def test_a_replayed_request_is_refused(fake_x: FakeX) -> None:
    # Given a signed request already sent once
    prepared = requests.Request("GET", f"{fake_x.url}/2/users/me", auth=oauth()).prepare()
    with requests.Session() as session:
        first = session.send(prepared, timeout=5)
        # When the identical request (same nonce) is sent again
        replay = session.send(prepared, timeout=5)
    # Then only the first is accepted
    assert (first.status_code, replay.status_code) == (200, 401)


def test_a_post_is_created_and_recorded(fake_x: FakeX) -> None:
    # Given an authenticated account
    # When it posts a text
    response = post_text(fake_x, "Safer Internet Day starts now")
    # Then X's 201 answer carries the new id, and the fake recorded the post
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["text"] == "Safer Internet Day starts now"
    [post] = fake_x.posts
    assert (post.id, post.account, post.text, post.reply_to) == (
        data["id"],
        "hertspolice",
        "Safer Internet Day starts now",
        None,
    )


def test_a_duplicate_text_from_the_same_account_gets_xs_403(fake_x: FakeX) -> None:
    # Given a text already posted by the account
    assert post_text(fake_x, "Same words").status_code == 201
    # When the account posts the same text again
    response = post_text(fake_x, "Same words")
    # Then X's duplicate-content body comes back and nothing more is recorded
    assert response.status_code == 403
    assert response.json() == {
        "detail": DUPLICATE_DETAIL,
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }
    assert len(fake_x.posts) == 1


def test_the_same_text_from_another_account_is_not_a_duplicate(fake_x: FakeX) -> None:
    # Given a text posted by one account
    assert post_text(fake_x, "Shared message").status_code == 201
    # When another account posts the same text
    response = requests.post(
        f"{fake_x.url}/2/tweets",
        json={"text": "Shared message"},
        auth=oauth("saferinternet"),
        timeout=5,
    )
    # Then it is accepted
    assert response.status_code == 201
    assert [p.account for p in fake_x.posts] == ["hertspolice", "saferinternet"]


@pytest.mark.parametrize(
    "body",
    [
        {"reply": {"in_reply_to_tweet_id": "999"}},
        {"media": {"media_ids": ["12345"]}},
    ],
    ids=["unknown reply id", "unknown media id"],
)
def test_unknown_reply_or_media_ids_are_refused_with_400(
    fake_x: FakeX, body: dict[str, Any]
) -> None:
    # Given ids the fake never issued
    # When a post refers to one
    response = post_text(fake_x, "Refers to nothing", **body)
    # Then X's invalid-request body comes back and nothing is recorded
    assert response.status_code == 400
    assert response.json()["title"] == "Invalid Request"
    assert fake_x.posts == []


def test_media_upload_and_alt_text_are_recorded_with_the_post(fake_x: FakeX) -> None:
    # Given an image uploaded with X's one-shot upload, then given alt text
    upload = requests.post(
        f"{fake_x.url}/2/media/upload",
        files={"media": ("dot.png", PNG, "image/png")},
        data={"media_category": "tweet_image"},
        auth=oauth(),
        timeout=5,
    )
    assert upload.status_code == 200
    media = upload.json()["data"]
    assert media["media_key"] == f"3_{media['id']}"
    metadata = requests.post(
        f"{fake_x.url}/2/media/metadata",
        json={"id": media["id"], "metadata": {"alt_text": {"text": "A single dot"}}},
        auth=oauth(),
        timeout=5,
    )
    assert metadata.status_code == 200
    # When a post carries the media id
    response = post_text(fake_x, "With a picture", media={"media_ids": [media["id"]]})
    # Then the recorded post has the image and its alt text
    assert response.status_code == 201
    [post] = fake_x.posts
    [image] = post.media
    assert (image.id, image.alt, image.content_type) == (media["id"], "A single dot", "image/png")


def test_an_upload_that_is_not_an_image_is_refused(fake_x: FakeX) -> None:
    # Given bytes that are no image
    # When they are uploaded
    response = requests.post(
        f"{fake_x.url}/2/media/upload",
        files={"media": ("notes.png", b"just text", "image/png")},
        data={"media_category": "tweet_image"},
        auth=oauth(),
        timeout=5,
    )
    # Then X refuses them
    assert response.status_code == 400


def test_user_posts_are_listed_newest_first_with_paging_and_start_time(fake_x: FakeX) -> None:
    # Given seven posts by the account
    for n in range(7):
        assert post_text(fake_x, f"post {n}").status_code == 201
    user_id = fake_x.user_id("hertspolice")
    url = f"{fake_x.url}/2/users/{user_id}/tweets"
    # When the first page of five is asked for, then the next one
    first = requests.get(
        url,
        params={"max_results": "5", "tweet.fields": "created_at"},
        auth=oauth(),
        timeout=5,
    ).json()
    second = requests.get(
        url,
        params={"max_results": "5", "pagination_token": str(first["meta"]["next_token"])},
        auth=oauth(),
        timeout=5,
    ).json()
    # Then the pages hold the posts newest first, with created_at when asked for
    assert [p["text"] for p in first["data"]] == [f"post {n}" for n in (6, 5, 4, 3, 2)]
    assert all(p["created_at"].endswith("Z") for p in first["data"])
    assert [p["text"] for p in second["data"]] == ["post 1", "post 0"]
    assert "next_token" not in second["meta"]
    # And a start_time after every post lists nothing
    later = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    empty = requests.get(
        url, params={"max_results": "5", "start_time": later}, auth=oauth(), timeout=5
    ).json()
    assert empty == {"meta": {"result_count": 0}}


def test_max_results_outside_5_to_100_is_refused(fake_x: FakeX) -> None:
    # Given the account's user id
    user_id = fake_x.user_id("hertspolice")
    # When too few results are asked for
    response = requests.get(
        f"{fake_x.url}/2/users/{user_id}/tweets",
        params={"max_results": 1},
        auth=oauth(),
        timeout=5,
    )
    # Then X's invalid-request answer comes back
    assert response.status_code == 400
    assert "between 5 and 100" in response.json()["errors"][0]["message"]


def test_a_rate_limit_fault_answers_429_with_the_reset_time(fake_x: FakeX) -> None:
    # Given the next post is rate limited until a known time
    fake_x.fail_next(TWEETS, FaultKind.RATE_LIMIT, reset_at=1_900_000_000)
    # When two posts are made
    limited = post_text(fake_x, "first try")
    accepted = post_text(fake_x, "second try")
    # Then only the first is refused, with X's header and body
    assert limited.status_code == 429
    assert limited.headers["x-rate-limit-reset"] == "1900000000"
    assert limited.json()["title"] == "Too Many Requests"
    assert accepted.status_code == 201
    assert [p.text for p in fake_x.posts] == ["second try"]


def test_faults_count_down_and_are_logged_per_endpoint(fake_x: FakeX) -> None:
    # Given two 503s injected on the create endpoint
    fake_x.fail_next(TWEETS, FaultKind.SERVER_ERROR, times=2, status=503)
    # When three posts and one other request are made
    statuses = [post_text(fake_x, f"try {n}").status_code for n in range(3)]
    requests.get(f"{fake_x.url}/2/users/me", auth=oauth(), timeout=5)
    # Then the first two fail, and the counters and log say what happened
    assert statuses == [503, 503, 201]
    assert fake_x.counts == {TWEETS: 3, USERS_ME: 1}
    assert [(r.endpoint, r.status, r.fault) for r in fake_x.requests] == [
        (TWEETS, 503, "server_error"),
        (TWEETS, 503, "server_error"),
        (TWEETS, 201, None),
        (USERS_ME, 200, None),
    ]


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (FaultKind.BAD_REQUEST, 400),
        (FaultKind.UNAUTHORIZED, 401),
        (FaultKind.FORBIDDEN, 403),
    ],
)
def test_client_error_faults_answer_with_x_style_bodies(
    fake_x: FakeX, kind: FaultKind, status: int
) -> None:
    # Given a client-error fault on the create endpoint
    fake_x.fail_next(TWEETS, kind)
    # When a post is made
    response = post_text(fake_x, "refused")
    # Then the status and an X-style body come back, and nothing is recorded
    assert response.status_code == status
    assert {"title", "detail", "type"} <= set(response.json())
    assert fake_x.posts == []


def test_a_dropped_connection_after_accept_still_records_the_post(fake_x: FakeX) -> None:
    # Given the next post is accepted and then its connection dropped
    fake_x.fail_next(TWEETS, FaultKind.DROP_AFTER_ACCEPT)
    # When the post is made
    with pytest.raises(requests.ConnectionError):
        post_text(fake_x, "published but unanswered")
    # Then the client heard nothing, yet the post exists
    assert [p.text for p in fake_x.posts] == ["published but unanswered"]
    assert fake_x.requests[-1].status is None


def test_a_hang_outlasts_the_client_read_timeout(fake_x: FakeX) -> None:
    # Given the next post hangs far longer than the client waits
    fake_x.fail_next(TWEETS, FaultKind.HANG, seconds=30)
    # When the client posts with a short read timeout
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            f"{fake_x.url}/2/tweets", json={"text": "slow"}, auth=oauth(), timeout=(1, 0.3)
        )
    # Then nothing was recorded (this hang does not accept)
    assert fake_x.posts == []


def test_faults_can_be_injected_from_another_process_over_http(fake_x: FakeX) -> None:
    # Given a 429 injected through the control endpoint
    control = requests.post(
        f"{fake_x.url}/__control/faults",
        json={"endpoint": TWEETS, "kind": "rate_limit", "reset_at": 1_900_000_000},
        timeout=5,
    )
    assert control.status_code == 204
    # When a post is made
    response = post_text(fake_x, "through control")
    # Then it is rate limited, and the control API lists posts and counters
    assert response.status_code == 429
    assert post_text(fake_x, "through control").status_code == 201
    posts = requests.get(f"{fake_x.url}/__control/posts", timeout=5).json()
    assert [p["text"] for p in posts] == ["through control"]
    assert requests.get(f"{fake_x.url}/__control/counts", timeout=5).json() == {TWEETS: 2}


def test_an_unknown_fault_endpoint_is_refused(fake_x: FakeX) -> None:
    # Given a fault for an endpoint the fake does not serve
    # When it is injected through the control endpoint
    response = requests.post(
        f"{fake_x.url}/__control/faults",
        json={"endpoint": "POST /1.1/statuses/update.json", "kind": "hang"},
        timeout=5,
    )
    # Then it is refused with the reason
    assert response.status_code == 400
    assert "unknown endpoint" in response.json()["error"]


@pytest.mark.timeout(15)
def test_stop_ends_promptly_while_a_request_hangs() -> None:
    # Given a fresh fake with a request hanging for a minute
    fake = FakeX(X_SECRET).start()
    fake.fail_next(USER_TWEETS, FaultKind.HANG, seconds=60)
    user_id = fake.user_id("hertspolice")
    failures: list[BaseException] = []

    def ask() -> None:
        try:
            requests.get(f"{fake.url}/2/users/{user_id}/tweets", auth=oauth(), timeout=5)
        except requests.RequestException as error:
            failures.append(error)

    client = threading.Thread(target=ask)
    client.start()
    while not fake.requests:
        threading.Event().wait(0.01)  # polls for the hang to begin, not a timing assertion
    # When the fake is stopped
    fake.stop()
    client.join()
    # Then stop returned (every handler thread joined) and the client saw the connection close
    assert len(failures) == 1
    assert fake.requests[0].fault == "hang"


def test_the_command_line_serves_the_credentials_file(tmp_path: Path) -> None:
    # Given a credentials file in the secret's shape
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps(X_SECRET), encoding="utf-8")
    # When the fake is started from the command line on a free port
    with serving("herald_dev.fake_x", "--credentials", str(credentials)) as served:
        url = served.banner.split(" on ", 1)[1].split()[0]
        response = requests.get(f"{url}/2/users/me", auth=oauth(), timeout=5)
    # Then it answered signed requests and stopped cleanly on SIGTERM
    assert "hertspolice, saferinternet" in served.banner
    assert response.status_code == 200
    assert served.returncode == 0


@pytest.mark.parametrize("keep_alive", [True, False])
def test_keep_alive_serves_a_clients_next_request_on_the_same_connection(
    keep_alive: bool,
) -> None:
    # Given a fake that keeps connections open (as X does), or one that does not
    import http.client

    fake = FakeX(X_SECRET, keep_alive=keep_alive).start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", int(fake.url.rsplit(":", 1)[1]))
        answers = []
        sockets = []
        # When one client connection asks twice
        for _ in range(2):
            signed = requests.Request("GET", f"{fake.url}/2/users/me", auth=oauth()).prepare()
            connection.request("GET", "/2/users/me", headers=dict(signed.headers))
            response = connection.getresponse()
            answers.append((response.status, response.version, response.read()))
            sockets.append(connection.sock)
        connection.close()
    finally:
        fake.stop()
    # Then both are answered: kept open, over one HTTP/1.1 connection; else over HTTP/1.0,
    # the connection closed after each answer
    assert [status for status, _, _ in answers] == [200, 200]
    assert all(version == (11 if keep_alive else 10) for _, version, _ in answers)
    if keep_alive:
        assert sockets[0] is not None and sockets[0] is sockets[1]
    else:
        assert sockets == [None, None]
