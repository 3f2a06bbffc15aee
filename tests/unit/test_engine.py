"""The engine's rules, on the SQLite ledger and a scripted channel (no network)."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald.channels import (
    READ_BACK_THEN_RESEND,
    CreateCall,
    Outcome,
    OutcomeKind,
    Reply,
    SettleBy,
    Settlement,
    not_created,
    why_not,
)
from herald.delivery import DeliveryKey, MediaItem
from herald.engine import Engine, Event
from herald.ledger import ALL_CAMPAIGNS, State
from herald.ledger.sqlite import SqliteLedger
from herald.plan import LoadedPlan, load_plan_strict
from herald_dev.images import PNG

CAMPAIGN = """\
campaign: demo
title: Demo
timezone: Europe/London
max_lateness: 15m
accounts:
  x:
    main: {handle: Main}
    other: {handle: Other}
posts:
  - id: morning
    at: 2021-02-09 08:00
    text: "Good morning from {{ campaign.title }}"
    thread:
      - "Part two"
      - "Part three"
  - id: noon
    at: 2021-02-09 12:00
    text: "Noon update"
  - id: evening
    at: 2021-02-09 18:00
    text: "Evening note"
"""

T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)


class ScriptedChannel:
    """A channel that publishes to a list, and can be told how to answer given texts."""

    name = "x"
    settlement = READ_BACK_THEN_RESEND
    create_seconds = 1.0

    def __init__(self) -> None:
        self.published: list[tuple[str, str, str, str | None]] = []  # id, account, text, reply
        self.answers: dict[str, list[OutcomeKind]] = {}
        self.calls = 0
        self.lookups = 0
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()

    def answer(self, text_prefix: str, *kinds: OutcomeKind) -> None:
        self.answers[text_prefix] = list(kinds)

    def new_key(self, key: DeliveryKey) -> str | None:
        return None

    def publish(
        self, account: str, text: str, reply_to: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        stop = why_not(call)
        if stop is not None:
            return not_created(stop)
        with self._lock:
            self.calls += 1
            for prefix, kinds in self.answers.items():
                if text.startswith(prefix) and kinds:
                    kind = kinds.pop(0)
                    if kind is OutcomeKind.UNKNOWN:  # it went out, but the answer was lost
                        self._record(account, text, reply_to)
                        return Outcome(kind, reason="timed out")
                    if kind is OutcomeKind.RATE_LIMITED:
                        return Outcome(kind, reason="429", retry_at=T0 + timedelta(minutes=5))
                    return Outcome(kind, reason="400 bad request", retryable=False)
            remote = self._record(account, text, reply_to)
            return Outcome(OutcomeKind.SENT, remote, f"https://x.com/{account}/status/{remote}")

    def _record(self, account: str, text: str, reply_to: Reply | None) -> str:
        remote = str(next(self._ids))
        parent = None if reply_to is None else reply_to.parent.id
        self.published.append((remote, account, text, parent))
        return remote

    def find_recent(
        self,
        account: str,
        text: str,
        since: datetime,
        *,
        exclude_ids: frozenset[str] = frozenset(),
        idempotency_key: str | None = None,
    ) -> Outcome | None:
        self.lookups += 1
        for remote, who, body, _ in self.published:
            if who == account and body == text and remote not in exclude_ids:
                return Outcome(OutcomeKind.SENT, remote, f"https://x.com/{who}/status/{remote}")
        return None

    def texts(self) -> list[str]:
        return [text for _, _, text, _ in self.published]


@pytest.fixture
def campaign_text() -> str:
    return CAMPAIGN  # the shared `plan` fixture loads it


@pytest.fixture
def channel() -> ScriptedChannel:
    return ScriptedChannel()


def make_engine(plan: LoadedPlan, ledger: SqliteLedger, channel: ScriptedChannel) -> Engine:
    return Engine(plan, ledger, {"x": channel})


def state_of(ledger: SqliteLedger, post: str, account: str = "main") -> State | None:
    key = DeliveryKey("demo", post, "x", account)
    record = ledger.get_many([key]).get(key)
    return record.state if record else None


def test_due_posts_are_published_once_with_threads_in_order(plan, ledger, channel) -> None:
    # Given a campaign with a three-part thread for two accounts
    engine = make_engine(plan, ledger, channel)
    # When the minute it is due ticks twice (a retry of the same event)
    first = engine.tick(T0)
    engine.tick(T0)
    # Then each part went out once per account, each reply to the part before it
    assert first.counts["Published"] == 6
    assert sorted(channel.texts()) == sorted(
        ["Good morning from Demo", "Part two", "Part three"] * 2
    )
    for account in ("main", "other"):
        mine = [p for p in channel.published if p[1] == account]
        assert [p[2] for p in mine] == ["Good morning from Demo", "Part two", "Part three"]
        assert mine[0][3] is None
        assert mine[1][3] == mine[0][0]
        assert mine[2][3] == mine[1][0]
    assert state_of(ledger, "morning.3") is State.SENT


def test_a_tick_with_nothing_due_touches_no_ledger(plan, channel, tmp_path) -> None:
    # Given a ledger that counts every call
    class Counting(SqliteLedger):
        calls = 0

        def __getattribute__(self, name: str) -> Any:
            if not name.startswith("_") and name != "calls":
                type(self).calls += 1
            return super().__getattribute__(name)

    counting = Counting(tmp_path / "counting.sqlite3")
    engine = Engine(plan, counting, {"x": channel})
    Counting.calls = 0
    # When ticks run long before anything is due
    for minute in range(60):
        engine.tick(T0 - timedelta(days=3) + timedelta(minutes=minute))
    # Then neither the ledger nor the channel was called
    assert Counting.calls == 0
    assert channel.calls == 0


def test_an_idle_tick_imports_neither_jinja_nor_tweepy(campaign_file: Path) -> None:
    # Given a fresh interpreter with a plan loaded
    script = f"""
import sys
from datetime import datetime, UTC
from herald.plan import load_plan_strict
from herald.engine import Engine
plan = load_plan_strict([__import__('pathlib').Path({str(campaign_file)!r})])
Engine(plan, None, {{}}).tick(datetime(2021, 2, 1, tzinfo=UTC))
print(sorted(m for m in ("jinja2", "tweepy", "requests", "twitter_text") if m in sys.modules))
"""
    # When it runs an idle tick
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    # Then none of the publishing libraries was imported
    assert out.stdout.strip() == "[]"


def test_late_deliveries_are_skipped_never_published(plan, ledger, channel) -> None:
    # Given the publisher did not run until 16 minutes after the morning post was due
    engine = make_engine(plan, ledger, channel)
    # When it ticks
    summary = engine.tick(T0 + timedelta(minutes=16))
    # Then the morning thread is SKIPPED (late), nothing was published
    assert channel.calls == 0
    assert summary.counts["SkippedLate"] == 6
    assert state_of(ledger, "morning") is State.SKIPPED


def test_inside_max_lateness_still_publishes(plan, ledger, channel) -> None:
    # Given a tick 15 minutes late (the campaign allows 15m)
    summary = make_engine(plan, ledger, channel).tick(T0 + timedelta(minutes=15))
    # Then it still goes out, and lateness is reported
    assert summary.counts["Published"] == 6
    assert all(r.lateness == 900 for r in summary.results)


def test_pause_holds_then_resume_inside_the_window_publishes(plan, ledger, channel) -> None:
    # Given everything is paused before the morning post
    engine = make_engine(plan, ledger, channel)
    ledger.pause(ALL_CAMPAIGNS, "incident", T0 - timedelta(minutes=5))
    # When the due minute ticks
    engine.tick(T0)
    # Then nothing goes out and nothing is recorded yet
    assert channel.calls == 0
    assert state_of(ledger, "morning") is None
    # When resumed 10 minutes later, inside the window
    ledger.resume(ALL_CAMPAIGNS)
    summary = engine.tick(T0 + timedelta(minutes=10))
    # Then it goes out
    assert summary.counts["Published"] == 6


def test_pause_past_the_deadline_records_skipped_paused(plan, ledger, channel) -> None:
    # Given one campaign is paused and stays paused past the window
    engine = make_engine(plan, ledger, channel)
    ledger.pause("demo", "major incident", T0)
    for minute in range(0, 20):
        engine.tick(T0 + timedelta(minutes=minute))
    # Then it is SKIPPED (paused), with the reason, never published
    key = DeliveryKey("demo", "morning", "x", "main")
    record = ledger.get_many([key])[key]
    assert record.state is State.SKIPPED
    assert "major incident" in (record.reason or "")
    assert channel.calls == 0


def test_unknown_is_reconciled_when_found_and_never_reposted(plan, ledger, channel) -> None:
    # Given X accepted the noon post but the answer was lost
    channel.answer("Noon", OutcomeKind.UNKNOWN, OutcomeKind.UNKNOWN)
    engine = make_engine(plan, ledger, channel)
    noon = datetime(2021, 2, 9, 12, 0, tzinfo=UTC)
    first = engine.tick(noon)
    assert first.counts["Unknown"] == 2
    assert state_of(ledger, "noon") is State.UNKNOWN
    # When later ticks run
    for minute in range(1, 15):
        engine.tick(noon + timedelta(minutes=minute))
    # Then it was found on the account and recorded SENT, and published only once
    assert state_of(ledger, "noon") is State.SENT
    assert channel.texts().count("Noon update") == 2  # once per account
    assert channel.lookups >= 1


def lost_call(ledger: SqliteLedger, noon: datetime) -> DeliveryKey:
    """The noon post of `main` left UNKNOWN by a call that never reached the network."""
    key = DeliveryKey("demo", "noon", "x", "main")
    ledger.claim(key, "t", noon, noon + timedelta(minutes=3), noon)
    ledger.mark_attempting(key, "t", noon)
    ledger.mark_unknown(key, "t", noon, "timed out")
    return key


def test_unknown_absent_on_two_read_backs_a_minute_apart_goes_once_more(
    plan, ledger, channel
) -> None:
    # Given an UNKNOWN that is not on the account (the call never reached X)
    noon = datetime(2021, 2, 9, 12, 0, tzinfo=UTC)
    key = lost_call(ledger, noon)
    engine = make_engine(plan, ledger, channel)
    # When the next minute reads the account back, and the minute after reads it again
    engine.tick(noon + timedelta(minutes=1))
    after_one = state_of(ledger, "noon")
    second = engine.tick(noon + timedelta(minutes=2))

    # Then one read-back is not enough; two a minute apart are, and it goes out once
    assert after_one is State.UNKNOWN
    assert second.counts["Published"] == 1
    assert state_of(ledger, "noon") is State.SENT
    assert [p[1:3] for p in channel.published].count(("main", "Noon update")) == 1
    # And the record tells why it went out two minutes late
    record = ledger.get_many([key])[key]
    assert [a.event for a in record.history] == [
        "CLAIMED", "ATTEMPTING", "UNKNOWN", "READ_BACK", "READ_BACK",
        "CLAIMED", "ATTEMPTING", "SENT",
    ]  # fmt: skip
    assert (record.resends, record.attempts) == (1, 2)


def test_unknown_is_attempted_again_at_most_twice(plan, ledger, channel) -> None:
    # Given an UNKNOWN, and a network that loses every answer and never shows the post
    noon = datetime(2021, 2, 9, 12, 0, tzinfo=UTC)
    key = lost_call(ledger, noon)
    channel.answer("Noon", *[OutcomeKind.UNKNOWN] * 5)
    channel.find_recent = lambda *args, **kwargs: None
    engine = make_engine(plan, ledger, channel)
    # When ticks run through the window
    for minute in range(1, 15):
        engine.tick(noon + timedelta(minutes=minute))
    # Then each account's post was sent again twice, no more, and waits for a person
    other = key._replace(account="other")
    records = ledger.get_many([key, other])
    assert [(r.state, r.resends) for r in records.values()] == [(State.UNKNOWN, 2)] * 2
    assert channel.calls == 2 + (1 + 2)  # main: two re-sends; other: its first call and two


def test_unknown_not_found_after_its_window_stays_unknown_for_a_person(
    plan, ledger, channel
) -> None:
    # Given an UNKNOWN not on the account, first looked at after its window closed
    noon = datetime(2021, 2, 9, 12, 0, tzinfo=UTC)
    lost_call(ledger, noon)
    engine = make_engine(plan, ledger, channel)
    # When ticks run beyond its window
    for minute in range(16, 40):
        engine.tick(noon + timedelta(minutes=minute))
    # Then it stays UNKNOWN and is never posted by itself
    assert state_of(ledger, "noon") is State.UNKNOWN
    assert ("main", "Noon update") not in [(p[1], p[2]) for p in channel.published]
    # And the audit reports it
    findings = engine.audit(noon + timedelta(hours=1))
    assert [(f.delivery.key.post, f.event) for f in findings] == [("noon", Event.UNKNOWN)]


def test_a_worker_killed_mid_call_is_reconciled_not_reposted(plan, ledger, channel) -> None:
    # Given a worker claimed, marked ATTEMPTING, X published it, and the worker died
    noon = datetime(2021, 2, 9, 12, 0, tzinfo=UTC)
    key = DeliveryKey("demo", "noon", "x", "main")
    ledger.claim(key, "dead", noon, noon + timedelta(minutes=3), noon)
    ledger.mark_attempting(key, "dead", noon)
    channel.publish("main", "Noon update", None, [])
    engine = make_engine(plan, ledger, channel)
    # When ticks run while its lease lasts, then after
    engine.tick(noon + timedelta(minutes=1))
    assert state_of(ledger, "noon") is State.ATTEMPTING
    engine.tick(noon + timedelta(minutes=4))
    # Then it is found and SENT, and never published twice
    assert state_of(ledger, "noon") is State.SENT
    assert [p[1:3] for p in channel.published].count(("main", "Noon update")) == 1


def test_rate_limited_goes_out_after_the_reset(plan, ledger, channel) -> None:
    # Given X answers 429 with a reset five minutes on
    channel.answer("Evening", OutcomeKind.RATE_LIMITED, OutcomeKind.RATE_LIMITED)
    engine = make_engine(plan, ledger, channel)
    evening = datetime(2021, 2, 9, 18, 0, tzinfo=UTC)
    engine.tick(evening)
    assert state_of(ledger, "evening") is State.FAILED
    # When ticks run (the reset in the script is T0+5m, long past)
    summary = engine.tick(evening + timedelta(minutes=1))
    # Then it is published once per account
    assert summary.counts["Published"] == 2
    assert channel.texts().count("Evening note") == 2


def test_a_definite_failure_is_recorded_and_not_retried(plan, ledger, channel) -> None:
    # Given X refuses the post (400)
    channel.answer("Evening", OutcomeKind.FAILED, OutcomeKind.FAILED)
    engine = make_engine(plan, ledger, channel)
    evening = datetime(2021, 2, 9, 18, 0, tzinfo=UTC)
    for minute in range(0, 20):
        engine.tick(evening + timedelta(minutes=minute))
    # Then it is FAILED with the reason, attempted once per account
    key = DeliveryKey("demo", "evening", "x", "main")
    record = ledger.get_many([key])[key]
    assert record.state is State.FAILED
    assert record.reason == "400 bad request"
    assert channel.calls == 2


def test_out_of_time_claims_nothing(plan, ledger, channel) -> None:
    # Given the function has 5 seconds left (below the safety margin)
    summary = make_engine(plan, ledger, channel).tick(T0, remaining=lambda: 5.0)
    # Then nothing is claimed; the next tick will pick it up
    assert summary.out_of_time
    assert channel.calls == 0
    assert state_of(ledger, "morning") is None


def test_a_two_hour_outage_publishes_what_is_in_window_and_audits_clean(
    plan, ledger, channel
) -> None:
    # Given the publisher was down from 07:00 to 12:10 (morning missed, noon in window)
    engine = make_engine(plan, ledger, channel)
    back = datetime(2021, 2, 9, 12, 10, tzinfo=UTC)
    # When it comes back and ticks
    summary = engine.tick(back)
    # Then noon goes out, the morning thread is SKIPPED (late), and nothing is missing
    assert summary.counts["Published"] == 2
    assert summary.counts["SkippedLate"] == 6
    assert engine.audit(back + timedelta(hours=1)) == []


def test_audit_finds_deliveries_nobody_recorded(plan, ledger, channel) -> None:
    # Given no tick ever ran for the morning post
    engine = make_engine(plan, ledger, channel)
    # When audited at noon
    findings = engine.audit(datetime(2021, 2, 9, 12, 0, tzinfo=UTC))
    # Then each morning delivery is MISSED
    assert {f.event for f in findings} == {Event.MISSED}
    assert len(findings) == 6


def _tick_in_threads(make: Callable[[], Engine], now: datetime, count: int) -> None:
    barrier = threading.Barrier(count)

    def run() -> None:
        engine = make()
        barrier.wait()
        engine.tick(now)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_eight_concurrent_ticks_publish_each_delivery_once(plan, tmp_path, channel) -> None:
    # Given eight workers, each with its own ledger connection, ticking the same minute
    path = tmp_path / "shared.sqlite3"
    SqliteLedger(path)
    _tick_in_threads(lambda: Engine(plan, SqliteLedger(path), {"x": channel}), T0, 8)
    # Then every delivery went out exactly once
    assert len(channel.published) == 6
    assert len(set(channel.published)) == 6
    assert sorted(p[1] for p in channel.published) == ["main"] * 3 + ["other"] * 3


# --- settling, budgets and the ledger's bad days -----------------------------------------


class SlowUploads(ScriptedChannel):
    """A channel whose media uploads use up the invocation's time before the create call."""

    def __init__(self, clock: list[float]) -> None:
        super().__init__()
        self.clock = clock  # seconds left, as the function's context would say

    def publish(self, account, text, reply_to, media, call=None):
        self.clock[0] -= 57.0  # four images, slowly
        return super().publish(account, text, reply_to, media, call)


def with_noon_image(folder: Path) -> LoadedPlan:
    """The demo campaign, its noon post with an image (so it is uploaded before the call)."""
    (folder / "noon.png").write_bytes(PNG)
    path = folder / "demo.yaml"
    noon = '    text: "Noon update"\n'
    path.write_text(
        CAMPAIGN.replace(noon, noon + "    media: [{file: noon.png, alt: A noon picture}]\n"),
        encoding="utf-8",
    )
    return load_plan_strict([path])


def test_uploads_that_eat_the_time_leave_nothing_unknown(ledger, tmp_path: Path) -> None:
    # Given 60 s left, and uploads for the noon post's image that take 57 of them
    left = [60.0]
    channel = SlowUploads(left)
    engine = Engine(with_noon_image(tmp_path), ledger, {"x": channel})
    noon = datetime(2021, 2, 9, 12, 0, tzinfo=UTC)

    # When the noon minute ticks
    summary = engine.tick(noon, remaining=lambda: left[0])

    # Then no create call was made, and the record says nothing was sent: FAILED, retryable,
    # never ATTEMPTING or UNKNOWN (which would wait for a person)
    assert channel.calls == 0
    assert summary.counts["Deferred"] >= 1 and summary.counts["Unknown"] == 0
    key = DeliveryKey("demo", "noon", "x", "main")
    record = ledger.get_many([key])[key]
    assert (record.state, record.retryable) == (State.FAILED, True)
    assert "too little time left" in (record.reason or "")
    assert "ATTEMPTING" not in [a.event for a in record.history]
    # And the next minute, with time to spare, publishes it
    left[0] = 1000.0
    assert engine.tick(noon + timedelta(minutes=1), remaining=lambda: 60.0).counts[
        "Published"
    ] == 2  # fmt: skip


def test_attempting_is_written_only_just_before_the_create_call(ledger, tmp_path: Path) -> None:
    # Given a post with an image, and a channel that looks at the ledger as it uploads it
    # and when it is about to create the post
    seen: dict[str, list[State]] = {"main": [], "other": []}  # accounts publish concurrently
    channel = ScriptedChannel()
    original = channel.publish

    def publish(account, text, reply_to, media, call=None):
        key = DeliveryKey("demo", "noon", "x", account)
        seen[account].append(ledger.get_many([key])[key].state)  # uploading: still CLAIMED

        def look() -> str | None:
            stop = why_not(call)
            seen[account].append(ledger.get_many([key])[key].state)
            return stop

        return original(account, text, reply_to, media, CreateCall(look, call.idempotency_key))

    channel.publish = publish  # type: ignore[method-assign]
    # When the noon minute ticks
    plan = with_noon_image(tmp_path)
    make_engine(plan, ledger, channel).tick(datetime(2021, 2, 9, 12, 0, tzinfo=UTC))
    # Then uploads ran while CLAIMED, and ATTEMPTING was written just before the create call
    assert seen == {account: [State.CLAIMED, State.ATTEMPTING] for account in seen}


def test_a_post_without_images_is_claimed_straight_as_attempting(plan, ledger) -> None:
    # Given a channel that looks at the ledger as it publishes the noon post (no images)
    seen: dict[str, list[State]] = {"main": [], "other": []}
    channel = ScriptedChannel()
    original = channel.publish

    def publish(account, text, reply_to, media, call=None):
        key = DeliveryKey("demo", "noon", "x", account)
        seen[account].append(ledger.get_many([key])[key].state)
        return original(account, text, reply_to, media, call)

    channel.publish = publish  # type: ignore[method-assign]
    # When the noon minute ticks
    make_engine(plan, ledger, channel).tick(datetime(2021, 2, 9, 12, 0, tzinfo=UTC))
    # Then nothing was to be uploaded: the claim was written as ATTEMPTING, with the text,
    # in one write, and SENT followed it
    assert seen == {account: [State.ATTEMPTING] for account in seen}
    record = ledger.get_many([DeliveryKey("demo", "noon", "x", "main")])[
        DeliveryKey("demo", "noon", "x", "main")
    ]
    assert [(a.event, a.text) for a in record.history] == [
        ("ATTEMPTING", "Noon update"),
        ("SENT", None),
    ]
    assert record.attempts == 1 and record.attempted_at == datetime(2021, 2, 9, 12, tzinfo=UTC)


def test_a_post_without_images_and_too_little_time_is_claimed_plainly_and_given_back(
    plan, ledger
) -> None:
    # Given 3 s left in the invocation: less than the create call may take plus its record
    channel = ScriptedChannel()
    engine = Engine(plan, ledger, {"x": channel}, safety_margin=1.0)
    # When the noon minute ticks
    summary = engine.tick(datetime(2021, 2, 9, 12, 0, tzinfo=UTC), remaining=lambda: 3.0)
    # Then no create call was made, and nothing is left ATTEMPTING: the claim was an
    # ordinary one, given back as FAILED and retryable at once
    assert channel.calls == 0 and summary.counts["Deferred"] == 2
    record = ledger.get_many([DeliveryKey("demo", "noon", "x", "main")])[
        DeliveryKey("demo", "noon", "x", "main")
    ]
    assert (record.state, record.retryable) == (State.FAILED, True)
    assert [a.event for a in record.history] == ["CLAIMED", "FAILED"]


def test_a_post_skipped_while_paused_then_moved_to_tomorrow_goes_out_tomorrow(
    ledger, channel, tmp_path: Path
) -> None:
    # Given the noon post was SKIPPED (paused) today
    today = tmp_path / "today" / "demo.yaml"
    today.parent.mkdir()
    today.write_text(CAMPAIGN, encoding="utf-8")
    noon = datetime(2021, 2, 9, 12, 0, tzinfo=UTC)
    ledger.pause(ALL_CAMPAIGNS, "a real incident", noon)
    make_engine(load_plan_strict([today]), ledger, channel).tick(noon + timedelta(minutes=20))
    ledger.resume(ALL_CAMPAIGNS)
    assert state_of(ledger, "noon") is State.SKIPPED
    # When the press office moves it to noon tomorrow, and that minute ticks
    moved = tmp_path / "moved" / "demo.yaml"
    moved.parent.mkdir()
    moved.write_text(CAMPAIGN.replace("2021-02-09 12:00", "2021-02-10 12:00"), encoding="utf-8")
    engine = make_engine(load_plan_strict([moved]), ledger, channel)
    summary = engine.tick(noon + timedelta(days=1))
    # Then it goes out at its new time, once per account
    assert summary.counts["Published"] == 2
    assert state_of(ledger, "noon") is State.SENT
    assert channel.texts().count("Noon update") == 2


class UnreadableLedger(SqliteLedger):
    """A ledger whose reads are throttled for the next `failures` calls."""

    failures = 1

    def get_many(self, keys):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("ProvisionedThroughputExceededException: throttled")
        return super().get_many(keys)


def test_a_throttled_ledger_read_defers_the_tick_instead_of_failing_it(
    plan, channel, tmp_path: Path
) -> None:
    # Given a ledger whose first read is throttled
    ledger = UnreadableLedger(tmp_path / "ledger.sqlite3")
    engine = make_engine(plan, ledger, channel)
    # When the due minute ticks, then the next
    first = engine.tick(T0)
    calls_in_first = channel.calls
    second = engine.tick(T0 + timedelta(minutes=1))
    # Then the first tick did nothing and said so, without raising
    assert first.ledger_unavailable
    assert first.counts["Deferred"] == 6 and calls_in_first == 0
    assert first.as_dict()["ledger_unavailable"] is True
    # And the next published everything
    assert second.counts["Published"] == 6


class KeyedChannel(ScriptedChannel):
    """A channel whose create calls carry an idempotency key chosen at the claim (as
    Mastodon's and Bluesky's do); it keeps the keys its calls carried."""

    settlement = Settlement(SettleBy.IDEMPOTENCY_KEY, timedelta(0), resends=2)

    def __init__(self) -> None:
        super().__init__()
        self.carried: list[str | None] = []
        self._keys = itertools.count(1)

    def new_key(self, key: DeliveryKey) -> str | None:
        return f"key-{next(self._keys)}"

    def publish(self, account, text, reply_to, media, call=None):
        self.carried.append(call.idempotency_key if call is not None else None)
        return super().publish(account, text, reply_to, media, call)


def test_a_straight_claim_again_names_the_key_the_call_carries(plan, ledger) -> None:
    # Given a keyed channel, and the noon post rate limited on its first attempt (FAILED,
    # retryable, its key kept in the ledger)
    channel = KeyedChannel()
    channel.answer("Noon", OutcomeKind.RATE_LIMITED)
    engine = Engine(plan, ledger, {"x": channel})
    noon = datetime(2021, 2, 9, 12, 0, tzinfo=UTC)
    engine.tick(noon)
    key = DeliveryKey("demo", "noon", "x", "main")
    first = ledger.get_many([key])[key]
    assert first.state is State.FAILED and first.idempotency_key is not None
    # When it is claimed again once the limit resets (straight as ATTEMPTING) and sent
    engine.tick(noon + timedelta(minutes=5))
    # Then both calls carried the first key, and every attempt in the history names it
    record = ledger.get_many([key])[key]
    assert record.state is State.SENT
    assert channel.carried.count(first.idempotency_key) == 2
    attempts = [a for a in record.history if a.event == "ATTEMPTING"]
    assert len(attempts) == 2
    assert {a.key for a in attempts} == {first.idempotency_key}


class BrokenChannel(ScriptedChannel):
    """A channel that raises (breaking its contract) once its create call is about to be
    made, after the engine has claimed the account's next delivery ahead."""

    def publish(self, account, text, reply_to, media, call=None):
        if why_not(call) is None:
            raise RuntimeError("a bug in the channel")
        return super().publish(account, text, reply_to, media, call)


def test_a_claim_made_ahead_is_given_back_when_the_queue_stops(tmp_path: Path, ledger) -> None:
    # Given an account with two posts due in one minute, and a channel that raises on the
    # first one's create call, after the second was claimed ahead
    path = tmp_path / "two.yaml"
    path.write_text(CAMPAIGN.replace("2021-02-09 18:00", "2021-02-09 12:00"), encoding="utf-8")
    engine = Engine(load_plan_strict([path]), ledger, {"x": BrokenChannel()})
    # When the minute ticks
    with pytest.raises(RuntimeError):
        engine.tick(datetime(2021, 2, 9, 12, 0, tzinfo=UTC))
    # Then the post whose call broke stays ATTEMPTING (it may have gone out: settled on
    # the account later), and the claim made ahead was given back (FAILED, retryable at
    # once: nothing was sent), not left ATTEMPTING to become UNKNOWN
    keys = [DeliveryKey("demo", post, "x", "main") for post in ("noon", "evening")]
    records = ledger.get_many(keys)
    states = sorted((r.state.value, r.retryable, r.reason or "") for r in records.values())
    assert states == [
        ("ATTEMPTING", False, ""),
        ("FAILED", True, "not sent: the account's queue stopped; claimed again next tick"),
    ]
