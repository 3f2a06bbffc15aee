"""How `herald status` reads a delivery, with and without the pause switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from herald.ledger import ALL_CAMPAIGNS
from herald.ledger.sqlite import SqliteLedger
from herald.plan import LoadedPlan
from herald.status import View, collect

CAMPAIGN = """\
campaign: demo
title: Demo
timezone: UTC
accounts:
  x:
    main: {handle: Main}
posts:
  - id: morning
    at: 2021-02-09 08:00
    text: "Morning"
  - id: evening
    at: 2021-02-09 18:00
    text: "Evening"
"""
T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)


@pytest.fixture
def campaign_text() -> str:
    return CAMPAIGN  # the shared `plan` fixture loads it


def views(plan: LoadedPlan, ledger: SqliteLedger, now: datetime) -> dict[str, tuple[View, str]]:
    return {r.delivery.key.post: (r.view, r.detail) for r in collect(plan, ledger, now).rows}


def test_without_a_pause_due_then_missed(plan: LoadedPlan, ledger: SqliteLedger) -> None:
    # Given no record for the morning post
    # When read inside its window, then after it
    # Then it is DUE, then MISSED; the evening post is SCHEDULED
    assert views(plan, ledger, T0 + timedelta(minutes=5))["morning"][0] is View.DUE
    later = views(plan, ledger, T0 + timedelta(hours=1))
    assert later["morning"] == (View.MISSED, "past its deadline with no record")
    assert later["evening"][0] is View.SCHEDULED


def test_a_paused_post_reads_as_held_not_as_about_to_go_out(
    plan: LoadedPlan, ledger: SqliteLedger
) -> None:
    # Given everything is paused
    ledger.pause(ALL_CAMPAIGNS, "major incident", T0 - timedelta(minutes=1))
    # When read inside its window
    view, detail = views(plan, ledger, T0 + timedelta(minutes=5))["morning"]
    # Then it is held, says until when it can still go out, and is not promised to go out
    assert view is View.DUE
    assert "held by the pause (major incident)" in detail
    assert "08:15Z" in detail
    # When read after its window with still no record, the publisher did not run: MISSED
    assert views(plan, ledger, T0 + timedelta(hours=1))["morning"][0] is View.MISSED
