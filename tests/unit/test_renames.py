"""A post renamed after it was SENT would be published again under its new id: validate
and compile warn, given the ledger, before that can happen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from herald.cli import main
from herald.delivery import DeliveryKey
from herald.ledger.sqlite import SqliteLedger
from herald.plan import LoadedPlan, load_plan_strict
from herald.renames import renamed_posts

CAMPAIGN = """\
campaign: appeals
title: Appeals
timezone: Europe/London
accounts:
  x:
    main: {handle: Main}
posts:
  - id: {first}
    at: 2021-02-09 08:00
    text: "Have you seen Sam Smith? Call 101."
  - id: evening
    at: 2021-02-09 18:00
    text: "Thank you for sharing."
"""
T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)


def plan_with(folder: Path, first: str) -> LoadedPlan:
    path = folder / f"{first}.yaml"
    path.write_text(CAMPAIGN.replace("{first}", first), encoding="utf-8")
    return load_plan_strict([path])


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    """The ledger after the 08:00 post went out as 'missing-persn' (a typo in its id)."""
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    key = DeliveryKey("appeals", "missing-persn", "x", "main")
    ledger.claim(key, "w", T0, T0 + timedelta(minutes=3), T0)
    ledger.mark_attempting(key, "w", T0)
    ledger.mark_sent(key, "w", T0, "1357", "https://x.com/Main/status/1357")
    return ledger


def test_a_post_renamed_after_it_was_sent_is_warned_about(
    tmp_path: Path, ledger: SqliteLedger
) -> None:
    # Given the press office mended the typo in the id of the post already sent
    plan = plan_with(tmp_path, "missing-person")
    # When the plan is checked against the ledger
    [problem] = renamed_posts(plan, ledger)
    # Then the warning is at the renamed post's line, naming both ids and the sent post
    assert problem.file.endswith("missing-person.yaml")
    assert problem.line == 8
    assert not problem.is_error
    assert "post 'missing-person' has no record on x:main" in problem.message
    assert "'missing-persn' was SENT there at 2021-02-09 08:00Z" in problem.message
    assert "https://x.com/Main/status/1357" in problem.message
    assert "would be published again" in problem.message


def test_the_same_ids_or_another_time_raise_nothing(tmp_path: Path, ledger: SqliteLedger) -> None:
    # Given the campaign as it was sent
    assert renamed_posts(plan_with(tmp_path, "missing-persn"), ledger) == []
    # And given a new post at another time, beside a sent post that was removed
    moved = CAMPAIGN.replace("{first}", "new-appeal").replace("08:00", "09:00")
    path = tmp_path / "moved.yaml"
    path.write_text(moved, encoding="utf-8")
    # Then nothing is said: only the same account and the same time look like a rename
    assert renamed_posts(load_plan_strict([path]), ledger) == []


def test_validate_with_the_ledger_warns_at_the_renamed_post(
    tmp_path: Path, ledger: SqliteLedger, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the renamed campaign and the ledger it was published with
    plan_with(tmp_path, "missing-person")
    ledger.close()
    # When it is validated with --ledger
    status = main(
        [
            "validate",
            str(tmp_path / "missing-person.yaml"),
            "--ledger",
            str(tmp_path / "ledger.sqlite3"),
            "--now",
            "2021-02-01T00:00Z",
        ]
    )
    # Then it is still valid (a warning, exit 0), and the warning is a FILE:LINE sentence
    err = capsys.readouterr().err
    assert status == 0
    assert f"{tmp_path / 'missing-person.yaml'}:8: warning: post 'missing-person'" in err
    # And without a ledger nothing is read and nothing said
    assert (
        main(["validate", str(tmp_path / "missing-person.yaml"), "--now", "2021-02-01T00:00Z"]) == 0
    )
    assert "renamed" not in capsys.readouterr().err
