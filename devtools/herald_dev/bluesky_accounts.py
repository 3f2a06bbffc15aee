"""Accounts on a Bluesky PDS for the tests and `make local`: a fresh account with an app
password (as a comms officer makes one in the Bluesky app), and what the tests ask the PDS
directly (a record, a handle's DID), outside herald's channel.

Every call has a timeout. Passwords are never in a repr."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import requests

TIMEOUT = (3.05, 15)
POST_COLLECTION = "app.bsky.feed.post"


class PdsCallError(RuntimeError):
    """The PDS answered an error: `status`, and its XRPC `error` name."""

    def __init__(self, method: str, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.error = str(body.get("error", ""))
        super().__init__(f"{method}: HTTP {status} {self.error}: {body.get('message', '')}")


@dataclass(frozen=True)
class PdsAccount:
    """An account on the PDS: its handle and DID, its login password and an app password."""

    service: str
    handle: str
    did: str
    password: str = field(repr=False)
    app_password: str = field(repr=False)

    def secret(self, account: str = "hertspolice") -> dict[str, dict[str, dict[str, str]]]:
        """The credentials secret's Bluesky part for this account under `account`."""
        keys = {"identifier": self.handle, "app_password": self.app_password}
        return {"bluesky": {account: keys}}


def xrpc(
    service: str,
    method: str,
    *,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """One XRPC call: a procedure when `body` is given, else a query. Raises PdsCallError."""
    url = f"{service.rstrip('/')}/xrpc/{method}"
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        response = requests.post(url, json=body, headers=headers, timeout=TIMEOUT)
    else:
        response = requests.get(url, params=params, headers=headers, timeout=TIMEOUT)
    answer: dict[str, Any] = response.json() if response.content else {}
    if response.status_code != 200:
        raise PdsCallError(method, response.status_code, answer)
    return answer


def create_account(service: str, handle: str | None = None) -> PdsAccount:
    """A new account (default: a random handle under .test) and an app password for it."""
    handle = handle or f"herald-{secrets.token_hex(4)}.test"
    password = secrets.token_urlsafe(18)
    created = xrpc(
        service,
        "com.atproto.server.createAccount",
        body={"handle": handle, "email": f"{handle}@example.org", "password": password},
    )
    app = xrpc(
        service,
        "com.atproto.server.createAppPassword",
        body={"name": "herald"},
        token=created["accessJwt"],
    )
    return PdsAccount(service, created["handle"], created["did"], password, app["password"])


def login(account: PdsAccount) -> dict[str, Any]:
    """A session with the account's own password (not herald's app password)."""
    return xrpc(
        account.service,
        "com.atproto.server.createSession",
        body={"identifier": account.handle, "password": account.password},
    )


def revoke_app_password(account: PdsAccount) -> None:
    """Revoke herald's app password, as the account's owner does in the Bluesky app."""
    session = login(account)
    xrpc(
        account.service,
        "com.atproto.server.revokeAppPassword",
        body={"name": "herald"},
        token=session["accessJwt"],
    )


def get_record(service: str, repo: str, rkey: str) -> dict[str, Any]:
    """The post `rkey` of `repo` ({uri, cid, value}); PdsCallError RecordNotFound if absent."""
    return xrpc(
        service,
        "com.atproto.repo.getRecord",
        params={"repo": repo, "collection": POST_COLLECTION, "rkey": rkey},
    )


def list_posts(service: str, repo: str) -> list[dict[str, Any]]:
    """Every post of `repo`, newest first ({uri, cid, value} each)."""
    posts: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"repo": repo, "collection": POST_COLLECTION, "limit": "100"}
        if cursor:
            params["cursor"] = cursor
        page = xrpc(service, "com.atproto.repo.listRecords", params=params)
        posts.extend(page.get("records", []))
        cursor = page.get("cursor")
        if not cursor or not page.get("records"):
            return posts
