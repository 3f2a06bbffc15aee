"""Eight ticks of the same minute at once, as threads and as processes: each delivery is
published exactly once, because every claim is a conditional write on one DynamoDB table."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald.channels.x import XChannel
from herald.engine import Engine, Summary
from herald.ledger import State
from herald.ledger.dynamodb import DynamoLedger
from herald.plan import LoadedPlan, load_plan_strict
from herald_dev.fake_x import TWEETS, FakeX
from tests.integration.conftest import (
    another_ledger,
    assert_published_once,
    states,
    worker_command,
    worker_env,
    write_campaign,
)

pytestmark = pytest.mark.integration

WORKERS = 8
T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)

# Two accounts, two threads and a single post each, all due at 08:00: twelve deliveries.
CAMPAIGN = """\
campaign: race
title: Race
timezone: Europe/London
max_lateness: 15m
accounts:
  x:
    hertspolice: {handle: HertsPolice}
    saferinternet: {handle: UK_SIC}
posts:
  - id: advice
    at: 2021-02-09 08:00
    text: "Advice for parents, 1 of 3"
    thread:
      - "Advice for parents, 2 of 3"
      - "Advice for parents, 3 of 3"
  - id: report
    at: 2021-02-09 08:00
    text: "How to report, 1 of 2"
    thread:
      - "How to report, 2 of 2"
  - id: theme
    at: 2021-02-09 08:00
    text: "Together for a better internet"
"""


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    return write_campaign(tmp_path, CAMPAIGN)


@pytest.fixture
def plan(campaign: Path) -> LoadedPlan:
    return load_plan_strict([campaign])


def assert_exactly_once(fake: FakeX, plan: LoadedPlan, ledger: DynamoLedger) -> None:
    """Every delivery is SENT, posted once (no second create call at all), threads chained."""
    assert len(plan) == 12
    assert set(states(ledger, plan).values()) == {State.SENT}
    assert fake.counts[TWEETS] == 12
    assert all(r.status == 201 for r in fake.requests if r.endpoint == TWEETS)
    assert_published_once(fake, plan, [d.key for d in plan.deliveries])
    records = ledger.get_many([d.key for d in plan.deliveries])
    by_id = {p.id: p for p in fake.posts}
    for delivery in plan.deliveries:
        post = by_id[records[delivery.key].remote_id or ""]
        assert post.text == delivery.render()
        assert post.account == delivery.key.account
        parent = delivery.parent_key
        assert post.reply_to == (records[parent].remote_id if parent else None)
    assert all(r.attempts == 1 for r in records.values())


def test_eight_threads_ticking_the_same_minute_publish_each_delivery_once(
    plan: LoadedPlan,
    ledger: DynamoLedger,
    dynamodb_local: str,
    fake_x: FakeX,
    make_x_channel: Callable[..., XChannel],
) -> None:
    # Given eight workers, each with its own engine, ledger client and X channel
    engines = [
        Engine(plan, another_ledger(ledger, dynamodb_local), {"x": make_x_channel()})
        for _ in range(WORKERS)
    ]
    barrier = threading.Barrier(WORKERS)
    summaries: list[Summary] = []
    errors: list[BaseException] = []

    def work(engine: Engine) -> None:
        try:
            barrier.wait(timeout=30)
            summaries.append(engine.tick(T0))
        except BaseException as error:  # reported below, with the others
            errors.append(error)

    threads = [threading.Thread(target=work, args=(engine,)) for engine in engines]
    # When they all tick 08:00 at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then every delivery was published exactly once between them
    assert errors == []
    assert len(summaries) == WORKERS
    assert sum(s.counts["Published"] for s in summaries) == 12
    assert_exactly_once(fake_x, plan, ledger)
    # And a later tick finds nothing left to do
    assert engines[0].tick(T0 + timedelta(minutes=1)).counts["Published"] == 0
    assert fake_x.counts[TWEETS] == 12


def test_eight_processes_ticking_the_same_minute_publish_each_delivery_once(
    campaign: Path,
    plan: LoadedPlan,
    ledger: DynamoLedger,
    dynamodb_local: str,
    fake_x: FakeX,
    x_credentials: dict[str, Any],
    tmp_path: Path,
) -> None:
    # Given eight worker processes, warmed up and waiting at a barrier
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = worker_env(x_credentials)
    workers = [
        subprocess.Popen(
            worker_command(
                "tick",
                endpoint=dynamodb_local,
                table=ledger.table_name,
                x_url=fake_x.url,
                campaign=campaign,
                now=T0,
                extra=["--barrier", str(barrier), "--name", str(n)],
            ),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WORKERS)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(barrier.glob("ready-*"))) < WORKERS:
            exited = [w for w in workers if w.poll() is not None]
            assert not exited, exited[0].communicate()[1]
            assert time.monotonic() < deadline, "the workers did not get ready"
            time.sleep(0.02)
        # When they are told to go, and all tick 08:00 at once
        (barrier / "go").touch()
        outputs = [w.communicate(timeout=60) for w in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    # Then each worker ended cleanly
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr
    summaries = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    # And every delivery was published exactly once between them
    assert sum(s.get("Published", 0) for s in summaries) == 12
    published = Counter(
        (post, account)
        for s in summaries
        for event, post, account in s["results"]
        if event == "Published"
    )
    assert set(published.values()) == {1}
    assert_exactly_once(fake_x, plan, ledger)
