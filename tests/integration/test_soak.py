"""The chaos soak: one simulated day of generated campaigns, published by racing worker
processes through the fake X and DynamoDB Local while requests fail at random, answers are
lost and workers are killed; nothing may be posted twice or lost, and the deliveries go out
within their windows. Also the soak's own tools: the fake X's random faults, its lagging
timeline, and the DynamoDB fault proxy."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError, ConnectionClosedError
from requests_oauthlib import OAuth1

from herald.ledger import Record, State
from herald.plan import load_plan_strict
from herald_dev.dynamodb_local import make_client
from herald_dev.fake_x import (
    RATE_LIMIT_BURST,
    TWEETS,
    USERS_ME,
    FakeX,
    FaultKind,
    PublishedPost,
)
from herald_dev.soak.dynamodb_proxy import LOST_ACK, THROTTLE, DynamoDBProxy
from herald_dev.soak.report import TARGET_SHARE, Findings, analyse
from herald_dev.soak.run import RunStats, SoakConfig, SoakRun, run
from herald_dev.x_accounts import X_ACCOUNTS, X_SECRET

pytestmark = pytest.mark.integration

# One day of the soak, at the soak's target fault rate; a budget that fits pytest's timeout.
DAY = SoakConfig(days=1, start=date(2027, 3, 9), seed=7, max_seconds=240.0)


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeX]:
    with FakeX(X_SECRET, accounts=X_ACCOUNTS, clock=clock) as server:
        yield server


def signed(account: str = "hertspolice") -> OAuth1:
    keys = X_SECRET["x"][account]
    return OAuth1(
        keys["consumer_key"],
        client_secret=keys["consumer_secret"],
        resource_owner_key=keys["access_token"],
        resource_owner_secret=keys["access_token_secret"],
    )


def post(fake: FakeX, text: str) -> requests.Response:
    return requests.post(f"{fake.url}/2/tweets", json={"text": text}, auth=signed(), timeout=5)


def me(fake: FakeX) -> requests.Response:
    return requests.get(f"{fake.url}/2/users/me", auth=signed(), timeout=5)


def timeline(fake: FakeX) -> list[str]:
    response = requests.get(
        f"{fake.url}/2/users/{fake.user_id('hertspolice')}/tweets",
        params={"max_results": 100},
        auth=signed(),
        timeout=5,
    )
    return [item["text"] for item in response.json().get("data", [])]


# --- the fake X's soak faults -------------------------------------------------------------


def test_random_faults_fail_about_the_share_asked_and_repeat_with_their_seed(
    fake: FakeX,
) -> None:
    # Given a fifth of requests fail at random, seeded
    def statuses() -> list[int]:
        fake.set_random_faults(0.2, seed=11, kinds=["server_error"])
        return [me(fake).status_code for _ in range(200)]

    # When 200 requests are made, twice with the same seed
    first, second = statuses(), statuses()
    # Then about a fifth are 5xx, the others answered, the same ones both times
    failed = [s for s in first if s >= 500]
    assert 20 <= len(failed) <= 60
    assert set(first) - set(failed) == {200}
    assert first == second
    assert fake.random_fault_counts == {"server_error": len(failed)}


def test_a_server_error_after_accept_has_made_the_post(fake: FakeX) -> None:
    # Given X makes the post, then answers 503
    fake.fail_next(TWEETS, FaultKind.SERVER_ERROR, status=503, accept=True)
    # When it is posted
    response = post(fake, "Roadworks on the A414 tonight")
    # Then the answer is 503, and the post exists
    assert response.status_code == 503
    assert [p.text for p in fake.posts] == ["Roadworks on the A414 tonight"]


def test_a_drawn_429_is_a_burst_until_its_reset_on_the_fakes_clock(
    fake: FakeX, clock: Clock
) -> None:
    # Given every draw is a 429 burst of exactly one minute of the fake's clock
    fake.set_random_faults(1.0, seed=1, kinds=["rate_limit"], burst_seconds=(60.0, 60.0))
    # When the account asks three times within the minute
    answers = [me(fake) for _ in range(3)]
    # Then each is a 429 with the same reset, a minute ahead on the fake's clock
    resets = {a.headers["x-rate-limit-reset"] for a in answers}
    assert [a.status_code for a in answers] == [429] * 3
    assert resets == {str(int(clock.now.timestamp()) + 61)}
    assert fake.random_fault_counts == {"rate_limit": 1, RATE_LIMIT_BURST: 2}
    # When the fake's clock passes the reset, the next request is drawn afresh
    clock.now += timedelta(seconds=62)
    assert me(fake).status_code == 429
    assert fake.random_fault_counts == {"rate_limit": 2, RATE_LIMIT_BURST: 2}


def test_the_timeline_shows_a_post_only_after_its_lag(fake: FakeX, clock: Clock) -> None:
    # Given the timeline lags writes by 20 seconds
    fake.set_timeline_lag(20)
    # When a post is made
    assert post(fake, "Open day at the fire station").status_code == 201
    # Then it is not listed 19 seconds later, and is 20 seconds later
    clock.now += timedelta(seconds=19)
    assert timeline(fake) == []
    clock.now += timedelta(seconds=1)
    assert timeline(fake) == ["Open day at the fire station"]


def test_with_the_refusal_off_a_repeated_text_is_posted_again(fake: FakeX) -> None:
    # Given the fake lets a repeated text through (so a soak counts double posts)
    fake.refuse_duplicates = False
    # When the same text is posted twice
    answers = [post(fake, "Test your smoke alarms").status_code for _ in range(2)]
    # Then both are made
    assert answers == [201, 201]
    assert len(fake.posts) == 2


def test_random_faults_can_be_set_from_another_process(fake: FakeX) -> None:
    # When a soak in another process turns on random faults and the lag over HTTP
    control = f"{fake.url}/__control"
    assert requests.post(
        f"{control}/random_faults", json={"rate": 1.0, "kinds": ["server_error"]}, timeout=5
    ).ok
    assert requests.post(f"{control}/timeline_lag", json={"seconds": 5}, timeout=5).ok
    # Then requests fail, and it can read what was injected
    assert me(fake).status_code >= 500
    counts = requests.get(f"{control}/random_faults", timeout=5).json()
    assert counts == {"server_error": 1}
    assert fake.counts[USERS_ME] == 1


# --- the DynamoDB fault proxy -------------------------------------------------------------


def put(client: Any, table: str, name: str) -> None:
    client.put_item(TableName=table, Item={"pk": {"S": "soak"}, "sk": {"S": name}})


def stored(client: Any, table: str, name: str) -> bool:
    found = client.get_item(TableName=table, Key={"pk": {"S": "soak"}, "sk": {"S": name}})
    return "Item" in found


def test_a_throttled_request_is_answered_as_dynamodb_does_and_never_applied(
    dynamodb_local: str, ledger_table: str
) -> None:
    direct = make_client(dynamodb_local)
    with DynamoDBProxy(dynamodb_local, rate=1.0, kinds=(THROTTLE,)) as proxy:
        # Given a client through a proxy that throttles every request
        client = make_client(proxy.url, retries={"mode": "standard", "total_max_attempts": 2})
        # When it writes an item
        with pytest.raises(ClientError) as raised:
            put(client, ledger_table, "throttled")
    # Then botocore retried, then raised DynamoDB's throttling error, and nothing was written
    assert raised.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert proxy.faults == {"throttle PutItem": 2}
    assert not stored(direct, ledger_table, "throttled")


def test_a_lost_answer_was_applied_all_the_same(dynamodb_local: str, ledger_table: str) -> None:
    direct = make_client(dynamodb_local)
    with DynamoDBProxy(dynamodb_local, rate=1.0, kinds=(LOST_ACK,)) as proxy:
        # Given a client through a proxy that loses every answer, not retrying
        client = make_client(proxy.url, retries={"mode": "standard", "total_max_attempts": 1})
        # When it writes an item
        with pytest.raises(ConnectionClosedError):
            put(client, ledger_table, "applied")
    # Then the client saw the connection close, but the write was applied
    assert proxy.faults == {"lost_ack PutItem": 1}
    assert stored(direct, ledger_table, "applied")


def test_the_proxy_relays_answers_when_nothing_fails(
    dynamodb_local: str, ledger_table: str
) -> None:
    with DynamoDBProxy(dynamodb_local) as proxy:
        client = make_client(proxy.url)
        put(client, ledger_table, "relayed")
        assert stored(client, ledger_table, "relayed")
    assert proxy.counts == {"PutItem": 1, "GetItem": 1}
    assert proxy.faults == {}


# --- what the soak can see -----------------------------------------------------------------

LITTLE = """\
campaign: little
title: Little
timezone: UTC
max_lateness: 15m
accounts:
  x:
    hertspolice: {handle: HertsPolice}
posts:
  - id: one
    at: 2027-03-09 09:00
    text: "First post"
    thread: ["First reply"]
  - id: two
    at: 2027-03-09 12:00
    text: "Second post"
  - id: three
    at: 2027-03-09 15:00
    text: "Third post"
"""


def judged(tmp_path: Path, posts: list[PublishedPost], states: dict[str, str]) -> Findings:
    """What the soak's report finds, given what X holds and each post's final ledger state."""
    (tmp_path / "little.yaml").write_text(LITTLE, encoding="utf-8")
    plan = load_plan_strict([tmp_path])
    by_text = {p.text: p for p in posts}
    texts = {d.key: d.render() for d in plan.deliveries}
    records = {
        d.key: Record(
            d.key,
            State(states[d.key.post]),
            d.at,
            remote_id=by_text[texts[d.key]].id if texts[d.key] in by_text else "999",
        )
        for d in plan.deliveries
        if d.key.post in states
    }
    stats = RunStats(minutes=1, span=1, last_minute=datetime(2027, 3, 10, tzinfo=UTC))
    result = SoakRun(SoakConfig(), plan, texts, records, posts, 0, {}, {}, {}, {}, stats)
    return analyse(result)


def on_x(number: int, text: str, made: datetime, reply_to: str | None = None) -> PublishedPost:
    return PublishedPost(str(number), "hertspolice", "1", text, reply_to, (), made)


def at(hour: int, minute: int, second: int = 5) -> datetime:
    return datetime(2027, 3, 9, hour, minute, second, tzinfo=UTC)


def test_the_report_sees_doubles_wrong_threads_wrong_records_and_losses(tmp_path: Path) -> None:
    # Given X holds the first post twice and its reply under a post that is not its parent;
    # the second post is recorded SENT but is not on X; the third has no ledger record
    posts = [
        on_x(1, "First post", at(9, 0)),
        on_x(2, "First post", at(9, 1)),
        on_x(3, "First reply", at(9, 1), reply_to="9"),
    ]
    states = {"one": "SENT", "one.2": "SENT", "two": "SENT"}
    # When the report judges them
    findings = judged(tmp_path, posts, states)
    # Then each failure is counted once
    assert findings.deliveries == 4
    assert findings.duplicates == 1
    assert findings.wrong_parent == 1
    assert findings.wrong_record == 1
    assert findings.lost == 1
    assert findings.outcomes["no record, not on X"] == 1


def test_the_report_counts_a_post_in_its_window_with_its_lateness(tmp_path: Path) -> None:
    # Given each post is on X once and recorded SENT: the first two 5 s into their minute,
    # the second in its deadline's minute, the third in the minute after its deadline
    posts = [
        on_x(1, "First post", at(9, 0)),
        on_x(2, "First reply", at(9, 0), reply_to="1"),
        on_x(3, "Second post", at(12, 15, 30)),
        on_x(4, "Third post", at(15, 16, 0)),
    ]
    states = {"one": "SENT", "one.2": "SENT", "two": "SENT", "three": "SENT"}
    # When the report judges them
    findings = judged(tmp_path, posts, states)
    # Then the three made by their deadline's minute are in their window, with their lateness
    assert (findings.in_window, findings.deliveries) == (3, 4)
    assert sorted(findings.lateness) == [5.0, 5.0, 930.0]
    assert (findings.duplicates, findings.wrong_parent, findings.wrong_record) == (0, 0, 0)
    assert findings.missed == ["little/three [x:hertspolice] due 2027-03-09 15:00Z: SENT"]


# --- a day of chaos -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def day(dynamodb_local: str) -> tuple[SoakRun, Findings]:
    result = run(dataclasses.replace(DAY, dynamodb_endpoint=dynamodb_local), echo=print)
    return result, analyse(result)


def test_the_day_ran_every_minute_with_faults_and_killed_workers(
    day: tuple[SoakRun, Findings],
) -> None:
    result, findings = day
    stats = result.stats
    # Every minute of the day was ticked, by three workers racing
    assert stats.complete, f"ticked {stats.minutes} of {stats.span} minutes"
    assert findings.unjudged == 0
    assert stats.ticks + sum(stats.fates.values()) == 3 * stats.span
    # X failed at random, and DynamoDB throttled and lost answers
    assert sum(result.x_faults.values()) > 0
    assert {k.split()[0] for k in result.dynamodb_faults} == {THROTTLE, LOST_ACK}
    # Workers were killed in the middle of ticks, and replaced
    assert stats.fates["killed"] >= 1
    assert stats.events["Published"] > 0


def test_a_day_of_chaos_posts_nothing_twice(day: tuple[SoakRun, Findings]) -> None:
    result, findings = day
    assert findings.duplicates == 0
    assert findings.unexpected_posts == 0
    # Nor re-sends a post that is there (X would refuse the copy): the read-backs a minute
    # apart outlast the timeline's lag
    assert result.duplicate_refusals == 0


def test_a_day_of_chaos_loses_nothing(day: tuple[SoakRun, Findings]) -> None:
    _, findings = day
    assert findings.lost == 0


def test_a_day_of_chaos_records_each_post_as_it_is_on_x(day: tuple[SoakRun, Findings]) -> None:
    _, findings = day
    # Every SENT record names its own post on X, and every reply hangs under its parent
    assert findings.wrong_record == 0, "\n".join(findings.missed)
    assert findings.wrong_parent == 0


def test_a_day_of_chaos_publishes_what_is_due_within_its_window(
    day: tuple[SoakRun, Findings],
) -> None:
    _, findings = day
    assert findings.share >= TARGET_SHARE, "\n".join(findings.missed)
