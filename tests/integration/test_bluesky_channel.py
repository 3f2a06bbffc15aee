"""herald's Bluesky channel against the Bluesky reference PDS (npm @atproto/pds), started by
the suite: the SID campaign to X (fake) and Bluesky (real), threads, images, facets, every
unknown outcome settled by its record key with no second post, and the bad input and
faults the server gives."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from herald import simulate
from herald.channels import Channel, OutcomeKind
from herald.channels.bluesky import BlueskyChannel
from herald.channels.rules import rules_for
from herald.credentials import StaticCredentials
from herald.delivery import DeliveryKey, thread_root
from herald.engine import Engine
from herald.ledger import Record, State
from herald.ledger.dynamodb import DynamoLedger
from herald.plan import LoadedPlan, load_plan_strict
from herald_dev.bluesky_accounts import (
    PdsAccount,
    get_record,
    list_posts,
    revoke_app_password,
    xrpc,
)
from herald_dev.bluesky_edition import with_bluesky
from herald_dev.bluesky_pds import BlueskyPds
from herald_dev.dynamodb_local import free_port
from herald_dev.fake_x import FakeX
from herald_dev.fault_proxy import (
    DROP_AFTER_FORWARD,
    DROP_BEFORE_FORWARD,
    HOLD_AFTER_FORWARD,
    FaultProxy,
)
from herald_dev.x_accounts import x_channel_for
from tests.integration.conftest import REPO_ROOT, record_of

pytestmark = pytest.mark.integration

CREATE = "com.atproto.repo.createRecord"
SESSION = "com.atproto.server.createSession"
SID_FILE = "safer-internet-day-2021.yaml"
SID_START = datetime(2021, 2, 8, tzinfo=UTC)
SID_END = datetime(2021, 2, 11, tzinfo=UTC)
DUE = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)  # the one post of `one_post` campaigns

MakeChannel = Callable[..., BlueskyChannel]


@pytest.fixture
def make_channel(bluesky_pds: BlueskyPds, bluesky_account: PdsAccount) -> MakeChannel:
    """A Bluesky channel for account 'hertspolice', as runtime builds it: the account's
    handle from the campaign, its app password from the secret, the PDS's address."""

    def make(
        account: PdsAccount = bluesky_account,
        *,
        service: str | None = None,
        handle: str | None = None,
        link_card: bool = False,
        read_timeout: float = 10.0,
    ) -> BlueskyChannel:
        settings = {"handle": handle or account.handle, "link_card": link_card}
        return BlueskyChannel(
            {"hertspolice": settings},
            StaticCredentials(account.secret(), source="the test secret"),
            service_url=service or bluesky_pds.url,
            read_timeout=read_timeout,
        )

    return make


def one_post(folder: Path, account: PdsAccount, text: str, *thread: str) -> LoadedPlan:
    """A campaign of one post (and its thread) from the account on Bluesky, due at DUE."""
    parts = "".join(f"\n      - {json.dumps(p, ensure_ascii=False)}" for p in thread)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "campaign.yaml"
    path.write_text(
        "campaign: bluesky-test\ntitle: Bluesky test\ntimezone: Europe/London\n"
        f"accounts:\n  bluesky:\n    hertspolice: {{handle: {account.handle}}}\n"
        "defaults: {channels: [bluesky]}\n"
        f"posts:\n  - id: appeal\n    at: 2021-03-01 09:00\n"
        f"    text: {json.dumps(text, ensure_ascii=False)}\n"
        + (f"    thread:{parts}\n" if thread else ""),
        encoding="utf-8",
    )
    return load_plan_strict([path])


def posts_with(pds: BlueskyPds, account: PdsAccount, text: str) -> list[dict[str, Any]]:
    return [p for p in list_posts(pds.url, account.did) if p["value"]["text"] == text]


def covered(text: str, facet: dict[str, Any]) -> str:
    index = facet["index"]
    return text.encode("utf-8")[index["byteStart"] : index["byteEnd"]].decode("utf-8")


# --- the SID campaign, threads and images ---------------------------------------------------


def test_the_sid_campaign_goes_to_x_and_to_bluesky(
    tmp_path: Path,
    ledger: DynamoLedger,
    fake_x: FakeX,
    bluesky_pds: BlueskyPds,
    bluesky_account: PdsAccount,
    make_channel: MakeChannel,
) -> None:
    # Given the SID campaign with a Bluesky account added, as a comms officer adds one
    edition = with_bluesky(
        REPO_ROOT / "campaigns",
        tmp_path / "campaigns",
        SID_FILE,
        handle=bluesky_account.handle,
        channels=["x", "bluesky"],
    )
    plan = load_plan_strict([edition])
    channels: dict[str, Channel] = {"x": x_channel_for(fake_x), "bluesky": make_channel()}

    # When the engine runs through its three days
    simulate.run(plan, ledger, channels, SID_START, SID_END)

    # Then every delivery on both channels is SENT, and X has its 13 posts
    records = ledger.get_many([d.key for d in plan.deliveries])
    assert len(records) == 26
    assert {r.state for r in records.values()} == {State.SENT}
    assert len(fake_x.posts) == 13
    # And Bluesky holds each of its 13 texts once, each under the key the ledger chose
    on_bluesky = [d for d in plan.deliveries if d.key.channel == "bluesky"]
    posts = {p["uri"]: p for p in list_posts(bluesky_pds.url, bluesky_account.did)}
    sent = {d.key: records[d.key] for d in on_bluesky}
    assert sorted(posts[r.remote_id or ""]["value"]["text"] for r in sent.values()) == sorted(
        d.render() for d in on_bluesky
    )
    for record in sent.values():
        assert record.remote_id == (
            f"at://{bluesky_account.did}/app.bsky.feed.post/{record.idempotency_key}"
        )
        assert posts[record.remote_id]["cid"] == record.remote_cid


def test_sid_threads_reply_with_their_root_and_parent(
    tmp_path: Path,
    ledger: DynamoLedger,
    bluesky_pds: BlueskyPds,
    new_bluesky_account: Callable[[], PdsAccount],
    make_channel: MakeChannel,
) -> None:
    # Given the SID campaign on Bluesky alone, from an account of its own
    account = new_bluesky_account()
    edition = with_bluesky(
        REPO_ROOT / "campaigns",
        tmp_path / "campaigns",
        SID_FILE,
        handle=account.handle,
        channels=["bluesky"],
    )
    plan = load_plan_strict([edition])
    bluesky_only = list(plan.deliveries)
    assert {d.key.channel for d in bluesky_only} == {"bluesky"}

    # When it is published
    simulate.run(plan, ledger, {"bluesky": make_channel(account)}, SID_START, SID_END)

    # Then each follow-up's record, read back, names its parent and its root by uri and cid
    records = ledger.get_many([d.key for d in bluesky_only])
    follow_ups = [d for d in bluesky_only if d.parent_key is not None]
    assert len(follow_ups) == 6  # cost-advice.2-3, how-to-report.2-5
    for delivery in follow_ups:
        assert delivery.parent_key is not None
        value = _record_value(bluesky_pds, account, records[delivery.key])
        parent, root = records[delivery.parent_key], records[thread_root(delivery.key)]
        assert value["reply"] == {
            "root": {"uri": root.remote_id, "cid": root.remote_cid},
            "parent": {"uri": parent.remote_id, "cid": parent.remote_cid},
        }
    # And the launch post carries its image with its alt text and aspect ratio, unresized
    launch = next(d for d in bluesky_only if d.key.post == "launch")
    value = _record_value(bluesky_pds, account, records[launch.key])
    [image] = value["embed"]["images"]
    [media] = launch.part.media
    width, height = Image.open(media.path).size
    assert image["alt"] == media.alt
    assert image["aspectRatio"] == {"width": width, "height": height}
    assert image["image"]["size"] == media.path.stat().st_size
    # And its hashtag and link are facets over exactly their bytes
    text = value["text"]
    assert [covered(text, f) for f in value["facets"]] == [
        "#SaferInternetDay",
        "https://www.herts.police.uk/news-and-appeals/police-and-partners-show-their-support-"
        "for-safer-internet-day-2021",
    ]


def _record_value(pds: BlueskyPds, account: PdsAccount, record: Record) -> dict[str, Any]:
    rkey = str(record.remote_id).rsplit("/", 1)[-1]
    value: dict[str, Any] = get_record(pds.url, account.did, rkey)["value"]
    return value


# --- rich text ---------------------------------------------------------------------------


def test_links_tags_and_mentions_are_facets_over_their_utf8_bytes(
    bluesky_pds: BlueskyPds,
    bluesky_account: PdsAccount,
    make_channel: MakeChannel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a text with emoji, combining marks and non-Latin scripts around its facets
    text = (
        f"Café\u0301 🇬🇧 नमस्ते #सुरक्षा 👨‍👩‍👧 https://example.org/ü?q=1. "
        f"Thanks @{bluesky_account.handle} and @nobody-here.test #SaferInternetDay"
    )
    channel = make_channel()

    # When it is published
    with caplog.at_level(logging.WARNING):
        sent = channel.publish("hertspolice", text, None, [])

    # Then each facet of the stored record covers exactly what was written
    assert sent.kind is OutcomeKind.SENT
    value = get_record(bluesky_pds.url, bluesky_account.did, str(sent.remote_id)[-13:])["value"]
    assert value["text"] == text
    shown = [(covered(text, f), f["features"][0]) for f in value["facets"]]
    assert shown == [
        ("#सुरक्षा", {"$type": "app.bsky.richtext.facet#tag", "tag": "सुरक्षा"}),
        (
            "https://example.org/ü?q=1",
            {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.org/ü?q=1"},
        ),
        (
            f"@{bluesky_account.handle}",
            {"$type": "app.bsky.richtext.facet#mention", "did": bluesky_account.did},
        ),
        ("#SaferInternetDay", {"$type": "app.bsky.richtext.facet#tag", "tag": "SaferInternetDay"}),
    ]
    # And the handle that resolves to no account stays plain text, with a warning
    assert "@nobody-here.test does not resolve" in caplog.text


def test_a_link_card_only_when_the_campaign_asks_and_never_with_an_image(
    bluesky_pds: BlueskyPds, bluesky_account: PdsAccount, make_channel: MakeChannel
) -> None:
    text = "Advice for parents: https://www.saferinternet.org.uk/advice-centre/parents"
    plain = make_channel().publish("hertspolice", text + " (no card)", None, [])
    carded = make_channel(link_card=True).publish("hertspolice", text, None, [])
    assert plain.kind is OutcomeKind.SENT and carded.kind is OutcomeKind.SENT
    without = get_record(bluesky_pds.url, bluesky_account.did, str(plain.remote_id)[-13:])
    with_card = get_record(bluesky_pds.url, bluesky_account.did, str(carded.remote_id)[-13:])
    assert "embed" not in without["value"]
    assert with_card["value"]["embed"] == {
        "$type": "app.bsky.embed.external",
        "external": {
            "uri": "https://www.saferinternet.org.uk/advice-centre/parents",
            "title": "saferinternet.org.uk",
            "description": "https://www.saferinternet.org.uk/advice-centre/parents",
        },
    }


def test_herald_counts_graphemes_and_bytes_as_the_server_does(
    bluesky_pds: BlueskyPds, bluesky_account: PdsAccount, make_channel: MakeChannel
) -> None:
    # Given texts of 300 and 301 graphemes made of clusters of several code points, and one
    # of 300 family emoji (7,500 bytes)
    clusters = ["क्षि", "e\u0301", "🇬🇧", "한", "👍🏽", "a"] * 50
    at_limit, over = "".join(clusters), "".join(clusters) + "!"
    too_heavy = "👨‍👩‍👧‍👦" * 300
    measure = rules_for("bluesky").measure
    channel = make_channel()

    # Then herald's measures are the server's verdicts
    assert measure(at_limit, {})[0].value == 300
    assert [m.over for m in measure(over, {})] == [True, False]
    assert [m.over for m in measure(too_heavy, {})] == [False, True]
    assert channel.publish("hertspolice", at_limit, None, []).kind is OutcomeKind.SENT
    for refused in (over, too_heavy):
        outcome = channel.publish("hertspolice", refused, None, [])
        assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
        assert "Bluesky refused the post (400" in str(outcome.reason)


# --- exactly once: unknown outcomes settled by the record key ---------------------------------


def _engine(plan: LoadedPlan, ledger: DynamoLedger, channel: BlueskyChannel) -> Engine:
    return Engine(plan, ledger, {"bluesky": channel})


def _faulted(
    folder: Path,
    ledger: DynamoLedger,
    account: PdsAccount,
    text: str,
    channel: BlueskyChannel,
    proxy: FaultProxy,
    fault: Any,
    **options: Any,
) -> tuple[Engine, DeliveryKey]:
    """An engine for one post of `text`, whose next create call through `proxy` meets
    `fault` (with its `options`); and the post's delivery key."""
    plan = one_post(folder, account, text)
    proxy.fail_next(CREATE, fault, **options)
    return _engine(plan, ledger, channel), plan.deliveries[0].key


def test_an_unknown_after_the_record_was_written_is_settled_with_no_second_post(
    tmp_path: Path,
    ledger: DynamoLedger,
    bluesky_pds: BlueskyPds,
    bluesky_account: PdsAccount,
    pds_proxy: FaultProxy,
    make_channel: MakeChannel,
) -> None:
    # Given the answer to the create call lost after the PDS wrote the record
    text = "Written, but its answer was lost on the way back #herald"
    channel = make_channel(service=pds_proxy.url)
    engine, key = _faulted(
        tmp_path, ledger, bluesky_account, text, channel, pds_proxy, DROP_AFTER_FORWARD
    )

    # When it is published, then the next tick settles it
    engine.tick(DUE)
    unknown = record_of(ledger, key)
    engine.tick(DUE + timedelta(minutes=1))
    settled = record_of(ledger, key)

    # Then it was UNKNOWN with its record key stored, and is SENT from getRecord on that key
    assert unknown is not None and unknown.state is State.UNKNOWN
    assert unknown.idempotency_key is not None
    assert settled is not None and settled.state is State.SENT
    assert settled.remote_id == (
        f"at://{bluesky_account.did}/app.bsky.feed.post/{unknown.idempotency_key}"
    )
    # And there is one post, made by one create call
    [post] = posts_with(bluesky_pds, bluesky_account, text)
    assert post["cid"] == settled.remote_cid
    assert pds_proxy.seen[f"/xrpc/{CREATE}"] == 1


def test_an_unknown_before_the_record_was_written_is_sent_again_with_the_same_key(
    tmp_path: Path,
    ledger: DynamoLedger,
    bluesky_pds: BlueskyPds,
    bluesky_account: PdsAccount,
    pds_proxy: FaultProxy,
    make_channel: MakeChannel,
) -> None:
    # Given the create call's connection dropped before it reached the PDS
    text = "Lost before it reached the server, sent again under its key"
    channel = make_channel(service=pds_proxy.url)
    engine, key = _faulted(
        tmp_path, ledger, bluesky_account, text, channel, pds_proxy, DROP_BEFORE_FORWARD
    )

    # When it is published, then settled over the next ticks
    engine.tick(DUE)
    unknown = record_of(ledger, key)
    for minute in (1, 2):
        engine.tick(DUE + timedelta(minutes=minute))
    settled = record_of(ledger, key)

    # Then getRecord found nothing, and the same create with the same key made the post
    assert unknown is not None and unknown.state is State.UNKNOWN
    assert settled is not None and settled.state is State.SENT, settled
    assert settled.idempotency_key == unknown.idempotency_key
    assert str(settled.remote_id).endswith(f"/{unknown.idempotency_key}")
    assert len(posts_with(bluesky_pds, bluesky_account, text)) == 1
    assert pds_proxy.seen[f"/xrpc/{CREATE}"] == 2


def test_a_timeout_after_sending_is_unknown_and_settled_by_get_record(
    tmp_path: Path,
    ledger: DynamoLedger,
    bluesky_pds: BlueskyPds,
    bluesky_account: PdsAccount,
    pds_proxy: FaultProxy,
    make_channel: MakeChannel,
) -> None:
    # Given the PDS's answer held back past the channel's read timeout
    text = "Written while herald stopped waiting for the answer"
    channel = make_channel(service=pds_proxy.url, read_timeout=1.0)
    engine, key = _faulted(
        tmp_path, ledger, bluesky_account, text, channel, pds_proxy, HOLD_AFTER_FORWARD, hold=3.0
    )

    # When it is published and settled
    engine.tick(DUE)
    unknown = record_of(ledger, key)
    engine.tick(DUE + timedelta(minutes=1))
    settled = record_of(ledger, key)

    # Then it was UNKNOWN (a read timeout), and getRecord settled it as SENT, one post
    assert unknown is not None and unknown.state is State.UNKNOWN
    assert "read timeout" in str(unknown.reason)
    assert settled is not None and settled.state is State.SENT
    assert len(posts_with(bluesky_pds, bluesky_account, text)) == 1


def test_a_thread_whose_first_answer_was_lost_still_replies_to_the_right_post(
    tmp_path: Path,
    ledger: DynamoLedger,
    bluesky_pds: BlueskyPds,
    bluesky_account: PdsAccount,
    pds_proxy: FaultProxy,
    make_channel: MakeChannel,
) -> None:
    # Given a thread whose first post's answer is lost after it was written
    plan = one_post(tmp_path, bluesky_account, "A thread, part one", "A thread, part two")
    engine = _engine(plan, ledger, make_channel(service=pds_proxy.url))
    pds_proxy.fail_next(CREATE, DROP_AFTER_FORWARD)

    # When the ticks go on until both are out
    for minute in range(4):
        engine.tick(DUE + timedelta(minutes=minute))

    # Then the reply names the first post by the uri and cid read back for it
    first, second = (record_of(ledger, d.key) for d in plan.deliveries)
    assert first is not None and second is not None
    assert (first.state, second.state) == (State.SENT, State.SENT)
    value = _record_value(bluesky_pds, bluesky_account, second)
    assert value["reply"]["parent"] == {"uri": first.remote_id, "cid": first.remote_cid}
    assert value["reply"]["root"] == value["reply"]["parent"]


# --- sessions, limits and faults ----------------------------------------------------------


def test_one_session_serves_every_post_of_the_container(
    bluesky_account: PdsAccount, pds_proxy: FaultProxy, make_channel: MakeChannel
) -> None:
    channel = make_channel(service=pds_proxy.url)
    for number in range(3):
        sent = channel.publish("hertspolice", f"Session reuse, post {number}", None, [])
        assert sent.kind is OutcomeKind.SENT
    assert pds_proxy.seen[f"/xrpc/{SESSION}"] == 1


def test_a_429_on_create_session_makes_the_delivery_claimable_at_the_reset(
    tmp_path: Path,
    ledger: DynamoLedger,
    bluesky_pds: BlueskyPds,
    new_bluesky_account: Callable[[], PdsAccount],
    make_channel: MakeChannel,
) -> None:
    # Given an account whose 30 sessions of the last 5 minutes are spent
    account = new_bluesky_account()
    for _ in range(30):
        xrpc(
            bluesky_pds.url,
            SESSION,
            body={"identifier": account.handle, "password": account.app_password},
        )
    plan = one_post(tmp_path, account, "Held back by the session limit")
    before = datetime.now(UTC)

    # When the engine publishes
    _engine(plan, ledger, make_channel(account)).tick(DUE)

    # Then the delivery waits for the limit's reset, nothing sent, nothing slept
    record = record_of(ledger, plan.deliveries[0].key)
    assert record is not None and record.state is State.FAILED and record.retryable
    assert record.not_before is not None
    assert before < record.not_before <= before + timedelta(minutes=5, seconds=5)
    assert "429" in str(record.reason) and "RateLimitExceeded" in str(record.reason)
    assert list_posts(bluesky_pds.url, account.did) == []


def test_a_revoked_app_password_fails_with_reconnect_and_is_never_shown(
    tmp_path: Path,
    ledger: DynamoLedger,
    bluesky_pds: BlueskyPds,
    new_bluesky_account: Callable[[], PdsAccount],
    make_channel: MakeChannel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given an account whose owner revoked herald's app password
    account = new_bluesky_account()
    revoke_app_password(account)
    plan = one_post(tmp_path, account, "Never sent: the password was revoked")
    engine = _engine(plan, ledger, make_channel(account))

    # When the engine publishes, and tries again a minute later
    with caplog.at_level(logging.DEBUG):
        engine.tick(DUE)
        engine.tick(DUE + timedelta(minutes=1))

    # Then it is FAILED for good, saying to reconnect the account
    record = record_of(ledger, plan.deliveries[0].key)
    assert record is not None and record.state is State.FAILED and not record.retryable
    assert "reconnect the account" in str(record.reason)
    assert record.attempts <= 1
    # And the app password is nowhere: not in the ledger, the logs or the status page
    from herald.pages.status import status_html
    from herald.status import collect, status_text

    report = collect(plan, ledger, DUE + timedelta(minutes=2))
    shown = status_text(report) + status_html(report)
    assert "reconnect the account" in shown
    assert account.app_password not in repr(record)
    assert account.app_password not in caplog.text
    assert account.app_password not in shown
    assert list_posts(bluesky_pds.url, account.did) == []


def test_a_pds_that_is_down_is_failed_and_retryable(make_channel: MakeChannel) -> None:
    channel = make_channel(service=f"http://127.0.0.1:{free_port()}")
    outcome = channel.publish("hertspolice", "Nobody answers", None, [])
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, True)
    assert "could not connect to Bluesky" in str(outcome.reason)


def test_a_handle_that_is_not_the_sessions_is_refused_before_anything_is_sent(
    bluesky_account: PdsAccount, pds_proxy: FaultProxy, make_channel: MakeChannel
) -> None:
    # Given a campaign naming another handle than the app password's account
    channel = make_channel(service=pds_proxy.url, handle="someone-else.test")

    # When it publishes
    outcome = channel.publish("hertspolice", "Posted from the wrong account?", None, [])

    # Then it refuses, naming both, and no create call was made
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert f"log in as @{bluesky_account.handle}, not @someone-else.test" in str(outcome.reason)
    assert pds_proxy.seen[f"/xrpc/{CREATE}"] == 0


def test_the_same_key_twice_is_read_back_as_already_there(
    bluesky_pds: BlueskyPds, bluesky_account: PdsAccount, make_channel: MakeChannel
) -> None:
    # Given a post created under a key
    from herald.channels import CreateCall

    channel = make_channel()
    rkey = channel.new_key(DeliveryKey("c", "p", "bluesky", "hertspolice"))
    first = channel.publish(
        "hertspolice", "Only once, whatever happens", None, [], CreateCall(None, rkey)
    )

    # When the same create is made again with that key (the PDS answers 500)
    again = channel.publish(
        "hertspolice", "Only once, whatever happens", None, [], CreateCall(None, rkey)
    )

    # Then the channel reads the key back and reports the post SENT, as a duplicate
    assert first.kind is OutcomeKind.SENT
    assert (again.kind, again.duplicate) == (OutcomeKind.SENT, True)
    assert (again.remote_id, again.cid) == (first.remote_id, first.cid)
    assert len(posts_with(bluesky_pds, bluesky_account, "Only once, whatever happens")) == 1
