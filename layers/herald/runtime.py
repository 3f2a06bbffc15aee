"""Wiring for the Lambda function: settings, the compiled plan, the ledger and channels,
built once per container and reused by every warm tick."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from herald.channels.lazy import LazyChannels
from herald.config import Settings
from herald.delivery import Plan
from herald.engine import Engine, Observer, Summary
from herald.timeutil import format_utc, parse_utc

if TYPE_CHECKING:
    from herald.channels import Channel
    from herald.credentials import CredentialsProvider


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
_settings: Settings | None = None


def event_refusal(now: datetime, wall: datetime, tolerance: timedelta | None) -> str | None:
    """Why a tick for `now` must not run at wall-clock time `wall`, or None. A tick trusts
    its event's time, so an event far from the clock would publish early (or late)."""
    if tolerance is None or abs(now - wall) <= tolerance:
        return None
    return (
        f"the event's time {format_utc(now)} is {_span(now - wall)} the clock "
        f"({format_utc(wall)}); more than {tolerance.total_seconds():.0f} s: nothing published"
    )


def _span(delta: timedelta) -> str:
    minutes = abs(delta.total_seconds()) / 60
    if minutes >= 2 * 24 * 60:
        size = f"{minutes / (24 * 60):.0f} days"
    elif minutes >= 120:
        size = f"{minutes / 60:.0f} h"
    else:
        size = f"{minutes:.0f} min"
    return f"{size} {'ahead of' if delta > timedelta(0) else 'behind'}"


def load_plan_for(folder: Path) -> tuple[Plan, dict[str, dict[str, dict[str, Any]]], list[str]]:
    """The plan for the campaigns in `folder`, its accounts by channel, and the problems of
    refused campaigns. The compiled index (`herald compile`, run by `sam build`) when it
    matches the files; otherwise every campaign is loaded and checked, which costs a slower
    cold start. In Lambda the packaged, read-only files were compiled with their index: not
    checked again."""
    from herald.compiled_plan import StaleIndex, load_compiled, packaged_read_only

    try:
        compiled = load_compiled(folder, check_files=not packaged_read_only(folder))
    except StaleIndex as reason:
        from herald.compiled_plan import accounts
        from herald.observability import logger
        from herald.plan import load_plan

        logger().warning("no usable compiled plan; loading campaigns", extra={"why": str(reason)})
        plan, problems = load_plan([folder])
        refused = [str(p) for p in problems if p.is_error]
        return plan, accounts(plan), refused
    return compiled, compiled.accounts, compiled.refused


# A channel's adapter, made from the plan's accounts on that channel, the credentials and
# the settings. Each factory imports its adapter itself: only when a delivery needs it.
ChannelFactory = Callable[
    [Mapping[str, Mapping[str, Any]], "CredentialsProvider", Settings], "Channel"
]


def _x(
    accounts: Mapping[str, Mapping[str, Any]], credentials: CredentialsProvider, settings: Settings
) -> Channel:
    from herald.channels.x import XChannel

    return XChannel(accounts, credentials, base_url=settings.x_api_base_url)


def _bluesky(
    accounts: Mapping[str, Mapping[str, Any]], credentials: CredentialsProvider, settings: Settings
) -> Channel:
    from herald.channels.bluesky import BlueskyChannel

    return BlueskyChannel(accounts, credentials, service_url=settings.bluesky_service_url)


def _mastodon(
    accounts: Mapping[str, Mapping[str, Any]], credentials: CredentialsProvider, settings: Settings
) -> Channel:
    from herald.channels.mastodon import MastodonChannel

    return MastodonChannel(accounts, credentials, base_url=settings.mastodon_base_url)


def _facebook(
    accounts: Mapping[str, Mapping[str, Any]], credentials: CredentialsProvider, settings: Settings
) -> Channel:
    from herald.channels.facebook import FacebookChannel

    return FacebookChannel(accounts, credentials, graph_url=settings.facebook_graph_url)


CHANNEL_FACTORIES: dict[str, ChannelFactory] = {
    "x": _x,
    "bluesky": _bluesky,
    "mastodon": _mastodon,
    "facebook": _facebook,
}


def channels_for(
    accounts: Mapping[str, Mapping[str, Mapping[str, Any]]],
    credentials: CredentialsProvider,
    settings: Settings,
) -> LazyChannels:
    """Every channel herald publishes to, each built on its first use."""
    return LazyChannels(
        {
            name: partial(factory, accounts.get(name, {}), credentials, settings)
            for name, factory in CHANNEL_FACTORIES.items()
        }
    )


def build(settings: Settings, observer: Observer) -> Engine:
    """The engine for these settings: campaigns from CAMPAIGNS_DIR, the DynamoDB ledger,
    each channel with credentials from Secrets Manager, built when first needed. Broken
    campaigns are logged and left out."""
    from herald.credentials import SecretsManagerCredentials
    from herald.ledger.dynamodb import DynamoLedger

    plan, plan_accounts, refused = load_plan_for(settings.campaigns_dir)
    if refused:
        from herald.observability import logger

        for problem in refused:
            logger().error("campaign refused", extra={"problem": problem})
    credentials = SecretsManagerCredentials(settings.credentials_secret)
    ledger = DynamoLedger(settings.ledger_table)
    channels = channels_for(plan_accounts, credentials, settings)
    return Engine(plan, ledger, channels, observer, refused=refused)


def settings() -> Settings:
    """The container's settings, read once."""
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def engine(observer: Observer) -> Engine:
    """The container's engine, built on its first tick and reused by every warm one."""
    global _engine
    if _engine is None:
        _engine = build(settings(), observer)
    return _engine


def reset() -> None:
    """Forget the container's settings and engine (tests; a new cold start)."""
    global _engine, _settings
    _engine, _settings = None, None


def handle(
    now: datetime,
    remaining: Callable[[], float] | None,
    observer: Observer,
    wall: datetime | None = None,
) -> Summary:
    """One tick at the event's time `now` (see scheduled_time); `wall` is the clock."""
    refusal = event_refusal(now, wall or datetime.now(UTC), settings().event_tolerance)
    if refusal is not None:
        from herald.observability import refuse_event

        refuse_event(refusal)
        return Summary(now, refused=refusal)
    publisher = engine(observer)
    if not publisher.has_work(now):
        return publisher.tick(now, remaining)  # idle: no X-Ray SDK, no boto3, no network
    from herald.observability import ledger_unavailable, tracer

    with tracer().provider.in_subsegment("## tick") as subsegment:
        subsegment.put_annotation("scheduled_time", now.isoformat())
        summary = publisher.tick(now, remaining)
    if summary.ledger_unavailable:
        ledger_unavailable()
    return summary
