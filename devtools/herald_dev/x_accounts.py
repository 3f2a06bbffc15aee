"""The sample X accounts and their secret, shared by the tests, the screenshots script and
the fakes they start; and an X channel on those accounts pointed at a fake X API.

The secret's values are distinct and greppable: tests assert that none of them ever reaches
a log. `X_SECRET` has the shape of the function's secret, `{"x": {account: {four OAuth
keys}}}`; `X_SECRET_NAME` is its name in the fake Secrets Manager.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from herald.channels.x import XChannel
    from herald_dev.fake_x import FakeX

X_ACCOUNTS: dict[str, dict[str, str]] = {
    "hertspolice": {"handle": "HertsPolice"},
    "saferinternet": {"handle": "UK_SIC"},
}

X_SECRET: dict[str, Any] = {
    "x": {
        "hertspolice": {
            "consumer_key": "ck-hertspolice-4f9a2c",
            "consumer_secret": "cs-hertspolice-8d13e7b5",
            "access_token": "at-hertspolice-1200-77b1",
            "access_token_secret": "ats-hertspolice-c05e92",
        },
        "saferinternet": {
            "consumer_key": "ck-saferinternet-93be01",
            "consumer_secret": "cs-saferinternet-5a6f0d",
            "access_token": "at-saferinternet-4321-0c9e",
            "access_token_secret": "ats-saferinternet-e71b44",
        },
    }
}

X_SECRET_NAME = "herald/x-credentials"

# Short timeouts: against a fake on loopback, anything slower is a fault being tested.
TEST_CONNECT_TIMEOUT = 1.0
TEST_READ_TIMEOUT = 2.0


def x_channel_for(
    fake: FakeX,
    credentials: Mapping[str, Any] | None = None,
    *,
    accounts: Mapping[str, Mapping[str, str]] | None = None,
    connect_timeout: float = TEST_CONNECT_TIMEOUT,
    read_timeout: float = TEST_READ_TIMEOUT,
    base_url: str | None = None,
) -> XChannel:
    """An XChannel on the fake at `fake.url`, with the sample secret unless told otherwise."""
    from herald.channels.x import XChannel
    from herald.credentials import StaticCredentials

    return XChannel(
        accounts if accounts is not None else X_ACCOUNTS,
        StaticCredentials(credentials if credentials is not None else X_SECRET),
        base_url=base_url or fake.url,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
