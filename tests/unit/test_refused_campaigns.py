"""A campaign that cannot be loaded never goes silently unpublished: the build's compile
fails on it, and a function that loads one anyway counts its posts as MISSED, every hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from herald import runtime
from herald.cli import main
from herald.compiled_plan import INDEX_NAME
from herald.engine import Engine, Event
from herald.ledger.sqlite import SqliteLedger

GOOD = """\
campaign: good
title: Good
timezone: Europe/London
accounts:
  x:
    main: {handle: Main}
posts:
  - id: morning
    at: 2021-02-09 08:00
    text: "Good morning"
"""

# A media file that is not there: it validates nowhere, and is never in the artifact.
BROKEN = """\
campaign: broken
title: Broken
timezone: Europe/London
accounts:
  x:
    main: {handle: Main}
posts:
  - id: appeal
    at: 2021-02-09 09:00
    text: "An appeal"
    media: [{file: media/missing.png, alt: "A photo"}]
"""

T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    return tmp_path


def test_compile_fails_on_a_refused_campaign_and_writes_no_plan(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a folder with a good campaign and one whose image is missing
    # When the build compiles it
    status = main(["compile", str(folder)])
    # Then the build fails, naming the file and line, and no plan is left to start from
    err = capsys.readouterr().err
    assert status == 1
    assert f"{folder / 'broken.yaml'}:" in err
    assert "refused" in err
    assert not (folder / INDEX_NAME).exists()


def test_compile_writes_the_plan_when_every_campaign_loads(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the broken campaign mended (removed)
    (folder / "broken.yaml").unlink()
    # When the build compiles the folder
    status = main(["compile", str(folder)])
    # Then the plan is written
    assert status == 0
    assert (folder / INDEX_NAME).is_file()
    assert "1 deliveries from 1 campaign(s)" in capsys.readouterr().err


def test_a_function_that_loads_a_refused_campaign_reports_it_missed_every_hour(
    folder: Path, tmp_path: Path
) -> None:
    # Given the function starting from the files (no compiled plan), one campaign refused
    plan, _, refused = runtime.load_plan_for(folder)
    assert len(refused) == 1 and "broken.yaml" in refused[0]
    with SqliteLedger(tmp_path / "ledger.sqlite3") as ledger:
        engine = Engine(plan, ledger, {}, refused=refused)
        # When a tick runs, and ticks an hour later (the audit's period)
        first = engine.tick(T0 - timedelta(hours=1))
        quiet = engine.tick(T0 - timedelta(minutes=30))
        later = engine.tick(T0)

    # Then each audit counts the refused campaign as MISSED, which the Missed alarm watches
    for summary in (first, later):
        [missed] = [r for r in summary.results if r.event is Event.MISSED]
        assert missed.key.campaign.endswith("broken.yaml")
        assert "campaign refused" in missed.detail
    assert quiet.counts[Event.MISSED.value] == 0
