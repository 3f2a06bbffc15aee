"""The one place that creates Powertools' Logger, Metrics and Tracer.

Created lazily: importing this module builds nothing from the environment, so tests can
import anything in any order. The handler takes `logger()` and `metrics()` for its
decorators; `herald.runtime` takes `tracer()` on the first tick that has work, and reports
refused events and ticks the ledger could not serve through `refuse_event` and
`ledger_unavailable`.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING

from herald.engine import Event, Result

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "herald"
NAMESPACE = "herald"

# Outcome events that are metrics (the alarms watch Failed, Unknown, Missed, SkippedLate).
METRIC_EVENTS = frozenset(
    {
        Event.PUBLISHED,
        Event.FAILED,
        Event.UNKNOWN,
        Event.SKIPPED_LATE,
        Event.SKIPPED_PAUSED,
        Event.MISSED,
        Event.RECONCILED,
        Event.RATE_LIMITED,
    }
)


# The AWS SDK and the HTTP stack log whole requests and answers at DEBUG: botocore logs the
# GetSecretValue answer, secret included. Whatever level the root logger is given (Lambda's
# application log level, a developer's basicConfig), they log from WARNING up only.
SDK_LOGGERS = ("botocore", "boto3", "urllib3")


def quiet_sdk_loggers() -> None:
    """Pin the SDK's and the HTTP stack's loggers to WARNING. Called where logging is set
    up (`logger()`, at the handler's import) and before the secret is ever read."""
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@cache
def logger() -> Logger:
    from aws_lambda_powertools import Logger

    quiet_sdk_loggers()
    return Logger(service=SERVICE)


@cache
def metrics() -> Metrics:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=NAMESPACE, service=SERVICE)


@cache
def tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


class PowertoolsObserver:
    """One structured log line per outcome; counts and lateness as metrics."""

    def outcome(self, result: Result) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        key = result.key
        fields = {
            "event": result.event.value,
            "campaign": key.campaign,
            "post": key.post,
            "channel": key.channel,
            "account": key.account,
            "due": result.due.isoformat(),
            "lateness_seconds": result.lateness,
            "detail": result.detail,
            "url": result.url,
        }
        level = "info"
        if result.event in (Event.FAILED, Event.UNKNOWN, Event.MISSED):
            level = "error"
        elif result.event in (Event.SKIPPED_LATE, Event.RATE_LIMITED):
            level = "warning"
        getattr(logger(), level)(f"{result.event.value} {key}", extra=fields)
        if result.event in METRIC_EVENTS:
            metrics().add_metric(name=result.event.value, unit=MetricUnit.Count, value=1)
        if result.event is Event.PUBLISHED:
            metrics().add_metric(
                name="LatenessSeconds", unit=MetricUnit.Seconds, value=max(result.lateness, 0)
            )


def refuse_event(why: str) -> None:
    """A tick refused for its event's time: an error line, and the RefusedEvents metric
    (its alarm fires: someone invoked the function with a wrong time)."""
    from aws_lambda_powertools.metrics import MetricUnit

    logger().error("event refused", extra={"why": why})
    metrics().add_metric(name="RefusedEvents", unit=MetricUnit.Count, value=1)


def ledger_unavailable() -> None:
    """A tick that could not read the ledger (throttled, unreachable) and did nothing: the
    next tick tries again; the LedgerUnavailable metric counts such ticks."""
    from aws_lambda_powertools.metrics import MetricUnit

    logger().warning("ledger unavailable: tick deferred")
    metrics().add_metric(name="LedgerUnavailable", unit=MetricUnit.Count, value=1)
