"""A strict fake Mastodon server over real HTTP on loopback, for tests and `make local`.

It speaks what herald uses of Mastodon's REST API and refuses what a real server refuses:

- `Authorization: Bearer <token>` on every call, and the token's scopes (`write:media` to
  upload, `write:statuses` to post, `read:statuses` to read back): 401 "The access token is
  invalid", 403 "This action is outside the authorized scopes";
- `POST /api/v2/media` (multipart `file` and `description`): an image of a kind Mastodon
  takes, at most `image_size_limit` bytes, a description of at most 1,500 characters and,
  as herald requires (stricter than Mastodon), not empty. It answers 202 with `url: null`;
  `GET /api/v1/media/:id` answers 206 while the image is "processing" (the first
  `processing_polls` polls), then 200 with its URL;
- `POST /api/v1/statuses` (`status`, `media_ids[]`, `in_reply_to_id`, `visibility`):
  the text's length as the server counts it (graphemes; every URL 23; a remote mention only
  its `@user` part) within `max_characters`; at most 4 media, each this account's, processed
  (else 422 "Cannot attach files that have not finished processing") and not attached yet;
  a parent that exists. The `Idempotency-Key` header: the same key from the same account
  within an hour (the fake's clock) answers the status it made first, and makes nothing;
- `GET /api/v1/statuses/:id/source` (the text as posted; `content` is HTML),
  `GET /api/v1/accounts/lookup?acct=`, `GET /api/v1/accounts/:id/statuses` (newest first,
  `limit` ≤ 40, `max_id`/`since_id`, a `Link` header; lagging by `set_timeline_lag`),
  `GET /api/v1/accounts/verify_credentials` (needs `read:accounts` or `profile`) and
  `GET /api/v2/instance` (its `configuration`);
- rate limits as Mastodon counts them, per account in fixed windows of the fake's clock:
  300 calls per 5 minutes, 30 media uploads per 30 minutes, 300 statuses per 3 hours; every
  answer carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` (ISO 8601); over a limit, 429
  `{"error": "Too many requests"}`.

Faults are injected as for every strict fake (`herald_dev.fake_service`), e.g.
`fake.fail_next(STATUSES, "drop_after_commit")`.

In a test:

    with FakeMastodon({"mastodon": {"press": {"access_token": "t0k"}}},
                      accounts={"press": {"handle": "@press@police.example"}}) as fake:
        ...point the Mastodon channel at fake.url...
        assert fake.statuses_by("press")[0].text == "..."

From a shell: `python -m herald_dev.fake_mastodon --port 8788 --credentials FILE`.
"""

from __future__ import annotations

import argparse
import html
import itertools
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Unpack

import regex

from herald_dev.fake_service import (
    Fault,
    FaultKind,
    Request,
    Response,
    ServerOptions,
    StrictFake,
    control_help,
    fake_parser,
    iso_z,
    serve_from_cli,
)

MEDIA_UPLOAD = "POST /api/v2/media"
MEDIA_GET = "GET /api/v1/media/:id"
STATUSES = "POST /api/v1/statuses"
STATUS_SOURCE = "GET /api/v1/statuses/:id/source"
ACCOUNT_STATUSES = "GET /api/v1/accounts/:id/statuses"
ACCOUNT_LOOKUP = "GET /api/v1/accounts/lookup"
VERIFY_CREDENTIALS = "GET /api/v1/accounts/verify_credentials"
INSTANCE = "GET /api/v2/instance"

DEFAULT_SCOPES = frozenset({"write:statuses", "write:media", "read:statuses"})
IMAGE_SIZE_LIMIT = 16 * 1024 * 1024  # Mastodon 4.x: 16 MB
DESCRIPTION_LIMIT = 1500
MAX_MEDIA = 4
URL_LENGTH = 23
IDEMPOTENCY_LIFETIME = timedelta(hours=1)
# Mastodon's rate limits: (limit, window) per account.
API_LIMIT = (300, timedelta(minutes=5))
MEDIA_LIMIT = (30, timedelta(minutes=30))
STATUS_LIMIT = (300, timedelta(hours=3))

_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_URL = re.compile(r"https?://[^\s<>\"]+")
_URL_TRAILING = ".,:;!?'\")]"
_REMOTE_MENTION = re.compile(r"(^|[^/\w])@(([a-z0-9_]+)@[a-z0-9.\-]+[a-z0-9]+)", re.IGNORECASE)
_HASHTAG = re.compile(r"(^|[^\w/])#(\w+)")

ROUTES = (
    ("POST", re.compile(r"/api/v2/media"), MEDIA_UPLOAD),
    ("GET", re.compile(r"/api/v1/media/(?P<id>[0-9]+)"), MEDIA_GET),
    ("POST", re.compile(r"/api/v1/statuses"), STATUSES),
    ("GET", re.compile(r"/api/v1/statuses/(?P<id>[0-9]+)/source"), STATUS_SOURCE),
    ("GET", re.compile(r"/api/v1/accounts/verify_credentials"), VERIFY_CREDENTIALS),
    ("GET", re.compile(r"/api/v1/accounts/lookup"), ACCOUNT_LOOKUP),
    ("GET", re.compile(r"/api/v1/accounts/(?P<id>[0-9]+)/statuses"), ACCOUNT_STATUSES),
    ("GET", re.compile(r"/api/v2/instance"), INSTANCE),
)
_PUBLIC = {INSTANCE, ACCOUNT_LOOKUP}
_SCOPE_NEEDED = {
    MEDIA_UPLOAD: ("write:media", "write"),
    MEDIA_GET: ("write:media", "write"),
    STATUSES: ("write:statuses", "write"),
    STATUS_SOURCE: ("read:statuses", "read"),
    ACCOUNT_STATUSES: ("read:statuses", "read"),
    VERIFY_CREDENTIALS: ("read:accounts", "read", "profile"),
}


def status_length(text: str) -> int:
    """The length Mastodon counts: graphemes, with each URL as 23 characters and a remote
    mention as its `@user` part (the `regex` module's grapheme clusters, `\\X`)."""
    counted, position = "", 0
    for match in _URL.finditer(text):
        end = match.end()
        while end > match.start() and text[end - 1] in _URL_TRAILING:
            end -= 1
        counted += text[position : match.start()] + "x" * URL_LENGTH
        position = end
    counted += text[position:]
    counted = _REMOTE_MENTION.sub(r"\1@\3", counted)
    return len(regex.findall(r"\X", counted))


def _image_kind(content: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass
class Account:
    name: str
    id: str
    username: str
    domain: str
    token: str
    scopes: frozenset[str]


@dataclass
class Media:
    id: str
    account: str
    content_type: str
    size: int
    description: str
    polls_left: int
    status_id: str | None = None


@dataclass(frozen=True)
class Status:
    id: str
    account: str
    text: str
    in_reply_to_id: str | None
    visibility: str
    language: str | None
    media: tuple[Media, ...]
    created_at: datetime
    idempotency_key: str | None


@dataclass
class _Window:
    start: float
    count: int = 0


@dataclass
class _Limits:
    api: tuple[int, timedelta] = API_LIMIT
    media: tuple[int, timedelta] = MEDIA_LIMIT
    statuses: tuple[int, timedelta] = STATUS_LIMIT
    windows: dict[tuple[str, str], _Window] = field(default_factory=dict)


def _error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


def content_html(text: str, base: str) -> str:
    """The status as Mastodon renders it in `content`: paragraphs, links and hashtags."""
    paragraphs = []
    for paragraph in re.split(r"\n{2,}", text.strip()):
        escaped = html.escape(paragraph, quote=False)
        escaped = _URL.sub(
            lambda m: (
                f'<a href="{m.group()}" rel="nofollow noopener" target="_blank">'
                f'<span class="invisible">{m.group().split("//", 1)[0]}//</span>'
                f'<span class="ellipsis">{m.group().split("//", 1)[1][:30]}</span></a>'
            ),
            escaped,
        )
        escaped = _HASHTAG.sub(
            lambda m: (
                f'{m.group(1)}<a href="{base}/tags/{m.group(2)}" class="mention hashtag" '
                f'rel="tag">#<span>{m.group(2)}</span></a>'
            ),
            escaped,
        )
        paragraphs.append("<p>" + escaped.replace("\n", "<br />") + "</p>")
    return "".join(paragraphs)


class FakeMastodon(StrictFake):
    """The fake Mastodon server; see the module's docstring. `secret` is in the shape of
    herald's secret (`{"mastodon": {account: {"access_token": ...}}}`); `accounts` gives
    each account its `handle` (`@user@domain`) and optionally its `scopes`. The other keywords
    (`ServerOptions`: host, port, clock, ...) are `FakeServer`'s."""

    routes = ROUTES
    thread_name = "fake-mastodon"

    def __init__(
        self,
        secret: Mapping[str, Any] | None = None,
        *,
        accounts: Mapping[str, Mapping[str, Any]] | None = None,
        max_characters: int = 500,
        image_size_limit: int = IMAGE_SIZE_LIMIT,
        processing_polls: int = 1,
        **server: Unpack[ServerOptions],
    ) -> None:
        self._accounts: dict[str, Account] = {}
        self._account_ids = itertools.count(109_000_000_000_000_001)
        self.max_characters = max_characters
        self.image_size_limit = image_size_limit
        self.processing_polls = processing_polls
        super().__init__(**server)
        for name, keys in ((secret or {}).get("mastodon") or {}).items():
            settings = (accounts or {}).get(name, {})
            self.add_account(
                name,
                str(keys.get("access_token") or ""),
                handle=settings.get("handle") or f"@{name}@mastodon.example",
                scopes=settings.get("scopes") or DEFAULT_SCOPES,
            )

    # -- accounts --

    def add_account(
        self, name: str, token: str, *, handle: str, scopes: Iterable[str] = DEFAULT_SCOPES
    ) -> None:
        """Accept `Bearer token` as account `name`, `@user@domain`, with these scopes."""
        if not token:
            raise ValueError(f"account {name!r} has no access token")
        username, _, domain = handle.lstrip("@").partition("@")
        with self.lock:
            self._accounts[name] = Account(
                name,
                str(next(self._account_ids)),
                username,
                domain or "mastodon.example",
                token,
                frozenset(scopes),
            )

    def revoke(self, name: str) -> None:
        """The account's token stops working (the user revoked the application)."""
        with self.lock:
            self._accounts[name].token = ""

    def account_id(self, name: str) -> str:
        with self.lock:
            return self._accounts[name].id

    def set_rate_limits(
        self,
        *,
        api: tuple[int, timedelta] | None = None,
        media: tuple[int, timedelta] | None = None,
        statuses: tuple[int, timedelta] | None = None,
    ) -> None:
        """Change a limit (count, window) from Mastodon's defaults, to reach it in a test."""
        with self.lock:
            self._limits.api = api or self._limits.api
            self._limits.media = media or self._limits.media
            self._limits.statuses = statuses or self._limits.statuses

    # -- inspection --

    @property
    def statuses(self) -> list[Status]:
        """Every status made, oldest first (a copy)."""
        with self.lock:
            return list(self._statuses)

    def statuses_by(self, name: str) -> list[Status]:
        return [s for s in self.statuses if s.account == name]

    def status_url(self, status: Status) -> str:
        with self.lock:
            account = self._accounts[status.account]
        return f"https://{account.domain}/@{account.username}/{status.id}"

    # -- StrictFake --

    def reset_state(self) -> None:
        with self.lock:
            self._statuses: list[Status] = []
            self._media: dict[str, Media] = {}
            self._keys: dict[tuple[str, str], tuple[str, datetime]] = {}
            self._limits = _Limits()
            self._ids = itertools.count(int(self.clock().timestamp() * 1000) << 16)

    def account_of(self, who: Any) -> str | None:
        return who.name if isinstance(who, Account) else None

    def authenticate(self, request: Request, endpoint: str) -> Any:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else ""
        with self.lock:
            account = next((a for a in self._accounts.values() if token and a.token == token), None)
        if account is None:
            if endpoint in _PUBLIC and not header:
                return "anonymous"
            return _error(401, "The access token is invalid")
        needed = _SCOPE_NEEDED.get(endpoint)
        if needed and not account.scopes.intersection(needed):
            return _error(403, "This action is outside the authorized scopes")
        return account

    def fault_response(self, fault: Fault, who: Any) -> Response:
        if fault.kind is FaultKind.RATE_LIMIT:
            reset = self.clock() + timedelta(seconds=fault.reset_in)
            return Response(
                429,
                {"error": "Too many requests"},
                {
                    "X-RateLimit-Limit": "300",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": iso_z(reset),
                },
            )
        status = fault.status or 500
        if status == 503:
            return _error(503, "Service Unavailable")
        return _error(status, "We're sorry, but something went wrong on our end.")

    def decorate(self, response: Response, endpoint: str, who: Any) -> Response:
        if not isinstance(who, Account):
            return response
        limit, window = self._limits.api
        state = self._window(who.name, "api", window)
        reset = datetime.fromtimestamp(state.start, UTC) + window
        response.headers.setdefault("X-RateLimit-Limit", str(limit))
        response.headers.setdefault("X-RateLimit-Remaining", str(max(limit - state.count, 0)))
        response.headers.setdefault("X-RateLimit-Reset", iso_z(reset))
        return response

    def process(
        self, endpoint: str, params: Mapping[str, str], request: Request, who: Any
    ) -> Response:
        if isinstance(who, Account):
            limited = self._over_limit(who, endpoint)
            if limited is not None:
                return limited
        if endpoint == INSTANCE:
            return Response(200, self._instance())
        if endpoint == ACCOUNT_LOOKUP:
            return self._lookup(request.param("acct") or "")
        assert isinstance(who, Account)
        if endpoint == MEDIA_UPLOAD:
            return self._upload(request, who)
        if endpoint == MEDIA_GET:
            return self._get_media(params["id"], who)
        if endpoint == STATUSES:
            return self._create(request, who)
        if endpoint == STATUS_SOURCE:
            return self._source(params["id"], who)
        if endpoint == VERIFY_CREDENTIALS:
            return Response(200, self._account_json(who))
        return self._timeline(params["id"], request)

    # -- rate limits --

    def _window(self, account: str, family: str, window: timedelta) -> _Window:
        """The account's current fixed window for `family` (aligned on the epoch)."""
        seconds = window.total_seconds()
        start = (self.clock().timestamp() // seconds) * seconds
        with self.lock:
            state = self._limits.windows.get((account, family))
            if state is None or state.start != start:
                state = self._limits.windows[(account, family)] = _Window(start)
            return state

    def _over_limit(self, account: Account, endpoint: str) -> Response | None:
        families = [("api", self._limits.api)]
        if endpoint == MEDIA_UPLOAD:
            families.append(("media", self._limits.media))
        if endpoint == STATUSES:
            families.append(("statuses", self._limits.statuses))
        for family, (limit, window) in families:
            state = self._window(account.name, family, window)
            with self.lock:
                state.count += 1
                over = state.count > limit
            if over:
                reset = datetime.fromtimestamp(state.start, UTC) + window
                return Response(
                    429,
                    {"error": "Too many requests"},
                    {
                        "X-RateLimit-Limit": str(limit),
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": iso_z(reset),
                    },
                )
        return None

    # -- media --

    def _upload(self, request: Request, account: Account) -> Response:
        upload = request.files.get("file")
        if upload is None:
            return _error(422, "Validation failed: File can't be blank")
        _, declared, content = upload
        kind = _image_kind(content)
        if kind is None or declared not in _IMAGE_TYPES:
            return _error(422, "Validation failed: File content type is invalid, File is invalid")
        if len(content) > self.image_size_limit:
            megabytes = self.image_size_limit // (1024 * 1024)
            return _error(
                422, f"Validation failed: File file size must be less than {megabytes} MB"
            )
        description = request.param("description") or ""
        if len(description) > DESCRIPTION_LIMIT:
            return _error(
                422,
                f"Validation failed: Description is too long (maximum is {DESCRIPTION_LIMIT} "
                "characters)",
            )
        if not description.strip():
            return _error(
                422, "Validation failed: Description can't be blank (herald requires alt text)"
            )
        with self.lock:
            media = Media(
                str(next(self._ids)), account.name, kind, len(content), description,
                self.processing_polls,
            )  # fmt: skip
            self._media[media.id] = media
        processing = media.polls_left > 0
        return Response(202 if processing else 200, self._media_json(media, processing))

    def _get_media(self, media_id: str, account: Account) -> Response:
        with self.lock:
            media = self._media.get(media_id)
            if media is None or media.account != account.name or media.status_id is not None:
                return _error(404, "Record not found")
            if media.polls_left > 0:
                media.polls_left -= 1
                return Response(206, self._media_json(media, processing=True))
        return Response(200, self._media_json(media, processing=False))

    def _media_json(self, media: Media, processing: bool) -> dict[str, Any]:
        base = f"https://files.mastodon.example/media_attachments/{media.id}"
        return {
            "id": media.id,
            "type": "image",
            "url": None if processing else f"{base}/original.png",
            "preview_url": f"{base}/small.png",
            "remote_url": None,
            "meta": {},
            "description": media.description,
            "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}",
        }

    # -- statuses --

    def _create(self, request: Request, account: Account) -> Response:
        key = request.headers.get("Idempotency-Key")
        with self.lock:  # one create at a time: a key is checked and kept atomically
            kept = self._keys.get((account.name, key)) if key else None
            if kept is not None and self.clock() - kept[1] < IDEMPOTENCY_LIFETIME:
                original = next(s for s in self._statuses if s.id == kept[0])
                return Response(200, self._status_json(original))
            refused = self._refusal(request, account)
            if isinstance(refused, Response):
                return refused
            text, media = refused
            status = Status(
                id=str(next(self._ids)),
                account=account.name,
                text=text,
                in_reply_to_id=request.param("in_reply_to_id") or None,
                visibility=request.param("visibility") or "public",
                language=request.param("language"),
                media=tuple(media),
                created_at=self.clock(),
                idempotency_key=key,
            )
            for item in media:
                item.status_id = status.id
            self._statuses.append(status)
            if key:
                self._keys[(account.name, key)] = (status.id, status.created_at)
            return Response(200, self._status_json(status))

    def _refusal(self, request: Request, account: Account) -> Response | tuple[str, list[Media]]:
        """Why Mastodon refuses this status, or its text and media."""
        text = request.param("status") or ""
        media_ids = request.params("media_ids[]") or request.params("media_ids")
        if not text.strip() and not media_ids:
            return _error(422, "Validation failed: Text can't be blank")
        if status_length(text) > self.max_characters:
            return _error(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        if len(media_ids) > MAX_MEDIA:
            return _error(422, f"Cannot attach more than {MAX_MEDIA} files")
        visibility = request.param("visibility") or "public"
        if visibility not in ("public", "unlisted", "private", "direct"):
            return _error(422, "Validation failed: Visibility is not included in the list")
        parent = request.param("in_reply_to_id")
        with self.lock:
            if parent and not any(s.id == parent for s in self._statuses):
                return _error(404, "Record not found")
            media = []
            for media_id in media_ids:
                item = self._media.get(media_id)
                # Stricter than Mastodon, which leaves out such ids without a word.
                if item is None or item.account != account.name or item.status_id is not None:
                    return _error(
                        422, f"Validation failed: media {media_id} is not yours to attach"
                    )
                if item.polls_left > 0:
                    return _error(
                        422,
                        "Cannot attach files that have not finished processing. "
                        "Try again in a moment!",
                    )
                media.append(item)
        return text, media

    def _source(self, status_id: str, account: Account) -> Response:
        with self.lock:
            status = next((s for s in self._statuses if s.id == status_id), None)
        if status is None:
            return _error(404, "Record not found")
        if status.account != account.name:
            return _error(403, "This action is not allowed")
        return Response(200, {"id": status.id, "text": status.text, "spoiler_text": ""})

    def _lookup(self, acct: str) -> Response:
        username, _, domain = acct.lstrip("@").partition("@")
        with self.lock:
            found = next(
                (
                    a
                    for a in self._accounts.values()
                    if a.username.lower() == username.lower()
                    and (not domain or domain.lower() == a.domain.lower())
                ),
                None,
            )
        if found is None:
            return _error(404, "Record not found")
        return Response(200, self._account_json(found))

    def _timeline(self, account_id: str, request: Request) -> Response:
        with self.lock:
            account = next((a for a in self._accounts.values() if a.id == account_id), None)
            if account is None:
                return _error(404, "Record not found")
            horizon = self.visible_since()
            listed = [
                s
                for s in reversed(self._statuses)
                if s.account == account.name and s.created_at.timestamp() <= horizon
            ]
        try:
            limit = min(int(request.param("limit") or 20), 40)
        except ValueError:
            return _error(422, "limit is not a number")
        max_id, since_id = request.param("max_id"), request.param("since_id")
        if max_id:
            listed = [s for s in listed if int(s.id) < int(max_id)]
        if since_id:
            listed = [s for s in listed if int(s.id) > int(since_id)]
        page = listed[:limit]
        headers = {}
        if page:
            base = f"/api/v1/accounts/{account_id}/statuses"
            headers["Link"] = (
                f'<{base}?limit={limit}&max_id={page[-1].id}>; rel="next", '
                f'<{base}?limit={limit}&min_id={page[0].id}>; rel="prev"'
            )
        return Response(200, [self._status_json(s) for s in page], headers)

    # -- entities --

    def _instance(self) -> dict[str, Any]:
        return {
            "domain": "mastodon.example",
            "title": "herald's fake Mastodon",
            "version": "4.4.0",
            "configuration": {
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": MAX_MEDIA,
                    "characters_reserved_per_url": URL_LENGTH,
                },
                "media_attachments": {
                    "supported_mime_types": sorted(_IMAGE_TYPES),
                    "image_size_limit": self.image_size_limit,
                    "description_limit": DESCRIPTION_LIMIT,
                },
            },
        }

    def _account_json(self, account: Account) -> dict[str, Any]:
        return {
            "id": account.id,
            "username": account.username,
            "acct": account.username,
            "display_name": account.username,
            "url": f"https://{account.domain}/@{account.username}",
        }

    def _status_json(self, status: Status) -> dict[str, Any]:
        with self.lock:
            account = self._accounts[status.account]
            parent = next((s for s in self._statuses if s.id == status.in_reply_to_id), None)
        base = f"https://{account.domain}"
        return {
            "id": status.id,
            "created_at": iso_z(status.created_at),
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": self._accounts[parent.account].id if parent else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": status.visibility,
            "language": status.language,
            "uri": f"{base}/users/{account.username}/statuses/{status.id}",
            "url": f"{base}/@{account.username}/{status.id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "content": content_html(status.text, base),
            "reblog": None,
            "application": {"name": "herald", "website": None},
            "account": self._account_json(account),
            "media_attachments": [self._media_json(m, processing=False) for m in status.media],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    # -- control --

    def posts_json(self) -> list[dict[str, Any]]:
        return [
            {
                "id": s.id,
                "account": s.account,
                "text": s.text,
                "in_reply_to_id": s.in_reply_to_id,
                "media": [{"id": m.id, "description": m.description} for m in s.media],
                "created_at": iso_z(s.created_at),
                "idempotency_key": s.idempotency_key,
            }
            for s in self.statuses
        ]

    def control(self, method: str, path: str, request: Any) -> Response | None:
        """`POST /__control/processing_polls` {polls}."""
        if (method, path) == ("POST", "/__control/processing_polls"):
            self.processing_polls = int(request["polls"])
            return Response(204)
        return None


def main(argv: list[str] | None = None) -> int:
    """`python -m herald_dev.fake_mastodon`: serve the fake until interrupted."""
    parser = fake_parser(
        "python -m herald_dev.fake_mastodon",
        "Serve a strict fake Mastodon server until interrupted.",
        control_help(ROUTES),
        port=8788,
        credentials_help=(
            'JSON in the secret\'s shape: {"mastodon": {"<account>": {"access_token": ...}}}'
        ),
    )
    parser.add_argument(
        "--handle",
        action="append",
        default=[],
        metavar="ACCOUNT=@USER@DOMAIN",
        help="an account's handle (default @ACCOUNT@mastodon.example)",
    )
    return serve_from_cli(
        parser, argv, name="fake Mastodon", section="mastodon", banner="fake Mastodon", build=_build
    )


def _build(
    args: argparse.Namespace, secret: dict[str, Any], common: dict[str, Any]
) -> FakeMastodon:
    """The fake the command line asks for: each `--handle ACCOUNT=@USER@DOMAIN` applied."""
    handles = dict(item.split("=", 1) for item in args.handle if "=" in item)
    accounts = {name: {"handle": handle} for name, handle in handles.items()}
    return FakeMastodon(secret, accounts=accounts, **common)


if __name__ == "__main__":
    sys.exit(main())
