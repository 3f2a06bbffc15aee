"""A soak worker: one publisher, as a Lambda container is, in its own process: it starts cold
(tweepy, Jinja and the campaign files are loaded by its first tick that needs them) and stays
warm from tick to tick.

    python -m herald_dev.soak.worker --campaigns DIR --table NAME --x-url URL [--read-timeout S]

It builds what the function builds (the compiled plan `herald compile` wrote in DIR, the
DynamoDB ledger on the SDK's default client, the X channel), says `{"ready": true}` on
stdout, then runs one engine tick for each line `{"now": ISO}` on stdin, answering one JSON
line each: the tick's counts, or the error it raised. End of input ends it; so does SIGKILL.

The X credentials come in the variable HERALD_SOAK_X_SECRET, never in argv. DynamoDB is
reached through `AWS_ENDPOINT_URL_DYNAMODB` (the soak's fault proxy), with the retry policy
the function's own client has. botocore sleeps between retries in wall time while the soak's
minutes pass faster: `HERALD_SOAK_BACKOFF_SCALE` (default 1) scales those sleeps, nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

SECRET_VARIABLE = "HERALD_SOAK_X_SECRET"
BACKOFF_VARIABLE = "HERALD_SOAK_BACKOFF_SCALE"
TICK_BUDGET = 60.0  # seconds: the function's timeout (template.yaml)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--campaigns", required=True, type=Path)
    parser.add_argument("--table", required=True)
    parser.add_argument("--x-url", required=True)
    parser.add_argument("--read-timeout", type=float, default=1.0)
    args = parser.parse_args(argv)
    secret = json.loads(os.environ.pop(SECRET_VARIABLE))
    scale_backoff(float(os.environ.get(BACKOFF_VARIABLE, "1")))
    engine, clock = build(args, secret)
    _say({"ready": True})
    for line in sys.stdin:
        if line.strip():
            _say(tick(engine, clock, json.loads(line)["now"]))
    return 0


def build(args: argparse.Namespace, secret: dict[str, Any]) -> tuple[Any, _TickClock]:
    """The engine the function would build, on the soak's services."""
    from herald.channels.x import XChannel
    from herald.compiled_plan import load_compiled
    from herald.credentials import StaticCredentials
    from herald.engine import Engine
    from herald.ledger.dynamodb import DynamoLedger

    plan = load_compiled(args.campaigns)
    clock = _TickClock()
    channel = XChannel(
        plan.accounts.get("x", {}),
        StaticCredentials(secret),
        base_url=args.x_url,
        connect_timeout=1.0,
        read_timeout=args.read_timeout,
        clock=clock,
    )
    return Engine(plan, DynamoLedger(args.table), {"x": channel}), clock


class _TickClock:
    """The channel's clock: the tick's simulated time (it stamps 429 fallbacks with it)."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        if self.now is None:
            raise RuntimeError("no tick is running")
        return self.now


def tick(engine: Any, clock: _TickClock, now_text: str) -> dict[str, Any]:
    from herald.timeutil import parse_utc

    now = parse_utc(now_text)
    clock.now = now
    started = time.monotonic()
    remaining: Callable[[], float] = lambda: TICK_BUDGET - (time.monotonic() - started)  # noqa: E731
    try:
        summary = engine.tick(now, remaining)
    except Exception as error:  # the function would fail this invocation; the next one runs
        return {"now": now_text, "error": f"{type(error).__name__}: {error}"[:500]}
    return {
        "now": now_text,
        "counts": dict(summary.counts),
        "out_of_time": summary.out_of_time,
        "seconds": round(time.monotonic() - started, 4),
    }


def scale_backoff(scale: float) -> None:
    """Scale botocore's retry sleeps by `scale` (the delays it computes, not the retries)."""
    if scale == 1.0:
        return
    from botocore.retries import standard

    original = standard.ExponentialBackoff.delay_amount

    def scaled(self: Any, context: Any) -> float:
        return float(original(self, context)) * scale

    standard.ExponentialBackoff.delay_amount = scaled  # type: ignore[method-assign]


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
