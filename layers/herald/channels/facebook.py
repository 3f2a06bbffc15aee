"""The Facebook Page channel: posts to a Page's feed through the Graph API, in plain HTTP.

`GRAPH_API_VERSION` is the one place the Graph API version is set. A publication: each image
as an unpublished photo of the Page (`POST /{page-id}/photos`, `published=false`, its alt text
as `alt_text_custom`), then one `POST /{page-id}/feed` with the `message`, the photos as
`attached_media[n]={"media_fbid": ...}`, and `link` (the text's first URL) when there is no
image. Posting straight to /photos would make a photo, not a feed post (postiz#1593).

Exactly once: the Graph API has no idempotency key, and a 500 with `code: 2` has been seen
after the post was in fact made (koala#699). So a create is never retried blindly: an
UNKNOWN outcome is settled only by reading `GET /{page-id}/published_posts` back, and one
more attempt is made only once read-backs minutes apart found nothing (`SETTLEMENT`). A
duplicate refusal, (#506), means the post is already there: the channel looks it up at once.

Facebook signals rate limits in the body (codes 4, 17, 32, 613, 80001, usually not as a
429) and in `X-Business-Use-Case-Usage`: the delivery is claimable again after its
`estimated_time_to_regain_access`. An invalidated token (190) is FAILED, "reconnect the
Page"; a missing permission (#200, #10) is FAILED naming `pages_manage_posts` and
`pages_read_engagement`. Every outcome says Facebook's code and message: never "Unknown
Error" (postiz#1892).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from herald.channels import (
    CreateCall,
    Outcome,
    OutcomeKind,
    Reply,
    SettleBy,
    Settlement,
    not_created,
    why_not,
)
from herald.channels.web import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    Answer,
    never_sent,
    new_session,
    read_answer,
    shorten,
    unusable_address,
    what_happened,
)
from herald.config import DEFAULT_FACEBOOK_GRAPH_URL
from herald.credentials import CredentialsError, CredentialsProvider
from herald.delivery import DeliveryKey, MediaItem
from herald.media import UnusableMedia, read_media
from herald.timeutil import network_time

if TYPE_CHECKING:
    import requests

NAME = "facebook"
GRAPH_API_VERSION = "v25.0"

PERMISSIONS = "pages_manage_posts and pages_read_engagement"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001})
RATE_LIMIT_FALLBACK = timedelta(minutes=15)  # when Facebook does not say how long
CLOCK_SKEW = timedelta(seconds=5)
LOOKUP_PAGES = 4  # pages of 25 posts read back
DUPLICATE_LOOKBACK = timedelta(hours=24)

# No key and no reliable duplicate refusal: one more attempt only once read-backs three
# minutes apart found nothing (outlasting the lag of published_posts), and only once.
SETTLEMENT = Settlement(SettleBy.READ_BACK, timedelta(minutes=3), resends=1)

_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\")]"


@dataclass(frozen=True)
class FacebookPage:
    """A Facebook Page as the campaign names it."""

    page_id: str | None
    name: str | None = None


class FacebookLookupError(Exception):
    """`find_recent` could not read the Page's posts; the post may or may not be there."""


def normalized(text: str) -> str:
    """Text as compared: NFC, runs of white space as one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def first_link(text: str) -> str | None:
    match = _URL.search(text)
    return match.group().rstrip(_URL_TRAILING) if match else None


def graph_error(answer: Answer) -> tuple[int | None, str]:
    """Facebook's error code and message from an answer's body."""
    body = answer.body
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return None, ""
    code = error.get("code")
    message = error.get("message")
    return (code if isinstance(code, int) else None), shorten(str(message or ""))


def regain_at(answer: Answer, now: datetime) -> datetime | None:
    """When Facebook says access comes back: now + the largest
    `estimated_time_to_regain_access` (minutes) of `X-Business-Use-Case-Usage`."""
    raw = next(
        (v for k, v in answer.headers.items() if k.lower() == "x-business-use-case-usage"), None
    )
    try:
        usage = json.loads(raw) if raw else None
    except ValueError:
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for entries in (usage.values() if isinstance(usage, Mapping) else ())
        for entry in (entries if isinstance(entries, list) else ())
        if isinstance(entry, Mapping)
    ]
    waits = [m for m in minutes if isinstance(m, int | float) and m > 0]
    return now + timedelta(minutes=max(waits)) if waits else None


def outcome_for_answer(answer: Answer, *, stage: str, account: str, now: datetime) -> Outcome:
    """The outcome of a failed answer to the photo upload or the feed post."""
    posting = stage == "post"
    what = "the post" if posting else "the photo upload"
    code, message = graph_error(answer)
    said = f" (#{code}) {message}" if code is not None else f" {message}".rstrip()
    if answer.html or (code is None and answer.body is None):
        return _unreadable(answer, what, posting)
    if code in RATE_LIMIT_CODES or answer.status == 429:
        retry_at = regain_at(answer, now) or now + RATE_LIMIT_FALLBACK
        return Outcome(
            OutcomeKind.RATE_LIMITED,
            reason=f"Facebook rate limit reached:{said}; claimable again at "
            f"{retry_at:%Y-%m-%dT%H:%M:%SZ}",
            retryable=True,
            retry_at=retry_at,
        )
    if code == 190:
        return _failed(
            f"Facebook refused the Page token of account {account!r}:{said}; reconnect the Page"
        )
    if code in (10, 200):
        return _failed(
            f"Facebook refused {what} for account {account!r} for want of a permission:{said}; "
            f"the Page token needs {PERMISSIONS}"
        )
    if code == 506 and posting:
        return Outcome(
            OutcomeKind.UNKNOWN,
            reason=f"Facebook refused the post as a duplicate:{said}; the same text is already "
            "on the Page, maybe from an earlier attempt",
            duplicate=True,
        )
    if answer.status >= 500 or code in (1, 2):
        if posting:
            return Outcome(
                OutcomeKind.UNKNOWN,
                reason=f"Facebook answered {answer.status} to the post:{said}; it may or may not "
                "be published (Facebook has made posts it answered so)",
            )
        return _failed(
            f"Facebook answered {answer.status} to {what}:{said}; nothing was posted", True
        )
    return _failed(f"Facebook refused {what} ({answer.status}):{said}")


def _unreadable(answer: Answer, what: str, posting: bool) -> Outcome:
    page = "an HTML page" if answer.html else "an answer that is not the Graph API's JSON"
    if answer.status >= 500 and posting:
        return Outcome(
            OutcomeKind.UNKNOWN,
            reason=f"Facebook's address answered {answer.status} with {page} to the post; it "
            "may or may not be published",
        )
    if answer.status >= 500:
        return _failed(
            f"Facebook's address answered {answer.status} with {page} to {what}; "
            "nothing was posted",
            True,
        )
    return _failed(
        f"Facebook's address answered {what} with {page} ({answer.status}), not the Graph "
        "API; check FACEBOOK_GRAPH_URL"
    )


def _failed(reason: str, retryable: bool = False) -> Outcome:
    return Outcome(OutcomeKind.FAILED, reason=reason, retryable=retryable)


def post_url(post_id: str) -> str:
    """The public URL of a Page post whose id is `{page-id}_{post-id}`."""
    page, _, post = post_id.partition("_")
    return (
        f"https://www.facebook.com/{page}/posts/{post}"
        if post
        else f"https://www.facebook.com/{post_id}"
    )


class FacebookChannel:
    """Publishes to Facebook Pages. `accounts` maps an account name to its Page
    (`page_id`, `name`); `graph_url` is the Graph API's address (FACEBOOK_GRAPH_URL).
    Every request has the (connect, read) timeouts; `transport` is a requests adapter for
    offline tests."""

    name = NAME
    settlement = SETTLEMENT

    def __init__(
        self,
        accounts: Mapping[str, FacebookPage | Mapping[str, Any]],
        credentials: CredentialsProvider,
        *,
        graph_url: str = DEFAULT_FACEBOOK_GRAPH_URL,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        transport: Any = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._accounts = {name: _page(settings) for name, settings in accounts.items()}
        self._credentials = credentials
        self.graph_url = graph_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.create_seconds = connect_timeout + read_timeout
        self._transport = transport
        self._clock = clock or (lambda: datetime.now(UTC))
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"FacebookChannel(graph_url={self.graph_url!r}, accounts={sorted(self._accounts)!r})"

    def new_key(self, key: DeliveryKey) -> None:
        return None  # the Graph API takes no idempotency key

    # -- publishing --

    def publish(
        self, account: str, text: str, reply_to: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        """Publish `text` to the Page. `reply_to` is never given: a Page has no threads (a
        thread is one delivery, its parts joined)."""
        now = self._clock()
        prepared = self._prepare(account)
        if isinstance(prepared, Outcome):
            return prepared
        page_url, token = prepared
        photo_ids: list[str] = []
        for item in media:
            uploaded = self._upload(page_url, token, item, account, now)
            if isinstance(uploaded, Outcome):
                return uploaded
            photo_ids.append(uploaded)
        stop = why_not(call)
        if stop is not None:
            return not_created(stop)
        form = {"message": text}
        for index, photo_id in enumerate(photo_ids):
            form[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_id})
        link = None if photo_ids else first_link(text)
        if link:
            form["link"] = link
        try:
            response = self._http().post(
                f"{page_url}/feed", data=form, headers=_auth(token), timeout=self.timeout
            )
        except Exception as error:
            return _network_outcome(error, posting=True)
        outcome = self._created(read_answer(response), account, now)
        if outcome.duplicate:
            return self._settle_duplicate(account, text, now, outcome)
        return outcome

    def _prepare(self, account: str) -> tuple[str, str] | Outcome:
        """The Page's Graph address and its token, or why there are none."""
        try:
            keys = self._credentials.keys_for(self.name, account, ("page_access_token",))
        except CredentialsError as error:
            later = "; nothing was sent, a later attempt may succeed" if error.retryable else ""
            return _failed(f"{error}{later}", error.retryable)
        page = self._accounts.get(account)
        if page is None or not page.page_id:
            return _failed(
                f"Facebook account {account!r} has no page_id: set accounts.facebook."
                f"{account}.page_id in the campaign"
            )
        return f"{self.graph_url}/{GRAPH_API_VERSION}/{page.page_id}", keys["page_access_token"]

    def _created(self, answer: Answer, account: str, now: datetime) -> Outcome:
        body = answer.body
        if not answer.ok or not isinstance(body, Mapping) or "error" in body:
            return outcome_for_answer(answer, stage="post", account=account, now=now)
        post_id = body.get("id")
        if not post_id:
            return Outcome(
                OutcomeKind.UNKNOWN,
                reason="Facebook accepted the post but its answer has no post id; reconcile",
            )
        return Outcome(OutcomeKind.SENT, remote_id=str(post_id), url=post_url(str(post_id)))

    def _upload(
        self, page_url: str, token: str, item: MediaItem, account: str, now: datetime
    ) -> str | Outcome:
        """Upload one image as an unpublished photo with its alt text: its id, or the
        outcome that stops the post (nothing was posted yet)."""
        try:
            content, content_type = read_media(item)
        except UnusableMedia as error:
            return _failed(str(error))
        name = item.path.name
        try:
            response = self._http().post(
                f"{page_url}/photos",
                files={"source": (name, content, content_type)},
                data={"published": "false", "alt_text_custom": item.alt},
                headers=_auth(token),
                timeout=self.timeout,
            )
        except Exception as error:
            return _about(_network_outcome(error, posting=False), name)
        answer = read_answer(response)
        body = answer.body
        if not answer.ok or not isinstance(body, Mapping) or not body.get("id"):
            return _about(outcome_for_answer(answer, stage="media", account=account, now=now), name)
        return str(body["id"])

    def _settle_duplicate(
        self, account: str, text: str, now: datetime, refused: Outcome
    ) -> Outcome:
        """Facebook refused `text` as a duplicate (#506): look for it on the Page over the
        last day. SENT with its id if found, else the UNKNOWN refusal for the read-backs."""
        try:
            found = self.find_recent(account, text, now - DUPLICATE_LOOKBACK)
        except FacebookLookupError as error:
            return replace(refused, reason=f"{refused.reason}; looking for it failed: {error}")
        if found is None:
            return replace(
                refused, reason=f"{refused.reason}; it is not among the Page's posts (yet)"
            )
        return replace(
            found,
            reason="Facebook refused the post as a duplicate; it was found on the Page as post "
            f"{found.remote_id}",
            duplicate=True,
        )

    # -- reconciliation --

    def find_recent(
        self,
        account: str,
        text: str,
        since: datetime,
        *,
        exclude_ids: frozenset[str] = frozenset(),
        idempotency_key: str | None = None,
    ) -> Outcome | None:
        """SENT with the post's id and URL if the Page published `text` at or after `since`
        (less CLOCK_SKEW, Facebook's clock against ours); None if it is not among its
        published posts. Raises FacebookLookupError when the Page cannot be read: an error
        is never reported as "not there"."""
        prepared = self._prepare(account)
        if isinstance(prepared, Outcome):
            raise FacebookLookupError(prepared.reason or "the Page cannot be read")
        page_url, token = prepared
        earliest, wanted = since - CLOCK_SKEW, normalized(text)
        params = {"fields": "id,message,created_time", "limit": "25"}
        for _ in range(LOOKUP_PAGES):
            body = self._read(page_url, token, params, account)
            posts = [p for p in body.get("data") or [] if isinstance(p, Mapping)]
            for post in posts:
                post_id = str(post.get("id") or "")
                created = network_time(post.get("created_time"))
                if (
                    not post_id
                    or post_id in exclude_ids
                    or (created is not None and created < earliest)
                ):
                    continue
                if normalized(str(post.get("message") or "")) == wanted:
                    return Outcome(
                        OutcomeKind.SENT,
                        remote_id=post_id,
                        url=post_url(post_id),
                        reason="found on the Page by reconciliation",
                    )
            oldest = network_time(posts[-1].get("created_time")) if posts else None
            after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
            if not posts or not after or (oldest is not None and oldest < earliest):
                return None
            params = params | {"after": str(after)}
        return None

    def _read(
        self, page_url: str, token: str, params: Mapping[str, str], account: str
    ) -> Mapping[str, Any]:
        try:
            response = self._http().get(
                f"{page_url}/published_posts",
                params=params,
                headers=_auth(token),
                timeout=self.timeout,
            )
        except Exception as error:
            raise FacebookLookupError(
                f"cannot read the posts of Facebook account {account!r}: {what_happened(error)}"
            ) from None
        answer = read_answer(response)
        if answer.ok and isinstance(answer.body, Mapping) and "error" not in answer.body:
            return answer.body
        code, message = graph_error(answer)
        if code == 190:
            advice = "; reconnect the Page"
        elif code in (10, 200):
            advice = f"; the Page token needs {PERMISSIONS}"
        else:
            advice = ""
        said = (
            f"(#{code}) {message}"
            if code is not None
            else ("an HTML page" if answer.html else str(answer.status))
        )
        raise FacebookLookupError(
            f"cannot read the posts of Facebook account {account!r}: Facebook answered "
            f"{said}{advice}"
        )

    # -- plumbing --

    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = new_session(self._transport)
        return self._session

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()


def _page(settings: FacebookPage | Mapping[str, Any]) -> FacebookPage:
    if isinstance(settings, FacebookPage):
        return settings
    page_id = settings.get("page_id")
    name = settings.get("name")
    return FacebookPage(str(page_id) if page_id else None, str(name) if name else None)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _network_outcome(error: BaseException, *, posting: bool) -> Outcome:
    if never_sent(error):
        return _failed("could not connect to Facebook; nothing was sent", retryable=True)
    if unusable_address(error):
        return _failed("the Facebook Graph API address is not usable; nothing was sent")
    happened = what_happened(error)
    if not posting:
        return _failed(f"{happened} during the photo upload; nothing was posted", retryable=True)
    return Outcome(OutcomeKind.UNKNOWN, reason=f"{happened}; the post may or may not be published")


def _about(outcome: Outcome, file_name: str) -> Outcome:
    return replace(outcome, reason=f"{file_name}: {outcome.reason}")
