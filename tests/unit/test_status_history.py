"""`herald status` and the status page show a delivery's attempts when they tell more than
"claimed, sent": a person can tell from the record alone why a post went out late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from herald.delivery import DeliveryKey
from herald.ledger.sqlite import SqliteLedger
from herald.pages.status import status_html
from herald.plan import LoadedPlan
from herald.status import Report, collect, status_text

CAMPAIGN = """\
campaign: demo
title: Demo
timezone: Europe/London
accounts:
  x:
    main: {handle: Main}
posts:
  - id: report
    at: 2021-02-09 09:00
    text: "If you suspect criminal activity against children online, please act."
  - id: thanks
    at: 2021-02-09 10:00
    text: "Thank you."
  - id: picture
    at: 2021-02-09 10:30
    text: "A picture."
"""
T0 = datetime(2021, 2, 9, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
LEASE = timedelta(minutes=3)


@pytest.fixture
def campaign_text() -> str:
    return CAMPAIGN  # the shared `plan` fixture loads it


@pytest.fixture
def report(plan: LoadedPlan, tmp_path: Path) -> Report:
    """'report' went out two minutes late after a 503; 'thanks' went out cleanly, claimed
    straight as ATTEMPTING (no images); 'picture' too, claimed while its image went up."""
    with SqliteLedger(tmp_path / "ledger.sqlite3") as ledger:
        late = DeliveryKey("demo", "report", "x", "main")
        text = plan.deliveries[0].render()
        ledger.claim(late, "w1", T0, T0 + LEASE, T0, attempt_text=text)
        ledger.mark_unknown(late, "w1", T0, "X answered 503 to the post")
        ledger.note_absent(late, T0 + MINUTE)
        ledger.note_absent(late, T0 + 2 * MINUTE)
        ledger.reclaim_unknown(late, "w2", T0 + 2 * MINUTE, T0 + LEASE, T0 + MINUTE, 2)
        ledger.mark_attempting(late, "w2", T0 + 2 * MINUTE, text)
        ledger.mark_sent(late, "w2", T0 + 2 * MINUTE, "1358", "https://x.com/Main/status/1358")
        clean = DeliveryKey("demo", "thanks", "x", "main")
        ten = T0 + timedelta(hours=1)
        ledger.claim(clean, "w3", ten, ten + LEASE, ten, attempt_text="Thank you.")
        ledger.mark_sent(clean, "w3", ten, "1359", "https://x.com/Main/status/1359")
        picture = DeliveryKey("demo", "picture", "x", "main")
        half = ten + timedelta(minutes=30)
        ledger.claim(picture, "w4", half, half + LEASE, half)
        ledger.mark_attempting(picture, "w4", half, "A picture.")
        ledger.mark_sent(picture, "w4", half, "1360", "https://x.com/Main/status/1360")
        return collect(plan, ledger, T0 + timedelta(hours=2))


def test_the_terminal_status_tells_why_a_post_went_out_late(report: Report) -> None:
    # Given a post sent on its second attempt after a 503, and one sent at once
    # When the status is printed
    text = status_text(report)
    # Then the late post's attempts follow its line, in order, with what was sent and found
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if " report " in f" {line} ")
    assert [line.strip() for line in lines[start + 1 : start + 8]] == [
        '09:00:00Z ATTEMPTING "If you suspect criminal activity against children online, p…"',
        "09:00:00Z UNKNOWN    X answered 503 to the post",
        "09:01:00Z READ_BACK  not found on the account",
        "09:02:00Z READ_BACK  not found on the account",
        "09:02:00Z CLAIMED    settled as absent: one more attempt",
        '09:02:00Z ATTEMPTING "If you suspect criminal activity against children online, p…"',
        "09:02:00Z SENT       post 1358",
    ]
    assert not lines[start + 8].startswith("          ")
    # And the clean ones, claimed straight or claimed and then attempted, show none
    for post in ("thanks", "picture"):
        at = next(i for i, line in enumerate(lines) if f" {post} " in f" {line} ")
        assert at == len(lines) - 1 or not lines[at + 1].startswith("          ")


def test_the_status_page_shows_the_attempts_of_the_late_post_only(report: Report) -> None:
    # When the page is made
    page = status_html(report)
    # Then one "what happened" list is on it, the late post's, with its seven steps
    assert page.count('<details class="attempts">') == 1
    assert "What happened (7 steps)" in page
    assert "<code>09:01:00Z READ_BACK  not found on the account</code>" in page
