"""The multi-channel contract: the channel registry, lazy channels, replies that carry
their thread's root, content ids kept by the ledger, and keys chosen by the channel."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from herald import runtime
from herald.campaign import load_campaign
from herald.campaign_schema import ACCOUNT_SPECS, CHANNELS
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
from herald.channels.lazy import LazyChannels
from herald.channels.rules import RULES, ChannelRules, Measure, MediaRules
from herald.config import Settings
from herald.credentials import CredentialsError, StaticCredentials
from herald.delivery import DeliveryKey, MediaItem, thread_root
from herald.engine import Engine
from herald.ledger import State
from herald.ledger.sqlite import SqliteLedger
from herald.plan import LoadedPlan, load_plan_strict
from herald.validate import validate

CAMPAIGN = """\
campaign: demo
title: Demo
timezone: UTC
max_lateness: 15m
accounts:
  x:
    main: {handle: "@Main"}
posts:
  - id: morning
    at: 2021-02-09 08:00
    text: "One"
    thread: ["Two", "Three"]
"""
T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)


class KeyedChannel:
    """A channel that settles by an idempotency key and names posts by id and cid."""

    name = "x"
    settlement = Settlement(SettleBy.IDEMPOTENCY_KEY, timedelta(0), resends=2)
    create_seconds = 1.0

    def __init__(self, lose_first_answer: bool = False, refuse: str = "") -> None:
        self.refuse = refuse  # a text this channel refuses, for now (FAILED, retryable)
        self.calls: list[tuple[str, Reply | None, str | None]] = []
        self.keys_made = 0
        self.lookups: list[str | None] = []
        self.by_key: dict[str, tuple[str, str]] = {}
        self.lose_first_answer = lose_first_answer

    def new_key(self, key: DeliveryKey) -> str | None:
        self.keys_made += 1
        return f"key-{key.post}-{self.keys_made}"

    def publish(
        self, account: str, text: str, reply_to: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        stop = why_not(call)
        if stop is not None:
            return not_created(stop)
        key = call.idempotency_key if call else None
        assert key is not None
        if text == self.refuse:
            return Outcome(OutcomeKind.FAILED, reason="503 try later", retryable=True)
        self.calls.append((text, reply_to, key))
        remote = self.by_key.setdefault(key, (f"id-{text}", f"cid-{text}"))
        if self.lose_first_answer:
            self.lose_first_answer = False
            return Outcome(OutcomeKind.UNKNOWN, reason="timed out")
        return Outcome(OutcomeKind.SENT, remote[0], f"https://n.example/{remote[0]}", cid=remote[1])

    def find_recent(
        self,
        account: str,
        text: str,
        since: datetime,
        *,
        exclude_ids: frozenset[str] = frozenset(),
        idempotency_key: str | None = None,
    ) -> Outcome | None:
        self.lookups.append(idempotency_key)
        found = self.by_key.get(idempotency_key or "")
        return None if found is None else Outcome(OutcomeKind.SENT, found[0], cid=found[1])


@pytest.fixture
def campaign_text() -> str:
    return CAMPAIGN


def test_every_channel_has_an_account_shape_rules_and_a_factory() -> None:
    # Given the channel names campaigns may use / Then each has all its parts
    assert set(CHANNELS) == set(ACCOUNT_SPECS) == set(RULES) == set(runtime.CHANNEL_FACTORIES)
    assert all(RULES[name].name == name for name in RULES)


def test_a_thread_part_knows_its_root() -> None:
    key = DeliveryKey("demo", "morning.3", "x", "main")
    assert thread_root(key) == DeliveryKey("demo", "morning", "x", "main")
    assert thread_root(thread_root(key)) == thread_root(key)


def test_replies_carry_parent_and_root_with_their_content_ids(
    plan: LoadedPlan, ledger: SqliteLedger
) -> None:
    # Given a channel that names its posts by id and cid
    channel = KeyedChannel()
    # When a three-part thread is published
    Engine(plan, ledger, {"x": channel}).tick(T0)
    # Then the first part replies to nothing, and each later part names its parent and root
    (_, first, _), (_, second, _), (_, third, _) = channel.calls
    root = PostRef("id-One", "cid-One")
    assert first is None
    assert second == Reply(root, root)
    assert third == Reply(PostRef("id-Two", "cid-Two"), root)
    # And the ledger keeps each post's cid beside its id
    key = DeliveryKey("demo", "morning.2", "x", "main")
    record = ledger.get_many([key])[key]
    assert (record.state, record.remote_id, record.remote_cid) == (State.SENT, "id-Two", "cid-Two")


def test_a_reply_in_a_later_tick_reads_parent_and_root_from_the_ledger(
    plan: LoadedPlan, ledger: SqliteLedger
) -> None:
    # Given the first two parts were published by an earlier container, the third not
    first = KeyedChannel(refuse="Three")
    Engine(plan, ledger, {"x": first}).tick(T0)
    # When a new engine publishes the third part
    later = KeyedChannel()
    Engine(plan, ledger, {"x": later}).tick(T0 + timedelta(minutes=1))
    # Then its reply names parent and root as the ledger recorded them
    [(_, reply, _)] = later.calls
    assert reply == Reply(PostRef("id-Two", "cid-Two"), PostRef("id-One", "cid-One"))


def test_the_channel_chooses_the_key_once_and_settles_by_it(
    plan: LoadedPlan, ledger: SqliteLedger
) -> None:
    # Given a keyed channel whose first answer is lost after the post was made
    channel = KeyedChannel(lose_first_answer=True)
    engine = Engine(plan, ledger, {"x": channel})
    # When the thread's minute ticks, and the next minute
    engine.tick(T0)
    engine.tick(T0 + timedelta(minutes=1))
    # Then the key was made once, at the claim, and the read-back was given it
    key = DeliveryKey("demo", "morning", "x", "main")
    record = ledger.get_many([key])[key]
    assert record.idempotency_key == "key-morning-1"
    assert "key-morning-1" in channel.lookups
    # And the post was found by it: SENT with its cid, created once
    assert (record.state, record.remote_cid) == (State.SENT, "cid-One")
    assert [text for text, _, _ in channel.calls].count("One") == 1


def test_channels_are_built_on_first_use_only_and_once() -> None:
    # Given two channels, counted as they are made
    made: list[str] = []
    lock = threading.Lock()

    def factory(name: str) -> KeyedChannel:
        with lock:
            made.append(name)
        return KeyedChannel()

    channels = LazyChannels({"x": lambda: factory("x"), "other": lambda: factory("other")})
    # When nothing asks for them / Then none is made
    assert list(channels) == ["x", "other"] and made == [] and channels.built == frozenset()
    # When eight threads ask for one at once / Then it is made once, the other never
    threads = [threading.Thread(target=lambda: channels["x"]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == ["x"] and channels.built == {"x"}


def test_an_idle_tick_builds_no_channel(campaign_file: Path, tmp_path: Path) -> None:
    # Given the function's wiring for a campaign not yet due
    settings = Settings(
        ledger_table="t",
        credentials_secret="s",
        x_api_base_url="https://api.x.test",
        campaigns_dir=campaign_file.parent,
        event_tolerance=None,
    )
    plan, accounts, _ = runtime.load_plan_for(campaign_file.parent)
    channels = runtime.channels_for(accounts, StaticCredentials({}), settings)
    # When an idle tick runs / Then no channel was made
    Engine(plan, None, channels).tick(T0 - timedelta(days=3))  # type: ignore[arg-type]
    assert channels.built == frozenset()
    # And the X channel, once asked for, has the campaign's account
    assert "Main" in repr(accounts["x"]["main"]) and channels["x"].name == "x"


def test_secret_keys_name_what_is_missing_and_never_show_a_value() -> None:
    # Given a secret with an app password in the wrong channel's place
    secret = {"x": {"main": {"app_password": "hunter2-secret"}}, "other": {"main": {"k": "v1"}}}
    credentials = StaticCredentials(secret)
    # When X's keys are asked for / Then the error names channel, account and missing keys
    with pytest.raises(CredentialsError) as caught:
        credentials.keys_for("x", "main", ("consumer_key", "access_token"))
    assert "x credentials for account 'main' lack consumer_key, access_token" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    # And keys that are there are given, never shown by repr or str
    keys = credentials.keys_for("other", "main", ("k",))
    assert keys["k"] == "v1" and "v1" not in repr(keys) and "v1" not in str(keys)


def test_validation_reports_every_limit_in_the_channels_own_units(
    campaign_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given X's rules counted, for the test, in graphemes and bytes with tiny limits
    def measure(text: str, account: object) -> list[Measure]:
        return [Measure(len(text), 2, "graphemes"), Measure(len(text.encode()), 4, "bytes")]

    rules = ChannelRules("x", "Net", measure, MediaRules(max_count=1))
    monkeypatch.setitem(RULES, "x", rules)
    # When the campaign is validated
    report = validate([campaign_file], T0 - timedelta(days=1))
    # Then each text over each limit is a FILE:LINE error naming the unit and the channel
    messages = {(p.line, p.message) for p in report.errors}
    assert (11, "post 'morning' (thread part 1 of 3) is 3 graphemes on Net (limit 2)") in messages
    assert (12, "post 'morning' (thread part 3 of 3) is 5 graphemes on Net (limit 2)") in messages
    assert (12, "post 'morning' (thread part 3 of 3) is 5 bytes on Net (limit 4)") in messages
    assert not any("Two" in m for _, m in messages if "bytes" in m)  # 3 bytes: within
    # And the preview shows the first measure and its unit
    first = report.rendered[0]
    assert (first.weighted_length, first.limit, first.unit) == (3, 2, "graphemes")


def test_an_account_under_an_unknown_channel_is_a_sentence_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CAMPAIGN.replace("  x:\n", "  myspace:\n"), encoding="utf-8")
    result = load_campaign(path)
    assert result.campaign is None
    assert any(
        p.line == 6 and "'myspace' is not a channel herald publishes to (x" in p.message
        for p in result.problems
    ), result.problems


def test_an_account_keeps_every_setting_its_campaign_gave_it(campaign_file: Path) -> None:
    plan = load_plan_strict([campaign_file])
    account = plan.campaigns["demo"].accounts["x"]["main"]
    assert (account.handle, account.settings) == ("Main", {"handle": "@Main"})
