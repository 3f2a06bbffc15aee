"""The busy tick's pipeline: an account's next delivery is claimed while the current one's
create call is in flight, and a SENT outcome is written on the side. Neither may weaken a
rule: a claim lost to another worker publishes nothing, a SENT that could not be written
is settled by reading the account back, and a claim made ahead but not used sends nothing
and is given back for the next tick."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald.delivery import DeliveryKey
from herald.engine import LEASE, Engine, Event
from herald.ledger import Record, State
from herald.ledger.sqlite import SqliteLedger
from herald.plan import LoadedPlan, load_plan_strict
from tests.unit.test_engine import ScriptedChannel

CAMPAIGN = """\
campaign: busy
title: Busy
timezone: Europe/London
max_lateness: 15m
accounts:
  x:
    main: {handle: Main}
posts:
  - id: one
    at: 2021-02-09 09:00
    text: "First of the minute"
  - id: two
    at: 2021-02-09 09:00
    text: "Second of the minute"
  - id: three
    at: 2021-02-09 09:00
    text: "Third of the minute"
    thread:
      - "Third, part two"
"""

T0 = datetime(2021, 2, 9, 9, 0, tzinfo=UTC)


def key(post: str) -> DeliveryKey:
    return DeliveryKey("busy", post, "x", "main")


@pytest.fixture
def campaign_text() -> str:
    return CAMPAIGN


@pytest.fixture
def channel() -> ScriptedChannel:
    return ScriptedChannel()


class LosingClaims:
    """The SQLite ledger, but another worker wins the claim of the keys in `lost`, and the
    SENT writes of the keys in `unwritable` fail (the ledger throttled)."""

    def __init__(self, ledger: SqliteLedger, lost: frozenset[DeliveryKey] = frozenset()) -> None:
        self._ledger = ledger
        self.lost = set(lost)
        self.unwritable: set[DeliveryKey] = set()
        self.claims: list[DeliveryKey] = []

    def claim(self, key: DeliveryKey, token: str, *args: Any, **kwargs: Any) -> Record | None:
        self.claims.append(key)
        if key in self.lost:
            self._ledger.claim(key, "another-worker", *args, **kwargs)
        return self._ledger.claim(key, token, *args, **kwargs)

    def mark_sent(self, key: DeliveryKey, *args: Any, **kwargs: Any) -> Record:
        if key in self.unwritable:
            raise RuntimeError("ProvisionedThroughputExceededException")
        return self._ledger.mark_sent(key, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


def states(ledger: SqliteLedger) -> dict[str, State]:
    return {r.key.post: r.state for r in ledger.records("busy")}


def test_a_busy_minute_is_published_once_in_order_with_every_state_recorded(
    plan: LoadedPlan, ledger: SqliteLedger, channel: ScriptedChannel
) -> None:
    # Given one account with three posts due in the same minute, one of them a thread
    engine = Engine(plan, ledger, {"x": channel})
    # When the minute ticks twice
    first = engine.tick(T0)
    engine.tick(T0)
    # Then each part went out once, in the account's order, the reply to its parent
    assert first.counts["Published"] == 4
    texts = channel.texts()
    assert sorted(texts) == sorted(
        ["First of the minute", "Second of the minute", "Third of the minute", "Third, part two"]
    )
    assert texts.index("Third, part two") == texts.index("Third of the minute") + 1
    parent = next(p for p in channel.published if p[2] == "Third of the minute")
    assert next(p for p in channel.published if p[2] == "Third, part two")[3] == parent[0]
    # and every record (no images to upload: claimed straight as ATTEMPTING) went
    # ATTEMPTING -> SENT, all written before the tick ended
    assert set(states(ledger).values()) == {State.SENT}
    for record in ledger.records("busy"):
        assert [a.event for a in record.history] == ["ATTEMPTING", "SENT"]


def test_a_claim_made_ahead_that_another_worker_won_publishes_nothing(
    plan: LoadedPlan, ledger: SqliteLedger, channel: ScriptedChannel
) -> None:
    # Given another worker wins the claim of the second post (claimed ahead of its turn)
    losing = LosingClaims(ledger, lost=frozenset({key("two")}))
    engine = Engine(plan, losing, {"x": channel})
    # When the minute ticks
    summary = engine.tick(T0)
    # Then that post is left to its owner: not published by this worker
    assert "Second of the minute" not in channel.texts()
    assert summary.counts["Published"] == 3
    assert key("two") in losing.claims
    record = ledger.get_many([key("two")])[key("two")]
    assert record.state is State.ATTEMPTING and record.claim_token == "another-worker"


def test_a_sent_outcome_that_cannot_be_written_is_settled_on_the_account_never_resent(
    plan: LoadedPlan, ledger: SqliteLedger, channel: ScriptedChannel
) -> None:
    # Given the ledger refuses the SENT write of the first post (written on the side)
    losing = LosingClaims(ledger)
    losing.unwritable.add(key("one"))
    engine = Engine(plan, losing, {"x": channel})
    # When the minute ticks
    summary = engine.tick(T0)
    # Then the tick says it is unknown, and the record stays ATTEMPTING
    unknown = [r for r in summary.results if r.event is Event.UNKNOWN]
    assert [r.key for r in unknown] == [key("one")]
    assert "outcome not recorded" in unknown[0].detail
    assert states(ledger)["one"] is State.ATTEMPTING
    # And once its lease ends, the next tick finds it on the account: SENT, published once
    losing.unwritable.clear()
    engine.tick(T0 + LEASE + timedelta(minutes=1))
    assert states(ledger)["one"] is State.SENT
    assert channel.texts().count("First of the minute") == 1


def test_a_claim_made_ahead_then_out_of_time_sends_nothing_and_goes_out_next_minute(
    plan: LoadedPlan, ledger: SqliteLedger, channel: ScriptedChannel
) -> None:
    # Given a tick whose time runs out once the first post is out (the account's queue:
    # one, three, three.2, two; three is claimed ahead while one's create call runs)
    engine = Engine(plan, ledger, {"x": channel}, safety_margin=15.0)

    def remaining() -> float:
        return 1.0 if channel.published else 100.0

    # When the minute ticks
    summary = engine.tick(T0, remaining)
    # Then only the first post went out; the others were deferred, nothing half-sent
    assert channel.texts() == ["First of the minute"]
    assert summary.out_of_time
    # and the claim made ahead for the next one was given back: retryable at once
    assert states(ledger) == {"one": State.SENT, "three": State.FAILED}
    assert ledger.get_many([key("three")])[key("three")].retryable
    # And the next minute each goes out, exactly once
    engine.tick(T0 + timedelta(minutes=1))
    assert sorted(channel.texts()) == sorted(
        ["First of the minute", "Second of the minute", "Third of the minute", "Third, part two"]
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqliteLedger]:
    opened = SqliteLedger(tmp_path / "ledger.sqlite3")
    yield opened
    opened.close()


def test_the_tick_reads_records_and_pauses_before_any_claim(
    plan: LoadedPlan, ledger: SqliteLedger, channel: ScriptedChannel
) -> None:
    # Given the whole campaign paused
    ledger.pause("busy", "incident", T0 - timedelta(minutes=5))
    engine = Engine(plan, ledger, {"x": channel})
    # When the minute ticks (records and pauses are read side by side)
    summary = engine.tick(T0)
    # Then nothing is claimed nor published
    assert channel.texts() == []
    assert states(ledger) == {}
    assert summary.examined == 4
    assert datetime.now(UTC) > T0  # the tick used the event's time, not the clock


def busy_campaign(accounts: list[str], posts: list[tuple[str, str, str]]) -> str:
    """A campaign `busy` on X: the accounts (handle: the name, capitalised) and the posts
    (id, local time on 2021-02-09, text)."""
    lines = ["campaign: busy", "title: Busy", "timezone: Europe/London", "max_lateness: 15m"]
    lines += ["accounts:", "  x:"] + [f"    {a}: {{handle: {a.title()}}}" for a in accounts]
    lines.append("posts:")
    for post, at, text in posts:
        lines += [f"  - id: {post}", f"    at: 2021-02-09 {at}", f'    text: "{text}"']
    return "\n".join(lines) + "\n"


TWO_ACCOUNTS = busy_campaign(
    ["main", "other"], [("nine", "09:00", "Nine o'clock"), ("ten", "10:00", "Ten o'clock")]
)
FOUR_POSTS = busy_campaign(
    ["main"], [(f"p{n}", "09:00", f"Post {n} of the minute") for n in range(4)]
)
TWO_AT_NINE = busy_campaign(
    ["main", "other"], [("first", "09:00", "First at nine"), ("second", "09:00", "Second at nine")]
)


class ThreadNoting(ScriptedChannel):
    """Notes the thread each create call is made on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def publish(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.append(threading.current_thread())
        return super().publish(*args, **kwargs)


def test_busy_ticks_reuse_the_engine_threads_instead_of_starting_new_ones(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    # Given two accounts, each with a post at nine and a post at ten
    (tmp_path / "busy.yaml").write_text(TWO_ACCOUNTS, encoding="utf-8")
    channel = ThreadNoting()
    engine = Engine(load_plan_strict([tmp_path / "busy.yaml"]), ledger, {"x": channel})
    # When nine o'clock and ten o'clock tick
    assert engine.tick(T0).counts["Published"] == 2
    at_nine = set(channel.threads)
    threading.Event().wait(0.05)  # a pool's worker marks itself idle just after its task
    assert engine.tick(T0 + timedelta(hours=1)).counts["Published"] == 2
    # Then the accounts were published side by side at nine, and at ten on the same
    # threads, kept from nine o'clock rather than started afresh
    assert len(at_nine) == 2 and threading.current_thread() not in at_nine
    assert set(channel.threads[2:]) <= at_nine


class SlowSideWrites:
    """The SQLite ledger, each claim and SENT write taking 20 ms; notes when each one made
    by a side worker ran, and the order of the SENT writes."""

    def __init__(self, ledger: SqliteLedger) -> None:
        self._ledger = ledger
        self.side_calls: list[tuple[float, float]] = []
        self.sent_order: list[str] = []
        self._lock = threading.Lock()

    def _slowly(self, name: str, key: DeliveryKey, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        threading.Event().wait(0.02)
        result = getattr(self._ledger, name)(key, *args, **kwargs)
        if threading.current_thread().name.startswith("herald-side"):
            with self._lock:
                self.side_calls.append((start, time.monotonic()))
        return result

    def claim(self, key: DeliveryKey, *args: Any, **kwargs: Any) -> Any:
        return self._slowly("claim", key, *args, **kwargs)

    def mark_sent(self, key: DeliveryKey, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.sent_order.append(key.post)
        return self._slowly("mark_sent", key, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


def test_an_accounts_side_work_runs_one_task_at_a_time_in_order(
    tmp_path: Path, ledger: SqliteLedger, channel: ScriptedChannel
) -> None:
    # Given one account with four posts due together, and a ledger whose writes take a
    # while, so that a SENT write and the next claim made ahead would overlap
    (tmp_path / "busy.yaml").write_text(FOUR_POSTS, encoding="utf-8")
    slow = SlowSideWrites(ledger)
    engine = Engine(load_plan_strict([tmp_path / "busy.yaml"]), slow, {"x": channel})
    # When the minute ticks
    assert engine.tick(T0).counts["Published"] == 4
    # Then the side work (three claims made ahead, the SENT writes) ran one task at a time
    calls = sorted(slow.side_calls)
    assert len(calls) >= 6
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(calls))
    # and the SENT writes were made in the order the posts went out
    published = [f"p{text.split()[1]}" for text in channel.texts()]
    assert slow.sent_order == published == ["p0", "p1", "p2", "p3"]
    assert set(states(ledger).values()) == {State.SENT}


class SlowFirstClaim:
    """The SQLite ledger, the claim of `slow` taking `seconds`; notes when each claim
    began."""

    def __init__(self, ledger: SqliteLedger, slow: DeliveryKey, seconds: float) -> None:
        self._ledger = ledger
        self.slow = slow
        self.seconds = seconds
        self.began: dict[str, float] = {}

    def claim(self, key: DeliveryKey, *args: Any, **kwargs: Any) -> Any:
        self.began[f"{key.account}/{key.post}"] = time.monotonic()
        if key == self.slow:
            threading.Event().wait(self.seconds)
        return self._ledger.claim(key, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


class CallTimes(ScriptedChannel):
    """Each create call taking `seconds`, as a network's do; notes when each account's
    calls were made."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.calls_at: dict[str, list[float]] = {}

    def publish(self, account: str, *args: Any, **kwargs: Any) -> Any:
        self.calls_at.setdefault(account, []).append(time.monotonic())
        outcome = super().publish(account, *args, **kwargs)  # calls before_create first
        threading.Event().wait(self.seconds)
        return outcome


def tick_with_a_slow_first_claim(
    folder: Path, ledger: SqliteLedger, claim_seconds: float, call_seconds: float
) -> tuple[SlowFirstClaim, CallTimes]:
    """Two accounts with two posts each at nine, the other account's first claim taking
    `claim_seconds` and every create call `call_seconds`, ticked at nine: all four out."""
    (folder / "busy.yaml").write_text(TWO_AT_NINE, encoding="utf-8")
    slow = SlowFirstClaim(ledger, DeliveryKey("busy", "first", "x", "other"), claim_seconds)
    channel = CallTimes(call_seconds)
    engine = Engine(load_plan_strict([folder / "busy.yaml"]), slow, {"x": channel})
    assert engine.tick(T0).counts["Published"] == 4
    assert set(states(ledger).values()) == {State.SENT}
    return slow, channel


def test_a_claim_made_ahead_waits_until_every_account_has_made_its_first_call(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    # Given two accounts with two posts each, one account's first claim slow to answer
    # When the minute ticks
    slow, channel = tick_with_a_slow_first_claim(tmp_path, ledger, 0.1, 0.4)
    # Then the other account's first claim was slow; the main account's second post was
    # claimed ahead, during its first call, but only once the other had made its first
    # call, so that claim never competed with the other's first
    assert channel.calls_at["other"][0] - slow.began["other/first"] >= 0.1
    assert channel.calls_at["main"][0] < channel.calls_at["other"][0]
    assert channel.calls_at["other"][0] <= slow.began["main/second"] < channel.calls_at["main"][1]


def test_a_claim_made_ahead_is_made_at_once_when_its_account_needs_it(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    # Given two accounts with two posts each, one account's first claim very slow, and
    # create calls that take no time
    # When the minute ticks
    _, channel = tick_with_a_slow_first_claim(tmp_path, ledger, 0.5, 0.0)
    # Then the main account did not wait for the other's first call: its second post's
    # claim, made ahead, went as soon as the main account needed it
    assert channel.calls_at["main"][1] < channel.calls_at["other"][0]


class FailingAccount(ScriptedChannel):
    """Raises on the create calls of `failing`; the other accounts' calls take 50 ms."""

    def __init__(self, failing: str) -> None:
        super().__init__()
        self.failing = failing

    def publish(self, account: str, *args: Any, **kwargs: Any) -> Any:
        if account == self.failing:
            raise RuntimeError("a bug in the channel")
        threading.Event().wait(0.05)
        return super().publish(account, *args, **kwargs)


def test_a_queue_that_raises_ends_the_tick_only_after_every_other_queue(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    # Given two accounts, one whose create calls raise (a bug, not a network's answer)
    (tmp_path / "busy.yaml").write_text(TWO_AT_NINE, encoding="utf-8")
    engine = Engine(
        load_plan_strict([tmp_path / "busy.yaml"]), ledger, {"x": FailingAccount("main")}
    )
    # When the minute ticks, the error reaches the caller
    with pytest.raises(RuntimeError, match="a bug in the channel"):
        engine.tick(T0)
    # Then only once the other account's queue had ended: its posts were out and recorded
    records = {f"{r.key.account}/{r.key.post}": r.state for r in ledger.records("busy")}
    assert records["other/first"] is State.SENT and records["other/second"] is State.SENT
