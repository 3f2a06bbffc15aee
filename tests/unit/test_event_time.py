"""The handler trusts its event's time only near the clock: an invoke with a 2031 time must
not publish a 2031 post at once. It is refused, logged and counted (RefusedEvents alarms)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from herald import runtime
from herald.config import ConfigError, Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER = REPO_ROOT / "functions" / "publisher" / "app.py"
WALL = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TOLERANCE = timedelta(minutes=5)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(minutes=5), -timedelta(minutes=5)])
def test_an_event_near_the_clock_is_taken(offset: timedelta) -> None:
    # Given an event at most five minutes from the clock
    # When it is checked
    # Then it runs
    assert runtime.event_refusal(WALL + offset, WALL, TOLERANCE) is None


@pytest.mark.parametrize(
    ("event", "said"),
    [
        (datetime(2031, 2, 9, 8, 0, tzinfo=UTC), "ahead of the clock"),
        (WALL - timedelta(minutes=6), "6 min behind the clock"),
    ],
)
def test_an_event_far_from_the_clock_is_refused_with_a_sentence(event: datetime, said: str) -> None:
    # Given an event far from the clock (a mistaken invoke, a replayed old event)
    # When it is checked
    refusal = runtime.event_refusal(event, WALL, TOLERANCE)
    # Then it is refused, saying why, and that nothing was published
    assert refusal is not None
    assert said in refusal
    assert "nothing published" in refusal


def test_the_check_can_be_turned_off_for_local_replays() -> None:
    # Given EVENT_TIME_TOLERANCE=off (env.json, for sam local with the 2021 sample events)
    settings = Settings.from_env({"LEDGER_TABLE": "t", "CREDENTIALS_SECRET": "s",
                                  "EVENT_TIME_TOLERANCE": "off"})  # fmt: skip
    # Then any event time is taken
    assert settings.event_tolerance is None
    assert runtime.event_refusal(datetime(2021, 2, 9, tzinfo=UTC), WALL, None) is None


@pytest.mark.parametrize(("raw", "expected"), [(None, TOLERANCE), ("90", timedelta(seconds=90))])
def test_the_tolerance_defaults_to_five_minutes(raw: str | None, expected: timedelta) -> None:
    env = {"LEDGER_TABLE": "t", "CREDENTIALS_SECRET": "s"}
    if raw is not None:
        env["EVENT_TIME_TOLERANCE"] = raw
    assert Settings.from_env(env).event_tolerance == expected


def test_a_malformed_tolerance_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="EVENT_TIME_TOLERANCE must be whole seconds"):
        Settings.from_env({"LEDGER_TABLE": "t", "CREDENTIALS_SECRET": "s",
                           "EVENT_TIME_TOLERANCE": "five minutes"})  # fmt: skip


HANDLE_ONE_EVENT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)

class Context:
    function_name = "herald-publisher"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:herald-publisher"
    aws_request_id = "test"

    def get_remaining_time_in_millis(self):
        return 60_000

result = app.lambda_handler({"scheduled_time": sys.argv[2]}, Context())
from herald import runtime
print(json.dumps({"result": result, "engine_built": runtime._engine is not None}))
"""


def test_the_handler_refuses_a_2031_event_logs_it_and_counts_it(tmp_path: Path) -> None:
    # Given the handler as Lambda runs it (its own process), the default tolerance, and a
    # ledger and secret nothing could reach
    env = {
        "PATH": os.environ["PATH"],
        "LEDGER_TABLE": "herald-unreachable",
        "CREDENTIALS_SECRET": "herald/unreachable",
        "CAMPAIGNS_DIR": str(REPO_ROOT / "campaigns"),
    }
    # When it is invoked with an event time in 2031
    done = subprocess.run(
        [sys.executable, "-c", HANDLE_ONE_EVENT, str(HANDLER), "2031-02-09T08:00:00Z"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip

    # Then nothing ran: no engine was built (no ledger, no X), and the summary says why
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    answer = lines[-1]
    assert "days ahead of the clock" in answer["result"]["refused"]
    assert answer["engine_built"] is False
    # And the refusal is an error log line and a RefusedEvents metric (EMF)
    refused = [line for line in lines if line.get("message") == "event refused"]
    assert refused and refused[0]["level"] == "ERROR"
    assert [line["RefusedEvents"] for line in lines if "_aws" in line] == [[1.0]]
