"""`herald status` in a terminal: the pause state first, one line per delivery, the counts,
what to check, and colour only when asked."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from herald.ledger.sqlite import SqliteLedger
from herald.plan import load_plan_strict
from herald.status import collect, status_text
from tests.unit.page_sample import CAMPAIGN, sample_status, write_campaign


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    return write_campaign(tmp_path)


def test_status_text_says_publishing_is_running_when_nothing_is_paused(campaign: Path) -> None:
    # Given a ledger with no pause
    report = sample_status(campaign, paused=False)

    # When the terminal status is made
    text = status_text(report)

    # Then it starts by saying so, and has no colour codes
    assert text.startswith("Publishing is running")
    assert "\x1b[" not in text


def test_status_text_has_one_line_per_delivery_and_a_summary(campaign: Path) -> None:
    # Given a paused ledger with one post sent, one unknown (so its reply was never sent)
    # and one not yet due
    report = sample_status(campaign, paused=True)

    # When the terminal status is made
    lines = status_text(report).splitlines()

    # Then the pause comes first, each delivery has one line, and the counts close it
    assert lines[0].startswith("PAUSED: publishing is paused for all campaigns since")
    assert lines[0].endswith("incident & <review>")
    rows = [line for line in lines if re.match(r"^    \d\d:\d\d ", line)]
    assert len(rows) == len(report.rows) == 4
    assert "SENT" in rows[0] and "https://x.com/TestPolice/status/1" in rows[0]
    assert "UNKNOWN" in rows[1] and "hello 1/2" in rows[1] and "timed out" in rows[1]
    assert "MISSED" in rows[2] and "hello.2 2/2" in rows[2]
    assert "4 deliveries: 1 unknown, 1 missed, 1 sent, 1 scheduled" in lines
    advice = [line for line in lines if line.startswith("  UNKNOWN page-test/hello:")]
    assert advice and "check the account on X" in advice[0]


def test_status_text_colours_only_when_asked(campaign: Path) -> None:
    # Given a report, When the status is made for a terminal that takes colour
    text = status_text(sample_status(campaign, paused=True), colour=True)

    # Then the states are coloured
    assert "\x1b[1;33mUNKNOWN" in text


def test_status_text_names_the_campaign_a_pause_stops(campaign: Path) -> None:
    # Given publishing paused for the one campaign only
    report = sample_status(campaign, paused=True, scope="page-test")

    # When the terminal status is made
    first = status_text(report).splitlines()[0]

    # Then the pause names the campaign by its title and id, and says why
    assert first.startswith("PAUSED: publishing is paused for Tests <b>&</b> Co (page-test) since")
    assert first.endswith(": incident & <review>")


def test_status_text_shows_times_in_the_campaigns_zone_when_they_share_one(
    campaign: Path, tmp_path: Path
) -> None:
    # Given a London campaign, and beside it one in Tokyo
    tokyo = tmp_path / "tokyo"
    tokyo.mkdir()
    other = write_campaign(
        tokyo,
        CAMPAIGN.replace("campaign: page-test", "campaign: tokyo").replace(
            "Europe/London", "Asia/Tokyo"
        ),
    )
    now = datetime(2030, 3, 2, 10, 0, tzinfo=UTC)

    def as_of(*campaigns: Path) -> str:
        report = collect(load_plan_strict(list(campaigns)), SqliteLedger(":memory:"), now)
        return next(line for line in status_text(report).splitlines() if line.startswith("As"))

    # When the status is made for London alone, then for both
    # Then London's is in London time, and the two together in UTC
    assert as_of(campaign) == "As of 2030-03-02 10:00 GMT."
    assert as_of(campaign, other) == "As of 2030-03-02 10:00 UTC."
