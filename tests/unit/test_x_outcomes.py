"""How the X channel maps X's answers and network failures to outcomes, and where its
credentials come from. No network: requests go to an in-memory transport adapter."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import botocore.exceptions
import pytest
import requests
import tweepy
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError

from herald.channels import OutcomeKind, PostRef, Reply
from herald.channels.x import (
    RATE_LIMIT_FALLBACK,
    Stage,
    XChannel,
    XLookupError,
    matches_listed,
    outcome_for_exception,
    outcome_for_status,
    post_url,
)
from herald.credentials import (
    CredentialsError,
    OAuth1Credentials,
    SecretKeys,
    SecretsManagerCredentials,
    StaticCredentials,
)
from herald.delivery import MediaItem
from herald_dev.fake_x import DUPLICATE_DETAIL, oauth1_signature, parse_oauth_header

NOW = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)

KEYS = {
    "consumer_key": "unit-ck-31ab",
    "consumer_secret": "unit-cs-77fe",
    "access_token": "unit-at-90cd",
    "access_token_secret": "unit-ats-12aa",
}
SECRET = {"x": {"hertspolice": KEYS}}


def x_status(status: int, body: Any = None, headers: dict[str, str] | None = None, **kw: Any):
    return outcome_for_status(
        status,
        headers or {},
        body,
        stage=kw.get("stage", Stage.POST),
        account="hertspolice",
        now=NOW,
    )


def x_error(error: BaseException, stage: Stage = Stage.POST):
    return outcome_for_exception(error, stage=stage, account="hertspolice", now=NOW)


def response(status: int, body: Any = None, headers: dict[str, str] | None = None):
    answer = requests.Response()
    answer.status_code = status
    answer.reason = http.client.responses.get(status, "")
    answer._content = b"" if body is None else json.dumps(body).encode()
    answer.headers = CaseInsensitiveDict(headers or {})
    return answer


# --- answers from X ------------------------------------------------------------------------


def test_400_fails_for_good_with_xs_reason() -> None:
    # Given X's invalid-request body
    body = {
        "errors": [{"message": "Your Tweet text is too long."}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
    }
    # When the answer is mapped
    outcome = x_status(400, body)
    # Then the post FAILED, not retryable, with X's explanation
    assert outcome.kind is OutcomeKind.FAILED
    assert not outcome.retryable
    assert "Your Tweet text is too long." in (outcome.reason or "")


def test_401_fails_and_says_to_reconnect_the_account() -> None:
    # Given X's 401
    # When it is mapped
    outcome = x_status(401, {"title": "Unauthorized", "detail": "Unauthorized", "status": 401})
    # Then people are told to reconnect the named account
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert "'hertspolice'" in (outcome.reason or "")
    assert "reconnect the account" in (outcome.reason or "")


def test_403_duplicate_content_is_unknown_and_marked_as_duplicate() -> None:
    # Given X's duplicate-content 403
    body = {"detail": DUPLICATE_DETAIL, "type": "about:blank", "title": "Forbidden", "status": 403}
    # When it is mapped
    outcome = x_status(403, body)
    # Then it may have been published by an earlier attempt: UNKNOWN, marked as X's evidence
    assert outcome.kind is OutcomeKind.UNKNOWN
    assert outcome.duplicate


def test_other_403s_fail_for_good() -> None:
    # Given a 403 that is not about duplicates
    body = {"detail": "You are not permitted to perform this action.", "status": 403}
    # When it is mapped
    outcome = x_status(403, body)
    # Then it FAILED, not retryable
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)


def test_429_is_rate_limited_until_the_reset_header() -> None:
    # Given a 429 with x-rate-limit-reset
    reset = int((NOW + timedelta(minutes=4)).timestamp())
    # When it is mapped
    outcome = x_status(429, None, {"x-rate-limit-reset": str(reset)})
    # Then it is claimable again at that moment
    assert outcome.kind is OutcomeKind.RATE_LIMITED
    assert outcome.retry_at == NOW + timedelta(minutes=4)
    assert outcome.retryable


def test_429_without_a_reset_header_waits_for_xs_window() -> None:
    # Given a 429 without the header
    # When it is mapped
    outcome = x_status(429, {"title": "Too Many Requests"})
    # Then the fallback is X's fifteen-minute window
    assert outcome.retry_at == NOW + RATE_LIMIT_FALLBACK


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_on_the_post_is_unknown(status: int) -> None:
    # Given a server error answering the create call
    # When it is mapped
    outcome = x_status(status, {"title": "Service Unavailable"})
    # Then the post may or may not be out
    assert outcome.kind is OutcomeKind.UNKNOWN


def test_5xx_on_the_media_upload_fails_retryably() -> None:
    # Given a server error answering the media upload (before any post)
    # When it is mapped
    outcome = x_status(503, None, stage=Stage.MEDIA)
    # Then nothing was published: FAILED, retryable
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, True)


def test_tweepy_exceptions_are_mapped_through_their_response() -> None:
    # Given tweepy's exception for a 429 response
    reset = int((NOW + timedelta(minutes=2)).timestamp())
    error = tweepy.errors.TooManyRequests(
        response(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": str(reset)})
    )
    # When it is mapped
    outcome = x_error(error)
    # Then it is the 429 outcome
    assert outcome.kind is OutcomeKind.RATE_LIMITED
    assert outcome.retry_at == NOW + timedelta(minutes=2)


# --- network failures ------------------------------------------------------------------------


# The urllib3 errors below are built without the pool or connection they would name: no
# socket is opened, so there is none to give (urllib3's stubs want one: arg-type).


def never_connected(reason: Exception) -> requests.ConnectionError:
    return requests.ConnectionError(MaxRetryError(None, "/2/tweets", reason))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        requests.ConnectTimeout("connect timed out"),
        never_connected(NewConnectionError(None, "Connection refused")),  # type: ignore[arg-type]
        never_connected(NameResolutionError("api.x.com", None, OSError("no DNS"))),  # type: ignore[arg-type]
    ],
    ids=["connect timeout", "connection refused", "DNS failure"],
)
def test_a_request_that_never_left_fails_retryably(error: Exception) -> None:
    # Given a failure before anything was sent
    # When it is mapped
    outcome = x_error(error)
    # Then the post FAILED, and may be tried again
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, True)
    assert "nothing was sent" in (outcome.reason or "")


@pytest.mark.parametrize(
    "error",
    [
        requests.ReadTimeout("read timed out"),
        requests.ConnectionError(
            ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed"))
        ),
        requests.ConnectionError(
            ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
        ),
        requests.exceptions.ChunkedEncodingError("connection broken mid-answer"),
        json.JSONDecodeError("Expecting value", "", 0),
        RuntimeError("something nobody expected"),
    ],
    ids=["read timeout", "remote disconnect", "reset", "broken answer", "bad JSON", "other"],
)
def test_a_failure_after_sending_is_unknown(error: Exception) -> None:
    # Given a failure once the create request may have reached X
    # When it is mapped
    outcome = x_error(error)
    # Then the post may be out: UNKNOWN, never a blind retry
    assert outcome.kind is OutcomeKind.UNKNOWN


def tls_failure(library_error: ssl.SSLError) -> requests.exceptions.SSLError:
    """A TLS error as requests raises it: its SSLError around urllib3's MaxRetryError around
    urllib3's SSLError around the ssl module's, whether the handshake or a reply failed."""
    reason = Urllib3SSLError(library_error)
    return requests.exceptions.SSLError(MaxRetryError(None, "/2/tweets", reason))  # type: ignore[arg-type]


def openssl_error(code: str, text: str) -> ssl.SSLError:
    """An ssl.SSLError as the ssl module raises it, with OpenSSL's reason code."""
    error = ssl.SSLError(1, f"[SSL: {code}] {text}")
    error.reason = code
    error.library = "SSL"
    return error


BAD_RECORD_MAC = openssl_error(
    "DECRYPTION_FAILED_OR_BAD_RECORD_MAC", "decryption failed or bad record mac"
)


def test_a_tls_error_on_the_post_is_unknown_since_the_request_may_have_left() -> None:
    # Given the TLS layer fails while the answer to the create call is read (bad record MAC),
    # which urllib3 reports exactly as it reports a failed handshake
    error = tls_failure(BAD_RECORD_MAC)
    # When it is mapped
    outcome = x_error(error)
    # Then the post may be out: UNKNOWN, never FAILED-retryable (that would post it twice)
    assert outcome.kind is OutcomeKind.UNKNOWN
    assert not outcome.retryable
    assert "nothing was sent" not in (outcome.reason or "")
    assert "DECRYPTION_FAILED_OR_BAD_RECORD_MAC" in (outcome.reason or "")


def test_a_tls_error_during_media_upload_fails_retryably() -> None:
    # Given the same TLS error while an image is uploaded, before any create call
    # When it is mapped at the media stage
    outcome = x_error(tls_failure(BAD_RECORD_MAC), Stage.MEDIA)
    # Then nothing can have been published: FAILED, retryable
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, True)


def test_a_timeout_during_media_upload_fails_retryably() -> None:
    # Given a read timeout while uploading an image
    # When it is mapped at the media stage
    outcome = x_error(requests.ReadTimeout("read timed out"), Stage.MEDIA)
    # Then nothing was published: FAILED, retryable
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, True)


# --- text comparison and URLs ------------------------------------------------------------


def listed(text: str, *links: tuple[str, str], media: str | None = None) -> dict[str, Any]:
    """A post as X lists it: `links` are (t.co url, expanded url) pairs found in `text`;
    `media` appends X's media link."""
    urls: list[dict[str, Any]] = [
        {"url": short, "expanded_url": expanded, "display_url": expanded.split("//")[-1]}
        for short, expanded in links
    ]
    if media is not None:
        text += f" {media}"
        urls.append(
            {
                "url": media,
                "expanded_url": "https://x.com/HertsPolice/status/4/photo/1",
                "display_url": "pic.x.com/Media9",
                "media_key": "3_77",
            }
        )
    return {"id": "4", "text": text, "entities": {"urls": urls}}


SMITH = "Missing person appeal: have you seen him? https://www.herts.police.uk/appeals/smith"
JONES = "Missing person appeal: have you seen him? https://www.herts.police.uk/appeals/jones"


def test_a_listed_post_matches_its_text_with_links_expanded_and_media_link_dropped() -> None:
    # Given a text and X's rendering of it (escaped &, a t.co link, an appended media link)
    sent = "Tips & tricks https://example.org/a-long-path  today"
    post = listed(
        "Tips &amp; tricks https://t.co/AbC123 today",
        ("https://t.co/AbC123", "https://example.org/a-long-path"),
        media="https://t.co/Media9",
    )
    # When they are compared
    # Then the listed post is that text
    assert matches_listed(sent, post)


def test_posts_differing_only_in_their_link_do_not_match() -> None:
    # Given the Smith appeal as X lists it
    post = listed(
        "Missing person appeal: have you seen him? https://t.co/Sm1th00001",
        ("https://t.co/Sm1th00001", "https://www.herts.police.uk/appeals/smith"),
    )
    # When the Smith and the Jones appeals are compared with it
    # Then only the Smith appeal is that post
    assert matches_listed(SMITH, post)
    assert not matches_listed(JONES, post)


def test_a_link_x_gives_no_expanded_url_for_matches_nothing() -> None:
    # Given a listed post whose t.co link X did not expand (no entities)
    post = {"id": "4", "text": "Missing person appeal: have you seen him? https://t.co/Sm1th00001"}
    # When either appeal is compared with it
    # Then neither is assumed to be it
    assert not matches_listed(SMITH, post)
    assert not matches_listed(JONES, post)


def test_a_bare_domain_that_x_expanded_with_http_still_matches() -> None:
    # Given a text with a link written without a scheme, which X expands with http://
    post = listed(
        "Report it at https://t.co/Ceop000001", ("https://t.co/Ceop000001", "http://ceop.police.uk")
    )
    # When the text is compared with it
    # Then it matches, and the same words with another address do not
    assert matches_listed("Report it at ceop.police.uk", post)
    assert not matches_listed("Report it at ceop.police.uk/other", post)


def test_post_url_falls_back_to_i_web() -> None:
    # Given no handle
    # When the URL is built
    # Then X's handle-free form is used
    assert post_url(None, "42") == "https://x.com/i/web/status/42"
    assert post_url("HertsPolice", "42") == "https://x.com/HertsPolice/status/42"


# --- the channel on an in-memory transport -------------------------------------------------


class Transport(BaseAdapter):
    """Answers requests from a script and remembers what was sent, with which timeout."""

    def __init__(self, *answers: Any) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[tuple[requests.PreparedRequest, Any]] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self.sent.append((request, timeout))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, body, *headers = answer
        result = response(status, body, headers[0] if headers else None)
        result.request = request
        result.url = request.url or ""
        return result

    def close(self) -> None:
        pass


def channel_on(transport: Transport, **options: Any) -> XChannel:
    return XChannel(
        {"hertspolice": {"handle": "HertsPolice"}},
        StaticCredentials(SECRET),
        base_url="http://x.example.test:8080",
        connect_timeout=1.5,
        read_timeout=4.0,
        transport=transport,
        clock=lambda: NOW,
        **options,
    )


def signature_holds(request: requests.PreparedRequest) -> bool:
    """Check the OAuth 1.0a signature against the URL the request was sent to."""
    oauth = parse_oauth_header(str(request.headers["Authorization"]))
    assert oauth is not None
    url = urlsplit(request.url or "")
    params = [(k, v) for k, v in oauth.items() if k != "oauth_signature"]
    params += parse_qsl(url.query)
    expected = oauth1_signature(
        str(request.method),
        f"{url.scheme}://{url.netloc}{url.path}",
        params,
        KEYS["consumer_secret"],
        KEYS["access_token_secret"],
    )
    return expected == oauth["oauth_signature"]


def test_the_create_call_goes_to_the_base_url_signed_for_it_with_timeouts() -> None:
    # Given X will accept the post
    transport = Transport((201, {"data": {"id": "1001", "text": "Hello"}}))
    channel = channel_on(transport)
    # When a reply is published
    outcome = channel.publish("hertspolice", "Hello", Reply(PostRef("1000"), PostRef("1000")), [])
    # Then the request went to the configured base, signed for that URL, with both timeouts
    [(request, timeout)] = transport.sent
    assert request.url == "http://x.example.test:8080/2/tweets"
    assert json.loads(request.body or b"{}") == {
        "text": "Hello",
        "reply": {"in_reply_to_tweet_id": "1000"},
    }
    assert signature_holds(request)
    assert timeout == (1.5, 4.0)
    assert outcome.url == "https://x.com/HertsPolice/status/1001"


def test_an_image_is_uploaded_then_described_then_posted(tmp_path: Path) -> None:
    # Given an image, and X accepting each step
    path = tmp_path / "logo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")
    transport = Transport(
        (200, {"data": {"id": "77", "media_key": "3_77"}}),
        (200, {"data": {"id": "77"}}),
        (201, {"data": {"id": "1002", "text": "Logo"}}),
    )
    # When the post is published
    outcome = channel_on(transport).publish("hertspolice", "Logo", None, [MediaItem(path, "Alt")])
    # Then upload, alt text and post went out in that order, each signed, each with timeouts
    assert outcome.kind is OutcomeKind.SENT
    assert [r.url for r, _ in transport.sent] == [
        "http://x.example.test:8080/2/media/upload",
        "http://x.example.test:8080/2/media/metadata",
        "http://x.example.test:8080/2/tweets",
    ]
    assert all(signature_holds(r) and t == (1.5, 4.0) for r, t in transport.sent)
    assert json.loads(transport.sent[1][0].body or b"{}") == {
        "id": "77",
        "metadata": {"alt_text": {"text": "Alt"}},
    }
    assert json.loads(transport.sent[2][0].body or b"{}")["media"] == {"media_ids": ["77"]}


def test_a_2xx_without_an_id_is_unknown() -> None:
    # Given X answers 201 without a post id
    transport = Transport((201, {"data": {}}))
    # When a post is published
    outcome = channel_on(transport).publish("hertspolice", "Hello", None, [])
    # Then nobody knows which post it was
    assert outcome.kind is OutcomeKind.UNKNOWN


def test_an_unreadable_or_unsupported_media_file_fails_before_any_request(
    tmp_path: Path,
) -> None:
    # Given a missing file and a file that is no image
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not an image")
    transport = Transport()
    channel = channel_on(transport)
    # When posts with them are published
    missing = channel.publish("hertspolice", "A", None, [MediaItem(tmp_path / "gone.png", "x")])
    unsupported = channel.publish("hertspolice", "B", None, [MediaItem(video, "x")])
    # Then both FAILED for good and nothing was sent
    assert (missing.kind, missing.retryable) == (OutcomeKind.FAILED, False)
    assert (unsupported.kind, unsupported.retryable) == (OutcomeKind.FAILED, False)
    assert "clip.mp4" in (unsupported.reason or "")
    assert transport.sent == []


def test_an_account_without_credentials_fails_naming_account_and_channel() -> None:
    # Given no credentials for the account
    transport = Transport()
    # When it publishes
    outcome = channel_on(transport).publish("herts_fire", "Hello", None, [])
    # Then it FAILED for good, naming the account and the channel, without a request
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert "'herts_fire'" in (outcome.reason or "")
    assert "x credentials" in (outcome.reason or "")
    assert transport.sent == []


ME = (200, {"data": {"id": "9", "username": "HertsPolice"}})


def page(*posts: dict[str, Any], next_token: str | None = None) -> tuple[int, dict[str, Any]]:
    meta = {"next_token": next_token} if next_token else {}
    return (200, {"data": list(posts), "meta": meta} if posts else {"meta": meta})


def at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_find_recent_follows_pages_until_the_text_is_found() -> None:
    # Given a first page without the text and a second page with it
    transport = Transport(
        ME,
        page({"id": "5", "text": "Other"}, next_token="p2"),
        page({"id": "4", "text": "Wanted"}),
    )
    # When reconciliation looks for it since an hour ago
    found = channel_on(transport).find_recent("hertspolice", "Wanted", NOW - timedelta(hours=1))
    # Then it is found on the second page; X was asked from 2 s before that moment (the
    # allowed clock skew), for creation times and links
    assert found is not None
    assert (found.kind, found.remote_id) == (OutcomeKind.SENT, "4")
    listing = transport.sent[1][0].url or ""
    assert "start_time=2021-02-09T06%3A59%3A58Z" in listing
    assert "tweet.fields=created_at%2Centities" in listing
    assert "pagination_token=p2" in (transport.sent[2][0].url or "")


@pytest.mark.parametrize(
    ("created", "found_it"),
    [(NOW - timedelta(seconds=3), False), (NOW - timedelta(seconds=1), True), (NOW, True)],
    ids=["3 s before the attempt", "1 s before (clock skew)", "at the attempt"],
)
def test_find_recent_ignores_posts_made_before_the_attempt(
    created: datetime, found_it: bool
) -> None:
    # Given the account's post of the text, made at `created` by X's clock
    transport = Transport(ME, page({"id": "4", "text": "Wanted", "created_at": at(created)}))
    # When reconciliation looks for the text since the attempt began (NOW)
    found = channel_on(transport).find_recent("hertspolice", "Wanted", NOW)
    # Then a post from before the attempt, beyond 2 s of clock skew, is not this one
    assert (found is not None) is found_it


def test_find_recent_never_returns_an_id_recorded_for_another_delivery() -> None:
    # Given the account's post of the text, whose id another delivery already recorded
    transport = Transport(ME, page({"id": "4", "text": "Wanted", "created_at": at(NOW)}))
    # When reconciliation looks for the text, excluding the ids of other deliveries
    found = channel_on(transport).find_recent(
        "hertspolice", "Wanted", NOW, exclude_ids=frozenset({"4"})
    )
    # Then that post is not taken for this delivery's
    assert found is None


def test_find_recent_does_not_take_an_appeal_for_another_with_a_different_link() -> None:
    # Given the Smith appeal on the account, and the Jones appeal never published
    smith = listed(
        "Missing person appeal: have you seen him? https://t.co/Sm1th00001",
        ("https://t.co/Sm1th00001", "https://www.herts.police.uk/appeals/smith"),
    )
    transport = Transport(ME, page({**smith, "created_at": at(NOW)}))
    # When reconciliation looks for the Jones appeal
    found = channel_on(transport).find_recent("hertspolice", JONES, NOW - timedelta(minutes=5))
    # Then it is not there
    assert found is None


DUPLICATE = (403, {"detail": DUPLICATE_DETAIL, "title": "Forbidden", "status": 403})


def test_a_duplicate_refusal_is_settled_by_finding_the_post() -> None:
    # Given X refuses the post as a duplicate, and the account has it from an hour ago
    earlier = NOW - timedelta(hours=1)
    transport = Transport(
        DUPLICATE, ME, page({"id": "4", "text": "Hello", "created_at": at(earlier)})
    )
    # When it is published
    outcome = channel_on(transport).publish("hertspolice", "Hello", None, [])
    # Then it is SENT with the id found, marked as settled from X's duplicate refusal
    assert (outcome.kind, outcome.remote_id) == (OutcomeKind.SENT, "4")
    assert outcome.url == "https://x.com/HertsPolice/status/4"
    assert outcome.duplicate
    assert "duplicate" in (outcome.reason or "")
    # And the account was searched over the last 24 hours (and 2 s of clock skew)
    assert "start_time=2021-02-08T07%3A59%3A58Z" in (transport.sent[2][0].url or "")


@pytest.mark.parametrize(
    ("listing", "said"),
    [(page(), "not among the account's posts"), ((503, {"title": "Unavailable"}), "503")],
    ids=["not found", "listing failed"],
)
def test_a_duplicate_refusal_not_found_stays_unknown_and_marked(
    listing: tuple[int, Any], said: str
) -> None:
    # Given X refuses the post as a duplicate, and the post cannot be found
    transport = Transport(DUPLICATE, ME, listing)
    # When it is published
    outcome = channel_on(transport).publish("hertspolice", "Hello", None, [])
    # Then it stays UNKNOWN, marked as a duplicate refusal, saying why it was not settled
    assert outcome.kind is OutcomeKind.UNKNOWN
    assert outcome.duplicate
    assert said in (outcome.reason or "")


def test_find_recent_raises_when_x_refuses_the_listing() -> None:
    # Given X refuses the credentials
    transport = Transport((401, {"title": "Unauthorized", "detail": "Unauthorized"}))
    channel = channel_on(transport)
    # When reconciliation runs
    # Then it raises, asking to reconnect, rather than report "not there"
    with pytest.raises(XLookupError, match="reconnect"):
        channel.find_recent("hertspolice", "Anything", NOW)


# --- credentials ---------------------------------------------------------------------------


def test_credentials_objects_never_show_their_values() -> None:
    # Given credentials
    credentials = OAuth1Credentials(**KEYS)
    # When they are printed or formatted
    shown = f"{credentials!r} {credentials!s} {[credentials]}"
    # Then no value shows
    assert all(value not in shown for value in KEYS.values())


def test_a_missing_account_names_account_and_channel_not_values() -> None:
    # Given a secret without the account
    provider = StaticCredentials(SECRET)
    # When the account's credentials are asked for
    with pytest.raises(CredentialsError) as error:
        provider.for_account("x", "herts_fire")
    # Then the error names both, and no secret value
    message = str(error.value)
    assert "'herts_fire'" in message and "x credentials" in message
    assert all(value not in message for value in KEYS.values())
    assert (error.value.channel, error.value.account) == ("x", "herts_fire")
    # And only a person can fix it: not retryable
    assert not error.value.retryable


def test_incomplete_credentials_name_the_missing_keys() -> None:
    # Given an account lacking a key
    provider = StaticCredentials({"x": {"hertspolice": {**KEYS, "access_token_secret": ""}}})
    # When its credentials are asked for
    # Then the missing key is named
    with pytest.raises(CredentialsError, match="access_token_secret"):
        provider.for_account("x", "hertspolice")


def test_a_credentials_file_is_read(tmp_path: Path) -> None:
    # Given a file in the secret's shape
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps(SECRET), encoding="utf-8")
    # When an account's credentials are read from it
    credentials = StaticCredentials.from_file(path).for_account("x", "hertspolice")
    # Then they are the file's
    assert credentials == OAuth1Credentials(**KEYS)


class SecretsManagerStub:
    """Stands in for a boto3 Secrets Manager client."""

    def __init__(self, answer: Callable[[], dict[str, Any]]) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    def get_secret_value(self, **options: Any) -> dict[str, Any]:
        self.calls.append(options)
        return self.answer()


def test_the_secret_is_read_once_and_cached() -> None:
    # Given Secrets Manager holding the secret
    client = SecretsManagerStub(lambda: {"SecretString": json.dumps(SECRET)})
    provider = SecretsManagerCredentials("herald/credentials", boto3_client=client, max_age=300)
    # When credentials are asked for twice
    first = provider.for_account("x", "hertspolice")
    second = provider.for_account("x", "hertspolice")
    # Then they come from one call for the named secret
    assert first == second == OAuth1Credentials(**KEYS)
    assert client.calls == [{"SecretId": "herald/credentials"}]


def test_a_secret_that_is_not_json_is_reported_without_its_content() -> None:
    # Given a secret holding something else than JSON
    client = SecretsManagerStub(lambda: {"SecretString": "ck=unit-ck-31ab"})
    provider = SecretsManagerCredentials("herald/credentials", boto3_client=client)
    # When credentials are asked for
    with pytest.raises(CredentialsError) as error:
        provider.for_account("x", "hertspolice")
    # Then the error names the secret, not its content, and is not retryable
    assert "herald/credentials" in str(error.value)
    assert "unit-ck-31ab" not in str(error.value)
    assert not error.value.retryable


def test_a_secret_that_cannot_be_read_names_the_aws_error() -> None:
    # Given Secrets Manager refusing the read
    def refuse() -> dict[str, Any]:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "ResourceNotFoundException", "Message": "not found"}},
            "GetSecretValue",
        )

    provider = SecretsManagerCredentials("herald/missing", boto3_client=SecretsManagerStub(refuse))
    # When credentials are asked for
    # Then the error says which secret and why
    with pytest.raises(CredentialsError, match=r"herald/missing.*ResourceNotFoundException"):
        provider.for_account("x", "hertspolice")


def test_a_throttled_secret_read_is_retryable() -> None:
    # Given Secrets Manager throttling the read
    def throttle() -> dict[str, Any]:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
            "GetSecretValue",
        )

    provider = SecretsManagerCredentials(
        "herald/credentials", boto3_client=SecretsManagerStub(throttle)
    )
    # When credentials are asked for
    with pytest.raises(CredentialsError) as error:
        provider.for_account("x", "hertspolice")
    # Then the error names the AWS error and may go away: retryable
    assert "ThrottlingException" in str(error.value)
    assert error.value.retryable


class FailingCredentials:
    """A credentials provider whose read fails."""

    def __init__(self, error: CredentialsError) -> None:
        self.error = error

    def for_account(self, channel: str, account: str) -> OAuth1Credentials:
        raise self.error

    def keys_for(self, channel: str, account: str, required: Sequence[str]) -> SecretKeys:
        raise self.error


@pytest.mark.parametrize("retryable", [True, False], ids=["read failed", "no such account"])
def test_a_credentials_failure_fails_the_post_retryable_as_the_error_says(
    retryable: bool,
) -> None:
    # Given credentials that cannot be had, because the read failed or the account is absent
    error = CredentialsError("secret 'herald/credentials': trouble", retryable=retryable)
    transport = Transport()
    channel = XChannel(
        {"hertspolice": {}},
        FailingCredentials(error),
        base_url="http://x.example.test:8080",
        transport=transport,
        clock=lambda: NOW,
    )
    # When a post is published
    outcome = channel.publish("hertspolice", "Hello", None, [])
    # Then it FAILED before any request, retryable exactly when the read failed
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, retryable)
    assert "herald/credentials" in (outcome.reason or "")
    assert transport.sent == []
