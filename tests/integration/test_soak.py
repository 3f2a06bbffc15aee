"""The chaos soak's tools: the fake X's seeded random faults and its lagging timeline, and the
DynamoDB fault proxy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError, ConnectionClosedError
from requests_oauthlib import OAuth1

from herald_dev.dynamodb_local import make_client
from herald_dev.fake_x import RATE_LIMIT_BURST, TWEETS, USERS_ME, FakeX, FaultKind
from herald_dev.soak.dynamodb_proxy import LOST_ACK, THROTTLE, DynamoDBProxy
from tests.fixtures.x_api import X_ACCOUNTS, X_SECRET

pytestmark = pytest.mark.integration


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
