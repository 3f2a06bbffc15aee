"""The Bluesky channel: posts as `app.bsky.feed.post` records through XRPC, on plain HTTP.

Exactly once by construction: Bluesky lets the client choose a record's key, so herald
chooses it (a TID, `new_key`) when the delivery is claimed, the ledger stores it before the
create call, and every attempt sends the same key. The server can never hold two records
under one key; a second create with it is refused (today with a 500), which the channel
takes for "it may be there already" and settles at once by reading the key back. After an
UNKNOWN outcome, `find_recent` reads that key (`com.atproto.repo.getRecord`): present is
SENT with its uri and cid; absent (`RecordNotFound`) makes the same create safe to repeat.

A publication: the session (one per account and container, herald.channels.bluesky_xrpc),
a check that it is the account the campaign names, the mentions' DIDs, the images' blobs,
then the one create call. Links, tags and mentions become facets with UTF-8 byte offsets
(herald.channels.bluesky_facets); a reply carries strong references (uri and cid) to its
parent and its thread's root. Every outcome is reported, never raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from herald.channels import (
    CreateCall,
    Outcome,
    OutcomeKind,
    PostRef,
    Reply,
    SettleBy,
    Settlement,
    not_created,
    why_not,
)
from herald.channels.bluesky_xrpc import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    Login,
    XrpcError,
    XrpcSession,
)
from herald.channels.tid import TidClock, is_tid
from herald.credentials import CredentialsError, CredentialsProvider
from herald.delivery import DeliveryKey, MediaItem
from herald.media import UnusableMedia, read_media

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

DEFAULT_SERVICE = "https://bsky.social"
POST = "app.bsky.feed.post"
CREATE = "com.atproto.repo.createRecord"
CREDENTIAL_KEYS = ("identifier", "app_password")
# A key makes a repeat harmless, so an attempt found absent is repeated at once (no gap
# between read-backs), up to three times inside the delivery's window.
BY_RECORD_KEY = Settlement(SettleBy.IDEMPOTENCY_KEY, timedelta(0), resends=3)
RECONNECT = "reconnect the account (a new app password in the secret)"


class Stage(StrEnum):
    """Where a call failed: before the create call nothing can have been published."""

    SESSION = "logging in"
    PREPARE = "preparing the post"
    POST = "the post"


class BlueskyLookupError(Exception):
    """`find_recent` could not read the account; the post may or may not be there."""


@dataclass(frozen=True)
class BlueskyAccount:
    """A Bluesky account as the campaign names it."""

    handle: str
    service: str = DEFAULT_SERVICE
    link_card: bool = False


def post_url(handle: str, uri: str) -> str:
    """The public URL of the post at `uri` (at://did/app.bsky.feed.post/rkey)."""
    return f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"


def record_uri(did: str, rkey: str) -> str:
    return f"at://{did}/{POST}/{rkey}"


def now_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BlueskyChannel:
    """Publishes to Bluesky. Nothing here reads the environment: everything is injected.

    `accounts` maps each account name to `{"handle", "service", "link_card"}` (extra keys
    ignored); `service_url`, when given, replaces every account's service (tests, `make
    local`); `credentials` gives each account's identifier and app password. Every request
    has the (connect, read) timeouts. `transport` is an optional requests adapter mounted
    for all URLs (offline tests)."""

    name = "bluesky"
    settlement = BY_RECORD_KEY

    def __init__(
        self,
        accounts: Mapping[str, BlueskyAccount | Mapping[str, Any]],
        credentials: CredentialsProvider,
        *,
        service_url: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        transport: Any = None,
        clock: Callable[[], datetime] | None = None,
        tids: TidClock | None = None,
    ) -> None:
        if service_url is not None and not service_url.startswith(("http://", "https://")):
            raise ValueError(f"Bluesky service URL must be http(s)://..., not {service_url!r}")
        self._accounts = {name: _account(settings) for name, settings in accounts.items()}
        self._credentials = credentials
        self._service_url = service_url.rstrip("/") if service_url else None
        self.timeout = (connect_timeout, read_timeout)
        self.create_seconds = connect_timeout + read_timeout
        self._transport = transport
        self._clock = clock or (lambda: datetime.now(UTC))
        self._tids = tids or TidClock()
        self._lock = threading.Lock()
        self._http: requests.Session | None = None
        self._sessions: dict[str, XrpcSession] = {}

    def __repr__(self) -> str:
        return f"BlueskyChannel(accounts={sorted(self._accounts)!r})"

    def service_of(self, account: str) -> str:
        if self._service_url is not None:
            return self._service_url
        settings = self._accounts.get(account)
        return (settings.service if settings else DEFAULT_SERVICE).rstrip("/")

    # -- publishing --

    def new_key(self, key: DeliveryKey) -> str | None:
        """A fresh record key (TID) for a delivery being claimed."""
        return self._tids.next()

    def publish(
        self, account: str, text: str, reply: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        session = self._session_for(account)
        if isinstance(session, Outcome):
            return session
        login = self._checked_login(account, session)
        if isinstance(login, Outcome):
            return login
        record = self._record(account, session, text, reply, media)
        if isinstance(record, Outcome):
            return record
        stop = why_not(call)
        if stop is not None:
            return not_created(stop)
        given = call.idempotency_key if call is not None else None
        rkey = given if given and is_tid(given) else self._tids.next()
        return self._create(account, session, login, rkey, record)

    def _create(
        self,
        account: str,
        session: XrpcSession,
        login: Login,
        rkey: str,
        record: dict[str, Any],
    ) -> Outcome:
        body = {"repo": login.did, "collection": POST, "rkey": rkey, "record": record}
        try:
            answer = session.call(CREATE, body=body)
        except XrpcError as error:
            if error.method != CREATE:  # renewing the session was refused: nothing sent
                return outcome_for_error(error, Stage.SESSION, account)
            if error.status == 500:
                return self._settle_refused_key(session, login, rkey, error)
            return outcome_for_error(error, Stage.POST, account)
        except CredentialsError as error:  # the secret, read for a new login: nothing sent
            return _no_credentials(error)
        except Exception as error:
            return outcome_for_exception(error, Stage.POST)
        uri, cid = str(answer.get("uri", "")), answer.get("cid")
        if not uri or not isinstance(cid, str):
            return Outcome(
                OutcomeKind.UNKNOWN,
                reason="Bluesky accepted the post but its answer has no uri or cid; reconcile",
            )
        return Outcome(OutcomeKind.SENT, remote_id=uri, url=post_url(login.handle, uri), cid=cid)

    def _settle_refused_key(
        self, session: XrpcSession, login: Login, rkey: str, error: XrpcError
    ) -> Outcome:
        """A 500 to the create: the server's answer to a key that already holds a record
        (an earlier attempt's), or a fault of its own. Reading the key back tells which."""
        unknown = Outcome(
            OutcomeKind.UNKNOWN,
            reason=f"Bluesky answered 500 to the post ({error.message or error.error}); "
            f"it may or may not be published under record key {rkey}",
        )
        try:
            found = self._read_key(session, login, rkey)
        except BlueskyLookupError as lookup:
            return replace(unknown, reason=f"{unknown.reason}; reading it back failed: {lookup}")
        if found is None:
            return unknown
        return replace(
            found,
            reason=f"Bluesky refused the post because record key {rkey} already holds it "
            "(an earlier attempt's); read back",
            duplicate=True,
        )

    # -- what goes into the record --

    def _record(
        self,
        account: str,
        session: XrpcSession,
        text: str,
        reply: Reply | None,
        media: list[MediaItem],
    ) -> dict[str, Any] | Outcome:
        from herald.channels import bluesky_embed, bluesky_facets

        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": now_iso(self._clock())}
        spans = bluesky_facets.find_spans(text)
        dids = self._resolve(session, bluesky_facets.handles(spans))
        if isinstance(dids, Outcome):
            return dids
        facets = bluesky_facets.facets(spans, dids)
        if facets:
            record["facets"] = facets
        if reply is not None:
            refs = self._reply_refs(session, reply)
            if isinstance(refs, Outcome):
                return refs
            record["reply"] = refs
        if media:
            embed = self._upload_all(account, session, media)
            if isinstance(embed, Outcome):
                return embed
            record["embed"] = embed
        else:
            link = bluesky_facets.first_link(text)
            settings = self._accounts.get(account)
            if link is not None and settings is not None and settings.link_card:
                record["embed"] = bluesky_embed.link_card(link)
        return record

    def _resolve(self, session: XrpcSession, handles: list[str]) -> dict[str, str] | Outcome:
        """The DID of each mentioned handle that resolves; one that does not is left out
        (its mention stays plain text) with a warning."""
        dids: dict[str, str] = {}
        for handle in handles:
            try:
                answer = session.query("com.atproto.identity.resolveHandle", {"handle": handle})
            except XrpcError as error:
                if error.status == 429:
                    return outcome_for_error(error, Stage.PREPARE, "")
                log.warning(
                    "mention left as plain text: @%s does not resolve (%s)", handle, error.error
                )
                continue
            except Exception as error:
                return outcome_for_exception(error, Stage.PREPARE)
            did = answer.get("did")
            if isinstance(did, str) and did.startswith("did:"):
                dids[handle] = did
        return dids

    def _reply_refs(self, session: XrpcSession, reply: Reply) -> dict[str, Any] | Outcome:
        """The reply's strong references; a cid the ledger lacks is read from the server."""
        refs: dict[str, Any] = {}
        for role, ref in (("root", reply.root), ("parent", reply.parent)):
            cid = ref.cid or self._cid_of(session, ref)
            if isinstance(cid, Outcome):
                return cid
            refs[role] = {"uri": ref.id, "cid": cid}
        return refs

    def _cid_of(self, session: XrpcSession, ref: PostRef) -> str | Outcome:
        repo, _, rkey = ref.id.removeprefix("at://").partition(f"/{POST}/")
        try:
            answer = session.query(
                "com.atproto.repo.getRecord", {"repo": repo, "collection": POST, "rkey": rkey}
            )
        except XrpcError as error:
            return outcome_for_error(error, Stage.PREPARE, "")
        except Exception as error:
            return outcome_for_exception(error, Stage.PREPARE)
        cid = answer.get("cid")
        if not isinstance(cid, str):
            return Outcome(OutcomeKind.FAILED, reason=f"the post replied to, {ref.id}, has no cid")
        return cid

    def _upload_all(
        self, account: str, session: XrpcSession, media: list[MediaItem]
    ) -> dict[str, Any] | Outcome:
        from herald.channels import bluesky_embed

        if len(media) > bluesky_embed.MAX_IMAGES:
            return Outcome(
                OutcomeKind.FAILED,
                reason=f"{len(media)} images; Bluesky takes at most {bluesky_embed.MAX_IMAGES}",
                retryable=False,
            )
        blobs: list[tuple[dict[str, Any], str, bytes]] = []
        for item in media:
            uploaded = self._upload(account, session, item)
            if isinstance(uploaded, Outcome):
                return replace(uploaded, reason=f"{item.path.name}: {uploaded.reason}")
            blobs.append(uploaded)
        return bluesky_embed.images_embed(blobs)

    def _upload(
        self, account: str, session: XrpcSession, item: MediaItem
    ) -> tuple[dict[str, Any], str, bytes] | Outcome:
        from herald.channels.bluesky_embed import MAX_IMAGE_BYTES

        try:
            content, content_type = read_media(item)
        except UnusableMedia as error:
            return Outcome(OutcomeKind.FAILED, reason=str(error), retryable=False)
        if len(content) > MAX_IMAGE_BYTES:
            return Outcome(
                OutcomeKind.FAILED,
                reason=f"{len(content):,} bytes; Bluesky takes images of at most "
                f"{MAX_IMAGE_BYTES:,} bytes (herald never resizes them)",
                retryable=False,
            )
        if not item.alt.strip():
            return Outcome(OutcomeKind.FAILED, reason="no alt text", retryable=False)
        try:
            answer = session.call(
                "com.atproto.repo.uploadBlob", data=content, content_type=content_type
            )
        except XrpcError as error:
            return outcome_for_error(error, Stage.PREPARE, account)
        except Exception as error:
            return outcome_for_exception(error, Stage.PREPARE)
        blob = answer.get("blob")
        if not isinstance(blob, dict):
            return Outcome(
                OutcomeKind.FAILED, reason="Bluesky's answer to the upload has no blob",
                retryable=True,
            )  # fmt: skip
        return blob, item.alt, content

    # -- sessions --

    def _session_for(self, account: str) -> XrpcSession | Outcome:
        """The account's session (made on first use, kept for the container's life)."""
        with self._lock:
            session = self._sessions.get(account)
            if session is not None:
                return session
            try:
                self._login_keys(account)
            except CredentialsError as error:
                return _no_credentials(error)
            session = XrpcSession(
                self.service_of(account),
                lambda: self._login_keys(account),
                self._requests_session(),
                self.timeout,
            )
            self._sessions[account] = session
            return session

    def _login_keys(self, account: str) -> tuple[str, str]:
        """The account's identifier and app password, as the secret holds them now."""
        keys = self._credentials.keys_for(self.name, account, CREDENTIAL_KEYS)
        return keys["identifier"], keys["app_password"]

    def _checked_login(self, account: str, session: XrpcSession) -> Login | Outcome:
        """Log in (once); refuse, before anything is sent, an app password that belongs
        to another account than the one the campaign names."""
        try:
            login = session.ensure_login()
        except XrpcError as error:
            return outcome_for_error(error, Stage.SESSION, account)
        except CredentialsError as error:
            return _no_credentials(error)
        except Exception as error:
            return outcome_for_exception(error, Stage.SESSION)
        settings = self._accounts.get(account)
        named = settings.handle.lower() if settings is not None else ""
        if named and named not in (login.handle.lower(), login.did.lower()):
            return Outcome(
                OutcomeKind.FAILED,
                reason=f"the Bluesky credentials of account {account!r} log in as "
                f"@{login.handle}, not @{named} as the campaign names it; nothing was sent: "
                f"put @{named}'s app password in the secret, or correct the handle",
                retryable=False,
            )
        return login

    def _requests_session(self) -> requests.Session:
        if self._http is None:
            import requests

            http = requests.Session()
            if self._transport is not None:
                http.mount("http://", self._transport)
                http.mount("https://", self._transport)
            self._http = http
        return self._http

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
        """SENT with the post's uri, URL and cid if the record key the delivery's attempts
        were sent with (`idempotency_key`) holds a post; None if it holds none. The key
        alone answers: no other delivery ever has it. Without a key, None: nothing was
        ever sent. Raises BlueskyLookupError when the account cannot be read."""
        if not idempotency_key:
            return None
        session = self._session_for(account)
        if isinstance(session, Outcome):
            raise BlueskyLookupError(session.reason)
        try:
            login = session.ensure_login()
        except Exception as error:
            raise BlueskyLookupError(_describe(error)) from None
        found = self._read_key(session, login, idempotency_key)
        if found is None or found.remote_id in exclude_ids:
            return None
        return found

    def _read_key(self, session: XrpcSession, login: Login, rkey: str) -> Outcome | None:
        params = {"repo": login.did, "collection": POST, "rkey": rkey}
        try:
            answer = session.query("com.atproto.repo.getRecord", params)
        except XrpcError as error:
            if error.error == "RecordNotFound":
                return None
            raise BlueskyLookupError(str(error)) from None
        except Exception as error:
            raise BlueskyLookupError(_describe(error)) from None
        uri = str(answer.get("uri") or record_uri(login.did, rkey))
        cid = answer.get("cid")
        return Outcome(
            OutcomeKind.SENT,
            remote_id=uri,
            url=post_url(login.handle, uri),
            cid=cid if isinstance(cid, str) else None,
            reason=f"found under its record key {rkey}",
        )


# --- outcomes ------------------------------------------------------------------------------


def outcome_for_error(error: XrpcError, stage: Stage, account: str) -> Outcome:
    """The outcome of an error the server answered."""
    said = f": {error.error}" + (f" ({error.message})" if error.message else "")
    if error.status == 429:
        retry_at = error.retry_at or datetime.now(UTC) + timedelta(minutes=5)
        return Outcome(
            OutcomeKind.RATE_LIMITED,
            reason=f"Bluesky rate limit reached {stage.value} (429{said}); claimable again "
            f"at {retry_at:%Y-%m-%dT%H:%M:%SZ}",
            retryable=True,
            retry_at=retry_at,
        )
    if error.status == 401 or error.error in ("AuthenticationRequired", "AccountTakedown"):
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"Bluesky refused the app password of account {account!r} "
            f"({error.status}{said}); {RECONNECT}",
            retryable=False,
        )
    if 400 <= error.status < 500:
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"Bluesky refused {stage.value} ({error.status}{said})",
            retryable=False,
        )
    if stage is not Stage.POST:
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"Bluesky answered {error.status} {stage.value}{said}; nothing was published",
            retryable=True,
        )
    return Outcome(
        OutcomeKind.UNKNOWN,
        reason=f"Bluesky answered {error.status} to the post{said}; it may or may not be published",
    )


def outcome_for_exception(error: BaseException, stage: Stage) -> Outcome:
    """The outcome of a call the server did not answer."""
    import requests

    exceptions = requests.exceptions
    if isinstance(error, exceptions.ConnectTimeout) or (
        isinstance(error, exceptions.ConnectionError) and _never_sent(error)
    ):
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"could not connect to Bluesky ({_describe(error)}); nothing was sent",
            retryable=True,
        )
    if isinstance(error, exceptions.InvalidURL | exceptions.MissingSchema):
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"the Bluesky service address is not usable ({type(error).__name__})",
            retryable=False,
        )
    if isinstance(error, exceptions.Timeout):
        happened = "Bluesky did not answer within the read timeout"
    elif isinstance(error, exceptions.ConnectionError | exceptions.ChunkedEncodingError):
        happened = f"the connection was lost after the request was sent ({_describe(error)})"
    else:
        happened = f"unexpected {type(error).__name__}"
        log.warning("unexpected %s while %s on Bluesky", type(error).__name__, stage.value)
    if stage is not Stage.POST:
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"{happened} while {stage.value}; nothing was published",
            retryable=True,
        )
    return Outcome(OutcomeKind.UNKNOWN, reason=f"{happened}; the post may or may not be published")


def _never_sent(error: BaseException) -> bool:
    """True only when no connection was made: refused, no DNS, connect timeout."""
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    for arg in getattr(error, "args", ()):
        if isinstance(arg, MaxRetryError):
            return isinstance(arg.reason, NewConnectionError | ConnectTimeoutError)
        if isinstance(arg, NewConnectionError):
            return True
    return False


def _describe(error: BaseException) -> str:
    """A secret-free description: the class names of the error and what caused it."""
    if isinstance(error, XrpcError):
        return str(error)
    names = [type(error).__name__]
    for arg in getattr(error, "args", ()):
        if isinstance(arg, BaseException):
            names.append(type(arg).__name__)
            reason = getattr(arg, "reason", None)
            if isinstance(reason, BaseException):
                names.append(type(reason).__name__)
    return ", ".join(dict.fromkeys(names))


def _no_credentials(error: CredentialsError) -> Outcome:
    if error.retryable:
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"{error}; nothing was sent, a later attempt may succeed",
            retryable=True,
        )
    return Outcome(OutcomeKind.FAILED, reason=f"{error}; {RECONNECT}", retryable=False)


def _account(settings: BlueskyAccount | Mapping[str, Any]) -> BlueskyAccount:
    if isinstance(settings, BlueskyAccount):
        return settings
    return BlueskyAccount(
        handle=str(settings.get("handle") or "").lstrip("@"),
        service=str(settings.get("service") or DEFAULT_SERVICE),
        link_card=bool(settings.get("link_card", False)),
    )
