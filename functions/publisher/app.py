"""The publisher Lambda: one tick per EventBridge Scheduler invocation.

Thin on purpose: Powertools decorators, the event's scheduled time, one call into the
engine (herald.runtime), a summary back. Tracing (Powertools Tracer, which loads the X-Ray
SDK and patches boto3 and requests) starts inside herald.runtime on the first tick that has
work, so an idle cold start never pays for it.
"""

from __future__ import annotations

from typing import Any

from herald import runtime
from herald.observability import PowertoolsObserver, logger, metrics

log = logger()
metric = metrics()
observer = PowertoolsObserver()


@log.inject_lambda_context(log_event=False)
@metric.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = runtime.scheduled_time(event)
    log.set_correlation_id(runtime.correlation_id(event, now))
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    summary = runtime.handle(now, (lambda: remaining() / 1000) if remaining else None, observer)
    result = summary.as_dict()
    log.info("tick", extra={"summary": result})
    return result
