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
other processes inject faults with `POST /__control/faults` (`--help` lists the control
endpoints). The request log, counts, fault queue and control endpoints are
`herald_dev.fake_service`'s; X's own are its fault kinds, random faults, latency and
OAuth 1.0a checking.

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
import hashlib
import hmac
import html
import itertools
import json
import random
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Unpack
from urllib.parse import quote, unquote

from herald.media import image_type
from herald_dev.fake_service import (
    ANY_ENDPOINT,
    BaseFault,
    FakeServer,
    Request,
    Response,
    ServerOptions,
    fake_parser,
    iso_z,
    multipart_parts,
    serve_from_cli,
)

TWEETS = "POST /2/tweets"
MEDIA_UPLOAD = "POST /2/media/upload"
MEDIA_METADATA = "POST /2/media/metadata"
USERS_ME = "GET /2/users/me"
USER_TWEETS = "GET /2/users/:id/tweets"
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
class Fault(BaseFault):
    """An injected failure of the fake X API (see `FakeX.fail_next`): `reset_at` is a 429's
    `x-rate-limit-reset` (epoch seconds); `accept` has a SERVER_ERROR, HANG or DROP process
    the request first; `detail` replaces X's error text."""

    kind: FaultKind
    reset_at: int | None = None
    accept: bool = False
    detail: str | None = None

    @property
    def commits(self) -> bool:
        if self.kind is FaultKind.DROP_AFTER_ACCEPT:
            return True
        return self.accept and self.kind in (
            FaultKind.SERVER_ERROR,
            FaultKind.HANG,
            FaultKind.DROP,
        )

    @property
    def unanswered(self) -> bool:
        return self.kind in (FaultKind.DROP, FaultKind.DROP_AFTER_ACCEPT, FaultKind.HANG)

    @property
    def hangs(self) -> bool:
        return self.kind is FaultKind.HANG


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
        value["created_at"] = iso_z(self.created_at)
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


def _problem(status: int, title: str, detail: str, type_: str = "about:blank") -> Response:
    return Response(status, {"title": title, "detail": detail, "type": type_, "status": status})


def _invalid(message: str, parameter: str, value: object) -> Response:
    return Response(
        400,
        {
            "errors": [{"parameters": {parameter: [str(value)]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": _INVALID_REQUEST,
        },
    )


def _json_object(body: bytes) -> dict[str, Any] | Response:
    """The JSON object a request's body holds, or X's 400 when it holds something else."""
    try:
        request = json.loads(body or b"null")
    except ValueError:
        return _invalid("The request body is not valid JSON", "body", "")
    if not isinstance(request, dict):
        return _invalid("The request body must be a JSON object", "body", "")
    return request


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


class FakeX(FakeServer[Fault]):
    """The fake X API. Start it with `start()` or `with FakeX(...) as fake:`; `url` is its base.

    `secret` is in the Secrets Manager secret's shape (`{"x": {account: {four keys}}}`);
    `accounts` optionally gives each account a `handle` and a numeric `user_id`.
    Posts read back as X returns them (`render_like_x`, the default): each link replaced
    by a t.co link, `&`, `<`, `>` escaped, a t.co media link appended to a post with media,
    and, with `tweet.fields=entities`, `entities.urls` giving each t.co link's `url`,
    `expanded_url`, `display_url` (and the media link's `media_key`). With
    `render_like_x=False` they read back exactly as posted, without entities. `latency` delays
    every request (`set_latency`); the other keywords (`ServerOptions`: host, port, clock,
    ...) are `FakeServer`'s.
    """

    routes = _ROUTES
    thread_name = "fake-x"
    log_name = "fake X"
    # X refuses a text its account already posted (403); False lets the copy through (soaks
    # count double posts on the fake instead of relying on the refusal).
    refuse_duplicates = True
    _random_faults: RandomFaults | None  # set_random_faults

    def __init__(
        self,
        secret: Mapping[str, Any] | None = None,
        *,
        accounts: Mapping[str, Mapping[str, str]] | None = None,
        latency: float = 0.0,
        render_like_x: bool = True,
        **server: Unpack[ServerOptions],
    ) -> None:
        self.render_like_x = render_like_x
        self._ids = itertools.count(1_358_000_000_000_000_001)
        self._user_ids = itertools.count(2_000_000_001)
        self._accounts: dict[str, _Account] = {}
        super().__init__(**server)
        self._latency = latency
        for name, keys in ((secret or {}).get("x") or {}).items():
            settings = (accounts or {}).get(name, {})
            self.add_account(
                name, keys, handle=settings.get("handle"), user_id=settings.get("user_id")
            )

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
        with self.lock:
            self._accounts[name] = _Account(
                name=name,
                keys={k: str(keys[k]) for k in needed},
                user_id=str(user_id or next(self._user_ids)),
                handle=handle or name,
            )

    def user_id(self, account: str) -> str:
        with self.lock:
            return self._accounts[account].user_id

    # -- inspection --

    @property
    def posts(self) -> list[PublishedPost]:
        """Every published post, oldest first (a copy)."""
        with self.lock:
            return list(self._posts)

    def posts_by(self, account: str) -> list[PublishedPost]:
        return [p for p in self.posts if p.account == account]

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
        self.check_target(endpoint, times)
        fault_kind = FaultKind(kind)
        if fault_kind is FaultKind.SERVER_ERROR and status not in (None, 500, 502, 503, 504):
            raise ValueError("a server error is 500, 502, 503 or 504")
        if fault_kind is FaultKind.RATE_LIMIT and reset_at is None:
            reset_at = int(self.clock().timestamp() + reset_in)
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
        self.queue_fault(fault)

    def listed_endpoints(self) -> list[str]:
        """The endpoints an error about an unknown one lists: in the order of `ENDPOINTS`."""
        return list(ENDPOINTS)

    def set_latency(self, seconds: float) -> None:
        """Delay every API request by `seconds` (benchmarks)."""
        with self.lock:
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
        with self.lock:
            self._random_faults = faults if rate > 0 else None

    @property
    def random_fault_counts(self) -> dict[str, int]:
        """Random faults injected so far, by kind (and `RATE_LIMIT_BURST` for the 429s that
        followed a drawn one)."""
        with self.lock:
            faults = self._random_faults
            return dict(faults.injected) if faults is not None else {}

    def reset_state(self) -> None:
        """Forget posts, media, the nonces seen, the latency and the random faults."""
        with self.lock:
            self._posts: list[PublishedPost] = []
            self._media: dict[str, _Media] = {}
            self._nonces: set[tuple[str, str, str]] = set()
            self._latency = 0.0
            self._random_faults = None

    # -- request handling: herald_dev.fake_service.FakeServer --

    def before_route(self) -> None:
        """Delay the request by the latency set (`set_latency`)."""
        with self.lock:
            latency = self._latency
        if latency:
            self.pause(latency)

    def no_route(self, request: Request) -> Response:
        return _problem(404, "Not Found Error", f"no route for {request.method} {request.path}")

    def account_of(self, who: _Account) -> str:
        return who.name

    def authenticate(self, request: Request, endpoint: str) -> _Account | Response:
        """The account whose OAuth 1.0a keys signed the request (HMAC-SHA1, over the method,
        the URL, the query, the form body and the `oauth_` parameters), with a nonce not
        seen before; else X's 401."""
        refused = _problem(401, "Unauthorized", "Unauthorized")
        oauth = parse_oauth_header(request.headers.get("Authorization"))
        if oauth is None or oauth.get("oauth_signature_method") != "HMAC-SHA1":
            return refused
        if oauth.get("oauth_version", "1.0") != "1.0":
            return refused
        signature = oauth.get("oauth_signature", "")
        nonce, timestamp = oauth.get("oauth_nonce", ""), oauth.get("oauth_timestamp", "")
        if not (signature and nonce and timestamp):
            return refused
        account = self._account_signing(oauth)
        if account is None:
            return refused
        params = [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
        params += request.query
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            params += request.form
        expected = oauth1_signature(
            request.method,
            _base_uri(request.headers.get("Host", ""), request.path),
            params,
            account.keys["consumer_secret"],
            account.keys["access_token_secret"],
        )
        if not hmac.compare_digest(expected, signature):
            return refused
        with self.lock:
            seen = (account.keys["consumer_key"], nonce, timestamp)
            if seen in self._nonces:
                return refused  # a replayed request
            self._nonces.add(seen)
        return account

    def _account_signing(self, oauth: Mapping[str, str]) -> _Account | None:
        """The account whose consumer key and access token the OAuth parameters name."""
        with self.lock:
            return next(
                (
                    a
                    for a in self._accounts.values()
                    if a.keys["consumer_key"] == oauth.get("oauth_consumer_key")
                    and a.keys["access_token"] == oauth.get("oauth_token")
                ),
                None,
            )

    def next_fault(self, endpoint: str, who: _Account) -> Fault | None:
        """The oldest fault injected for this endpoint; else, maybe, a random one."""
        fault = super().next_fault(endpoint, who)
        if fault is None:
            fault = self._random_fault(endpoint, who.name)
        return fault

    def _random_fault(self, endpoint: str, account: str) -> Fault | None:
        now = self.clock()
        with self.lock:
            faults = self._random_faults
            return faults.draw(endpoint, account, now) if faults is not None else None

    def fault_response(self, fault: Fault, who: _Account) -> Response:
        """X's answer for a fault that is answered: 429, 5xx, 400, 401 or 403."""
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
        return Response(
            400, {"title": "Invalid Request", "detail": detail, "type": _INVALID_REQUEST}
        )

    def process(
        self, endpoint: str, params: Mapping[str, str], request: Request, who: _Account
    ) -> Response:
        if endpoint == TWEETS:
            return self._create_post(request.body, who)
        if endpoint == MEDIA_UPLOAD:
            return self._upload_media(request.body, request.headers.get("Content-Type", ""), who)
        if endpoint == MEDIA_METADATA:
            return self._media_metadata(request.body, who)
        if endpoint == USERS_ME:
            return Response(
                200, {"data": {"id": who.user_id, "name": who.handle, "username": who.handle}}
            )
        return self._user_posts(params["id"], dict(request.query))

    def _create_post(self, body: bytes, account: _Account) -> Response:
        request = _json_object(body)
        if isinstance(request, Response):
            return request
        text = request.get("text")
        reply_to = (request.get("reply") or {}).get("in_reply_to_tweet_id")
        media_ids = (request.get("media") or {}).get("media_ids") or []
        if text is not None and not isinstance(text, str):
            return _invalid("`text` must be a string", "text", text)
        if not text and not media_ids:
            return _invalid("Tweet text or media is required", "text", "")
        if not isinstance(media_ids, list) or len(media_ids) > 4:
            return _invalid("A post has at most 4 media", "media.media_ids", media_ids)
        now = self.clock()
        with self.lock:
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
        return Response(
            201, {"data": {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}}
        )

    def _upload_media(self, body: bytes, content_type: str, account: _Account) -> Response:
        if not content_type.startswith("multipart/form-data"):
            return _invalid("The upload must be multipart/form-data", "media", "")
        fields = {name: payload for name, _, _, payload in multipart_parts(content_type, body)}
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
        with self.lock:
            media_id = str(next(self._ids))
            item = _Media(media_id, f"3_{media_id}", account.name, kind, len(media))
            self._media[media_id] = item
        return Response(
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

    def _media_metadata(self, body: bytes, account: _Account) -> Response:
        request = _json_object(body)
        if isinstance(request, Response):
            return request
        media_id = str(request.get("id", ""))
        alt = ((request.get("metadata") or {}).get("alt_text") or {}).get("text")
        if not isinstance(alt, str) or not alt:
            return _invalid("`metadata.alt_text.text` is required", "metadata.alt_text", "")
        if len(alt) > 1000:
            return _invalid("Alt text is at most 1000 characters", "metadata.alt_text", len(alt))
        with self.lock:
            item = self._media.get(media_id)
            if item is None or item.account != account.name:
                return _invalid(f"The media id [{media_id}] does not exist", "id", media_id)
            item.alt = alt
        return Response(
            200, {"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": alt}}}}
        )

    def _user_posts(self, user_id: str, params: Mapping[str, str]) -> Response:
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
        with self.lock:
            if not any(a.user_id == user_id for a in self._accounts.values()):
                return Response(
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
        return Response(200, {"data": data, "meta": meta} if data else {"meta": meta})

    def _visible(self, posts: list[PublishedPost]) -> list[PublishedPost]:
        """The posts the timeline shows by now: made at least `timeline_lag` ago."""
        if not self.timeline_lag:
            return posts
        horizon = self.visible_since()
        return [p for p in posts if p.created_at.timestamp() <= horizon]

    def _listed(self, post: PublishedPost, handle: str, fields: set[str]) -> dict[str, Any]:
        """A post as GET /2/users/:id/tweets lists it, with the `fields` asked for."""
        text, urls = self._rendered(post, handle)
        item: dict[str, Any] = {"id": post.id, "text": text, "edit_history_tweet_ids": [post.id]}
        if "created_at" in fields:
            item["created_at"] = iso_z(post.created_at)
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

    def posts_json(self) -> list[dict[str, Any]]:
        return [p.to_json() for p in self.posts]

    def control(self, method: str, path: str, request: Any) -> Response | None:
        """X's own beside `herald_dev.fake_service`'s: `POST /__control/random_faults` {rate,
        seed, kinds, hang_seconds, burst_seconds}, `GET` it for the counts;
        `POST /__control/latency` {seconds}."""
        if (method, path) == ("POST", "/__control/random_faults"):
            options = {k: v for k, v in request.items() if k != "rate"}
            if "burst_seconds" in options:
                options["burst_seconds"] = tuple(options["burst_seconds"])
            self.set_random_faults(float(request["rate"]), **options)
            return Response(204)
        if (method, path) == ("GET", "/__control/random_faults"):
            return Response(200, self.random_fault_counts)
        if (method, path) == ("POST", "/__control/latency"):
            self.set_latency(float(request["seconds"]))
            return Response(204)
        return None


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
    parser = fake_parser(
        "python -m herald_dev.fake_x",
        "Serve a fake X API v2 (OAuth 1.0a checked) until interrupted.",
        _CLI_EPILOG,
        port=8787,
        credentials_help=(
            'JSON in the secret\'s shape: {"x": {"<account>": {four OAuth 1.0a keys}}}'
        ),
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument(
        "--verbatim",
        action="store_true",
        help="list posts exactly as posted (default: t.co links and entities, as X does)",
    )
    return serve_from_cli(
        parser, argv, name="fake X", section="x", banner="fake X API", build=_build
    )


def _build(args: argparse.Namespace, secret: dict[str, Any], common: dict[str, Any]) -> FakeX:
    """The fake the command line asks for: its latency, and whether posts read back verbatim."""
    fake = FakeX(secret, render_like_x=not args.verbatim, **common)
    fake.set_latency(args.latency)
    return fake


if __name__ == "__main__":
    sys.exit(main())
