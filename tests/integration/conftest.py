"""Helpers shared by the engine's integration tests: the DynamoDB ledger, campaigns written
for a test, worker subprocesses, and questions asked of the ledger and the fake X API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from herald.delivery import DeliveryKey
from herald.engine import Engine
from herald.ledger import Record, State
from herald.ledger.dynamodb import DynamoLedger
from herald.plan import LoadedPlan, load_plan_strict
from herald.timeutil import format_utc
from herald_dev.aws_env import sandboxed
from herald_dev.dynamodb_local import make_client
from herald_dev.fake_x import TWEETS, FakeX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REPO_ROOT = Path(__file__).resolve().parents[2]
SID_CAMPAIGN = REPO_ROOT / "campaigns" / "safer-internet-day-2021.yaml"
TICK_WORKER = Path(__file__).resolve().parent / "tick_worker.py"
# The variable that hands the test secret to a worker subprocess (never its argv).
SECRET_VARIABLE = "HERALD_TEST_X_SECRET"


@pytest.fixture
def ledger(ledger_table: str, dynamodb_client: DynamoDBClient) -> DynamoLedger:
    """The DynamoDB ledger on this test's fresh table."""
    return DynamoLedger(ledger_table, client=dynamodb_client)


@pytest.fixture
def sid_plan() -> LoadedPlan:
    """The Safer Internet Day 2021 campaign, as the Lambda loads it."""
    return load_plan_strict([SID_CAMPAIGN])


def write_campaign(folder: Path, text: str, name: str = "campaign.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def plan_of(folder: Path, text: str) -> LoadedPlan:
    """A plan from a campaign written for the test."""
    return load_plan_strict([write_campaign(folder, text)])


def another_ledger(ledger: DynamoLedger, endpoint: str) -> DynamoLedger:
    """A second worker's ledger: same table, its own client and connections."""
    return DynamoLedger(ledger.table_name, client=make_client(endpoint))


def record_of(ledger: DynamoLedger, key: DeliveryKey) -> Record | None:
    return ledger.get_many([key]).get(key)


def states(ledger: DynamoLedger, plan: LoadedPlan) -> dict[DeliveryKey, State | None]:
    records = ledger.get_many([d.key for d in plan.deliveries])
    return {d.key: (records[d.key].state if d.key in records else None) for d in plan.deliveries}


def tweet_calls(fake: FakeX) -> int:
    """Create-post requests the fake received, whatever it answered."""
    return fake.counts.get(TWEETS, 0)


def assert_published_once(fake: FakeX, plan: LoadedPlan, deliveries: Iterable[DeliveryKey]) -> None:
    """Each delivery's text is on its account exactly once, and nothing else is."""
    wanted = sorted(
        (key.account, delivery.render())
        for key in deliveries
        if (delivery := plan.get(key)) is not None
    )
    assert sorted((p.account, p.text) for p in fake.posts) == wanted


def assert_nothing_lost(
    engine: Engine, plan: LoadedPlan, now: datetime, ledger: DynamoLedger
) -> None:
    """Every delivery of `plan` (the engine's) past its deadline is SENT or SKIPPED, or the
    audit names it with the FAILED, UNKNOWN or MISSED record that explains it."""
    findings = {f.delivery.key: f for f in engine.audit(now)}
    past = [d for d in plan.deliveries if d.deadline < now]
    records = ledger.get_many([d.key for d in past])
    for delivery in past:
        record = records.get(delivery.key)
        if record is not None and record.is_final():
            assert delivery.key not in findings
        else:
            assert delivery.key in findings, f"{delivery.key} lost without a record"
            assert findings[delivery.key].event.value in ("Failed", "Unknown", "Missed")


def worker_command(
    mode: str,
    *,
    endpoint: str,
    table: str,
    x_url: str,
    campaign: Path,
    now: datetime,
    extra: Sequence[str] = (),
) -> list[str]:
    return [
        sys.executable,
        str(TICK_WORKER),
        mode,
        "--endpoint",
        endpoint,
        "--table",
        table,
        "--x-url",
        x_url,
        "--campaign",
        str(campaign),
        "--now",
        format_utc(now),
        *extra,
    ]


def worker_env(secret: dict[str, Any], **variables: str) -> dict[str, str]:
    """The environment of a worker subprocess: the AWS sandbox, the secret by variable."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    return sandboxed(
        inherited,
        **{SECRET_VARIABLE: json.dumps(secret), "PYTHONPATH": str(REPO_ROOT), **variables},
    )


def run_worker(command: list[str], env: dict[str, str], timeout: float = 60) -> Any:
    """Run a worker to the end; its JSON answer (the last line on stdout)."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass
class Served:
    """A fake started from the command line: its first line, then (after the block) what it
    printed on stderr and its exit code."""

    banner: str = ""
    errors: str = ""
    returncode: int | None = None


@contextmanager
def serving(module: str, *args: str) -> Iterator[Served]:
    """`python -m MODULE --port 0 ARGS...` (a herald_dev fake on a free port) for the block,
    then SIGTERM and wait for it to exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served()
    try:
        assert process.stdout is not None
        served.banner = process.stdout.readline()
        yield served
    finally:
        process.terminate()
        _, served.errors = process.communicate(timeout=10)
        served.returncode = process.returncode
