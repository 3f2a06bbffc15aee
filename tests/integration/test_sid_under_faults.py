"""The Safer Internet Day campaign through the function's own wiring, three concurrent ticks
a minute, with one transient X fault at every minute a post is due: a post that landed but
whose connection dropped, a 503 where nothing was made, a 503 after the post was made, a
429, another 503; and on Mastodon and the Facebook Page a fault of their own each due
minute. Every delivery is published exactly once on each channel, threads intact."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald import runtime
from herald.config import Settings
from herald.engine import Engine, NullObserver
from herald.ledger import State
from herald.plan import LoadedPlan
from herald_dev.fake_facebook import FEED, FakeFacebook
from herald_dev.fake_mastodon import STATUSES, FakeMastodon
from herald_dev.fake_secrets import FakeSecrets
from herald_dev.fake_x import TWEETS, FakeX, FaultKind
from herald_dev.mastodon_facebook_accounts import FACEBOOK_SECRET, MASTODON_SECRET
from herald_dev.x_accounts import X_SECRET
from tests.fixtures.mastodon_facebook import FakeClock
from tests.integration.conftest import states

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3  # concurrent ticks a minute, as overlapping Lambda invocations
AFTER_EACH_DUE_MINUTE = 14  # the minutes after each due minute that are ticked (window: 15)


def faults() -> Iterator[tuple[FaultKind, dict[str, Any]]]:
    """The five transient faults of the report, in turn, one per due minute."""
    return itertools.cycle(
        [
            (FaultKind.DROP_AFTER_ACCEPT, {}),
            (FaultKind.SERVER_ERROR, {"status": 503}),
            (FaultKind.SERVER_ERROR, {"status": 503, "accept": True}),
            (FaultKind.RATE_LIMIT, {}),
            (FaultKind.SERVER_ERROR, {"status": 503}),
        ]
    )


def page_and_instance_faults() -> Iterator[str]:
    """Mastodon's and the Page's faults, one per due minute in turn: posted and answer lost,
    a 5xx after the post was made, a 5xx before it, a timeout."""
    return itertools.cycle(
        ["drop_after_commit", "server_error_after_commit", "server_error", "timeout"]
    )


def workers(settings: Settings) -> list[Engine]:
    """Three function containers: each its own engine, ledger client and X channel."""
    return [runtime.build(settings, NullObserver()) for _ in range(WORKERS)]


def tick_together(engines: list[Engine], moment: datetime) -> None:
    with ThreadPoolExecutor(max_workers=len(engines)) as pool:
        for future in [pool.submit(e.tick, moment, lambda: 60.0) for e in engines]:
            future.result()


def test_the_campaign_publishes_every_delivery_once_through_a_fault_each_minute(
    sid_plan: LoadedPlan,
    ledger_table: str,
    dynamodb_env: str,
    secrets_manager_env: str,
    fake_secrets: FakeSecrets,
    fake_x: FakeX,
    fake_mastodon: FakeMastodon,
    fake_facebook: FakeFacebook,
    fake_clock: FakeClock,
) -> None:
    # Given three containers of the function on the local services, with every channel's
    # credentials in the secret
    secret = X_SECRET | MASTODON_SECRET | FACEBOOK_SECRET
    fake_secrets.put("herald/sid-under-faults", json.dumps(secret))
    settings = Settings.from_env(
        {
            "LEDGER_TABLE": ledger_table,
            "CREDENTIALS_SECRET": "herald/sid-under-faults",
            "X_API_BASE_URL": fake_x.url,
            "MASTODON_BASE_URL": fake_mastodon.url,
            "FACEBOOK_GRAPH_URL": fake_facebook.url,
            "CAMPAIGNS_DIR": str(REPO_ROOT / "campaigns"),
        }
    )
    engines = workers(settings)
    due_minutes = sorted({d.at for d in sid_plan.deliveries})
    kinds, others = faults(), page_and_instance_faults()

    # When every due minute meets one transient fault, and it and the minutes after tick
    for due in due_minutes:
        kind, options = next(kinds)
        if kind is FaultKind.RATE_LIMIT:  # the reset, in the ticks' clock: two minutes on
            options = {"reset_at": int((due + timedelta(minutes=2)).timestamp())}
        fake_x.fail_next(TWEETS, kind, **options)
        other = next(others)
        fake_mastodon.fail_next(STATUSES, other, seconds=12)
        fake_facebook.fail_next(FEED, other, seconds=12)
        for minute in range(AFTER_EACH_DUE_MINUTE + 1):
            fake_clock.now = due + timedelta(minutes=minute)
            tick_together(engines, due + timedelta(minutes=minute))

    # Then all 33 deliveries are SENT: 13 on X, 13 on Mastodon, 7 Page posts
    by_state = states(engines[0].ledger, sid_plan)  # type: ignore[arg-type]
    assert len(by_state) == 33
    assert set(by_state.values()) == {State.SENT}
    # And each is on its account exactly once
    texts = [post.text for post in fake_x.posts]
    assert len(texts) == 13 and len(set(texts)) == 13
    statuses = [status.text for status in fake_mastodon.statuses]
    assert len(statuses) == 13 and len(set(statuses)) == 13
    pages = [post.message for post in fake_facebook.posts]
    assert len(pages) == 7 and len(set(pages)) == 7
    # And every thread is intact: each reply answers the post before it
    records = engines[0].ledger.get_many([d.key for d in sid_plan.deliveries])
    ids = {d.key: str(records[d.key].remote_id) for d in sid_plan.deliveries}
    replies = {post.id: post.reply_to for post in fake_x.posts} | {
        status.id: status.in_reply_to_id for status in fake_mastodon.statuses
    }
    for delivery in sid_plan.deliveries:
        if delivery.key.channel == "facebook":
            continue
        parent = delivery.parent_key
        assert replies[ids[delivery.key]] == (ids[parent] if parent else None)
