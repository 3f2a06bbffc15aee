"""XRPC over HTTP for the Bluesky channel: one logged-in session per account, kept for the
container's life, on plain `requests` (already in the layer for tweepy).

A session is made once with `com.atproto.server.createSession` (the identifier and app
password), which Bluesky limits to 30 per 5 minutes and 300 per day: never one per post.
When the access token expires (`ExpiredToken`), it is renewed once with the refresh token
(`refreshSession`, which rotates it); only when that is refused too is a new session made.
Every request has explicit (connect, read) timeouts. A method whose `ratelimit-remaining`
reached 0 is not called again before its `ratelimit-reset`: the call fails at once as a
429 would. Nothing here sleeps or retries a
request that may have been processed: a refused token is the one case repeated, because
the server refused it before doing anything.

Errors are raised as `XrpcError` (the server answered: status, XRPC error name, message,
and when to try again after a 429) or as `requests` exceptions (it did not). Messages never
carry the app password or a token.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

DEFAULT_CONNECT_TIMEOUT = 3.05
DEFAULT_READ_TIMEOUT = 10.0
RATE_LIMIT_FALLBACK = timedelta(minutes=5)  # createSession's window, when no header says
_TOKEN_ERRORS = ("ExpiredToken", "InvalidToken")


class XrpcError(Exception):
    """The server answered a call with an error."""

    def __init__(
        self, method: str, status: int, error: str, message: str, retry_at: datetime | None
    ) -> None:
        self.method = method
        self.status = status
        self.error = error
        self.message = message
        self.retry_at = retry_at
        said = f" {error}" if error else ""
        super().__init__(f"{method} answered {status}{said}{': ' + message if message else ''}")


@dataclass(frozen=True)
class Login:
    """Who a session is: the DID and handle the server says the app password belongs to."""

    did: str
    handle: str


class XrpcSession:
    """One account's session on one service. `call()` makes an authenticated call, logging
    in first if needed; `login` says whose session it is. Safe to share between threads."""

    def __init__(
        self,
        service: str,
        login_keys: Callable[[], tuple[str, str]],
        http: requests.Session,
        timeout: tuple[float, float] = (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT),
    ) -> None:
        self.service = service.rstrip("/")
        # (identifier, app password), read afresh for each new session: an app password
        # rotated in the secret is used from the next login on.
        self._login_keys = login_keys
        self._http = http
        self.timeout = timeout
        self._lock = threading.Lock()
        self._access: str | None = None
        self._refresh: str | None = None
        self.login: Login | None = None
        # per method: until when the server said no request of it is left (ratelimit-*)
        self._spent_until: dict[str, datetime] = {}
        self.sessions_created = 0  # createSession calls made (the scarce ones)

    def __repr__(self) -> str:
        return f"XrpcSession(service={self.service!r}, login={self.login!r})"

    def ensure_login(self) -> Login:
        """The session's DID and handle, logging in if there is no session yet."""
        with self._lock:
            if self.login is None:
                self._create_session()
            assert self.login is not None
            return self.login

    def call(
        self,
        method: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """One authenticated call: a procedure (POST) when `body` or `data` is given, else a
        query (GET). The answer's JSON; XrpcError if the server refused it."""
        self.ensure_login()
        for attempt in range(2):
            token = self._access
            try:
                return self._send(method, params, body, data, content_type, token)
            except XrpcError as error:
                if error.error not in _TOKEN_ERRORS or attempt == 1:
                    raise
                self._renew(token)
        raise AssertionError("unreachable")  # pragma: no cover

    def query(self, method: str, params: Mapping[str, str]) -> dict[str, Any]:
        """An unauthenticated query (resolveHandle, getRecord: public reads)."""
        return self._send(method, params, None, None, None, None)

    def _renew(self, stale: str | None) -> None:
        """Refresh the session whose access token `stale` was refused, once per token."""
        with self._lock:
            if self._access != stale:
                return  # another thread renewed it meanwhile
            try:
                answer = self._send(
                    "com.atproto.server.refreshSession", None, {}, None, None, self._refresh
                )
            except XrpcError as error:
                if error.error not in _TOKEN_ERRORS and error.status != 401:
                    raise
                self._create_session()
                return
            self._keep(answer)

    def _create_session(self) -> None:
        identifier, password = self._login_keys()
        self.sessions_created += 1
        body = {"identifier": identifier, "password": password}
        self._keep(self._send("com.atproto.server.createSession", None, body, None, None, None))

    def _keep(self, answer: Mapping[str, Any]) -> None:
        self._access = str(answer.get("accessJwt", ""))
        self._refresh = str(answer.get("refreshJwt", ""))
        self.login = Login(str(answer.get("did", "")), str(answer.get("handle", "")))

    def _send(
        self,
        method: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        data: bytes | None,
        content_type: str | None,
        token: str | None,
    ) -> dict[str, Any]:
        spent = self._spent_until.get(method)
        if spent is not None and spent > datetime.now(UTC):
            # the server said this limit has no request left until `spent`: do not ask
            raise XrpcError(method, 429, "RateLimitExceeded", "none left until its reset", spent)
        url = f"{self.service}/xrpc/{method}"
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if data is not None:
            headers["content-type"] = content_type or "application/octet-stream"
            response = self._http.post(url, data=data, headers=headers, timeout=self.timeout)
        elif body is not None:
            response = self._http.post(url, json=body, headers=headers, timeout=self.timeout)
        else:
            response = self._http.get(url, params=params, headers=headers, timeout=self.timeout)
        self._note_limit(method, response.headers)
        answer = _json(response)
        if response.status_code != 200:
            raise XrpcError(
                method,
                response.status_code,
                str(answer.get("error", "")),
                _short(str(answer.get("message", ""))),
                retry_at(response.status_code, response.headers),
            )
        return answer

    def _note_limit(self, method: str, headers: Mapping[str, str]) -> None:
        """Remember when a method's limit has nothing left (`ratelimit-remaining: 0`)."""
        lowered = {name.lower(): str(value).strip() for name, value in headers.items()}
        if lowered.get("ratelimit-remaining") != "0":
            self._spent_until.pop(method, None)
            return
        with contextlib.suppress(KeyError, ValueError, OverflowError, OSError):
            reset = int(lowered["ratelimit-reset"])
            self._spent_until[method] = datetime.fromtimestamp(reset, UTC)


def retry_at(
    status: int, headers: Mapping[str, str], now: datetime | None = None
) -> datetime | None:
    """When a 429 may be tried again: `ratelimit-reset` (epoch seconds), else `Retry-After`
    (seconds), else the fallback window; None for any other status."""
    if status != 429:
        return None
    now = now or datetime.now(UTC)
    lowered = {name.lower(): str(value).strip() for name, value in headers.items()}
    try:
        return datetime.fromtimestamp(int(lowered["ratelimit-reset"]), UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        pass
    try:
        return now + timedelta(seconds=max(0, int(lowered["retry-after"])))
    except (KeyError, ValueError):
        return now + RATE_LIMIT_FALLBACK


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
