"""The incident switch cannot be got wrong: a typo is refused with the nearest name, a bare
`herald resume` lists what is paused and how to lift it, pause and resume say how many
upcoming deliveries they hold or free, and the status banner shows only pauses that apply."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from herald import cli
from herald.ledger.sqlite import SqliteLedger
from herald.plan import load_plan_strict
from herald.status import collect, status_text

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGNS = ROOT / "campaigns"
SID = "safer-internet-day-2021"


@pytest.fixture
def herald(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Run `herald ARGS... --ledger <tmp> --campaigns campaigns/`; return (code, out, err)."""
    ledger = tmp_path / "ledger.sqlite3"

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main([*argv, "--ledger", str(ledger), "--campaigns", str(CAMPAIGNS)])
        out, err = capsys.readouterr()
        return code, out, err

    run.ledger = ledger  # type: ignore[attr-defined]
    return run


def test_pausing_a_campaign_that_does_not_exist_is_an_error(herald) -> None:
    # Given the Safer Internet Day campaign / When a pause names it with a typo
    code, _, err = herald("pause", "--campaign", "safer-internet-day-202", "--reason", "x")
    # Then nothing is paused, and the nearest name is suggested
    assert code == 1
    assert err.strip() == (
        "<command line>:1: --campaign: no campaign is called 'safer-internet-day-202'"
        " (did you mean 'safer-internet-day-2021'?); nothing was paused"
    )
    with SqliteLedger(herald.ledger) as ledger:
        assert ledger.pauses() == []


def test_pause_says_what_it_holds_and_how_to_lift_it(herald) -> None:
    # Given the campaign's morning, before its 08:00 launch
    # When its campaign is paused
    code, out, _ = herald(
        "pause", "--campaign", SID, "--reason", "major incident", "--now", "2021-02-09T07:00Z"
    )
    # Then it says what changed, what it holds, when the next is due, and how to lift it
    assert code == 0
    assert out.splitlines() == [
        f"Paused campaign {SID} since 2021-02-09 07:00:00Z: major incident",
        "This holds 30 upcoming deliveries; the next is safer-internet-day-2021/launch, due"
        " 2021-02-09 08:00 GMT (08:00Z).",
        f"Lift it with: herald resume --campaign {SID} --ledger {herald.ledger}",
    ]


def test_resume_without_arguments_lists_pauses_and_changes_nothing(herald) -> None:
    # Given everything paused and one campaign paused
    herald("pause", "--reason", "incident", "--now", "2021-02-09T07:00Z")
    herald("pause", "--campaign", SID, "--reason", "review", "--now", "2021-02-09T07:05Z")
    # When `herald resume` runs with no arguments
    code, out, _ = herald("resume")
    # Then each pause is listed with the exact command that lifts it, and both remain
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "2 pause(s) in force; nothing was changed. To lift one, run:"
    assert lines[1].strip().startswith(f"herald resume --all --ledger {herald.ledger}")
    assert "all campaigns, since 2021-02-09 07:00:00Z: incident" in lines[1]
    assert lines[2].strip().startswith(f"herald resume --campaign {SID} --ledger {herald.ledger}")
    with SqliteLedger(herald.ledger) as ledger:
        assert len(ledger.pauses()) == 2


def test_resume_says_what_it_frees(herald) -> None:
    # Given the campaign paused before its launch
    herald("pause", "--campaign", SID, "--now", "2021-02-09T07:00Z")
    # When it is resumed at 09:30, after the launch's window closed
    code, out, _ = herald("resume", "--campaign", SID, "--now", "2021-02-09T09:30Z")
    # Then it says how many deliveries it frees and when the next is due
    assert code == 0
    assert out.splitlines() == [
        f"Resumed campaign {SID}.",
        "This frees 27 upcoming deliveries; the next is safer-internet-day-2021/cost-advice,"
        " due 2021-02-09 10:00 GMT (10:00Z).",
    ]
    # And a second resume has nothing left to lift
    assert herald("resume")[1] == "Nothing is paused: publishing is running.\n"


def test_resume_of_a_campaign_under_the_pause_on_everything_says_so(herald) -> None:
    herald("pause", "--reason", "incident")
    code, _, err = herald("resume", "--campaign", SID)
    assert code == 1
    assert f"campaign {SID} was not paused; nothing was changed." in err
    assert "still paused: all campaigns (incident); lift it with: herald resume --all" in err


def test_banner_shows_only_pauses_that_apply(tmp_path: Path) -> None:
    # Given a pause on a campaign that no file has (made before names were checked)
    plan = load_plan_strict([CAMPAIGNS])
    now = datetime(2021, 2, 9, 7, 0, tzinfo=UTC)
    with SqliteLedger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.pause("safer-internet-day-202", "typo", now)
        report = collect(plan, ledger, now)
    # When the status is shown
    text = status_text(report)
    # Then publishing is shown running, with a note on the stray pause and how to lift it
    assert "PAUSED" not in text
    assert "Publishing is running (no pause)." in text
    assert (
        "Note: a pause on 'safer-internet-day-202' stops no campaign shown here (typo);"
        " lift it with `herald resume --campaign safer-internet-day-202`." in text
    )
    from herald.pages.status import status_html

    page = status_html(report)
    assert "Publishing is running: nothing is paused." in page
    assert "banner tone-paused" not in page
