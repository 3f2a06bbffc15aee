"""The Lambda handler over Safer Internet Day, in its own process as Lambda runs it: every
logger at DEBUG, failures included, and no credential in anything it printed."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald.ledger import State
from herald.ledger.dynamodb import DynamoLedger
from herald.plan import LoadedPlan
from herald.timeutil import format_utc
from herald_dev.fake_facebook import FakeFacebook
from herald_dev.fake_mastodon import FakeMastodon
from herald_dev.fake_x import TWEETS, FakeX, FaultKind
from herald_dev.mastodon_facebook_accounts import FACEBOOK_SECRET, MASTODON_SECRET
from tests.integration.conftest import REPO_ROOT, states, worker_command, worker_env

pytestmark = pytest.mark.integration

END = datetime(2021, 2, 11, 0, 0, tzinfo=UTC)


def tick_times(plan: LoadedPlan) -> list[str]:
    """Each due minute and the ten after it (enough to reconcile), then the end of the run."""
    moments = sorted(
        {d.at + timedelta(minutes=m) for d in plan.deliveries for m in range(11)} | {END}
    )
    return [format_utc(moment) for moment in moments]


def metric_total(value: float | list[float]) -> float:
    """An EMF metric's value: one number, or a list of them when recorded more than once."""
    return sum(value) if isinstance(value, list) else value


def secret_values(secret: dict[str, Any]) -> list[str]:
    return [
        value for channel in secret.values() for keys in channel.values() for value in keys.values()
    ]


def test_a_full_run_of_the_handler_logs_no_credentials(
    sid_plan: LoadedPlan,
    ledger: DynamoLedger,
    dynamodb_local: str,
    fake_x: FakeX,
    fake_mastodon: FakeMastodon,
    fake_facebook: FakeFacebook,
    x_credentials: dict[str, Any],
    tmp_path: Path,
) -> None:
    # Given X refuses the first post's credentials (401) and fails the second (500, not
    # made: read back absent twice a minute apart, it is sent once more)
    fake_x.fail_next(TWEETS, FaultKind.UNAUTHORIZED)
    fake_x.fail_next(TWEETS, FaultKind.SERVER_ERROR, status=500)
    summaries_file = tmp_path / "summaries.json"
    moments = tick_times(sid_plan)
    command = worker_command(
        "handler",
        endpoint=dynamodb_local,
        table=ledger.table_name,
        x_url=fake_x.url,
        campaign=REPO_ROOT / "campaigns",
        now=END,
        extra=[
            "--campaigns-dir",
            str(REPO_ROOT / "campaigns"),
            "--summaries",
            str(summaries_file),
            "--at",
            *moments,
        ],
    )
    # (and Mastodon and the Facebook Page take theirs)
    secret = x_credentials | MASTODON_SECRET | FACEBOOK_SECRET
    env = worker_env(
        secret, MASTODON_BASE_URL=fake_mastodon.url, FACEBOOK_GRAPH_URL=fake_facebook.url
    )
    # When the handler runs every tick of the day, with every logger at DEBUG
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-5000:]
    output = done.stdout + done.stderr
    # Then the run was logged in full: JSON lines from Powertools, DEBUG from the X client
    assert '"message":"tick"' in done.stdout.replace(" ", "")
    assert "Received API response: 201" in done.stderr
    assert "Received API response: 401" in done.stderr
    assert "Received API response: 500" in done.stderr
    # And the AWS SDK and the HTTP stack stayed at WARNING (botocore would log the secret)
    assert "DEBUG:botocore" not in done.stderr
    assert "DEBUG:urllib3" not in done.stderr
    # And not one credential value appears anywhere in it
    for value in secret_values(secret):
        assert value not in output
    # And the handler returned a summary for each tick
    summaries = json.loads(summaries_file.read_text(encoding="utf-8"))
    assert [s["now"] for s in summaries] == moments
    assert all({"now", "examined", "out_of_time"} <= set(s) for s in summaries)
    published = 12 + 13 + 7  # X, Mastodon, Facebook (a Page post per thread)
    assert sum(s.get("Published", 0) for s in summaries) == published
    assert sum(s.get("Failed", 0) for s in summaries) >= 1
    assert sum(s.get("Unknown", 0) for s in summaries) >= 1
    # And the metrics (EMF on stdout) count what was published
    emf = [json.loads(line) for line in done.stdout.splitlines() if '"_aws"' in line]
    metric_names = {
        m["Name"]
        for doc in emf
        for directive in doc["_aws"]["CloudWatchMetrics"]
        for m in directive["Metrics"]
    }
    assert {"Published", "Failed", "Unknown"} <= metric_names
    assert sum(metric_total(doc.get("Published", 0)) for doc in emf) == published
    # And the ledger holds the one failure: FAILED (401); the 500 went out on its resend
    by_state = states(ledger, sid_plan)
    assert list(by_state.values()).count(State.SENT) == published
    failed = ledger.get_many([k for k, s in by_state.items() if s is not State.SENT])
    assert [r.state for r in failed.values()] == [State.FAILED]
    assert len(fake_x.posts_by("hertspolice")) == 12
    assert len(fake_mastodon.statuses_by("hertspolice")) == 13
    assert len(fake_facebook.posts_of("hertspolice")) == 7
