"""A fake X API v2 over real HTTP on loopback, for tests, benchmarks and `sam local`.

It speaks the few endpoints herald uses (POST /2/tweets, POST /2/media/upload,
POST /2/media/metadata, GET /2/users/me, GET /2/users/:id/tweets), checks every request's
OAuth 1.0a HMAC-SHA1 signature against the credentials it was given, records what was
published, and fails on demand the ways X fails: 429 with `x-rate-limit-reset`, 5xx, a hang,
a dropped connection after the post was accepted, 400/401/403 with X's error bodies.

In a test:

    with FakeX({"x": {"acct": {...four OAuth keys...}}}) as fake:
        ...point the X channel at fake.url...
        fake.fail_next(TWEETS, FaultKind.DROP_AFTER_ACCEPT)
        assert fake.posts[0].text == "..."

From a shell (for `sam local`): `python -m herald_dev.fake_x --port 8787 --credentials FILE`;
other processes inject faults with `POST /__control/faults` (see `_control`).

For soaks: `set_random_faults(rate, seed=...)` fails a seeded random share of requests the
ways listed in `RANDOM_FAULT_KINDS`, `set_timeline_lag(seconds)` hides each post from the
account's timeline for that long after it was made, and `refuse_duplicates = False` lets a
second copy of a text through, so that a double post is counted instead of refused.
Only the standard library is used, so the fake cannot share a bug with the client's stack.

From herald it takes one thing: herald.media's table of image kinds, the kinds X takes.
"""

from __future__ import annotations

import argparse
import base64
import email.parser
import email.policy
import hashlib
import hmac
import html
import itertools
import json
import random
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from herald.media import image_type
from herald_dev.loopback import LoopbackService, add_host_option, parse_hosts

TWEETS = "POST /2/tweets"
MEDIA_UPLOAD = "POST /2/media/upload"
MEDIA_METADATA = "POST /2/media/metadata"
USERS_ME = "GET /2/users/me"
USER_TWEETS = "GET /2/users/:id/tweets"
ANY_ENDPOINT = "*"
ENDPOINTS = (TWEETS, MEDIA_UPLOAD, MEDIA_METADATA, USERS_ME, USER_TWEETS)

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."

_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/2/tweets"), TWEETS),
    ("POST", re.compile(r"/2/media/upload"), MEDIA_UPLOAD),
    ("POST", re.compile(r"/2/media/metadata"), MEDIA_METADATA),
    ("GET", re.compile(r"/2/users/me"), USERS_ME),
    ("GET", re.compile(r"/2/users/(?P<id>[0-9]+)/tweets"), USER_TWEETS),
)

_INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"
_MEDIA_CATEGORIES = ("tweet_image", "tweet_gif")
_URL = re.compile(r"https?://[^\s<>\"]+")
_URL_TRAILING = ".,:;!?'\")]"  # punctuation X leaves out of a link at its end
_DISPLAY_URL_LENGTH = 26  # X shortens display_url with an ellipsis past about this

# What `set_random_faults` draws from, uniformly: a 5xx with nothing done; a 5xx after the
# request was processed (the post exists); the connection closed after processing; no answer
# (a client read timeout), with or without processing; a burst of 429s (every request of that
# account to that endpoint answers 429 until the reset, on the fake's clock).
RANDOM_FAULT_KINDS = (
    "server_error",
    "server_error_after_accept",
    "drop_after_accept",
    "hang",
    "hang_after_accept",
    "rate_limit",
)
RATE_LIMIT_BURST = "rate_limit_burst"  # a 429 that belongs to a burst already drawn


class FaultKind(StrEnum):
    RATE_LIMIT = "rate_limit"  # 429 with x-rate-limit-reset
    SERVER_ERROR = "server_error"  # 500 (or status=503)
    HANG = "hang"  # no answer for `seconds`, then the connection closes
    DROP = "drop"  # connection closed at once, request not processed
    DROP_AFTER_ACCEPT = "drop_after_accept"  # processed and recorded, then closed unanswered
    BAD_REQUEST = "bad_request"  # 400
    UNAUTHORIZED = "unauthorized"  # 401
    FORBIDDEN = "forbidden"  # 403 (detail=DUPLICATE_DETAIL imitates a duplicate)


@dataclass
class Fault:
    """An injected failure for the next `remaining` requests to `endpoint`."""

    endpoint: str
    kind: FaultKind
    remaining: int = 1
    status: int | None = None
    reset_at: int | None = None
    seconds: float = 10.0
    accept: bool = False
    detail: str | None = None


@dataclass
class RandomFaults:
    """A seeded random share of requests failed, for soaks (see `FakeX.set_random_faults`)."""

    rate: float
    rng: random.Random
    kinds: tuple[str, ...]
    hang_seconds: float
    burst_seconds: tuple[float, float]
    injected: dict[str, int] = field(default_factory=dict)
    bursts: dict[tuple[str, str], int] = field(default_factory=dict)

    def draw(self, endpoint: str, account: str, now: datetime) -> Fault | None:
        """The fault for this request, if any: inside a 429 burst, the burst's 429; else,
        with probability `rate`, one of `kinds` chosen uniformly."""
        reset = self.bursts.get((account, endpoint))
        if reset is not None and now.timestamp() < reset:
            return self._count(
                RATE_LIMIT_BURST, Fault(endpoint, FaultKind.RATE_LIMIT, reset_at=reset)
            )
        if self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(self.kinds)
        if kind == "rate_limit":
            reset = int(now.timestamp() + self.rng.uniform(*self.burst_seconds)) + 1
            self.bursts[(account, endpoint)] = reset
            return self._count(kind, Fault(endpoint, FaultKind.RATE_LIMIT, reset_at=reset))
        accept = kind.endswith("_after_accept")
        base = FaultKind(kind.removesuffix("_after_accept"))
        status = self.rng.choice((500, 502, 503, 504)) if base is FaultKind.SERVER_ERROR else None
        fault = Fault(endpoint, base, status=status, seconds=self.hang_seconds, accept=accept)
        return self._count(kind, fault)

    def _count(self, kind: str, fault: Fault) -> Fault:
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return fault


@dataclass(frozen=True)
class PublishedMedia:
    id: str
    media_key: str
    alt: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class PublishedPost:
    id: str
    account: str
    user_id: str
    text: str
    reply_to: str | None
    media: tuple[PublishedMedia, ...]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        value = asdict(self)
        value["created_at"] = _iso(self.created_at)
        return value


@dataclass(frozen=True)
class LoggedRequest:
    at: datetime
    method: str
    path: str
    endpoint: str | None
    account: str | None
    status: int | None  # None: no response was sent (hang, drop)
    fault: str | None

    def to_json(self) -> dict[str, Any]:
        value = asdict(self)
        value["at"] = _iso(self.at)
        return value


@dataclass
class _Account:
    name: str
    keys: dict[str, str]
    user_id: str
    handle: str


@dataclass
class _Media:
    id: str
    media_key: str
    account: str
    content_type: str
    size: int
    alt: str | None = None


@dataclass
class _Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _problem(status: int, title: str, detail: str, type_: str = "about:blank") -> _Response:
    return _Response(status, {"title": title, "detail": detail, "type": type_, "status": status})


def _invalid(message: str, parameter: str, value: object) -> _Response:
    return _Response(
        400,
        {
            "errors": [{"parameters": {parameter: [str(value)]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": _INVALID_REQUEST,
        },
    )


# --- how X rewrites links --------------------------------------------------------------


def _link_spans(text: str) -> list[tuple[int, int]]:
    """Where the links of `text` are, without the punctuation that ends a sentence."""
    spans = []
    for match in _URL.finditer(text):
        end = match.end()
        while end > match.start() and text[end - 1] in _URL_TRAILING:
            end -= 1
        spans.append((match.start(), end))
    return spans


def _tco(seed: str) -> str:
    return "https://t.co/" + hashlib.sha1(seed.encode()).hexdigest()[:10]


def _display_url(link: str) -> str:
    shown = re.sub(r"^https?://", "", link)
    if len(shown) > _DISPLAY_URL_LENGTH:
        shown = shown[: _DISPLAY_URL_LENGTH - 1] + "…"
    return shown


def _url_entity(start: int, short: str, expanded: str, display: str) -> dict[str, Any]:
    return {
        "start": start,
        "end": start + len(short),
        "url": short,
        "expanded_url": expanded,
        "display_url": display,
    }


# --- OAuth 1.0a (RFC 5849), checked independently of the client's libraries ---------------


def _encode(value: str) -> str:
    """RFC 3986 percent-encoding: everything but unreserved characters."""
    return quote(value.encode("utf-8"), safe="~")


def parse_oauth_header(header: str | None) -> dict[str, str] | None:
    """The parameters of an `Authorization: OAuth ...` header, decoded; None if not OAuth."""
    if not header or not header.strip().lower().startswith("oauth "):
        return None
    pairs = re.findall(r'([A-Za-z0-9_]+)="([^"]*)"', header.strip()[6:])
    return {unquote(k): unquote(v) for k, v in pairs}


def oauth1_signature(
    method: str,
    base_uri: str,
    params: Iterable[tuple[str, str]],
    consumer_secret: str,
    token_secret: str,
) -> str:
    """The HMAC-SHA1 signature of a request (RFC 5849 section 3.4)."""
    encoded = sorted((_encode(k), _encode(v)) for k, v in params)
    normalized = "&".join(f"{k}={v}" for k, v in encoded)
    base_string = "&".join((method.upper(), _encode(base_uri), _encode(normalized)))
    key = f"{_encode(consumer_secret)}&{_encode(token_secret)}"
    digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _base_uri(host_header: str, path: str) -> str:
    host = host_header.strip().lower()
    if host.endswith(":80"):
        host = host[:-3]
    return f"http://{host}{path}"


# --- the server ----------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # stop() joins every handler: hangs are bounded and interruptible
    block_on_close = True
    fake: FakeX


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 5  # a client that connects and says nothing cannot hold a thread for long
    protocol_version = "HTTP/1.0"  # one request per connection: nothing idles at shutdown

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            sys.stderr.write(f"fake X: {format % args}\n")


class FakeX(LoopbackService):
    """The fake X API. Start it with `start()` or `with FakeX(...) as fake:`; `url` is its base.

    `secret` is in the Secrets Manager secret's shape (`{"x": {account: {four keys}}}`);
    `accounts` optionally gives each account a `handle` and a numeric `user_id`.
    Posts read back as X returns them (`render_like_x`, the default): each link replaced
    by a t.co link, `&`, `<`, `>` escaped, a t.co media link appended to a post with media,
    and, with `tweet.fields=entities`, `entities.urls` giving each t.co link's `url`,
    `expanded_url`, `display_url` (and the media link's `media_key`). With
    `render_like_x=False` they read back exactly as posted, without entities.
    """

    server_class = _Server
    handler_class = _Handler
    thread_name = "fake-x"
    # X refuses a text its account already posted (403); False lets the copy through (soaks
    # count double posts on the fake instead of relying on the refusal).
    refuse_duplicates = True
    _random_faults: RandomFaults | None = None  # set_random_faults
    _timeline_lag = 0.0  # set_timeline_lag

    def __init__(
        self,
        secret: Mapping[str, Any] | None = None,
        *,
        accounts: Mapping[str, Mapping[str, str]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        extra_hosts: Sequence[str] = (),
        latency: float = 0.0,
        render_like_x: bool = True,
        max_hang: float = 60.0,
        clock: Callable[[], datetime] | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(host, port, extra_hosts)
        self.render_like_x = render_like_x
        self.max_hang = max_hang
        self.verbose = verbose
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._ids = itertools.count(1_358_000_000_000_000_001)
        self._user_ids = itertools.count(2_000_000_001)
        self._accounts: dict[str, _Account] = {}
        self._wake = threading.Event()
        self._reset_state()
        self._latency = latency
        for name, keys in ((secret or {}).get("x") or {}).items():
            settings = (accounts or {}).get(name, {})
            self.add_account(
                name, keys, handle=settings.get("handle"), user_id=settings.get("user_id")
            )

    # -- life cycle: herald_dev.loopback.LoopbackService --

    def _before_shutdown(self) -> None:
        self._wake.set()  # a hung handler returns at once, so stop() can join it

    # -- accounts --

    def add_account(
        self,
        name: str,
        keys: Mapping[str, str],
        *,
        handle: str | None = None,
        user_id: str | None = None,
    ) -> None:
        """Accept requests signed with these OAuth 1.0a keys, as the user `handle`."""
        needed = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
        missing = [k for k in needed if not keys.get(k)]
        if missing:
            raise ValueError(f"account {name!r} lacks {', '.join(missing)}")
        with self._lock:
            self._accounts[name] = _Account(
                name=name,
                keys={k: str(keys[k]) for k in needed},
                user_id=str(user_id or next(self._user_ids)),
                handle=handle or name,
            )

    def user_id(self, account: str) -> str:
        with self._lock:
            return self._accounts[account].user_id

    # -- inspection --

    @property
    def posts(self) -> list[PublishedPost]:
        """Every published post, oldest first (a copy)."""
        with self._lock:
            return list(self._posts)

    def posts_by(self, account: str) -> list[PublishedPost]:
        return [p for p in self.posts if p.account == account]

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    @property
    def counts(self) -> dict[str, int]:
        """Requests received per endpoint (`TWEETS`, ...), whatever their outcome."""
        with self._lock:
            return dict(self._counts)

    # -- fault injection --

    def fail_next(
        self,
        endpoint: str,
        kind: FaultKind | str,
        times: int = 1,
        *,
        status: int | None = None,
        reset_at: int | None = None,
        reset_in: float = 60.0,
        seconds: float = 10.0,
        accept: bool = False,
        detail: str | None = None,
    ) -> None:
        """Make the next `times` requests to `endpoint` (or `ANY_ENDPOINT`) fail as `kind`.

        RATE_LIMIT answers 429 with `x-rate-limit-reset` = `reset_at` (epoch seconds; default
        now + `reset_in`). SERVER_ERROR answers `status` (500 or 503); with `accept=True`
        the request is processed (a post recorded) first. HANG waits `seconds`
        (bounded by `max_hang`) then closes unanswered; with `accept=True` the request is
        processed (a post recorded) before the hang. DROP closes at once, unprocessed;
        DROP_AFTER_ACCEPT processes and records, then closes unanswered. BAD_REQUEST,
        UNAUTHORIZED and FORBIDDEN answer 400, 401, 403 with X's bodies (`detail` overrides).
        Faults apply to authenticated requests, in the order they were injected.
        """
        if endpoint != ANY_ENDPOINT and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        fault_kind = FaultKind(kind)
        if fault_kind is FaultKind.SERVER_ERROR and status not in (None, 500, 502, 503, 504):
            raise ValueError("a server error is 500, 502, 503 or 504")
        if fault_kind is FaultKind.RATE_LIMIT and reset_at is None:
            reset_at = int(self._clock().timestamp() + reset_in)
        fault = Fault(
            endpoint=endpoint,
            kind=fault_kind,
            remaining=times,
            status=status,
            reset_at=reset_at,
            seconds=min(max(seconds, 0.0), self.max_hang),
            accept=accept,
            detail=detail,
        )
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def set_latency(self, seconds: float) -> None:
        """Delay every API request by `seconds` (benchmarks)."""
        with self._lock:
            self._latency = max(seconds, 0.0)

    def set_random_faults(
        self,
        rate: float,
        *,
        seed: int = 0,
        kinds: Iterable[str] = RANDOM_FAULT_KINDS,
        hang_seconds: float = 10.0,
        burst_seconds: tuple[float, float] = (30.0, 180.0),
    ) -> None:
        """Fail a random share `rate` (0..1) of authenticated requests that no queued fault
        (`fail_next`) claims, drawing with `random.Random(seed)` from `kinds` (see
        `RANDOM_FAULT_KINDS`). A hang lasts `hang_seconds` (bounded by `max_hang`); a 429
        burst lasts a uniform `burst_seconds` of the fake's clock, and its reset header says
        when it ends. `rate=0` turns them off."""
        chosen = tuple(kinds)
        unknown = sorted(set(chosen) - set(RANDOM_FAULT_KINDS))
        if unknown or not chosen:
            raise ValueError(f"random fault kinds are some of {', '.join(RANDOM_FAULT_KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the fault rate is between 0 and 1")
        low, high = burst_seconds
        if not 0.0 <= low <= high:
            raise ValueError("burst_seconds is (shortest, longest), both at least 0")
        faults = RandomFaults(
            rate=rate,
            rng=random.Random(seed),
            kinds=chosen,
            hang_seconds=min(max(hang_seconds, 0.0), self.max_hang),
            burst_seconds=(low, high),
        )
        with self._lock:
            self._random_faults = faults if rate > 0 else None

    @property
    def random_fault_counts(self) -> dict[str, int]:
        """Random faults injected so far, by kind (and `RATE_LIMIT_BURST` for the 429s that
        followed a drawn one)."""
        with self._lock:
            faults = self._random_faults
            return dict(faults.injected) if faults is not None else {}

    def set_timeline_lag(self, seconds: float) -> None:
        """Leave a post out of the account's timeline (`GET /2/users/:id/tweets`) until
        `seconds` of the fake's clock after it was made, as X's timeline lags its writes."""
        with self._lock:
            self._timeline_lag = max(seconds, 0.0)

    def reset(self) -> None:
        """Forget posts, media, faults, the request log and counters; keep the accounts."""
        with self._lock:
            self._reset_state()

    def _reset_state(self) -> None:
        self._wake.set()  # ends any hang still running from before
        self._wake = threading.Event()
        self._posts: list[PublishedPost] = []
        self._media: dict[str, _Media] = {}
        self._faults: list[Fault] = []
        self._log: list[LoggedRequest] = []
        self._counts: dict[str, int] = {}
        self._nonces: set[tuple[str, str, str]] = set()
        self._latency = 0.0
        self._random_faults = None
        self._timeline_lag = 0.0

    # -- request handling --

    def _handle(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        path, query = split.path, split.query
        method = handler.command
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = handler.rfile.read(length) if length > 0 else b""

        if path.startswith("/__control/"):
            self._send(handler, self._control(method, path, body))
            return

        with self._lock:
            latency, wake = self._latency, self._wake
        if latency:
            wake.wait(latency)

        endpoint, path_params = self._route(method, path)
        if endpoint is None:
            response = _problem(404, "Not Found Error", f"no route for {method} {path}")
            self._record(method, path, None, None, response.status, None)
            self._send(handler, response)
            return

        account_or_error = self._authenticate(handler, method, path, query, body)
        if isinstance(account_or_error, _Response):
            self._count(endpoint)
            self._record(method, path, endpoint, None, 401, None)
            self._send(handler, account_or_error)
            return
        account = account_or_error

        fault = self._take_fault(endpoint)
        if fault is None:
            fault = self._random_fault(endpoint, account.name)
        if fault is None:
            response = self._process(endpoint, path_params, query, body, handler, account)
            self._record(method, path, endpoint, account.name, response.status, None)
            self._send(handler, response)
            return

        if fault.kind in (FaultKind.DROP, FaultKind.DROP_AFTER_ACCEPT, FaultKind.HANG):
            if fault.kind is FaultKind.DROP_AFTER_ACCEPT or fault.accept:
                self._process(endpoint, path_params, query, body, handler, account)
            self._record(method, path, endpoint, account.name, None, fault.kind.value)
            if fault.kind is FaultKind.HANG:
                wake.wait(fault.seconds)
            handler.close_connection = True  # the socket closes with no response at all
            return

        if fault.kind is FaultKind.SERVER_ERROR and fault.accept:
            self._process(endpoint, path_params, query, body, handler, account)
        response = self._fault_response(fault)
        self._record(method, path, endpoint, account.name, response.status, fault.kind.value)
        self._send(handler, response)

    def _route(self, method: str, path: str) -> tuple[str | None, dict[str, str]]:
        for route_method, pattern, endpoint in _ROUTES:
            match = pattern.fullmatch(path)
            if match and method == route_method:
                return endpoint, match.groupdict()
        return None, {}

    def _authenticate(
        self, handler: _Handler, method: str, path: str, query: str, body: bytes
    ) -> _Account | _Response:
        refused = _problem(401, "Unauthorized", "Unauthorized")
        oauth = parse_oauth_header(handler.headers.get("Authorization"))
        if oauth is None or oauth.get("oauth_signature_method") != "HMAC-SHA1":
            return refused
        if oauth.get("oauth_version", "1.0") != "1.0":
            return refused
        signature = oauth.get("oauth_signature", "")
        nonce, timestamp = oauth.get("oauth_nonce", ""), oauth.get("oauth_timestamp", "")
        if not (signature and nonce and timestamp):
            return refused
        with self._lock:
            account = next(
                (
                    a
                    for a in self._accounts.values()
                    if a.keys["consumer_key"] == oauth.get("oauth_consumer_key")
                    and a.keys["access_token"] == oauth.get("oauth_token")
                ),
                None,
            )
        if account is None:
            return refused
        params = [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
        params += parse_qsl(query, keep_blank_values=True)
        content_type = handler.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            params += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        expected = oauth1_signature(
            method,
            _base_uri(handler.headers.get("Host", ""), path),
            params,
            account.keys["consumer_secret"],
            account.keys["access_token_secret"],
        )
        if not hmac.compare_digest(expected, signature):
            return refused
        with self._lock:
            seen = (account.keys["consumer_key"], nonce, timestamp)
            if seen in self._nonces:
                return refused  # a replayed request
            self._nonces.add(seen)
        return account

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            self._counts[endpoint] = self._counts.get(endpoint, 0) + 1
            for fault in self._faults:
                if fault.endpoint in (endpoint, ANY_ENDPOINT):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _random_fault(self, endpoint: str, account: str) -> Fault | None:
        now = self._clock()
        with self._lock:
            faults = self._random_faults
            return faults.draw(endpoint, account, now) if faults is not None else None

    def _count(self, endpoint: str) -> None:
        with self._lock:
            self._counts[endpoint] = self._counts.get(endpoint, 0) + 1

    def _record(
        self,
        method: str,
        path: str,
        endpoint: str | None,
        account: str | None,
        status: int | None,
        fault: str | None,
    ) -> None:
        entry = LoggedRequest(self._clock(), method, path, endpoint, account, status, fault)
        with self._lock:
            self._log.append(entry)

    def _fault_response(self, fault: Fault) -> _Response:
        if fault.kind is FaultKind.RATE_LIMIT:
            response = _problem(429, "Too Many Requests", fault.detail or "Too Many Requests")
            response.headers = {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(fault.reset_at),
            }
            return response
        if fault.kind is FaultKind.SERVER_ERROR:
            status = fault.status or 500
            title = {
                500: "Internal Server Error",
                502: "Bad Gateway",
                503: "Service Unavailable",
                504: "Gateway Timeout",
            }[status]
            return _problem(status, title, fault.detail or title)
        if fault.kind is FaultKind.UNAUTHORIZED:
            return _problem(401, "Unauthorized", fault.detail or "Unauthorized")
        if fault.kind is FaultKind.FORBIDDEN:
            detail = fault.detail or "You are not permitted to perform this action."
            return _problem(403, "Forbidden", detail)
        detail = fault.detail or "One or more parameters to your request was invalid."
        return _Response(
            400, {"title": "Invalid Request", "detail": detail, "type": _INVALID_REQUEST}
        )

    def _send(self, handler: _Handler, response: _Response) -> None:
        data = b"" if response.body is None else json.dumps(response.body).encode()
        try:
            handler.send_response(response.status)
            if response.body is not None:
                handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in response.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its read timeout): nothing to tell it

    # -- the endpoints --

    def _process(
        self,
        endpoint: str,
        path_params: Mapping[str, str],
        query: str,
        body: bytes,
        handler: _Handler,
        account: _Account,
    ) -> _Response:
        if endpoint == TWEETS:
            return self._create_post(body, account)
        if endpoint == MEDIA_UPLOAD:
            return self._upload_media(body, handler.headers.get("Content-Type", ""), account)
        if endpoint == MEDIA_METADATA:
            return self._media_metadata(body, account)
        if endpoint == USERS_ME:
            return _Response(
                200,
                {
                    "data": {
                        "id": account.user_id,
                        "name": account.handle,
                        "username": account.handle,
                    }
                },
            )
        return self._user_posts(path_params["id"], query)

    def _create_post(self, body: bytes, account: _Account) -> _Response:
        try:
            request = json.loads(body or b"null")
        except ValueError:
            return _invalid("The request body is not valid JSON", "body", "")
        if not isinstance(request, dict):
            return _invalid("The request body must be a JSON object", "body", "")
        text = request.get("text")
        reply_to = (request.get("reply") or {}).get("in_reply_to_tweet_id")
        media_ids = (request.get("media") or {}).get("media_ids") or []
        if text is not None and not isinstance(text, str):
            return _invalid("`text` must be a string", "text", text)
        if not text and not media_ids:
            return _invalid("Tweet text or media is required", "text", "")
        if not isinstance(media_ids, list) or len(media_ids) > 4:
            return _invalid("A post has at most 4 media", "media.media_ids", media_ids)
        now = self._clock()
        with self._lock:
            if reply_to is not None and not any(p.id == str(reply_to) for p in self._posts):
                return _invalid(
                    f"The `in_reply_to_tweet_id` value [{reply_to}] does not exist",
                    "reply.in_reply_to_tweet_id",
                    reply_to,
                )
            media: list[PublishedMedia] = []
            for media_id in media_ids:
                item = self._media.get(str(media_id))
                if item is None or item.account != account.name:
                    return _invalid(
                        f"Your media IDs are invalid: [{media_id}]", "media.media_ids", media_id
                    )
                media.append(
                    PublishedMedia(item.id, item.media_key, item.alt, item.content_type, item.size)
                )
            if (
                text
                and self.refuse_duplicates
                and any(p.account == account.name and p.text == text for p in self._posts)
            ):
                return _problem(403, "Forbidden", DUPLICATE_DETAIL)
            post = PublishedPost(
                id=str(next(self._ids)),
                account=account.name,
                user_id=account.user_id,
                text=text or "",
                reply_to=str(reply_to) if reply_to is not None else None,
                media=tuple(media),
                created_at=now,
            )
            self._posts.append(post)
        return _Response(
            201, {"data": {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}}
        )

    def _upload_media(self, body: bytes, content_type: str, account: _Account) -> _Response:
        if not content_type.startswith("multipart/form-data"):
            return _invalid("The upload must be multipart/form-data", "media", "")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
        )
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = payload
        media = fields.get("media")
        category = fields.get("media_category", b"").decode("utf-8", "replace")
        if not media:
            return _invalid("The `media` field is required", "media", "")
        if category not in _MEDIA_CATEGORIES:
            return _invalid(
                f"The `media_category` value [{category}] is not one of "
                f"[{', '.join(_MEDIA_CATEGORIES)}]",
                "media_category",
                category,
            )
        kind = image_type(media)  # herald's table: the kinds X takes as tweet_image
        if kind is None:
            return _invalid("media type unrecognized.", "media", "")
        with self._lock:
            media_id = str(next(self._ids))
            item = _Media(media_id, f"3_{media_id}", account.name, kind, len(media))
            self._media[media_id] = item
        return _Response(
            200,
            {
                "data": {
                    "id": item.id,
                    "media_key": item.media_key,
                    "size": item.size,
                    "expires_after_secs": 86400,
                    "image": {"image_type": kind},
                }
            },
        )

    def _media_metadata(self, body: bytes, account: _Account) -> _Response:
        try:
            request = json.loads(body or b"null")
        except ValueError:
            return _invalid("The request body is not valid JSON", "body", "")
        if not isinstance(request, dict):
            return _invalid("The request body must be a JSON object", "body", "")
        media_id = str(request.get("id", ""))
        alt = ((request.get("metadata") or {}).get("alt_text") or {}).get("text")
        if not isinstance(alt, str) or not alt:
            return _invalid("`metadata.alt_text.text` is required", "metadata.alt_text", "")
        if len(alt) > 1000:
            return _invalid("Alt text is at most 1000 characters", "metadata.alt_text", len(alt))
        with self._lock:
            item = self._media.get(media_id)
            if item is None or item.account != account.name:
                return _invalid(f"The media id [{media_id}] does not exist", "id", media_id)
            item.alt = alt
        return _Response(
            200, {"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": alt}}}}
        )

    def _user_posts(self, user_id: str, query: str) -> _Response:
        params = dict(parse_qsl(query, keep_blank_values=True))
        try:
            max_results = int(params.get("max_results", "10"))
        except ValueError:
            max_results = 0
        if not 5 <= max_results <= 100:
            return _invalid(
                f"The `max_results` query parameter value [{params.get('max_results')}] "
                "is not between 5 and 100",
                "max_results",
                params.get("max_results"),
            )
        bounds: dict[str, datetime] = {}
        for name in ("start_time", "end_time"):
            if name in params:
                try:
                    bounds[name] = datetime.fromisoformat(params[name].replace("Z", "+00:00"))
                except ValueError:
                    return _invalid(f"Invalid `{name}`", name, params[name])
        with self._lock:
            if not any(a.user_id == user_id for a in self._accounts.values()):
                return _Response(
                    200,
                    {
                        "errors": [
                            {
                                "value": user_id,
                                "detail": f"Could not find user with id: [{user_id}].",
                                "title": "Not Found Error",
                                "resource_type": "user",
                                "parameter": "id",
                                "resource_id": user_id,
                                "type": "https://api.twitter.com/2/problems/resource-not-found",
                            }
                        ]
                    },
                )
            posts = [p for p in reversed(self._posts) if p.user_id == user_id]
            handle = next(a.handle for a in self._accounts.values() if a.user_id == user_id)
            posts = self._visible(posts)
        if "start_time" in bounds:
            posts = [p for p in posts if p.created_at >= bounds["start_time"]]
        if "end_time" in bounds:
            posts = [p for p in posts if p.created_at <= bounds["end_time"]]
        if "since_id" in params:
            posts = [p for p in posts if int(p.id) > int(params["since_id"])]
        start = int(params.get("pagination_token") or 0)
        page = posts[start : start + max_results]
        fields = set(params.get("tweet.fields", "").split(","))
        data = [self._listed(post, handle, fields) for post in page]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0].id, page[-1].id
        if start + max_results < len(posts):
            meta["next_token"] = str(start + max_results)
        return _Response(200, {"data": data, "meta": meta} if data else {"meta": meta})

    def _visible(self, posts: list[PublishedPost]) -> list[PublishedPost]:
        """The posts the timeline shows by now: made at least `timeline_lag` ago."""
        if not self._timeline_lag:
            return posts
        horizon = self._clock().timestamp() - self._timeline_lag
        return [p for p in posts if p.created_at.timestamp() <= horizon]

    def _listed(self, post: PublishedPost, handle: str, fields: set[str]) -> dict[str, Any]:
        """A post as GET /2/users/:id/tweets lists it, with the `fields` asked for."""
        text, urls = self._rendered(post, handle)
        item: dict[str, Any] = {"id": post.id, "text": text, "edit_history_tweet_ids": [post.id]}
        if "created_at" in fields:
            item["created_at"] = _iso(post.created_at)
        if "entities" in fields and urls:
            item["entities"] = {"urls": urls}
        return item

    def _rendered(self, post: PublishedPost, handle: str) -> tuple[str, list[dict[str, Any]]]:
        """The text as X returns it, and its `entities.urls` (indices in code points)."""
        if not self.render_like_x:
            return post.text, []
        out, urls, position = "", [], 0
        for start, end in _link_spans(post.text):
            link = post.text[start:end]
            out += html.escape(post.text[position:start], quote=False)
            short = _tco(f"{post.id} {start} {link}")
            urls.append(_url_entity(len(out), short, link, _display_url(link)))
            out += short
            position = end
        out += html.escape(post.text[position:], quote=False)
        if post.media:
            out += " "
            short = _tco(f"{post.id} media")
            expanded = f"https://x.com/{handle}/status/{post.id}/photo/1"
            entity = _url_entity(len(out), short, expanded, "pic.x.com/" + short[-10:])
            entity["media_key"] = post.media[0].media_key
            urls.append(entity)
            out += short
        return out, urls

    # -- control endpoints, for faults injected from another process --

    def _control(self, method: str, path: str, body: bytes) -> _Response:
        """`POST /__control/faults` {endpoint, kind, times, status, reset_at, reset_in, seconds,
        accept, detail}; `DELETE /__control/faults`; `POST /__control/random_faults` {rate,
        seed, kinds, hang_seconds, burst_seconds}, `GET` it for the counts;
        `POST /__control/timeline_lag` {seconds}; `POST /__control/latency` {seconds};
        `POST /__control/reset`; `GET /__control/posts`, `/requests`, `/counts`."""
        try:
            request = json.loads(body) if body else {}
        except ValueError:
            return _Response(400, {"error": "body is not JSON"})
        try:
            if (method, path) == ("POST", "/__control/faults"):
                options = {k: v for k, v in request.items() if k not in ("endpoint", "kind")}
                self.fail_next(request["endpoint"], request["kind"], **options)
                return _Response(204)
            if (method, path) == ("DELETE", "/__control/faults"):
                self.clear_faults()
                return _Response(204)
            if (method, path) == ("POST", "/__control/random_faults"):
                options = {k: v for k, v in request.items() if k != "rate"}
                if "burst_seconds" in options:
                    options["burst_seconds"] = tuple(options["burst_seconds"])
                self.set_random_faults(float(request["rate"]), **options)
                return _Response(204)
            if (method, path) == ("GET", "/__control/random_faults"):
                return _Response(200, self.random_fault_counts)
            if (method, path) == ("POST", "/__control/timeline_lag"):
                self.set_timeline_lag(float(request["seconds"]))
                return _Response(204)
            if (method, path) == ("POST", "/__control/latency"):
                self.set_latency(float(request["seconds"]))
                return _Response(204)
            if (method, path) == ("POST", "/__control/reset"):
                self.reset()
                return _Response(204)
            if (method, path) == ("GET", "/__control/posts"):
                return _Response(200, [p.to_json() for p in self.posts])
            if (method, path) == ("GET", "/__control/requests"):
                return _Response(200, [r.to_json() for r in self.requests])
            if (method, path) == ("GET", "/__control/counts"):
                return _Response(200, self.counts)
        except (KeyError, TypeError, ValueError) as error:
            return _Response(400, {"error": f"{type(error).__name__}: {error}"})
        return _Response(404, {"error": f"no control {method} {path}"})


_CLI_EPILOG = f"""\
control (from any process, no signature needed):
  POST   /__control/faults   {{"endpoint": "{TWEETS}", "kind": "rate_limit", "times": 1,
                             "reset_at": EPOCH, "status": 503, "seconds": 5,
                             "accept": false, "detail": "..."}}
         kinds: {", ".join(k.value for k in FaultKind)}
         endpoints: {", ".join(ENDPOINTS)}, {ANY_ENDPOINT}
  DELETE /__control/faults   clear faults
  POST   /__control/random_faults  {{"rate": 0.05, "seed": 1, "kinds": [...],
                             "hang_seconds": 2, "burst_seconds": [30, 180]}}
         kinds: {", ".join(RANDOM_FAULT_KINDS)}; GET it for what was injected
  POST   /__control/timeline_lag  {{"seconds": 20}}
  POST   /__control/latency  {{"seconds": 0.05}}
  POST   /__control/reset    forget posts, media, faults, log, counters, latency
  GET    /__control/posts | /__control/requests | /__control/counts
"""


def main(argv: list[str] | None = None) -> int:
    """`python -m herald_dev.fake_x`: serve the fake until interrupted."""
    from herald.credentials import CredentialsError, load_credentials_file

    parser = argparse.ArgumentParser(
        prog="python -m herald_dev.fake_x",
        description="Serve a fake X API v2 (OAuth 1.0a checked) until interrupted.",
        epilog=_CLI_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_host_option(parser)
    parser.add_argument("--port", type=int, default=8787, help="port (0: any free port)")
    parser.add_argument(
        "--credentials",
        metavar="FILE",
        help='JSON in the secret\'s shape: {"x": {"<account>": {four OAuth 1.0a keys}}}',
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument(
        "--verbatim",
        action="store_true",
        help="list posts exactly as posted (default: t.co links and entities, as X does)",
    )
    parser.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = parser.parse_args(argv)
    try:
        secret = load_credentials_file(args.credentials) if args.credentials else {}
    except CredentialsError as error:
        print(f"fake X: {error}", file=sys.stderr)
        return 2
    host, extra_hosts = parse_hosts(args.host)
    fake = FakeX(
        secret,
        host=host,
        port=args.port,
        extra_hosts=extra_hosts,
        render_like_x=not args.verbatim,
        verbose=args.verbose,
    ).start()
    fake.set_latency(args.latency)
    accounts = ", ".join(sorted(secret.get("x") or {})) or "none"
    where = ", ".join(fake.urls)
    print(f"fake X API listening on {where} (accounts: {accounts})", flush=True)
    fake.serve_until_stopped()
    return 0


if __name__ == "__main__":
    sys.exit(main())
