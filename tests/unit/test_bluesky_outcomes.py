"""The Bluesky channel's outcomes for what the server answers and what the network does,
with a scripted requests transport (no network): sessions kept and refreshed, limits
honoured without sleeping, a timeout on every request, nothing sent when anything before
the create call fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from herald.channels import CreateCall, OutcomeKind, PostRef, Reply
from herald.channels.bluesky import BlueskyChannel, BlueskyLookupError
from herald.channels.tid import is_tid
from herald.credentials import StaticCredentials
from herald.delivery import DeliveryKey, MediaItem
from herald_dev.images import PNG

PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:hertspolice"
HANDLE = "hertspolice.bsky.social"
SESSION = {"did": DID, "handle": HANDLE, "accessJwt": "access-1", "refreshJwt": "refresh-1"}
CREATED = {"uri": f"at://{DID}/app.bsky.feed.post/3kabc2def3gh2", "cid": "bafy-cid"}
Answer = tuple[int, dict[str, Any], dict[str, str]] | BaseException


class Scripted(BaseAdapter):
    """A transport answering each XRPC method from a script of answers, in order; a method
    without one left is a test failure. Records every request and its timeout."""

    def __init__(self, **script: list[Answer]) -> None:
        super().__init__()
        self.script = {name.replace("_", "."): list(answers) for name, answers in script.items()}
        self.calls: list[tuple[str, requests.PreparedRequest, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        method = str(request.url).split("/xrpc/", 1)[1].split("?", 1)[0]
        self.calls.append((method, request, kwargs.get("timeout")))
        answers = self.script.get(method)
        assert answers, f"unexpected call to {method}"
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, body, headers = answer
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers.update({"content-type": "application/json", **headers})
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass

    def methods(self) -> list[str]:
        return [method for method, _, _ in self.calls]


def ok(body: dict[str, Any], **headers: str) -> Answer:
    return (200, body, headers)


def error(status: int, name: str, message: str = "", **headers: str) -> Answer:
    return (status, {"error": name, "message": message}, headers)


def refused_connection() -> BaseException:
    reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/xrpc", reason))  # type: ignore[arg-type]


def channel_with(
    transport: Scripted, handle: str = HANDLE, secret: dict[str, Any] | None = None
) -> BlueskyChannel:
    keys = {"identifier": HANDLE, "app_password": PASSWORD}
    return BlueskyChannel(
        {"hertspolice": {"handle": handle}},
        StaticCredentials(secret if secret is not None else {"bluesky": {"hertspolice": keys}}),
        service_url="https://pds.example",
        transport=transport,
    )


def publish(channel: BlueskyChannel, text: str = "Hello", **options: Any) -> Any:
    key = channel.new_key(DeliveryKey("c", "p", "bluesky", "hertspolice"))
    return channel.publish(
        "hertspolice",
        text,
        options.get("reply"),
        options.get("media", []),
        CreateCall(options.get("before"), key),
    )


def test_one_session_serves_many_posts_with_a_timeout_on_every_request() -> None:
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION)],
        com_atproto_repo_createRecord=[ok(CREATED), ok(CREATED), ok(CREATED)],
    )
    channel = channel_with(transport)
    outcomes = [publish(channel, f"post {n}") for n in range(3)]
    assert [o.kind for o in outcomes] == [OutcomeKind.SENT] * 3
    assert transport.methods().count("com.atproto.server.createSession") == 1
    assert {timeout for _, _, timeout in transport.calls} == {(3.05, 10.0)}
    assert outcomes[0].url == f"https://bsky.app/profile/{HANDLE}/post/3kabc2def3gh2"
    assert outcomes[0].cid == "bafy-cid"


def test_the_key_chosen_at_the_claim_is_the_record_key_sent() -> None:
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION)], com_atproto_repo_createRecord=[ok(CREATED)]
    )
    channel = channel_with(transport)
    key = channel.new_key(DeliveryKey("c", "p", "bluesky", "hertspolice"))
    assert key is not None and is_tid(key)
    channel.publish("hertspolice", "Hello", None, [], CreateCall(None, key))
    [(_, request, _)] = [c for c in transport.calls if c[0].endswith("createRecord")]
    body = json.loads(request.body or b"{}")
    assert (body["rkey"], body["repo"], body["record"]["text"]) == (key, DID, "Hello")
    assert body["record"]["createdAt"].endswith("Z")


def test_an_expired_access_token_is_refreshed_once_and_the_call_repeated() -> None:
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION)],
        com_atproto_repo_createRecord=[
            error(400, "ExpiredToken", "Token has expired"),
            ok(CREATED),
        ],
        com_atproto_server_refreshSession=[ok({**SESSION, "accessJwt": "access-2"})],
    )
    channel = channel_with(transport)
    assert publish(channel).kind is OutcomeKind.SENT
    creates = [r for m, r, _ in transport.calls if m.endswith("createRecord")]
    assert [r.headers["authorization"] for r in creates] == ["Bearer access-1", "Bearer access-2"]
    [refresh] = [r for m, r, _ in transport.calls if m.endswith("refreshSession")]
    assert refresh.headers["authorization"] == "Bearer refresh-1"
    assert transport.methods().count("com.atproto.server.createSession") == 1


def test_a_refused_refresh_token_makes_a_new_session() -> None:
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION), ok({**SESSION, "accessJwt": "access-3"})],
        com_atproto_repo_createRecord=[error(400, "ExpiredToken"), ok(CREATED)],
        com_atproto_server_refreshSession=[error(400, "ExpiredToken")],
    )
    assert publish(channel_with(transport)).kind is OutcomeKind.SENT
    assert transport.methods().count("com.atproto.server.createSession") == 2


def test_a_429_waits_for_ratelimit_reset_and_else_for_retry_after() -> None:
    reset = int((datetime.now(UTC) + timedelta(seconds=290)).timestamp())
    with_reset = Scripted(
        com_atproto_server_createSession=[
            error(429, "RateLimitExceeded", **{"ratelimit-reset": str(reset), "retry-after": "1"})
        ]
    )
    outcome = publish(channel_with(with_reset))
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.RATE_LIMITED, True)
    assert outcome.retry_at == datetime.fromtimestamp(reset, UTC)
    retry_after = Scripted(
        com_atproto_server_createSession=[ok(SESSION)],
        com_atproto_repo_createRecord=[error(429, "RateLimitExceeded", **{"Retry-After": "120"})],
    )
    before = datetime.now(UTC)
    outcome = publish(channel_with(retry_after))
    assert outcome.kind is OutcomeKind.RATE_LIMITED
    assert before + timedelta(seconds=119) <= outcome.retry_at <= before + timedelta(seconds=125)


def test_a_refused_app_password_says_reconnect_and_never_shows_it() -> None:
    transport = Scripted(
        com_atproto_server_createSession=[
            error(401, "AuthenticationRequired", "Invalid identifier or password")
        ]
    )
    outcome = publish(channel_with(transport))
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert "reconnect the account" in str(outcome.reason)
    assert PASSWORD not in repr(outcome) and PASSWORD not in repr(channel_with(transport))


def test_missing_credentials_fail_before_any_request() -> None:
    transport = Scripted()
    outcome = publish(channel_with(transport, secret={"x": {}}))
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert transport.calls == []


@pytest.mark.parametrize(
    ("answer", "kind", "retryable", "words"),
    [
        (error(502, "UpstreamFailure"), OutcomeKind.UNKNOWN, False, "may or may not"),
        (requests.ReadTimeout(), OutcomeKind.UNKNOWN, False, "read timeout"),
        (requests.ConnectionError("reset"), OutcomeKind.UNKNOWN, False, "connection was lost"),
        (refused_connection(), OutcomeKind.FAILED, True, "could not connect"),
        (requests.ConnectTimeout(), OutcomeKind.FAILED, True, "could not connect"),
        (error(400, "InvalidRequest", "bad record"), OutcomeKind.FAILED, False, "bad record"),
    ],
)
def test_what_the_create_call_meets_becomes_its_outcome(
    answer: Answer, kind: OutcomeKind, retryable: bool, words: str
) -> None:
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION)], com_atproto_repo_createRecord=[answer]
    )
    outcome = publish(channel_with(transport))
    assert (outcome.kind, outcome.retryable) == (kind, retryable)
    assert words in str(outcome.reason)


def test_a_500_on_a_key_that_holds_nothing_stays_unknown() -> None:
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION)],
        com_atproto_repo_createRecord=[error(500, "InternalServerError")],
        com_atproto_repo_getRecord=[error(400, "RecordNotFound")],
    )
    outcome = publish(channel_with(transport))
    assert outcome.kind is OutcomeKind.UNKNOWN
    assert "record key" in str(outcome.reason)


def test_a_handle_the_session_is_not_is_refused_before_the_create_call() -> None:
    transport = Scripted(com_atproto_server_createSession=[ok(SESSION)])
    outcome = publish(channel_with(transport, handle="@other.bsky.social"))
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert "not @other.bsky.social" in str(outcome.reason)
    assert transport.methods() == ["com.atproto.server.createSession"]


def test_an_image_too_big_or_an_upload_that_fails_creates_nothing(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\0" * 2_000_000)
    small = tmp_path / "small.png"
    small.write_bytes(PNG)
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION)],
        com_atproto_repo_uploadBlob=[error(500, "InternalServerError")],
    )
    channel = channel_with(transport)
    too_big = publish(channel, media=[MediaItem(big, "alt")])
    failed = publish(channel, media=[MediaItem(small, "alt")])
    assert (too_big.kind, too_big.retryable) == (OutcomeKind.FAILED, False)
    assert "2,000,000 bytes" in str(too_big.reason) and "big.png" in str(too_big.reason)
    assert (failed.kind, failed.retryable) == (OutcomeKind.FAILED, True)
    assert "nothing was published" in str(failed.reason)
    assert "com.atproto.repo.createRecord" not in transport.methods()


def test_nothing_is_created_when_the_engine_says_not_to() -> None:
    transport = Scripted(com_atproto_server_createSession=[ok(SESSION)])
    outcome = publish(channel_with(transport), before=lambda: "too little time left")
    assert outcome.stopped and "too little time left" in str(outcome.reason)
    assert "com.atproto.repo.createRecord" not in transport.methods()


def test_a_reply_whose_parent_cid_is_unknown_reads_it_from_the_server() -> None:
    parent = f"at://{DID}/app.bsky.feed.post/3kaaaaaaaaaa2"
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION)],
        com_atproto_repo_getRecord=[ok({"uri": parent, "cid": "parent-cid"})],
        com_atproto_repo_createRecord=[ok(CREATED)],
    )
    reply = Reply(PostRef(parent), PostRef(parent, "root-cid"))
    assert publish(channel_with(transport), reply=reply).kind is OutcomeKind.SENT
    [create] = [r for m, r, _ in transport.calls if m.endswith("createRecord")]
    assert json.loads(create.body or b"{}")["record"]["reply"] == {
        "root": {"uri": parent, "cid": "root-cid"},
        "parent": {"uri": parent, "cid": "parent-cid"},
    }


def test_reconciliation_answers_from_the_key_and_raises_when_it_cannot_read() -> None:
    found = Scripted(
        com_atproto_server_createSession=[ok(SESSION)],
        com_atproto_repo_getRecord=[ok(CREATED), error(502, "UpstreamFailure")],
    )
    channel = channel_with(found)
    since = datetime.now(UTC)
    assert channel.find_recent("hertspolice", "Hello", since) is None  # no key: never sent
    hit = channel.find_recent("hertspolice", "Hello", since, idempotency_key="3kabc2def3gh2")
    assert hit is not None and (hit.remote_id, hit.cid) == (CREATED["uri"], "bafy-cid")
    with pytest.raises(BlueskyLookupError):
        channel.find_recent("hertspolice", "Hello", since, idempotency_key="3kabc2def3gh2")
    excluded = Scripted(
        com_atproto_server_createSession=[ok(SESSION)], com_atproto_repo_getRecord=[ok(CREATED)]
    )
    assert (
        channel_with(excluded).find_recent(
            "hertspolice",
            "Hello",
            since,
            idempotency_key="3kabc2def3gh2",
            exclude_ids=frozenset({CREATED["uri"]}),
        )
        is None
    )


def test_unresolvable_mentions_stay_text_and_a_limited_resolve_waits() -> None:
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION), ok(SESSION)],
        com_atproto_identity_resolveHandle=[
            error(400, "InvalidRequest", "Unable to resolve handle"),
            error(429, "RateLimitExceeded", **{"retry-after": "60"}),
        ],
        com_atproto_repo_createRecord=[ok(CREATED)],
    )
    channel: Callable[[], BlueskyChannel] = lambda: channel_with(transport)  # noqa: E731
    sent = publish(channel(), "Hello @ghost.bsky.social")
    assert sent.kind is OutcomeKind.SENT
    [create] = [r for m, r, _ in transport.calls if m.endswith("createRecord")]
    assert "facets" not in json.loads(create.body or b"{}")["record"]
    waiting = publish(channel(), "Hello @busy.bsky.social")
    assert waiting.kind is OutcomeKind.RATE_LIMITED


def test_a_new_login_reads_the_app_password_the_secret_holds_now() -> None:
    # Given a session made with one app password, then the password rotated in the secret
    secret = {"bluesky": {"hertspolice": {"identifier": HANDLE, "app_password": PASSWORD}}}
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION), ok(SESSION)],
        com_atproto_repo_createRecord=[ok(CREATED), error(400, "ExpiredToken"), ok(CREATED)],
        com_atproto_server_refreshSession=[error(400, "InvalidToken", "Token has been revoked")],
    )
    channel = channel_with(transport, secret=secret)
    assert publish(channel).kind is OutcomeKind.SENT
    secret["bluesky"]["hertspolice"]["app_password"] = "new1-new2-new3-new4"
    # When the old session's tokens are refused
    assert publish(channel).kind is OutcomeKind.SENT
    # Then the new login used the new app password
    logins = [json.loads(r.body or b"{}") for m, r, _ in transport.calls if m.endswith("Session")]
    assert [b.get("password") for b in logins if "password" in b] == [
        PASSWORD,
        "new1-new2-new3-new4",
    ]


def test_a_refused_new_login_after_a_refused_token_is_reconnect_not_unknown() -> None:
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION), error(401, "AuthenticationRequired")],
        com_atproto_repo_createRecord=[error(400, "ExpiredToken")],
        com_atproto_server_refreshSession=[error(400, "ExpiredToken")],
    )
    outcome = publish(channel_with(transport))
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert "reconnect the account" in str(outcome.reason)


def test_a_limit_with_nothing_left_is_not_asked_again_before_its_reset() -> None:
    # Given a create whose answer says the write limit has nothing left until its reset
    reset = int((datetime.now(UTC) + timedelta(minutes=30)).timestamp())
    spent = {"ratelimit-remaining": "0", "ratelimit-reset": str(reset)}
    transport = Scripted(
        com_atproto_server_createSession=[ok(SESSION)],
        com_atproto_repo_createRecord=[ok(CREATED, **spent)],
    )
    channel = channel_with(transport)
    assert publish(channel).kind is OutcomeKind.SENT
    # When the next post is published
    outcome = publish(channel)
    # Then it waits for the reset without a request
    assert outcome.kind is OutcomeKind.RATE_LIMITED
    assert outcome.retry_at == datetime.fromtimestamp(reset, UTC)
    assert transport.methods().count("com.atproto.repo.createRecord") == 1
