"""The X channel with its credentials read from the fake Secrets Manager over real HTTP, as
the function reads them: a read that fails is retryable, a secret that is wrong is not."""

from __future__ import annotations

import json
import logging
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from herald.channels import OutcomeKind
from herald.channels.x import XChannel
from herald.credentials import SecretsManagerCredentials
from herald_dev.aws_env import sandbox_client
from herald_dev.fake_secrets import FakeSecrets, SecretsFault
from herald_dev.fake_x import FakeX
from herald_dev.x_accounts import (
    TEST_CONNECT_TIMEOUT,
    TEST_READ_TIMEOUT,
    X_ACCOUNTS,
    X_SECRET,
    X_SECRET_NAME,
)

pytestmark = pytest.mark.integration


def secretsmanager_client(endpoint: str) -> Any:
    """A boto3 client on `endpoint` that tries each call once: every failure shows."""
    return sandbox_client(
        "secretsmanager",
        endpoint,
        retries={"total_max_attempts": 1},
        connect_timeout=1,
        read_timeout=2,
    )


def channel_reading(fake_x: FakeX, endpoint: str, secret_id: str = X_SECRET_NAME) -> XChannel:
    """An XChannel on the fake X whose credentials come from Secrets Manager at `endpoint`."""
    return XChannel(
        X_ACCOUNTS,
        SecretsManagerCredentials(secret_id, boto3_client=secretsmanager_client(endpoint)),
        base_url=fake_x.url,
        connect_timeout=TEST_CONNECT_TIMEOUT,
        read_timeout=TEST_READ_TIMEOUT,
    )


@pytest.fixture
def secrets(fake_secrets: FakeSecrets) -> Iterator[FakeSecrets]:
    fake_secrets.clear_faults()
    yield fake_secrets
    fake_secrets.clear_faults()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (SecretsFault.THROTTLING, "ThrottlingException"),
        (SecretsFault.INTERNAL_ERROR, "InternalServiceError"),
    ],
)
def test_a_failed_secret_read_fails_retryably_and_the_post_goes_once_it_recovers(
    secrets: FakeSecrets, fake_x: FakeX, fault: SecretsFault, code: str
) -> None:
    # Given Secrets Manager fails the next read
    secrets.fail_next(fault)
    channel = channel_reading(fake_x, secrets.url)
    # When a post is published
    first = channel.publish("hertspolice", "Road closed on the A414", None, [])
    # Then it FAILED, retryable, naming the secret and the AWS error; X heard nothing
    assert (first.kind, first.retryable) == (OutcomeKind.FAILED, True)
    assert code in (first.reason or "") and X_SECRET_NAME in (first.reason or "")
    assert fake_x.requests == []
    # And once Secrets Manager answers again, the same channel publishes it
    second = channel.publish("hertspolice", "Road closed on the A414", None, [])
    assert second.kind is OutcomeKind.SENT
    assert [p.text for p in fake_x.posts] == ["Road closed on the A414"]
    channel.close()


@pytest.mark.timeout(30)
def test_an_unreachable_secrets_manager_fails_retryably(fake_x: FakeX) -> None:
    # Given a Secrets Manager endpoint where nothing listens
    channel = channel_reading(fake_x, f"http://127.0.0.1:{closed_port()}")
    # When a post is published
    outcome = channel.publish("hertspolice", "Nobody holds the keys", None, [])
    # Then it FAILED, retryable: the secret may be readable at the next attempt
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, True)
    assert "EndpointConnectionError" in (outcome.reason or "")
    assert fake_x.requests == []
    channel.close()


@pytest.mark.parametrize(
    ("secret", "account", "said"),
    [
        (json.dumps(X_SECRET), "herts_fire", "no x credentials for account 'herts_fire'"),
        ("consumer_key=ck-only", "hertspolice", "does not hold valid JSON"),
        (json.dumps(["not", "an", "object"]), "hertspolice", "must hold a JSON object"),
    ],
    ids=["no such account", "not JSON", "not an object"],
)
def test_a_secret_without_the_account_or_malformed_fails_for_good(
    secrets: FakeSecrets, fake_x: FakeX, secret: str, account: str, said: str
) -> None:
    # Given a secret that was read but cannot give the account's keys
    secrets.put("herald/test-wrong-secret", secret)
    channel = channel_reading(fake_x, secrets.url, "herald/test-wrong-secret")
    try:
        # When the account publishes
        outcome = channel.publish(account, "Never goes out", None, [])
    finally:
        secrets.delete("herald/test-wrong-secret")
        channel.close()
    # Then it FAILED for good: a person must connect the account or fix the secret
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert said in (outcome.reason or "")
    assert "ck-only" not in (outcome.reason or "")
    assert fake_x.requests == []


def secret_values() -> list[str]:
    return [value for keys in X_SECRET["x"].values() for value in keys.values()]


@pytest.fixture
def root_at_debug_to_stderr(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> Iterator[None]:
    """The root logger at DEBUG with a handler on stderr (captured by `capfd`), as Lambda's
    application log level DEBUG sets it up; caplog records all that reaches the root too."""
    caplog.set_level(logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    yield
    root.removeHandler(handler)


def test_reading_the_secret_with_the_root_logger_at_debug_logs_no_value(
    secrets_manager_env: str,
    root_at_debug_to_stderr: None,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Given the root logger at DEBUG, writing to stderr, and the fake Secrets Manager on the
    # standard endpoint variable
    # When herald's production provider reads the secret through Powertools and boto3
    keys = SecretsManagerCredentials(X_SECRET_NAME).for_account("x", "hertspolice")
    logging.getLogger("tests.secret_probe").debug("the secret was read")
    # Then the keys were read, and logging did run at DEBUG
    assert keys.consumer_secret == X_SECRET["x"]["hertspolice"]["consumer_secret"]
    captured = capfd.readouterr()
    assert "the secret was read" in caplog.text and "the secret was read" in captured.err
    # And not one secret value appears in any record or on either stream
    seen = "\n".join([caplog.text, captured.out, captured.err])
    for value in secret_values():
        assert value not in seen
    # And the SDK and HTTP stack logged nothing below WARNING
    chatter = [
        r
        for r in caplog.records
        if r.name.split(".")[0] in ("botocore", "boto3", "urllib3") and r.levelno < logging.WARNING
    ]
    assert chatter == []
