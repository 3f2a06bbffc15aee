"""Renamed posts: the ledger knows a delivery by its post id, so a post renamed after it
was SENT (say, to mend a typo in the id) has no record under its new id and would be
published again. Before that can happen, `herald validate --ledger` and the build's
`herald compile --ledger` warn where a delivery has no record but a SENT record the plan no
longer names has the same campaign, channel, account and due time.
"""

from __future__ import annotations

from collections.abc import Iterable

from herald.delivery import DeliveryKey
from herald.ledger import Ledger, Record, State
from herald.plan import LoadedPlan
from herald.problems import Problem, Severity


def renamed_posts(plan: LoadedPlan, ledger: Ledger) -> list[Problem]:
    """A warning at each post of `plan` that looks like a SENT post renamed."""
    planned = {d.key for d in plan.deliveries}
    problems: list[Problem] = []
    for campaign in plan.campaigns.values():
        records = ledger.records(campaign.id)
        recorded = {r.key for r in records}
        orphans = _sent_orphans(records, planned)
        if not orphans:
            continue
        for delivery in plan.deliveries:
            if delivery.key.campaign != campaign.id or delivery.key in recorded:
                continue
            if delivery.part.number != 1:
                continue  # a thread is reported once, at its post
            twin = orphans.get((delivery.key.channel, delivery.key.account, delivery.at))
            if twin is not None:
                problems.append(
                    _warning(str(campaign.path), delivery.post.line, delivery.key, twin)
                )
    return problems


def _sent_orphans(
    records: Iterable[Record], planned: set[DeliveryKey]
) -> dict[tuple[str, str, object], Record]:
    """SENT records of first parts that no delivery of the plan names, by channel, account
    and due time."""
    found: dict[tuple[str, str, object], Record] = {}
    for record in records:
        if record.key in planned or record.state is not State.SENT or record.due_at is None:
            continue
        if "." in record.key.post:
            continue  # a reply of a thread: its post's own record speaks for it
        found[(record.key.channel, record.key.account, record.due_at)] = record
    return found


def _warning(file: str, line: int, key: DeliveryKey, twin: Record) -> Problem:
    when = twin.due_at.strftime("%Y-%m-%d %H:%MZ") if twin.due_at else "the same time"
    return Problem(
        file,
        line,
        f"post '{key.post}' has no record on {key.channel}:{key.account}, but post "
        f"'{twin.key.post}' was SENT there at {when} ({twin.remote_url or twin.remote_id}) "
        f"and is no longer in the campaign: if '{key.post}' is '{twin.key.post}' renamed, it "
        f"would be published again; keep the old id",
        Severity.WARNING,
    )
