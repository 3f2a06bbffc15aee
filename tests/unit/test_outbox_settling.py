"""The outbox keeps X's reconciliation contract: `find_recent` never returns another
delivery's id, and a duplicate refusal is marked as one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from herald.channels import OutcomeKind
from herald.channels.outbox import OutboxChannel

NOW = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)


def test_find_recent_never_returns_an_id_recorded_for_another_delivery(tmp_path: Path) -> None:
    # Given a text in the outbox, whose id another delivery recorded
    outbox = OutboxChannel(tmp_path / "outbox", clock=lambda: NOW)
    other = outbox.publish("hertspolice", "Station open 8am to 8pm", None, [])
    assert other.remote_id is not None
    # When reconciliation looks for the same text, with and without excluding that id
    since = NOW - timedelta(minutes=1)
    excluded = outbox.find_recent(
        "hertspolice", "Station open 8am to 8pm", since, exclude_ids=frozenset({other.remote_id})
    )
    plain = outbox.find_recent("hertspolice", "Station open 8am to 8pm", since)
    # Then the excluded id is never returned, though the text is there
    assert excluded is None
    assert plain is not None and plain.remote_id == other.remote_id


def test_a_duplicate_refusal_is_marked_as_one(tmp_path: Path) -> None:
    # Given a text already in the outbox for the account
    outbox = OutboxChannel(tmp_path / "outbox", clock=lambda: NOW)
    outbox.publish("hertspolice", "Said once", None, [])
    # When it is published again
    refused = outbox.publish("hertspolice", "Said once", None, [])
    # Then it is refused as X refuses it: UNKNOWN, marked as a duplicate refusal
    assert refused.kind is OutcomeKind.UNKNOWN
    assert refused.duplicate
