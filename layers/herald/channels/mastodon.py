"""The Mastodon channel: posts statuses through Mastodon's REST API, in plain HTTP.

Plain requests rather than Mastodon.py: herald needs five calls, every one with an explicit
timeout and never a sleep beyond the invocation's time, and Mastodon.py's defaults (a 300 s
request timeout, sleeping in-process on a rate limit) would each have to be overridden; the
layer already has requests, so the channel adds nothing to the cold start.

A publication: each image through `POST /api/v2/media` with its alt text as `description`;
while Mastodon is still processing one (202, then 206 from `GET /api/v1/media/:id`) the
channel polls, bounded by the invocation's time left (out of time: FAILED, retryable,
nothing posted); then `POST /api/v1/statuses` with `media_ids[]`, `in_reply_to_id` for a
thread part, `visibility: public`, and the delivery's `Idempotency-Key`.

Exactly once: the key is chosen at the claim and kept in the ledger before the first call
(`new_key`), and every attempt of the delivery sends it. Mastodon keeps a key about an hour
per account and answers a repeated create with the status it made first, so inside
`KEY_TRUSTED` an UNKNOWN outcome is settled by repeating the create. After it, the account's
statuses are read back and each candidate's source text (`GET /api/v1/statuses/:id/source`;
`content` is HTML and would not match) compared with the text sent.

Every outcome is reported, never raised. A 429 makes the delivery claimable again at
`X-RateLimit-Reset` (ISO 8601).
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
import uuid
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
from herald.credentials import CredentialsError, CredentialsProvider
from herald.delivery import DeliveryKey, MediaItem
from herald.media import UnusableMedia, read_media
from herald.timeutil import network_time

if TYPE_CHECKING:
    import requests

NAME = "mastodon"
SCOPES = "write:statuses write:media read:statuses"
# Mastodon keeps an Idempotency-Key "up to 1 hour" from the status it made. herald trusts it
# for 50 minutes from the first attempt, so that a repeat can never arrive after it expired.
KEY_TRUSTED = timedelta(minutes=50)
RATE_LIMIT_FALLBACK = timedelta(minutes=5)  # Mastodon's shortest window, with no reset header
CLOCK_SKEW = timedelta(seconds=5)  # the instance's clock against ours, when reading back
POLL_SECONDS = 1.0  # between two looks at an image still processing
MEDIA_WAIT_LIMIT = 60.0  # the longest an image is waited for, even with time to spare
LOOKUP_PAGES = 3  # pages of 40 statuses read back
CREATE_MARGIN = 5.0  # seconds kept, beyond the create call's own, to record its outcome

# Inside the key's hour the same create is repeated at once (it cannot make a second
# status); after it, the account is read back, and only absence confirmed by read-backs
# five minutes apart allows one more attempt.
AFTER_KEY = Settlement(SettleBy.READ_BACK, timedelta(minutes=5), resends=1)
SETTLEMENT = Settlement(
    SettleBy.IDEMPOTENCY_KEY,
    timedelta(0),
    resends=3,
    key_lifetime=KEY_TRUSTED,
    after_key=AFTER_KEY,
)


@dataclass(frozen=True)
class MastodonAccount:
    """A Mastodon account as the campaign names it: `@user@domain` and its instance."""

    handle: str
    instance: str | None = None

    @property
    def username(self) -> str:
        return self.handle.lstrip("@").partition("@")[0]


class MastodonLookupError(Exception):
    """`find_recent` could not read the account's statuses; the post may or may not be there."""


def status_key(key: DeliveryKey) -> str:
    """An Idempotency-Key for one claim of a delivery: derived from the delivery, made
    unique by a random part (a post moved and published again gets a new one)."""
    digest = hashlib.sha256(str(key).encode()).hexdigest()[:16]
    return f"herald-{digest}-{uuid.uuid4().hex[:16]}"


def normalized(text: str) -> str:
    """Text as compared: NFC, runs of white space as one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _error_text(answer: Answer) -> str:
    body = answer.body
    message = body.get("error") if isinstance(body, Mapping) else None
    return f": {shorten(str(message))}" if message else ""


def outcome_for_answer(answer: Answer, *, stage: str, account: str, now: datetime) -> Outcome:
    """The outcome of a non-2xx answer (or an HTML page) to the upload or the create."""
    posting = stage == "post"
    what = "the post" if posting else "the image upload"
    said = _error_text(answer)
    if answer.html:
        return _html_outcome(answer.status, what, posting)
    if answer.status == 429:
        retry_at = _reset(answer.headers) or now + RATE_LIMIT_FALLBACK
        return Outcome(
            OutcomeKind.RATE_LIMITED,
            reason=f"Mastodon rate limit reached (429); claimable again at "
            f"{retry_at:%Y-%m-%dT%H:%M:%SZ}",
            retryable=True,
            retry_at=retry_at,
        )
    if answer.status == 401:
        return _failed(
            f"Mastodon refused the access token of account {account!r} (401){said}; "
            "reconnect the account"
        )
    if answer.status == 403:
        return _failed(
            f"Mastodon refused {what} for account {account!r} (403){said}; the token needs "
            f"the scopes {SCOPES}"
        )
    if 400 <= answer.status < 500:
        return _failed(f"Mastodon refused {what} ({answer.status}){said}")
    if not posting:
        return _failed(
            f"Mastodon answered {answer.status} to {what}{said}; nothing was posted",
            retryable=True,
        )
    return Outcome(
        OutcomeKind.UNKNOWN,
        reason=f"Mastodon answered {answer.status} to the post{said}; it may or may not be "
        "published",
    )


def _html_outcome(status: int, what: str, posting: bool) -> Outcome:
    if status >= 500 and posting:
        return Outcome(
            OutcomeKind.UNKNOWN,
            reason=f"a proxy in front of the instance answered {status} with an HTML error page "
            "to the post; it may or may not be published",
        )
    if status >= 500:
        return _failed(
            f"a proxy in front of the instance answered {status} with an HTML error page to "
            f"{what}; nothing was posted",
            retryable=True,
        )
    return _failed(
        f"the instance answered {what} with an HTML page ({status}), not Mastodon's API; "
        "check the account's instance address"
    )


def _failed(reason: str, retryable: bool = False) -> Outcome:
    return Outcome(OutcomeKind.FAILED, reason=reason, retryable=retryable)


def _reset(headers: Mapping[str, str]) -> datetime | None:
    value = next((v for k, v in headers.items() if k.lower() == "x-ratelimit-reset"), None)
    return network_time(value)


class MastodonChannel:
    """Publishes to Mastodon accounts. `accounts` maps an account name to its settings
    (`handle`, `instance`); `base_url` (MASTODON_BASE_URL) replaces every instance.
    Every request has the (connect, read) timeouts; `transport` is a requests adapter for
    offline tests; `sleep` waits between looks at an image still processing."""

    name = NAME
    settlement = SETTLEMENT

    def __init__(
        self,
        accounts: Mapping[str, MastodonAccount | Mapping[str, Any]],
        credentials: CredentialsProvider,
        *,
        base_url: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        transport: Any = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._accounts = {name: _account(settings) for name, settings in accounts.items()}
        self._credentials = credentials
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = (connect_timeout, read_timeout)
        self.create_seconds = connect_timeout + read_timeout
        self._transport = transport
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._session: requests.Session | None = None
        self._account_ids: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MastodonChannel(base_url={self.base_url!r}, accounts={sorted(self._accounts)!r})"

    def new_key(self, key: DeliveryKey) -> str:
        return status_key(key)

    # -- publishing --

    def publish(
        self, account: str, text: str, reply_to: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        now = self._clock()
        prepared = self._prepare(account)
        if isinstance(prepared, Outcome):
            return prepared
        base, token = prepared
        media_ids: list[str] = []
        for item in media:
            uploaded = self._upload(base, token, item, account, now, call)
            if isinstance(uploaded, Outcome):
                return uploaded
            media_ids.append(uploaded)
        stop = why_not(call)
        if stop is not None:
            return not_created(stop)
        form: dict[str, Any] = {"status": text, "visibility": "public", "media_ids[]": media_ids}
        if reply_to is not None:
            form["in_reply_to_id"] = reply_to.parent.id
        key = call.idempotency_key if call is not None and call.idempotency_key else None
        headers = _auth(token) | {"Idempotency-Key": key or f"herald-once-{uuid.uuid4().hex}"}
        try:
            response = self._http().post(
                f"{base}/api/v1/statuses", data=form, headers=headers, timeout=self.timeout
            )
        except Exception as error:
            return _network_outcome(error, posting=True)
        return self._created(read_answer(response), account, now)

    def _prepare(self, account: str) -> tuple[str, str] | Outcome:
        """The instance's base URL and the account's token, or why there are none."""
        try:
            keys = self._credentials.keys_for(self.name, account, ("access_token",))
        except CredentialsError as error:
            return _failed(
                str(error)
                + ("; nothing was sent, a later attempt may succeed" if error.retryable else ""),
                error.retryable,
            )
        base = self._base(account)
        if base is None:
            return _failed(
                f"Mastodon account {account!r} has no instance: set accounts.mastodon."
                f"{account}.instance in the campaign"
            )
        return base, keys["access_token"]

    def _created(self, answer: Answer, account: str, now: datetime) -> Outcome:
        body = answer.body
        if not answer.ok or answer.html or not isinstance(body, Mapping):
            return outcome_for_answer(answer, stage="post", account=account, now=now)
        status_id = body.get("id")
        if not status_id:
            return Outcome(
                OutcomeKind.UNKNOWN,
                reason="Mastodon accepted the post but its answer has no status id; reconcile",
            )
        url = body.get("url") if isinstance(body.get("url"), str) else None
        return Outcome(
            OutcomeKind.SENT,
            remote_id=str(status_id),
            url=url or self._url(account, str(status_id)),
        )

    def _upload(
        self,
        base: str,
        token: str,
        item: MediaItem,
        account: str,
        now: datetime,
        call: CreateCall | None,
    ) -> str | Outcome:
        """Upload one image with its alt text and wait until Mastodon has processed it;
        its media id, or the outcome that stops the post (nothing was posted yet)."""
        try:
            content, content_type = read_media(item)
        except UnusableMedia as error:
            return _failed(str(error))
        name = item.path.name
        try:
            response = self._http().post(
                f"{base}/api/v2/media",
                files={"file": (name, content, content_type)},
                data={"description": item.alt},
                headers=_auth(token),
                timeout=self.timeout,
            )
        except Exception as error:
            return _about(_network_outcome(error, posting=False), name)
        answer = read_answer(response)
        body = answer.body
        if answer.status not in (200, 202) or not isinstance(body, Mapping) or not body.get("id"):
            return _about(outcome_for_answer(answer, stage="media", account=account, now=now), name)
        media_id = str(body["id"])
        if answer.status == 200 and body.get("url"):
            return media_id
        return self._await_processing(base, token, media_id, name, account, now, call)

    def _await_processing(
        self,
        base: str,
        token: str,
        media_id: str,
        name: str,
        account: str,
        now: datetime,
        call: CreateCall | None,
    ) -> str | Outcome:
        """Poll an image until Mastodon processed it (200), bounded by the invocation's time
        left (keeping enough for the create call) and by MEDIA_WAIT_LIMIT."""
        started, slept = time.monotonic(), 0.0
        while True:
            try:
                response = self._http().get(
                    f"{base}/api/v1/media/{media_id}", headers=_auth(token), timeout=self.timeout
                )
            except Exception as error:
                return _about(_network_outcome(error, posting=False), name)
            answer = read_answer(response)
            if answer.status == 200:
                return media_id
            if answer.status != 206:
                return _about(
                    outcome_for_answer(answer, stage="media", account=account, now=now), name
                )
            waited = max(time.monotonic() - started, slept)
            if not self._time_to_wait(call, waited):
                return not_created(
                    f"Mastodon was still processing {name} when the time to wait for it ran "
                    f"out ({waited:.0f} s); nothing was posted"
                )
            self._sleep(POLL_SECONDS)
            slept += POLL_SECONDS

    def _time_to_wait(self, call: CreateCall | None, waited: float) -> bool:
        if waited + POLL_SECONDS > MEDIA_WAIT_LIMIT:
            return False
        remaining = call.remaining if call is not None else None
        if remaining is None:
            return True
        # the next look, then the create call and recording its outcome (CREATE_MARGIN)
        needed = POLL_SECONDS + self.timeout[1] + self.create_seconds + CREATE_MARGIN
        return remaining() > needed

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
        """SENT with the status's id and URL if `account` posted `text` at or after `since`
        (less CLOCK_SKEW); None if it is not among its statuses. Each candidate's source
        text is compared, never its HTML content. Raises MastodonLookupError when the
        account cannot be read: an error is never reported as "not there". Mastodon has no
        lookup by Idempotency-Key; the key is not used here."""
        prepared = self._prepare(account)
        if isinstance(prepared, Outcome):
            raise MastodonLookupError(prepared.reason or "the account cannot be read")
        base, token = prepared
        account_id = self._account_id(base, token, account)
        earliest = since - CLOCK_SKEW
        wanted = normalized(text)
        max_id: str | None = None
        for _ in range(LOOKUP_PAGES):
            params = {"limit": "40", "exclude_reblogs": "true"} | (
                {"max_id": max_id} if max_id else {}
            )
            page = self._get(
                base, token, f"/api/v1/accounts/{account_id}/statuses", params, account
            )
            if not isinstance(page, list) or not page:
                return None
            for status in page:
                found = self._candidate(base, token, account, status, earliest, exclude_ids, wanted)
                if found is not None:
                    return found
            oldest = network_time(page[-1].get("created_at"))
            if oldest is not None and oldest < earliest:
                return None
            max_id = str(page[-1].get("id"))
        return None

    def _candidate(
        self,
        base: str,
        token: str,
        account: str,
        status: Any,
        earliest: datetime,
        exclude_ids: frozenset[str],
        wanted: str,
    ) -> Outcome | None:
        if not isinstance(status, Mapping) or not status.get("id"):
            return None
        status_id = str(status["id"])
        created = network_time(status.get("created_at"))
        if status_id in exclude_ids or (created is not None and created < earliest):
            return None
        source = self._get(base, token, f"/api/v1/statuses/{status_id}/source", {}, account)
        if not isinstance(source, Mapping) or normalized(str(source.get("text", ""))) != wanted:
            return None
        url = status.get("url") if isinstance(status.get("url"), str) else None
        return Outcome(
            OutcomeKind.SENT,
            remote_id=status_id,
            url=url or self._url(account, status_id),
            reason="found on the account by reconciliation",
        )

    def _account_id(self, base: str, token: str, account: str) -> str:
        known = self._account_ids.get(account)
        if known:
            return known
        settings = self._accounts.get(account)
        username = settings.username if settings else account
        found = self._get(base, token, "/api/v1/accounts/lookup", {"acct": username}, account)
        if not isinstance(found, Mapping) or not found.get("id"):
            raise MastodonLookupError(f"Mastodon did not say the id of account {account!r}")
        self._account_ids[account] = str(found["id"])
        return self._account_ids[account]

    def _get(
        self, base: str, token: str, path: str, params: Mapping[str, str], account: str
    ) -> Any:
        try:
            response = self._http().get(
                f"{base}{path}", params=params, headers=_auth(token), timeout=self.timeout
            )
        except Exception as error:
            raise MastodonLookupError(
                f"cannot read the statuses of Mastodon account {account!r}: {what_happened(error)}"
            ) from None
        answer = read_answer(response)
        if not answer.ok or answer.body is None:
            kind = "an HTML page" if answer.html else f"{answer.status}{_error_text(answer)}"
            advice = "; reconnect the account" if answer.status == 401 else ""
            raise MastodonLookupError(
                f"cannot read the statuses of Mastodon account {account!r}: the instance "
                f"answered {kind}{advice}"
            )
        return answer.body

    # -- plumbing --

    def _base(self, account: str) -> str | None:
        if self.base_url:
            return self.base_url
        settings = self._accounts.get(account)
        instance = settings.instance if settings else None
        return instance.rstrip("/") if instance else None

    def _url(self, account: str, status_id: str) -> str:
        settings = self._accounts.get(account)
        instance = (settings.instance if settings else None) or self.base_url or ""
        username = settings.username if settings else account
        return f"{instance.rstrip('/')}/@{username}/{status_id}"

    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = new_session(self._transport)
        return self._session

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()


def _account(settings: MastodonAccount | Mapping[str, Any]) -> MastodonAccount:
    if isinstance(settings, MastodonAccount):
        return settings
    instance = settings.get("instance")
    return MastodonAccount(
        handle=str(settings.get("handle") or ""), instance=str(instance) if instance else None
    )


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _network_outcome(error: BaseException, *, posting: bool) -> Outcome:
    if never_sent(error):
        return _failed(
            "could not connect to the Mastodon instance; nothing was sent", retryable=True
        )
    if unusable_address(error):
        return _failed("the Mastodon instance address is not usable; nothing was sent")
    happened = what_happened(error)
    if not posting:
        return _failed(f"{happened} during the image upload; nothing was posted", retryable=True)
    return Outcome(OutcomeKind.UNKNOWN, reason=f"{happened}; the post may or may not be published")


def _about(outcome: Outcome, file_name: str) -> Outcome:
    return replace(outcome, reason=f"{file_name}: {outcome.reason}")
