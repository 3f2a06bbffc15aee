"""What the channels that speak plain HTTP (Mastodon, Facebook Pages) share: a requests
session whose every call has a timeout, an answer read as JSON or recognised as an HTML
page, and what a network error means for a post (sent or never sent).

requests is imported on first use only: a tick with nothing due never loads it.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 3.05
DEFAULT_READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as a channel reads it: its status, headers, and its body as JSON
    (None when it is not JSON); `html` when the body is a web page (a proxy's error page,
    or a site that is not the network's API)."""

    status: int
    headers: Mapping[str, str]
    body: Any
    html: bool

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def read_answer(response: requests.Response) -> Answer:
    content_type = response.headers.get("Content-Type", "").lower()
    try:
        body = response.json()
    except ValueError:
        body = None
    looks_html = "html" in content_type or response.text.lstrip()[:15].lower().startswith(
        ("<!doctype html", "<html")
    )
    return Answer(response.status_code, response.headers, body, body is None and looks_html)


def new_session(transport: Any = None) -> requests.Session:
    """A session for one channel; `transport` (a requests adapter) serves every URL in
    offline tests."""
    import requests

    session = requests.Session()
    if transport is not None:
        session.mount("http://", transport)
        session.mount("https://", transport)
    return session


def never_sent(error: BaseException) -> bool:
    """True only when no connection was made (refused, no DNS, connect timeout): then the
    request never left. A TLS error is no proof: urllib3 raises the same error for a failed
    handshake and for a record it cannot decrypt while reading the answer."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(error, requests.exceptions.ConnectionError) or isinstance(
        error, requests.exceptions.SSLError
    ):
        return False
    for arg in getattr(error, "args", ()):
        if isinstance(arg, MaxRetryError):
            return isinstance(arg.reason, NewConnectionError | ConnectTimeoutError)
        if isinstance(arg, NewConnectionError):
            return True
    return False


def unusable_address(error: BaseException) -> bool:
    import requests

    exceptions = requests.exceptions
    return isinstance(
        error, exceptions.InvalidURL | exceptions.MissingSchema | exceptions.InvalidSchema
    )


def what_happened(error: BaseException) -> str:
    """A sentence's worth on a network error once the request may have been sent, without
    secrets: class names only, and the OpenSSL reason of a TLS error."""
    import requests

    exceptions = requests.exceptions
    if isinstance(error, exceptions.Timeout):
        return "no answer within the read timeout"
    if isinstance(error, exceptions.SSLError):
        return f"a TLS error once the request may have been sent ({cause(error)})"
    if isinstance(error, exceptions.ConnectionError | exceptions.ChunkedEncodingError):
        return f"the connection was lost after the request was sent ({cause(error)})"
    log.warning("unexpected %s during a channel call", type(error).__name__)
    return f"unexpected {type(error).__name__}"


def cause(error: BaseException) -> str:
    """The class names of an error and what it wraps, and a TLS error's reason code."""
    names = [type(error).__name__]
    pending = list(getattr(error, "args", ()))
    seen = 0
    while pending and seen < 8:
        seen += 1
        arg = pending.pop(0)
        if not isinstance(arg, BaseException):
            continue
        names.append(type(arg).__name__)
        reason = getattr(arg, "reason", None)
        if isinstance(arg, ssl.SSLError) and isinstance(reason, str):
            names.append(reason)
        elif isinstance(reason, BaseException):
            pending.append(reason)
        pending.extend(getattr(arg, "args", ()))
    return ", ".join(dict.fromkeys(names))


def shorten(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"
