"""Wiring for the Lambda function: settings, the compiled plan, the ledger and channels,
built once per container and reused by every warm tick."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from herald.config import Settings
from herald.delivery import Plan
from herald.engine import Engine, Observer, Summary
from herald.timeutil import parse_utc


class BadEvent(ValueError):
    """The event carries no usable scheduled time."""


def scheduled_time(event: Mapping[str, Any]) -> datetime:
    """The tick's "now": the Scheduler input's `scheduled_time`, or the EventBridge
    scheduled event's `time`. Never the wall clock: ticks are replayable."""
    raw = event.get("scheduled_time") or event.get("time")
    if not isinstance(raw, str):
        raise BadEvent("the event has neither 'scheduled_time' nor 'time'")
    try:
        return parse_utc(raw)
    except ValueError as error:
        raise BadEvent(f"the event's time {raw!r} is not an ISO 8601 time: {error}") from None


def correlation_id(event: Mapping[str, Any], now: datetime) -> str:
    event_id = event.get("id")
    return str(event_id) if event_id else f"tick-{now:%Y%m%dT%H%MZ}"


_engine: Engine | None = None


def load_plan_for(folder: Path) -> tuple[Plan, dict[str, dict[str, Any]], list[str]]:
    """The plan for the campaigns in `folder`, its X accounts, and the problems of refused
    campaigns. The compiled index (`herald compile`, run by `sam build`) when it matches the
    files; otherwise every campaign is loaded and checked, which costs a slower cold start."""
    from herald.compiled_plan import StaleIndex, load_compiled

    try:
        compiled = load_compiled(folder)
    except StaleIndex as reason:
        from herald.compiled_plan import accounts
        from herald.observability import logger
        from herald.plan import load_plan

        logger().warning("no usable compiled plan; loading campaigns", extra={"why": str(reason)})
        plan, problems = load_plan([folder])
        refused = [str(p) for p in problems if p.is_error]
        return plan, accounts(plan).get("x", {}), refused
    return compiled, compiled.accounts.get("x", {}), compiled.refused


def build(settings: Settings, observer: Observer) -> Engine:
    """The engine for these settings: campaigns from CAMPAIGNS_DIR, the DynamoDB ledger,
    X with credentials from Secrets Manager. Broken campaigns are logged and left out."""
    from herald.channels.x import XChannel
    from herald.credentials import SecretsManagerCredentials
    from herald.ledger.dynamodb import DynamoLedger

    plan, x_accounts, refused = load_plan_for(settings.campaigns_dir)
    if refused:
        from herald.observability import logger

        for problem in refused:
            logger().error("campaign refused", extra={"problem": problem})
    x = XChannel(
        x_accounts,
        SecretsManagerCredentials(settings.credentials_secret),
        base_url=settings.x_api_base_url,
    )
    ledger = DynamoLedger(settings.ledger_table)
    return Engine(plan, ledger, {"x": x}, observer, refused=refused)


def engine(observer: Observer) -> Engine:
    """The container's engine, built on its first tick and reused by every warm one."""
    global _engine
    if _engine is None:
        _engine = build(Settings.from_env(), observer)
    return _engine


def reset() -> None:
    """Forget the container's engine (tests; a new cold start)."""
    global _engine
    _engine = None


def handle(now: datetime, remaining: Callable[[], float] | None, observer: Observer) -> Summary:
    """One tick at the event's time `now` (see scheduled_time)."""
    publisher = engine(observer)
    if not publisher.has_work(now):
        return publisher.tick(now, remaining)  # idle: no X-Ray SDK, no boto3, no network
    from herald.observability import tracer

    with tracer().provider.in_subsegment("## tick") as subsegment:
        subsegment.put_annotation("scheduled_time", now.isoformat())
        return publisher.tick(now, remaining)
