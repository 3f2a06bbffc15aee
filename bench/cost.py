"""Cost: what a month of herald costs on AWS (eu-west-2) and on X's API, from the request
counts and durations the other benchmarks measured. Prices live in PRICES, dated."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench.common import CAMPAIGNS, REPO_ROOT, Section
from herald.plan import load_plan_strict
from herald.pricing import X_API, x_cost

MINUTES_PER_MONTH = 43_200  # 30 days of one tick a minute
COLD_STARTS_PER_MONTH = 720  # assumption: a new container about once an hour
LOG_BYTES_PER_INVOCATION = 350  # Lambda's START/END/REPORT platform lines (estimate)
LOG_BYTES_PER_OUTCOME = 700  # one JSON log line per outcome (estimate)
METRICS = 9  # the engine's outcome metrics (8) + LatenessSeconds, one dimension set

# Unit prices in US dollars, looked up 2026-11-29 for eu-west-2 (London), on-demand, no free
# tier applied. Sources: aws.amazon.com/{lambda,dynamodb,secrets-manager,cloudwatch,
# eventbridge}/pricing. See `PRICE_NOTE`.
PRICES: dict[str, Any] = {
    "as_of": "2026-11-29",
    "region": "eu-west-2",
    "lambda_requests_per_million": Decimal("0.20"),
    "lambda_arm_gb_second": Decimal("0.0000133334"),
    "scheduler_invocations_per_million": Decimal("1.00"),  # after 14 M free a month
    "dynamodb_write_units_per_million": Decimal("0.7425"),
    "dynamodb_read_units_per_million": Decimal("0.1485"),
    "secrets_per_secret_month": Decimal("0.40"),
    "secrets_api_calls_per_10k": Decimal("0.05"),
    "logs_ingest_per_gb": Decimal("0.5985"),
    "custom_metric_per_month": Decimal("0.30"),
}
PRICE_NOTE = (
    "Prices dated 2026-11-29 (eu-west-2, on-demand, before free tiers). Sources: the AWS "
    "pricing pages for Lambda (aws.amazon.com/lambda/pricing: $0.20 per million requests, "
    "Arm $0.0000133334 per GB-second, the same in London as in us-east-1), DynamoDB on-demand, "
    "Secrets Manager, CloudWatch and EventBridge Scheduler. The search done on 2026-11-29 "
    "confirmed the Lambda figures and DynamoDB's structure (us-east-1: $0.625 per million "
    "write and $0.125 per million read request units); the London DynamoDB and CloudWatch "
    "Logs figures above are AWS's London list prices as last published (≈ 1.19× us-east-1) and "
    "were not re-confirmed from the page itself: check them in the AWS Pricing Calculator "
    "before budgeting. X API: herald.pricing (" + X_API.source + ")."
)


BUSY_NOT_MEASURED = (
    "--quick: the busy tick ran on an in-memory X transport, so its time per delivery was not "
    "measured; the Lambda duration line leaves busy time out (run without --quick for it)."
)


@dataclass
class Workload:
    label: str
    deliveries_per_month: float
    with_url_fraction: float


def memory_mb() -> int:
    text = (REPO_ROOT / "template.yaml").read_text(encoding="utf-8")
    found = re.search(r"MemorySize:\s*(\d+)", text)
    return int(found.group(1)) if found else 512


def sid_url_fraction() -> float:
    plan = load_plan_strict([CAMPAIGNS])
    texts = [d.render() for d in plan.deliveries]
    return sum(1 for t in texts if "http" in t) / max(len(texts), 1)


def monthly(workload: Workload, measured: dict[str, float]) -> dict[str, Decimal]:
    """Dollars a month for one workload, by line item."""
    gb = Decimal(memory_mb()) / 1024
    deliveries = workload.deliveries_per_month
    idle_ms = max(1, math.ceil(measured["idle_handler_seconds"] * 1000))
    # Left out when not measured (--quick): the duration line then has no busy time.
    busy_s = deliveries * measured.get("busy_seconds_per_delivery", 0.0)
    cold_s = COLD_STARTS_PER_MONTH * measured["cold_start_seconds"]
    gb_seconds = gb * Decimal(MINUTES_PER_MONTH * idle_ms / 1000 + busy_s + cold_s)
    # Reads: each due delivery is read once (BatchGetItem, 1 RRU per item up to 4 KB), plus
    # the pause Query on every tick that has something due (at most one per delivery).
    reads = deliveries * (1 + measured["busy_reads_per_delivery"])
    writes = deliveries * measured["busy_writes_per_delivery"]
    publishing_ticks = min(deliveries, MINUTES_PER_MONTH)
    secret_calls = min(publishing_ticks, MINUTES_PER_MONTH / 5)  # cached 300 s
    log_gb = (
        MINUTES_PER_MONTH * (measured["log_bytes_per_idle_tick"] + LOG_BYTES_PER_INVOCATION)
        + deliveries * LOG_BYTES_PER_OUTCOME
    ) / 1e9
    x = x_cost(
        [True] * round(deliveries * workload.with_url_fraction)
        + [False] * round(deliveries * (1 - workload.with_url_fraction))
    )
    p = PRICES
    return {
        "Lambda requests": p["lambda_requests_per_million"] * MINUTES_PER_MONTH / 10**6,
        "Lambda duration": p["lambda_arm_gb_second"] * gb_seconds,
        "Scheduler": p["scheduler_invocations_per_million"] * MINUTES_PER_MONTH / 10**6,
        "DynamoDB writes": p["dynamodb_write_units_per_million"] * Decimal(writes) / 10**6,
        "DynamoDB reads": p["dynamodb_read_units_per_million"] * Decimal(reads) / 10**6,
        "Secrets Manager": p["secrets_per_secret_month"]
        + p["secrets_api_calls_per_10k"] * Decimal(secret_calls) / 10**4,
        "CloudWatch Logs ingest": p["logs_ingest_per_gb"] * Decimal(log_gb),
        "CloudWatch custom metrics": p["custom_metric_per_month"] * METRICS,
        "X API": x.total,
    }


def run(measured: dict[str, float], quick: bool = False) -> Section:
    section = Section(
        "cost",
        "Cost",
        "Monthly cost from the measured counts and durations: Lambda (43,200 invocations a "
        "month at one a minute; GB-seconds = template.yaml's MemorySize × the measured warm "
        "idle handler time, rounded up to 1 ms, + busy time per delivery + "
        f"{COLD_STARTS_PER_MONTH} cold starts × the measured cold start), EventBridge "
        "Scheduler, DynamoDB on-demand "
        "units from the measured writes/reads per delivery, Secrets Manager (one secret, "
        "calls cached 5 minutes), CloudWatch Logs from the measured log bytes per idle tick, "
        f"{METRICS} custom metrics, and X's API through herald.pricing. Durations were "
        "measured on this x86 machine, not on Graviton; the duration line is small either way.",
    )
    sid_posts_per_month = 26 * 13 / 12
    workloads = [
        Workload(
            "a year like Safer Internet Day (26 × 13 posts)",
            sid_posts_per_month,
            sid_url_fraction(),
        ),
        Workload("scale benchmark (1,000 × 100 posts a year)", 1000 * 100 / 12, 0.0),
    ]
    columns = [monthly(w, measured) for w in workloads]
    lines = [
        "| $ per month | " + " | ".join(w.label for w in workloads) + " |",
        "| --- | " + " | ".join("---:" for _ in workloads) + " |",
    ]
    for item in columns[0]:
        lines.append(f"| {item} | " + " | ".join(f"{c[item]:.4f}" for c in columns) + " |")
    aws = [sum((v for k, v in c.items() if k != "X API"), Decimal(0)) for c in columns]
    lines.append("| **AWS total** | " + " | ".join(f"**{a:.2f}**" for a in aws) + " |")
    lines.append(
        "| **with X API** | "
        + " | ".join(f"**{a + c['X API']:.2f}**" for a, c in zip(aws, columns, strict=True))
        + " |"
    )
    section.tables.append("\n".join(lines))
    section.tables.append(
        "Prices used (US$):\n\n" + "\n".join(f"- `{k}`: {v}" for k, v in PRICES.items())
    )
    section.notes.append(PRICE_NOTE)
    if "busy_seconds_per_delivery" not in measured:
        section.notes.append(BUSY_NOT_MEASURED)
    section.notes.append(
        "Inputs measured in this run: " + ", ".join(f"{k} = {v:.6g}" for k, v in measured.items())
    )
    section.data.update(workloads=[w.label for w in workloads], aws=aws, columns=columns)
    section.add("AWS per month, a year like Safer Internet Day", f"${aws[0]:.2f}")
    section.notes.append(
        "The fixed items dominate at this size: the secret ($0.40) and the custom metrics "
        f"({METRICS} × $0.30, billed only in months each is emitted). Everything that scales "
        "with posts is cents."
    )
    section.add("AWS per month, scale benchmark", f"${aws[1]:.2f}")
    return section
