"""A publisher in its own process, for the integration tests that need several, or one to kill.

    tick_worker.py tick --endpoint URL --table NAME --x-url URL --campaign FILE --now ISO
        [--barrier DIR --name N] [--read-timeout S]
    tick_worker.py handler --endpoint URL --table NAME --x-url URL --campaign FILE --now ISO
        --campaigns-dir DIR --summaries FILE --at ISO [ISO...]

`tick` runs one engine tick at `--now` on the DynamoDB ledger and the X channel, and prints
its summary as one JSON line. With `--barrier`, it warms up (imports, connections), writes
`DIR/ready-N` and waits for `DIR/go`, so that several workers tick at the same instant.

`handler` runs the real Lambda handler (functions/publisher/app.py) once per `--at` minute,
as Lambda would, with credentials from the test secret instead of Secrets Manager, every
logger at DEBUG, and writes the handler's return values to `--summaries` as JSON.

The X credentials come in the variable HERALD_TEST_X_SECRET (JSON in the secret's shape),
never in argv. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER = REPO_ROOT / "functions" / "publisher" / "app.py"
SECRET_VARIABLE = "HERALD_TEST_X_SECRET"
BARRIER_TIMEOUT = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("tick", "handler"))
    parser.add_argument("--endpoint", required=True, help="DynamoDB Local's URL")
    parser.add_argument("--table", required=True, help="the ledger table")
    parser.add_argument("--x-url", required=True, help="the fake X API's URL")
    parser.add_argument("--campaign", help="tick: the campaign file")
    parser.add_argument("--now", help="tick: its time (ISO 8601, UTC)")
    parser.add_argument("--barrier", help="a folder where workers meet before ticking")
    parser.add_argument("--name", default="0", help="this worker's name at the barrier")
    parser.add_argument("--read-timeout", type=float, default=2.0)
    parser.add_argument("--campaigns-dir", help="handler: CAMPAIGNS_DIR")
    parser.add_argument("--summaries", help="handler: where its return values go")
    parser.add_argument("--at", nargs="*", default=[], help="handler: the ticks' times")
    args = parser.parse_args(argv)
    secret = json.loads(os.environ.pop(SECRET_VARIABLE))
    if args.mode == "tick":
        print(json.dumps(tick(args, secret)), flush=True)
    else:
        run_handler(args, secret)
    return 0


def tick(args: argparse.Namespace, secret: Mapping[str, Any]) -> dict[str, Any]:
    import boto3

    from herald.channels.x import XChannel
    from herald.credentials import StaticCredentials
    from herald.engine import Engine
    from herald.ledger.dynamodb import DynamoLedger
    from herald.plan import load_plan_strict
    from herald.timeutil import parse_utc

    plan = load_plan_strict([Path(args.campaign)])
    client = boto3.client("dynamodb", endpoint_url=args.endpoint)
    accounts = {
        account.id: {"handle": account.handle}
        for campaign in plan.campaigns.values()
        for account in campaign.accounts.get("x", {}).values()
    }
    channel = XChannel(
        accounts,
        StaticCredentials(secret),
        base_url=args.x_url,
        connect_timeout=1.0,
        read_timeout=args.read_timeout,
    )
    engine = Engine(plan, DynamoLedger(args.table, client=client), {"x": channel})
    if args.barrier:
        _warm_up(client, args.table)
        _meet(Path(args.barrier), args.name)
    summary = engine.tick(parse_utc(args.now))
    return {
        **summary.as_dict(),
        "results": [[r.event.value, r.key.post, r.key.account] for r in summary.results],
    }


def _warm_up(client: Any, table: str) -> None:
    """Pay for imports and connections before the barrier, so the ticks really race."""
    import jinja2  # noqa: F401
    import requests_oauthlib  # noqa: F401
    import tweepy  # noqa: F401

    import herald.render  # noqa: F401

    client.describe_table(TableName=table)


def _meet(barrier: Path, name: str) -> None:
    (barrier / f"ready-{name}").touch()
    go = barrier / "go"
    deadline = time.monotonic() + BARRIER_TIMEOUT
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"worker {name}: nobody said go within {BARRIER_TIMEOUT:.0f}s")
        time.sleep(0.002)


class LambdaContext:
    """What Powertools reads from Lambda's context object."""

    function_name = "herald-publisher"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:herald-publisher"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def run_handler(args: argparse.Namespace, secret: Mapping[str, Any]) -> None:
    """The Lambda handler over the given minutes; every logger on, at DEBUG."""
    os.environ.update(
        {
            "LEDGER_TABLE": args.table,
            "CREDENTIALS_SECRET": "herald/test/credentials",
            "X_API_BASE_URL": args.x_url,
            "CAMPAIGNS_DIR": args.campaigns_dir,
            "AWS_ENDPOINT_URL_DYNAMODB": args.endpoint,
            "POWERTOOLS_SERVICE_NAME": "herald",
            "POWERTOOLS_METRICS_NAMESPACE": "herald",
            "POWERTOOLS_LOG_LEVEL": "DEBUG",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "EVENT_TIME_TOLERANCE": "off",  # the campaign is from 2021
        }
    )
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    logging.getLogger().setLevel(logging.DEBUG)

    from herald import runtime
    from herald.credentials import SecretsManagerCredentials

    # The one seam: Secrets Manager (through Powertools Parameters) is not available here.
    # (Replacing a method on the class is what mypy's method-assign refuses; it is the seam.)
    SecretsManagerCredentials._secret = lambda self: secret  # type: ignore[method-assign]
    runtime.reset()
    spec = importlib.util.spec_from_file_location("publisher_app", HANDLER)
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)

    summaries = []
    for moment in args.at:
        summaries.append(app.lambda_handler({"scheduled_time": moment}, LambdaContext()))
    Path(args.summaries).write_text(json.dumps(summaries), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
