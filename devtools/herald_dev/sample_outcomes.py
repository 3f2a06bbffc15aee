"""A sample ledger holding every kind of outcome: the Safer Internet Day campaign's first two
days run by the real engine through the fake X API, with faults and a pause. The status
page's browser tests and the README's screenshot (scripts/screenshots.py) show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from herald.ledger import Ledger, Record
    from herald.plan import LoadedPlan
    from herald_dev.fake_x import FakeX

# The afternoon of the day: some posts out, some not, and publishing paused.
STATUS_NOW = datetime(2021, 2, 9, 16, 0, tzinfo=UTC)
PAUSED_AT = datetime(2021, 2, 9, 11, 50, tzinfo=UTC)
PAUSE_REASON = "Major incident in Hertfordshire: scheduled posts stopped by the duty comms officer"


@dataclass(frozen=True)
class SampleRun:
    """What a simulated day with faults left in the ledger, read back from it."""

    now: datetime
    sent_url: str
    failed_reason: str
    unknown_reason: str
    late_reason: str
    paused_reason: str


def record_sample_outcomes(
    ledger: Ledger, plan: LoadedPlan, fake: FakeX, outbox: Path | None = None
) -> SampleRun:
    """Run the real engine through the fake X API over the campaign's first two days, with
    faults: X refuses the launch post (403), answers the 10:00 thread's first post with a
    500, and its two resends too (UNKNOWN: not on the account, it stays UNKNOWN once the
    resends are spent, and its replies go late), then a
    person pauses everything at 11:50 (the noon thread is held, then SKIPPED (paused)), and
    the publisher stops at 14:00 (the 15:00 post is MISSED at 16:00). The campaign's other
    channels (Mastodon, the Facebook Page) publish into the outbox folder `outbox` (a
    temporary one if not given), without faults."""
    import tempfile

    from herald.channels.outbox import OutboxChannel
    from herald.channels.rules import RULES
    from herald.engine import Engine
    from herald.ledger import ALL_CAMPAIGNS
    from herald.simulate import minutes
    from herald_dev.fake_x import TWEETS, FaultKind
    from herald_dev.x_accounts import x_channel_for

    folder = outbox or Path(tempfile.mkdtemp(prefix="herald-sample-outbox-"))
    channels: dict[str, Any] = {
        name: OutboxChannel(folder, channel=name) for name in RULES if name != "x"
    }
    engine = Engine(plan, ledger, {"x": x_channel_for(fake), **channels})

    def run(start: datetime, end: datetime) -> None:
        for minute in minutes(start, end):
            engine.tick(minute)

    day = datetime(2021, 2, 9, tzinfo=UTC)
    run(day - timedelta(days=1), day + timedelta(hours=7, minutes=59))
    fake.fail_next(TWEETS, FaultKind.FORBIDDEN)
    run(day + timedelta(hours=8), day + timedelta(hours=9, minutes=59))
    fake.fail_next(TWEETS, FaultKind.SERVER_ERROR, times=3)
    run(day + timedelta(hours=10), PAUSED_AT - timedelta(minutes=1))
    ledger.pause(ALL_CAMPAIGNS, PAUSE_REASON, PAUSED_AT)
    run(PAUSED_AT, day + timedelta(hours=14))

    def record(post: str) -> Record:
        key = next(d.key for d in plan.deliveries if d.key.post == post and d.key.channel == "x")
        return ledger.get_many([key])[key]

    return SampleRun(
        now=STATUS_NOW,
        sent_url=record("lead-up").remote_url or "",
        failed_reason=record("launch").reason or "",
        unknown_reason=record("cost-advice").reason or "",
        late_reason=record("cost-advice.2").reason or "",
        paused_reason=record("how-to-report").reason or "",
    )
