"""A strict fake Facebook Graph API (Pages) over real HTTP on loopback, for tests and
`make local`.

It speaks what herald uses of the Graph API, under one version path (`GRAPH_VERSION`), and
refuses what Facebook refuses, with Graph's error bodies
(`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`):

- the token (`Authorization: Bearer`, or `access_token`): missing (104), unknown or
  invalidated by a password change or a lost Page role (190, subcode 460/463); a user token
  or another Page's token where a Page token is needed ((#200), or 190 "must be called with
  a Page Access Token"); a Page token without `pages_manage_posts` and
  `pages_read_engagement` ((#200) naming both) or, to read, without `pages_read_engagement`
  ((#10));
- `POST /{page-id}/photos` (multipart `source`, `published`, `alt_text_custom`): an image
  under 10 MB; herald always sends alt text, and the fake refuses a photo without it
  (stricter than Facebook). `published=false` makes an unpublished photo, which a post can
  attach once; a published photo becomes a photo post of its own (postiz#1593);
- `POST /{page-id}/feed` (`message`, `link`, `attached_media[n]={"media_fbid": ...}`):
  a message of at most 63,206 characters, or a link, or media; each attached photo this
  Page's, unpublished and not attached before; at most `MAX_ATTACHED_MEDIA`; the same
  message again from the Page is refused as "(#506) Duplicate status message";
- `GET /{page-id}/published_posts?fields=id,message,created_time`: newest first, `limit`,
  cursor paging (`after`), unknown fields refused ((#100)), and lagging its writes by
  `set_timeline_lag`;
- rate limits as Business Use Case limits: every answer to a Page token carries
  `X-Business-Use-Case-Usage` (`call_count`, `total_cputime`, `total_time` in percent, and
  `estimated_time_to_regain_access` in minutes); past `call_limit` calls in the hour, the
  Page's calls are refused with code 32 until the hour ends. An injected `rate_limit` fault
  answers any of codes 4, 17, 32, 613, 80001 (`code=`), with the header.

A server error, injected before or after the post is made (`server_error`,
`server_error_after_commit`), answers 500 `{"code": 2, "is_transient": true}` (koala#699).
Faults are injected as for every strict fake (`herald_dev.fake_service`).

From a shell: `python -m herald_dev.fake_facebook --port 8789 --credentials FILE
--page ACCOUNT=PAGE_ID`.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import math
import re
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Unpack

from herald_dev.fake_service import (
    Fault,
    FaultKind,
    Request,
    Response,
    ServerOptions,
    StrictFake,
    control_help,
    fake_parser,
    serve_from_cli,
)

GRAPH_VERSION = "v25.0"
FEED = "POST /{page-id}/feed"
PHOTOS = "POST /{page-id}/photos"
PUBLISHED_POSTS = "GET /{page-id}/published_posts"

MESSAGE_LIMIT = 63_206
PHOTO_SIZE_LIMIT = 10 * 1024 * 1024
MAX_ATTACHED_MEDIA = 10
PAGE_PERMISSIONS = frozenset({"pages_manage_posts", "pages_read_engagement", "pages_show_list"})
POST_FIELDS = frozenset({"id", "message", "created_time", "permalink_url", "is_published"})
RATE_LIMIT_CODES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
    "again. For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}
INVALIDATED = {
    460: "Error validating access token: The session has been invalidated because the user "
    "changed their password or Facebook has changed the session for security reasons.",
    463: "Error validating access token: Session has expired.",
    492: "Error validating access token: The user is not an admin of the Page anymore.",
}

_V = r"/(?P<version>v[0-9]+\.[0-9]+)"
ROUTES = (
    ("POST", re.compile(_V + r"/(?P<page>[0-9]+)/feed"), FEED),
    ("POST", re.compile(_V + r"/(?P<page>[0-9]+)/photos"), PHOTOS),
    ("GET", re.compile(_V + r"/(?P<page>[0-9]+)/published_posts"), PUBLISHED_POSTS),
)
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


@dataclass
class Token:
    token: str
    kind: str  # "page" or "user"
    account: str | None = None
    page_id: str | None = None
    permissions: frozenset[str] = PAGE_PERMISSIONS
    invalidated: int | None = None  # the error_subcode once invalidated


@dataclass
class Photo:
    id: str
    page_id: str
    size: int
    alt_text: str
    published: bool
    attached_to: str | None = None


@dataclass(frozen=True)
class Post:
    id: str  # {page-id}_{post-id}
    page_id: str
    account: str | None
    message: str
    link: str | None
    photos: tuple[Photo, ...]
    created_time: datetime
    kind: str = "status"  # "status" (a feed post) or "photo" (a photo published directly)

    @property
    def permalink_url(self) -> str:
        page, _, post = self.id.partition("_")
        return f"https://www.facebook.com/{page}/posts/{post}"


@dataclass
class _Usage:
    start: float
    calls: int = 0


@dataclass
class _PageUsage:
    call_limit: int
    by_page: dict[str, _Usage] = field(default_factory=dict)


def graph_error(
    status: int, message: str, code: int, *, subcode: int | None = None, transient: bool = False
) -> Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    error["fbtrace_id"] = "A" + secrets.token_hex(10)
    return Response(status, {"error": error})


def _created_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _cursor(post_id: str) -> str:
    return base64.urlsafe_b64encode(post_id.encode()).decode().rstrip("=")


class FakeFacebook(StrictFake):
    """The fake Graph API; see the module's docstring. `secret` is in the shape of herald's
    secret (`{"facebook": {account: {"page_access_token": ...}}}`); `pages` gives each
    account its `page_id` and optionally its `permissions`. The other keywords
    (`ServerOptions`: host, port, clock, ...) are `FakeServer`'s."""

    routes = ROUTES
    thread_name = "fake-facebook"
    refuse_duplicates = True

    def __init__(
        self,
        secret: Mapping[str, Any] | None = None,
        *,
        pages: Mapping[str, Mapping[str, Any]] | None = None,
        call_limit: int = 4800,
        **server: Unpack[ServerOptions],
    ) -> None:
        self._tokens: dict[str, Token] = {}
        self._call_limit = call_limit
        super().__init__(**server)
        page_ids = itertools.count(100_000_000_000_001)
        for name, keys in ((secret or {}).get("facebook") or {}).items():
            settings = (pages or {}).get(name, {})
            self.add_page(
                name,
                str(keys.get("page_access_token") or ""),
                page_id=str(settings.get("page_id") or next(page_ids)),
                permissions=settings.get("permissions") or PAGE_PERMISSIONS,
            )

    # -- tokens --

    def add_page(
        self,
        account: str,
        token: str,
        *,
        page_id: str,
        permissions: Iterable[str] = PAGE_PERMISSIONS,
    ) -> None:
        """Accept `token` as the Page token of `page_id`, with these permissions."""
        if not token:
            raise ValueError(f"account {account!r} has no Page token")
        with self.lock:
            self._tokens[token] = Token(token, "page", account, page_id, frozenset(permissions))

    def add_user_token(self, token: str) -> None:
        """A user token: valid, but not a Page's."""
        with self.lock:
            self._tokens[token] = Token(token, "user", permissions=frozenset())

    def invalidate(self, account: str, subcode: int = 460) -> None:
        """The account's Page token stops working: a password change (460), an expiry (463)
        or a lost Page role (492)."""
        with self.lock:
            for token in self._tokens.values():
                if token.account == account:
                    token.invalidated = subcode

    def page_id(self, account: str) -> str:
        with self.lock:
            return next(
                t.page_id for t in self._tokens.values() if t.account == account and t.page_id
            )

    def set_call_limit(self, calls: int) -> None:
        """The Page's Business Use Case limit: calls per hour before code 32."""
        with self.lock:
            self._usage.call_limit = calls

    # -- inspection --

    @property
    def posts(self) -> list[Post]:
        """Every post made (feed posts and photo posts), oldest first (a copy)."""
        with self.lock:
            return list(self._posts)

    def posts_of(self, account: str) -> list[Post]:
        return [p for p in self.posts if p.account == account]

    @property
    def photos(self) -> list[Photo]:
        with self.lock:
            return list(self._photos.values())

    # -- StrictFake --

    def reset_state(self) -> None:
        with self.lock:
            self._posts: list[Post] = []
            self._photos: dict[str, Photo] = {}
            self._usage = _PageUsage(self._call_limit)
            self._ids = itertools.count(int(self.clock().timestamp()) * 1000)

    def account_of(self, who: Any) -> str | None:
        return who.account if isinstance(who, Token) else None

    def authenticate(self, request: Request, endpoint: str) -> Any:
        version = self._route_params(request).get("version")
        if version != GRAPH_VERSION:
            return graph_error(400, f"Unknown path components: /{version}", 2500)
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        token_text = value.strip() if scheme in ("Bearer", "OAuth") else ""
        token_text = token_text or request.param("access_token") or ""
        if not token_text:
            return graph_error(400, "An access token is required to request this resource.", 104)
        with self.lock:
            token = self._tokens.get(token_text)
        if token is None:
            return graph_error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        if token.invalidated is not None:
            return graph_error(
                400, INVALIDATED.get(token.invalidated, INVALIDATED[460]), 190,
                subcode=token.invalidated,
            )  # fmt: skip
        return self._authorize(token, endpoint, self._route_params(request).get("page", ""))

    def _authorize(self, token: Token, endpoint: str, page_id: str) -> Token | Response:
        writes = endpoint in (FEED, PHOTOS)
        if token.kind != "page" or token.page_id != page_id:
            if not writes and token.kind != "page":
                return graph_error(
                    400, "(#190) This method must be called with a Page Access Token", 190
                )
            return graph_error(
                403,
                "(#200) If posting to a page, requires both pages_read_engagement and "
                "pages_manage_posts as an admin with sufficient administrative permission",
                200,
            )
        needed = (
            {"pages_manage_posts", "pages_read_engagement"} if writes else {"pages_read_engagement"}
        )
        if needed <= token.permissions:
            return token
        if writes:
            return graph_error(
                403,
                "(#200) If posting to a page, requires both pages_read_engagement and "
                "pages_manage_posts as an admin with sufficient administrative permission",
                200,
            )
        return graph_error(
            403,
            "(#10) This endpoint requires the 'pages_read_engagement' permission or the "
            "'Page Public Content Access' feature.",
            10,
        )

    def _route_params(self, request: Request) -> dict[str, str]:
        for method, pattern, _ in ROUTES:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                return match.groupdict()
        return {}

    def fault_response(self, fault: Fault, who: Any) -> Response:
        if fault.kind is FaultKind.RATE_LIMIT:
            code = fault.code if fault.code in RATE_LIMIT_CODES else 32
            response = graph_error(400, RATE_LIMIT_CODES[code], code, transient=True)
            response.headers["X-Business-Use-Case-Usage"] = self._usage_header(
                who, percent=100, regain_minutes=math.ceil(fault.reset_in / 60)
            )
            return response
        return graph_error(
            fault.status or 500,
            "An unexpected error has occurred. Please retry your request later.",
            2,
            transient=True,
        )

    def decorate(self, response: Response, endpoint: str, who: Any) -> Response:
        if isinstance(who, Token) and who.page_id:
            usage = self._page_usage(who.page_id)
            percent = min(100, math.floor(usage.calls * 100 / max(self._usage.call_limit, 1)))
            regain = self._regain_minutes(usage) if percent >= 100 else 0
            response.headers.setdefault(
                "X-Business-Use-Case-Usage", self._usage_header(who, percent, regain)
            )
        return response

    def process(
        self, endpoint: str, params: Mapping[str, str], request: Request, who: Any
    ) -> Response:
        assert isinstance(who, Token) and who.page_id
        usage = self._page_usage(who.page_id)
        with self.lock:
            usage.calls += 1
            over = usage.calls > self._usage.call_limit
        if over:
            return graph_error(400, RATE_LIMIT_CODES[32], 32, transient=True)
        if endpoint == PHOTOS:
            return self._photo(request, who)
        if endpoint == FEED:
            return self._feed(request, who)
        return self._published_posts(request, who)

    # -- usage --

    def _page_usage(self, page_id: str) -> _Usage:
        start = (self.clock().timestamp() // 3600) * 3600
        with self.lock:
            usage = self._usage.by_page.get(page_id)
            if usage is None or usage.start != start:
                usage = self._usage.by_page[page_id] = _Usage(start)
            return usage

    def _regain_minutes(self, usage: _Usage) -> int:
        return max(1, math.ceil((usage.start + 3600 - self.clock().timestamp()) / 60))

    def _usage_header(self, who: Any, percent: int, regain_minutes: int) -> str:
        page_id = who.page_id if isinstance(who, Token) and who.page_id else "0"
        entry = {
            "type": "pages",
            "call_count": percent,
            "total_cputime": max(percent // 4, 1),
            "total_time": max(percent // 4, 1),
            "estimated_time_to_regain_access": regain_minutes,
        }
        return json.dumps({page_id: [entry]}, separators=(",", ":"))

    # -- the endpoints --

    def _photo(self, request: Request, token: Token) -> Response:
        upload = request.files.get("source")
        if upload is None:
            return graph_error(400, "(#324) Requires upload file", 324)
        content = upload[2]
        if not content.startswith(_MAGIC) and not (
            content[:4] == b"RIFF" and content[8:12] == b"WEBP"
        ):
            return graph_error(400, "(#324) Missing or invalid image file", 324)
        if len(content) >= PHOTO_SIZE_LIMIT:
            return graph_error(400, "(#100) The photo is larger than 10 MB", 100)
        alt_text = request.param("alt_text_custom") or ""
        if not alt_text.strip():
            return graph_error(400, "(#100) alt_text_custom is required (herald's rule)", 100)
        published = (request.param("published") or "true").lower() not in ("false", "0")
        assert token.page_id
        with self.lock:
            photo = Photo(str(next(self._ids)), token.page_id, len(content), alt_text, published)
            self._photos[photo.id] = photo
            if not published:
                return Response(200, {"id": photo.id})
            post = self._add_post(token, request.param("message") or "", None, (photo,), "photo")
        return Response(200, {"id": photo.id, "post_id": post.id})

    def _feed(self, request: Request, token: Token) -> Response:
        message = request.param("message") or ""
        link = request.param("link")
        media_ids = self._attached_media(request)
        if isinstance(media_ids, Response):
            return media_ids
        if not message.strip() and not link and not media_ids:
            return graph_error(400, "(#100) Missing message or attachment.", 100)
        if len(message) > MESSAGE_LIMIT:
            return graph_error(
                400, f"(#100) The message is longer than {MESSAGE_LIMIT} characters", 100
            )
        if link and media_ids:
            return graph_error(
                400, "(#100) A post with attached_media cannot also have a link", 100
            )
        if len(media_ids) > MAX_ATTACHED_MEDIA:
            return graph_error(
                400, f"(#100) At most {MAX_ATTACHED_MEDIA} photos can be attached", 100
            )
        with self.lock:  # one post at a time: the duplicate check and the write together
            photos = []
            for media_id in media_ids:
                photo = self._photos.get(media_id)
                if photo is None or photo.page_id != token.page_id or photo.published:
                    return graph_error(400, f"(#100) Invalid media_fbid: {media_id}", 100)
                if photo.attached_to is not None:
                    return graph_error(
                        400, f"(#100) The photo {media_id} is already attached to a post", 100
                    )
                photos.append(photo)
            if (
                message
                and self.refuse_duplicates
                and any(p.page_id == token.page_id and p.message == message for p in self._posts)
            ):
                return graph_error(400, "(#506) Duplicate status message", 506)
            post = self._add_post(token, message, link, tuple(photos), "status")
            for photo in photos:
                photo.attached_to = post.id
        return Response(200, {"id": post.id})

    def _attached_media(self, request: Request) -> list[str] | Response:
        values = [v for k, v in request.form if re.fullmatch(r"attached_media\[[0-9]+\]", k)]
        whole = request.param("attached_media")
        try:
            items = [json.loads(v) for v in values]
            if whole:
                parsed = json.loads(whole)
                items += parsed if isinstance(parsed, list) else [parsed]
        except ValueError:
            return graph_error(400, "(#100) attached_media must be JSON objects", 100)
        ids = []
        for item in items:
            if not isinstance(item, dict) or "media_fbid" not in item:
                return graph_error(400, '(#100) attached_media needs {"media_fbid": ...}', 100)
            ids.append(str(item["media_fbid"]))
        return ids

    def _add_post(
        self, token: Token, message: str, link: str | None, photos: tuple[Photo, ...], kind: str
    ) -> Post:
        assert token.page_id
        post = Post(
            id=f"{token.page_id}_{next(self._ids)}",
            page_id=token.page_id,
            account=token.account,
            message=message,
            link=link,
            photos=photos,
            created_time=self.clock(),
            kind=kind,
        )
        self._posts.append(post)
        return post

    def _published_posts(self, request: Request, token: Token) -> Response:
        fields = [f for f in (request.param("fields") or "id").split(",") if f]
        unknown = [f for f in fields if f not in POST_FIELDS]
        if unknown:
            return graph_error(
                400,
                f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type (PagePost)",
                100,
            )
        try:
            limit = min(int(request.param("limit") or 25), 100)
        except ValueError:
            return graph_error(400, "(#100) Param limit must be a number", 100)
        with self.lock:
            horizon = self.visible_since()
            listed = [
                p
                for p in reversed(self._posts)
                if p.page_id == token.page_id and p.created_time.timestamp() <= horizon
            ]
        after = request.param("after")
        if after:
            cursors = [_cursor(p.id) for p in listed]
            if after not in cursors:
                return graph_error(400, "(#100) The after cursor is not valid", 100)
            listed = listed[cursors.index(after) + 1 :]
        page = listed[:limit]
        body: dict[str, Any] = {"data": [self._post_json(p, fields) for p in page]}
        if page:
            body["paging"] = {
                "cursors": {"before": _cursor(page[0].id), "after": _cursor(page[-1].id)}
            }
            if len(listed) > limit:
                body["paging"]["next"] = (
                    f"/{GRAPH_VERSION}/{token.page_id}/published_posts?fields={','.join(fields)}"
                    f"&limit={limit}&after={_cursor(page[-1].id)}"
                )
        return Response(200, body)

    def _post_json(self, post: Post, fields: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": post.id,
            "created_time": _created_time(post.created_time),
            "permalink_url": post.permalink_url,
            "is_published": True,
        }
        if post.message:
            values["message"] = post.message  # Graph leaves out a field that has no value
        return {f: values[f] for f in fields if f in values} | {"id": post.id}

    # -- control --

    def posts_json(self) -> list[dict[str, Any]]:
        return [
            {
                "id": p.id,
                "account": p.account,
                "message": p.message,
                "link": p.link,
                "kind": p.kind,
                "photos": [{"id": ph.id, "alt_text": ph.alt_text} for ph in p.photos],
                "created_time": _created_time(p.created_time),
            }
            for p in self.posts
        ]

    def control(self, method: str, path: str, request: Any) -> Response | None:
        """`POST /__control/invalidate` {account, subcode}."""
        if (method, path) == ("POST", "/__control/invalidate"):
            self.invalidate(str(request["account"]), int(request.get("subcode", 460)))
            return Response(204)
        return None


def main(argv: list[str] | None = None) -> int:
    """`python -m herald_dev.fake_facebook`: serve the fake until interrupted."""
    parser = fake_parser(
        "python -m herald_dev.fake_facebook",
        f"Serve a strict fake Facebook Graph API ({GRAPH_VERSION}) until interrupted.",
        control_help(ROUTES),
        port=8789,
        credentials_help=(
            'JSON in the secret\'s shape: {"facebook": {"<account>": {"page_access_token": ...}}}'
        ),
    )
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        metavar="ACCOUNT=PAGE_ID",
        help="the Page id of an account (default: a made-up one)",
    )
    return serve_from_cli(
        parser,
        argv,
        name="fake Facebook",
        section="facebook",
        banner="fake Facebook Graph API",
        build=_build,
    )


def _build(
    args: argparse.Namespace, secret: dict[str, Any], common: dict[str, Any]
) -> FakeFacebook:
    """The fake the command line asks for: each `--page ACCOUNT=PAGE_ID` applied."""
    pages = dict(item.split("=", 1) for item in args.page if "=" in item)
    return FakeFacebook(
        secret, pages={name: {"page_id": page_id} for name, page_id in pages.items()}, **common
    )


if __name__ == "__main__":
    sys.exit(main())
