"""The Bluesky reference PDS the suite starts really works, and its fault proxy loses
answers where it is told: the ground the Bluesky channel's tests stand on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from herald.channels.tid import TidClock
from herald_dev.bluesky_accounts import (
    POST_COLLECTION,
    PdsAccount,
    PdsCallError,
    get_record,
    list_posts,
    xrpc,
)
from herald_dev.bluesky_pds import BlueskyPds
from herald_dev.fault_proxy import DROP_AFTER_FORWARD, DROP_BEFORE_FORWARD, FaultProxy

pytestmark = pytest.mark.integration

CREATE = "com.atproto.repo.createRecord"
TIDS = TidClock()


def session(service: str, account: PdsAccount) -> dict[str, Any]:
    return xrpc(
        service,
        "com.atproto.server.createSession",
        body={"identifier": account.handle, "password": account.app_password},
    )


def create(service: str, token: str, repo: str, rkey: str, text: str) -> requests.Response:
    record = {"$type": POST_COLLECTION, "text": text, "createdAt": _now()}
    return requests.post(
        f"{service}/xrpc/{CREATE}",
        json={"repo": repo, "collection": POST_COLLECTION, "rkey": rkey, "record": record},
        headers={"authorization": f"Bearer {token}"},
        timeout=(3.05, 10),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_an_app_password_session_creates_a_record_that_reads_back(
    bluesky_pds: BlueskyPds, bluesky_account: PdsAccount
) -> None:
    # Given a session made with the account's app password, as herald makes one
    opened = session(bluesky_pds.url, bluesky_account)
    assert opened["did"] == bluesky_account.did
    assert opened["handle"] == bluesky_account.handle
    rkey = TIDS.next()

    # When a post is created under a record key chosen by the client
    created = create(bluesky_pds.url, opened["accessJwt"], opened["did"], rkey, "hello 🌍")

    # Then it is at that key, with the cid the create answered
    assert created.status_code == 200, created.text
    answer = created.json()
    assert answer["uri"] == f"at://{bluesky_account.did}/{POST_COLLECTION}/{rkey}"
    stored = get_record(bluesky_pds.url, bluesky_account.did, rkey)
    assert stored["cid"] == answer["cid"]
    assert stored["value"]["text"] == "hello 🌍"


def test_the_same_record_key_twice_is_refused_and_never_makes_a_second_post(
    bluesky_pds: BlueskyPds, bluesky_account: PdsAccount
) -> None:
    # Given a post created under a key
    token = session(bluesky_pds.url, bluesky_account)["accessJwt"]
    rkey = TIDS.next()
    first = create(bluesky_pds.url, token, bluesky_account.did, rkey, "once only")
    assert first.status_code == 200

    # When the same create is sent again with the same key
    again = create(bluesky_pds.url, token, bluesky_account.did, rkey, "once only")

    # Then the server refuses it (today with a 500) and the account holds the post once
    assert again.status_code == 500
    texts = [p["value"]["text"] for p in list_posts(bluesky_pds.url, bluesky_account.did)]
    assert texts.count("once only") == 1


def test_a_missing_record_is_record_not_found(
    bluesky_pds: BlueskyPds, bluesky_account: PdsAccount
) -> None:
    with pytest.raises(PdsCallError) as raised:
        get_record(bluesky_pds.url, bluesky_account.did, TIDS.next())
    assert (raised.value.status, raised.value.error) == (400, "RecordNotFound")


def test_an_answer_dropped_after_forwarding_leaves_the_record_written(
    bluesky_pds: BlueskyPds, bluesky_account: PdsAccount, pds_proxy: FaultProxy
) -> None:
    # Given the proxy told to lose the answer to the next create
    token = session(pds_proxy.url, bluesky_account)["accessJwt"]
    pds_proxy.fail_next(CREATE, DROP_AFTER_FORWARD)
    rkey = TIDS.next()

    # When a post is created through it
    with pytest.raises(requests.ConnectionError):
        create(pds_proxy.url, token, bluesky_account.did, rkey, "written, answer lost")

    # Then the client heard nothing, but the post is there
    assert pds_proxy.faults_done == [(DROP_AFTER_FORWARD, f"/xrpc/{CREATE}")]
    stored = get_record(bluesky_pds.url, bluesky_account.did, rkey)
    assert stored["value"]["text"] == "written, answer lost"


def test_a_request_dropped_before_forwarding_never_reaches_the_server(
    bluesky_pds: BlueskyPds, bluesky_account: PdsAccount, pds_proxy: FaultProxy
) -> None:
    # Given the proxy told to drop the next create before passing it on
    token = session(pds_proxy.url, bluesky_account)["accessJwt"]
    pds_proxy.fail_next(CREATE, DROP_BEFORE_FORWARD)
    rkey = TIDS.next()

    # When a post is created through it
    with pytest.raises(requests.ConnectionError):
        create(pds_proxy.url, token, bluesky_account.did, rkey, "never sent")

    # Then there is no such post, and the same create with the same key then succeeds
    with pytest.raises(PdsCallError):
        get_record(bluesky_pds.url, bluesky_account.did, rkey)
    retried = create(pds_proxy.url, token, bluesky_account.did, rkey, "never sent")
    assert retried.status_code == 200
    assert pds_proxy.seen[f"/xrpc/{CREATE}"] == 2
