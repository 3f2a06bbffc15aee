"""Least privilege, derived from the code: the function's role grants exactly the AWS calls
the function makes.

The real wiring (herald.runtime: the compiled plan, the DynamoDB ledger, X with credentials
from Secrets Manager) publishes the Safer Internet Day campaign against DynamoDB Local, the
fake Secrets Manager and the fake X API, through every path a tick can take: published,
failed, rate limited, unknown and reconciled, late, paused, audited. Every call the AWS SDK
makes on the way is recorded. A grant nobody calls fails the test, and so does a call
nobody granted.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald import runtime
from herald.config import Settings
from herald.engine import NullObserver
from herald.plan import LoadedPlan
from herald_dev.aws_env import REGION
from herald_dev.fake_x import TWEETS, FakeX, FaultKind
from herald_dev.x_accounts import X_SECRET_NAME
from tests.unit.test_template import _transformed, as_list, role_statements

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
# Granted for AWS itself, not for the code: Lambda sends a failed asynchronous invocation to
# the on-failure destination (EventInvokeConfig) with the function's role.
PLATFORM_ACTIONS = {"sqs:SendMessage"}


class Recorder:
    """Every AWS API call botocore makes while `on`, as IAM actions."""

    def __init__(self) -> None:
        self.calls: set[str] = set()
        self.on = True

    @contextmanager
    def off(self) -> Iterator[None]:
        """Calls made inside are not the function's (a person's CLI, the test's set-up)."""
        self.on = False
        try:
            yield
        finally:
            self.on = True


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    from botocore.client import BaseClient

    recorder = Recorder()
    original = getattr(BaseClient, "_make_api_call")  # noqa: B009  (private: not in the stubs)

    def recording(self: Any, operation_name: str, api_params: Any) -> Any:
        if recorder.on:
            recorder.calls.add(f"{self.meta.service_model.signing_name}:{operation_name}")
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return recorder


def granted_to_the_function() -> set[str]:
    """The actions on the publisher function's role in the transformed template."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    cfn = json.loads(_transformed("ENABLED"))
    role = cfn["Resources"]["PublisherFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    return {a for s in role_statements(cfn, role) for a in as_list(s["Action"])}


def ticks(plan: LoadedPlan) -> list[datetime]:
    """Each due minute and the ten after it, then an hour later (past every window: the
    audit runs, and what is still held by a pause is skipped)."""
    moments = {d.at + timedelta(minutes=m) for d in plan.deliveries for m in range(11)}
    return sorted(moments | {max(moments) + timedelta(hours=1)})


def test_the_function_role_grants_exactly_the_calls_the_function_makes(
    sid_plan: LoadedPlan,
    ledger_table: str,
    dynamodb_env: str,
    secrets_manager_env: str,
    fake_x: FakeX,
    aws_calls: Recorder,
) -> None:
    # Given the function's own wiring on the local services, and X failing in every way a
    # tick handles: a 429, a 503 after the post was made (unknown), a 401
    fake_x.fail_next(TWEETS, FaultKind.RATE_LIMIT, reset_in=1.0)
    fake_x.fail_next(TWEETS, FaultKind.SERVER_ERROR, status=503, accept=True)
    fake_x.fail_next(TWEETS, FaultKind.UNAUTHORIZED)
    settings = Settings.from_env(
        {
            "LEDGER_TABLE": ledger_table,
            "CREDENTIALS_SECRET": X_SECRET_NAME,
            "X_API_BASE_URL": fake_x.url,
            "CAMPAIGNS_DIR": str(REPO_ROOT / "campaigns"),
        }
    )
    engine = runtime.build(settings, NullObserver())
    moments = ticks(sid_plan)
    last_due = sid_plan.deliveries[-1].at

    # When it ticks through the campaign, with everything paused by a person just before
    # the last post (outside the recording: pausing is the CLI's call, not the function's)
    events: Counter[str] = Counter()
    for moment in moments:
        if moment == last_due:
            with aws_calls.off():
                engine.ledger.pause("*", "a real incident", moment)
        events.update(engine.tick(moment, lambda: 60.0).counts)

    # Then the ticks took every path: published, rate limited, failed, unknown,
    # skipped while paused, and the audit
    assert {"Published", "RateLimited", "Failed", "Unknown"} <= set(events)
    assert events["SkippedPaused"] >= 1
    # And the calls it made are exactly the role's grants, beyond what AWS itself uses
    assert aws_calls.calls == granted_to_the_function() - PLATFORM_ACTIONS
