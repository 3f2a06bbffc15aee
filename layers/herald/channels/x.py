"""The X channel: posts through tweepy's v2 Client with OAuth 1.0a user context.

Every outcome is reported, never raised: what X answered, or what the network did, becomes
SENT, FAILED (definitely not published), RATE_LIMITED or UNKNOWN (may be published; reconcile
with `find_recent`, never re-post blindly). The create call is made once and never retried.
X's 403 duplicate refusal is evidence the text is already on the account: the channel looks
for it at once and reports SENT with its id when found (`Outcome.duplicate` marks both cases).

tweepy's Client always builds `https://api.twitter.com` URLs and sets no timeout, so the
Client is given a requests session that routes its calls to `base_url` and applies
(connect, read) timeouts. The OAuth 1.0a signature is computed by requests when the request
is prepared, after the routing, so it covers the URL actually requested. Images go through
X's v2 media endpoints (`POST /2/media/upload`, `POST /2/media/metadata`), signed with
requests-oauthlib's OAuth1 on the same session. tweepy and requests are imported on first
use only: a tick with nothing due never loads them.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from herald.channels import (
    READ_BACK_THEN_RESEND,
    CreateCall,
    Outcome,
    OutcomeKind,
    Reply,
    not_created,
    why_not,
)
from herald.config import DEFAULT_X_API_BASE_URL
from herald.credentials import CredentialsError, CredentialsProvider, OAuth1Credentials
from herald.delivery import DeliveryKey, MediaItem
from herald.media import UnusableMedia, read_media
from herald.timeutil import network_time

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 3.05
DEFAULT_READ_TIMEOUT = 10.0
TWEEPY_HOST = "https://api.twitter.com"  # the base tweepy's Client always builds URLs on
RATE_LIMIT_FALLBACK = timedelta(minutes=15)  # X's rate-limit window, when no reset header


class Stage(StrEnum):
    """Where a call failed: before the post (media) nothing can have been published."""

    MEDIA = "media"
    POST = "post"


@dataclass(frozen=True)
class XAccount:
    """An X account as the campaign names it: its @handle and, if known, numeric user id."""

    handle: str | None = None
    user_id: str | None = None


class XLookupError(Exception):
    """`find_recent` could not read the account's posts; the post may or may not be there."""


def post_url(handle: str | None, post_id: str) -> str:
    """The public URL of a post; `i/web` serves any post when the handle is unknown."""
    return f"https://x.com/{handle or 'i/web'}/status/{post_id}"


# --- recognising a post as X lists it ------------------------------------------------------

# X stamps created_at with its own clock. A post it stamps up to this long before `since`
# (the attempt's start by herald's clock) still counts as made by the attempt.
CLOCK_SKEW = timedelta(seconds=2)
# How far back a post refused as duplicate content is looked for on the account.
DUPLICATE_LOOKBACK = timedelta(hours=24)

_MEDIA_LINK = re.compile(r"https://(?:x|twitter)\.com/[^/]+/status/\d+/(?:photo|video)/\d+")


def normalized_text(text: str) -> str:
    """Text as compared: NFC (as X stores it), runs of white space as one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def listed_text_pattern(post: Mapping[str, Any]) -> re.Pattern[str]:
    """What a post X lists must have been posted as, as a pattern over `normalized_text`.

    X returns `text` with every link replaced by a t.co link, `&`, `<`, `>` escaped, and a
    t.co link to the media appended; `entities.urls` maps each t.co `url` to its
    `expanded_url`. So the literal parts are unescaped and each t.co link must have been
    its expanded URL exactly (or, when X added `http://` to a bare domain, without it).
    A t.co link X gives no expanded URL for stays literal: it matches no text herald sends.
    """
    text = str(post.get("text", ""))
    entities = post.get("entities")
    urls = entities.get("urls") if isinstance(entities, Mapping) else None
    links: dict[str, str] = {}
    for entity in urls if isinstance(urls, list) else []:
        short = entity.get("url") if isinstance(entity, Mapping) else None
        expanded = entity.get("expanded_url") if isinstance(entity, Mapping) else None
        if not (isinstance(short, str) and short and isinstance(expanded, str) and expanded):
            continue
        if _is_media_link(entity) and text.rstrip().endswith(short):
            text = text.rstrip()[: -len(short)]  # the media link X appends: not in the text
        else:
            links[short] = expanded
    text = text.strip()
    pieces: list[str] = []
    position = 0
    if links:
        alternatives = "|".join(re.escape(short) for short in sorted(links, key=len, reverse=True))
        for match in re.finditer(alternatives, text):
            pieces.append(_literal(text[position : match.start()]))
            pieces.append(_link_pattern(links[match.group()]))
            position = match.end()
    pieces.append(_literal(text[position:]))
    return re.compile("".join(pieces), re.DOTALL)


def matches_listed(text: str, post: Mapping[str, Any]) -> bool:
    """True if `post`, as X lists it, is `text` as herald sent it, links included."""
    return listed_text_pattern(post).fullmatch(normalized_text(text)) is not None


def _is_media_link(entity: Mapping[str, Any]) -> bool:
    expanded = entity.get("expanded_url")
    return "media_key" in entity or (
        isinstance(expanded, str) and _MEDIA_LINK.fullmatch(expanded) is not None
    )


def _literal(listed: str) -> str:
    """A stretch of listed text between links, as a pattern: unescaped, spaces as compared."""
    plain = unicodedata.normalize("NFC", html.unescape(listed))
    return re.escape(re.sub(r"\s+", " ", plain))


def _link_pattern(expanded: str) -> str:
    forms = [expanded]
    if expanded.startswith("http://"):
        forms.append(expanded[len("http://") :])  # X adds http:// to a link written without
    return "(?:" + "|".join(re.escape(form) for form in forms) + ")"


# --- outcome mapping ---------------------------------------------------------------------


def outcome_for_status(
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    stage: Stage,
    account: str,
    now: datetime,
) -> Outcome:
    """The outcome of a non-2xx answer from X."""
    message = _x_message(body)
    said = f": {message}" if message else ""
    what = "the post" if stage is Stage.POST else "the media upload"
    if status == 429:
        retry_at = _rate_limit_reset(headers) or now + RATE_LIMIT_FALLBACK
        return Outcome(
            OutcomeKind.RATE_LIMITED,
            reason=f"X rate limit reached (429); claimable again at {retry_at:%Y-%m-%dT%H:%M:%SZ}",
            retryable=True,
            retry_at=retry_at,
        )
    if status == 401:
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"X refused the credentials of account {account!r} (401 Unauthorized){said}; "
            "reconnect the account",
            retryable=False,
        )
    if status == 403 and stage is Stage.POST and "duplicate" in message.lower():
        return Outcome(
            OutcomeKind.UNKNOWN,
            reason=f"X refused {what} as duplicate content (403){said}; the same text is "
            "already on the account, maybe from an earlier attempt",
            duplicate=True,
        )
    if 400 <= status < 500:
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"X refused {what} ({status}){said}",
            retryable=False,
        )
    if stage is Stage.MEDIA:
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"X answered {status} to the media upload{said}; nothing was published",
            retryable=True,
        )
    return Outcome(
        OutcomeKind.UNKNOWN,
        reason=f"X answered {status} to the post{said}; it may or may not be published",
    )


def outcome_for_exception(
    error: BaseException, *, stage: Stage, account: str, now: datetime
) -> Outcome:
    """The outcome of an exception from tweepy or requests during a call."""
    import requests
    import tweepy

    if isinstance(error, tweepy.errors.HTTPException):
        response = error.response
        return outcome_for_status(
            response.status_code,
            response.headers,
            _json_or_none(response),
            stage=stage,
            account=account,
            now=now,
        )
    exceptions = requests.exceptions
    if isinstance(error, exceptions.ConnectTimeout) or (
        isinstance(error, exceptions.ConnectionError) and _never_sent(error)
    ):
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"could not connect to X ({_cause(error)}); nothing was sent",
            retryable=True,
        )
    if isinstance(
        error,
        exceptions.InvalidURL | exceptions.MissingSchema | exceptions.InvalidSchema,
    ):
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"the X API address is not usable ({type(error).__name__}); nothing was sent",
            retryable=False,
        )
    if isinstance(error, exceptions.Timeout):
        happened = "X did not answer within the read timeout"
    elif isinstance(error, exceptions.SSLError):
        happened = f"a TLS error once the request may have been sent ({_cause(error)})"
    elif isinstance(error, exceptions.ConnectionError | exceptions.ChunkedEncodingError):
        happened = f"the connection was lost after the request was sent ({_cause(error)})"
    elif isinstance(error, ValueError):
        happened = "X's answer could not be read"
    else:
        happened = f"unexpected {type(error).__name__}"
        log.warning("unexpected %s during the X %s call", type(error).__name__, stage.value)
    if stage is Stage.MEDIA:
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"{happened} during the media upload; nothing was published",
            retryable=True,
        )
    return Outcome(OutcomeKind.UNKNOWN, reason=f"{happened}; the post may or may not be published")


def _never_sent(error: BaseException) -> bool:
    """True only when no connection was made: refused, no DNS, connect timeout.

    A TLS error is no proof: urllib3 raises the same SSLError for a failed handshake and for
    a record it cannot decrypt while reading the answer (DECRYPTION_FAILED_OR_BAD_RECORD_MAC),
    after the request went out. Taking it for "never sent" would post twice."""
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    for arg in getattr(error, "args", ()):
        if isinstance(arg, MaxRetryError):
            return isinstance(arg.reason, NewConnectionError | ConnectTimeoutError)
        if isinstance(arg, NewConnectionError):
            return True
    return False


def _cause(error: BaseException) -> str:
    """A short, secret-free description of a network error: class names only, and the
    OpenSSL reason code of a TLS error (e.g. DECRYPTION_FAILED_OR_BAD_RECORD_MAC)."""
    import ssl

    names = [type(error).__name__]
    for arg in getattr(error, "args", ()):
        reason = getattr(arg, "reason", None)
        if isinstance(arg, BaseException):
            names.append(type(arg).__name__)
            inner_errors = list(getattr(arg, "args", ()))
            if isinstance(reason, BaseException):
                names.append(type(reason).__name__)
                inner_errors += getattr(reason, "args", ())
            for inner in inner_errors:
                if isinstance(inner, BaseException):
                    names.append(type(inner).__name__)
                code = getattr(inner, "reason", None)
                if isinstance(inner, ssl.SSLError) and isinstance(code, str):
                    names.append(code)
    return ", ".join(dict.fromkeys(names))


def _rate_limit_reset(headers: Mapping[str, str]) -> datetime | None:
    for name, value in headers.items():
        if name.lower() == "x-rate-limit-reset":
            try:
                return datetime.fromtimestamp(int(str(value).strip()), UTC)
            except (ValueError, OverflowError, OSError):
                return None
    return None


def _json_or_none(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _x_message(body: Any, limit: int = 300) -> str:
    """X's explanation from an error body: `errors[].message|detail`, else `detail`/`title`."""
    if not isinstance(body, Mapping):
        return ""
    parts: list[str] = []
    for error in body.get("errors") or []:
        if isinstance(error, Mapping):
            text = error.get("message") or error.get("detail")
            if isinstance(text, str) and text not in parts:
                parts.append(text)
    if not parts:
        for key in ("detail", "title", "error"):
            text = body.get(key)
            if isinstance(text, str) and text:
                parts.append(text)
                break
    message = "; ".join(parts)
    return message if len(message) <= limit else message[: limit - 1] + "…"


# --- logging hygiene -------------------------------------------------------------------------


class _NoSigningDetails(logging.Filter):
    """oauthlib and requests-oauthlib log OAuth parameters (consumer key, token) at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_SIGNING_LOGGERS = ("oauthlib.oauth1.rfc5849", "requests_oauthlib.oauth1_auth")


def _quiet_signing_logs() -> None:
    for name in _SIGNING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoSigningDetails) for f in logger.filters):
            logger.addFilter(_NoSigningDetails())


# --- the channel -----------------------------------------------------------------------------


def _routed_session(
    base_url: str, timeout: tuple[float, float], transport: Any = None
) -> requests.Session:
    """A requests session that sends tweepy's api.twitter.com calls to `base_url`, with a
    timeout on every request. Signing happens in `prepare_request`, after the rewrite."""
    import requests

    class RoutedSession(requests.Session):
        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(url, str) and url.startswith(TWEEPY_HOST):
                url = base_url + url[len(TWEEPY_HOST) :]
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = timeout
            return super().request(method, url, *args, **kwargs)

    session = RoutedSession()
    if transport is not None:
        session.mount("http://", transport)
        session.mount("https://", transport)
    return session


class XChannel:
    """Publishes to X. Nothing here reads the environment: everything is injected.

    `accounts` maps each account name to `XAccount` or `{"handle": ..., "user_id": ...}`
    (extra keys ignored); `credentials` gives each account's OAuth 1.0a keys; `base_url` is
    X's API (tests: the fake's URL); every request has the (connect, read) timeouts.
    `transport` is an optional requests adapter mounted for all URLs (offline tests).
    """

    name = "x"
    settlement = READ_BACK_THEN_RESEND

    def __init__(
        self,
        accounts: Mapping[str, XAccount | Mapping[str, Any]],
        credentials: CredentialsProvider,
        *,
        base_url: str = DEFAULT_X_API_BASE_URL,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        transport: Any = None,
        clock: Callable[[], datetime] | None = None,
        lookup_pages: int = 5,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"X API base URL must be http(s)://..., not {base_url!r}")
        self._accounts = {name: _account(settings) for name, settings in accounts.items()}
        self._credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.create_seconds = connect_timeout + read_timeout
        self._transport = transport
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lookup_pages = lookup_pages
        self._lock = threading.Lock()
        self._session: requests.Session | None = None
        self._clients: dict[tuple[str, OAuth1Credentials], Any] = {}
        self._user_ids = {n: a.user_id for n, a in self._accounts.items() if a.user_id}
        _quiet_signing_logs()

    def __repr__(self) -> str:
        return f"XChannel(base_url={self.base_url!r}, accounts={sorted(self._accounts)!r})"

    # -- publishing --

    def new_key(self, key: DeliveryKey) -> str | None:
        return None  # settled by read-back and duplicate refusal, not by a key

    def publish(
        self, account: str, text: str, reply: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        now = self._clock()
        reply_to = None if reply is None else reply.parent.id
        try:
            credentials = self._credentials.for_account(self.name, account)
        except CredentialsError as error:
            return _no_credentials(error)
        client = self._client(account, credentials)

        media_ids: list[str] = []
        for item in media:
            uploaded = self._upload(item, credentials, account, now)
            if isinstance(uploaded, Outcome):
                return uploaded
            media_ids.append(uploaded)

        stop = why_not(call)
        if stop is not None:
            return not_created(stop)
        try:
            answer = client.create_tweet(
                text=text,
                in_reply_to_tweet_id=reply_to,
                media_ids=media_ids or None,
                user_auth=True,
            )
        except Exception as error:
            outcome = outcome_for_exception(error, stage=Stage.POST, account=account, now=now)
            if outcome.duplicate:
                return self._settle_duplicate(account, text, now, outcome)
            return outcome
        post_id = _data_id(answer)
        if post_id is None:
            return Outcome(
                OutcomeKind.UNKNOWN,
                reason="X accepted the post but its answer has no post id; reconcile",
            )
        return Outcome(
            OutcomeKind.SENT, remote_id=post_id, url=post_url(self._handle(account), post_id)
        )

    def _settle_duplicate(
        self, account: str, text: str, now: datetime, refused: Outcome
    ) -> Outcome:
        """X refused `text` as duplicate content: evidence it is on the account already,
        perhaps from an earlier attempt whose answer was lost. Look for it over the last
        `DUPLICATE_LOOKBACK` (24 h): SENT with its id if found, else the UNKNOWN refusal.
        Both keep `duplicate=True`: the caller still checks the id is no other delivery's."""
        try:
            found = self.find_recent(account, text, now - DUPLICATE_LOOKBACK)
        except XLookupError as error:
            return replace(refused, reason=f"{refused.reason}; looking for it failed: {error}")
        if found is None or found.remote_id is None:
            return replace(
                refused,
                reason=f"{refused.reason}; it is not among the account's posts of the last "
                f"{DUPLICATE_LOOKBACK.total_seconds() / 3600:.0f} hours (yet)",
            )
        return Outcome(
            OutcomeKind.SENT,
            remote_id=found.remote_id,
            url=found.url,
            reason=f"X refused the post as a duplicate; it was found on the account "
            f"as post {found.remote_id}",
            duplicate=True,
        )

    def _upload(
        self, item: MediaItem, credentials: OAuth1Credentials, account: str, now: datetime
    ) -> str | Outcome:
        """Upload one image and set its alt text; its media id, or the outcome that stops
        the post (FAILED: nothing was published yet). A file outside its campaign's folder,
        unreadable or of a kind X does not take fails for good, and is not sent."""
        path = item.path
        try:
            content, content_type = read_media(item)
        except UnusableMedia as error:
            return Outcome(OutcomeKind.FAILED, reason=str(error), retryable=False)
        session = self._requests_session()
        auth = _oauth1(credentials)
        try:
            response = session.post(
                f"{self.base_url}/2/media/upload",
                files={"media": (path.name, content, content_type)},
                data={"media_category": "tweet_image"},
                auth=auth,
                timeout=self.timeout,
            )
            if not 200 <= response.status_code < 300:
                return self._media_refused(response, path.name, account, now)
            media_id = _data_id(_json_or_none(response))
            if media_id is None:
                return Outcome(
                    OutcomeKind.FAILED,
                    reason=f"X's answer to the upload of {path.name} has no media id",
                    retryable=True,
                )
            if item.alt:
                response = session.post(
                    f"{self.base_url}/2/media/metadata",
                    json={"id": media_id, "metadata": {"alt_text": {"text": item.alt}}},
                    auth=auth,
                    timeout=self.timeout,
                )
                if not 200 <= response.status_code < 300:
                    return self._media_refused(response, path.name, account, now)
        except Exception as error:
            outcome = outcome_for_exception(error, stage=Stage.MEDIA, account=account, now=now)
            return _about(outcome, path.name)
        return media_id

    def _media_refused(self, response: Any, file_name: str, account: str, now: datetime) -> Outcome:
        outcome = outcome_for_status(
            response.status_code,
            response.headers,
            _json_or_none(response),
            stage=Stage.MEDIA,
            account=account,
            now=now,
        )
        return _about(outcome, file_name)

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
        """SENT with the post's id and URL if `account` posted `text` at or after `since`;
        None if it is not among the account's posts. Raises XLookupError when X cannot be
        read (an error is never reported as "not there").

        A post matches on its full text with each t.co link expanded (`matches_listed`),
        never on the words alone: two appeals differing only in their link are two posts.
        `since` is when the attempt began (the record's ATTEMPTING time): a post X dates
        earlier, by more than `CLOCK_SKEW` (2 s) between X's clock and ours, is another
        delivery's. A post whose id is in `exclude_ids` (recorded for another delivery) is
        never returned. Of several matches, the newest is returned.
        """
        try:
            credentials = self._credentials.for_account(self.name, account)
        except CredentialsError as error:
            raise XLookupError(str(error)) from None
        client = self._client(account, credentials)
        user_id = self._user_id(account, client)
        earliest = since - CLOCK_SKEW
        token: str | None = None
        for _ in range(self._lookup_pages):
            answer = self._posts_page(client, account, user_id, earliest, token)
            for post in answer.get("data") or []:
                if isinstance(post, Mapping) and _is_the_post(post, text, earliest, exclude_ids):
                    return self._found(account, str(post["id"]))
            token = (answer.get("meta") or {}).get("next_token")
            if not token:
                break
        return None

    def _posts_page(
        self, client: Any, account: str, user_id: str, earliest: datetime, token: str | None
    ) -> Mapping[str, Any]:
        """One page of the account's posts since `earliest`, newest first, with their
        creation time and links (`entities`)."""
        try:
            answer = client.get_users_tweets(
                user_id,
                start_time=earliest,
                max_results=100,
                tweet_fields=["created_at", "entities"],
                pagination_token=token,
                user_auth=True,
            )
        except Exception as error:
            raise XLookupError(
                f"cannot list the posts of X account {account!r}: {_lookup_reason(error)}"
            ) from None
        if not isinstance(answer, Mapping):
            raise XLookupError(f"X's list of the posts of {account!r} could not be read")
        if not answer.get("data") and answer.get("errors"):
            raise XLookupError(
                f"cannot list the posts of X account {account!r}: {_x_message(answer)}"
            )
        return answer

    def _found(self, account: str, post_id: str) -> Outcome:
        return Outcome(
            OutcomeKind.SENT,
            remote_id=post_id,
            url=post_url(self._handle(account), post_id),
            reason="found on the account by reconciliation",
        )

    def _user_id(self, account: str, client: Any) -> str:
        with self._lock:
            known = self._user_ids.get(account)
        if known:
            return known
        try:
            answer = client.get_me(user_auth=True)
        except Exception as error:
            raise XLookupError(
                f"cannot find the user id of X account {account!r}: {_lookup_reason(error)}"
            ) from None
        user_id = _data_id(answer)
        if user_id is None:
            raise XLookupError(f"X did not say the user id of account {account!r}")
        with self._lock:
            self._user_ids[account] = user_id
        return user_id

    # -- plumbing --

    def _handle(self, account: str) -> str | None:
        settings = self._accounts.get(account)
        return settings.handle if settings else None

    def _requests_session(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                self._session = _routed_session(self.base_url, self.timeout, self._transport)
            return self._session

    def _client(self, account: str, credentials: OAuth1Credentials) -> Any:
        import tweepy

        session = self._requests_session()
        key = (account, credentials)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = tweepy.Client(
                    consumer_key=credentials.consumer_key,
                    consumer_secret=credentials.consumer_secret,
                    access_token=credentials.access_token,
                    access_token_secret=credentials.access_token_secret,
                    return_type=dict,
                    wait_on_rate_limit=False,
                )
                client.session = session
                # Rotated credentials replace the account's client rather than pile up.
                for stale in [k for k in self._clients if k[0] == account]:
                    del self._clients[stale]
                self._clients[key] = client
            return client

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
            self._clients.clear()
        if session is not None:
            session.close()


def _account(settings: XAccount | Mapping[str, Any]) -> XAccount:
    if isinstance(settings, XAccount):
        return settings
    user_id = settings.get("user_id")
    return XAccount(
        handle=settings.get("handle"), user_id=str(user_id) if user_id is not None else None
    )


def _oauth1(credentials: OAuth1Credentials) -> Any:
    from requests_oauthlib import OAuth1

    return OAuth1(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        resource_owner_key=credentials.access_token,
        resource_owner_secret=credentials.access_token_secret,
        decoding=None,
    )


def _data_id(answer: Any) -> str | None:
    data = answer.get("data") if isinstance(answer, Mapping) else None
    post_id = data.get("id") if isinstance(data, Mapping) else None
    return str(post_id) if post_id not in (None, "") else None


def _is_the_post(
    post: Mapping[str, Any], text: str, earliest: datetime, exclude_ids: frozenset[str]
) -> bool:
    """Whether a listed post is the one that published `text` since `earliest`."""
    post_id = str(post.get("id") or "")
    if not post_id or post_id in exclude_ids:
        return False
    created = network_time(post.get("created_at"))
    if created is not None and created < earliest:
        return False
    return matches_listed(text, post)


def _no_credentials(error: CredentialsError) -> Outcome:
    """FAILED before any request: retryable when the secret could not be read (Secrets
    Manager throttled or unreachable), not when it lacks or garbles the account's keys."""
    if error.retryable:
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"{error}; nothing was sent, a later attempt may succeed",
            retryable=True,
        )
    return Outcome(OutcomeKind.FAILED, reason=str(error), retryable=False)


def _about(outcome: Outcome, file_name: str) -> Outcome:
    """Name the media file in an outcome's reason."""
    return replace(outcome, reason=f"{file_name}: {outcome.reason}")


def _lookup_reason(error: BaseException) -> str:
    """Why the account's posts could not be read, without secrets."""
    import tweepy

    if isinstance(error, tweepy.errors.HTTPException):
        status = error.response.status_code
        message = _x_message(_json_or_none(error.response))
        advice = "; reconnect the account" if status == 401 else ""
        return f"X answered {status}{': ' + message if message else ''}{advice}"
    return _cause(error)
