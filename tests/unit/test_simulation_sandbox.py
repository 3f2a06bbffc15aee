"""Simulation is a safe sandbox: `--reset` forgets only the simulated campaigns' records and
outbox entries, so simulating one campaign never turns another's history into MISSED; and
`herald status`, in the terminal and on its page, says which records are simulated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from herald.cli import main

ROOT = Path(__file__).resolve().parents[2]
SID = ROOT / "campaigns"  # safer-internet-day-2021, 9 February 2021
DEMO = ROOT / "tests" / "data" / "campaigns" / "valid"  # demo-day-2021, 27 March 2021
AFTER_BOTH = "2021-03-27T12:00Z"  # the demo's later posts are still to come


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(list(argv)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def status(capsys: pytest.CaptureFixture[str]) -> str:
    return run("status", "--campaigns", str(SID), str(DEMO), "--now", AFTER_BOTH, capsys=capsys)


def test_reset_of_one_campaign_keeps_the_others_history(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given both campaigns simulated into the local ledger
    run("simulate", str(SID), "--from", "2021-02-08", "--to", "2021-02-10", capsys=capsys)
    run("simulate", str(DEMO), "--from", "2021-03-27", "--to", "2021-03-27", capsys=capsys)
    before = status(capsys)
    assert "MISSED" not in before

    # When the demo campaign is simulated again from scratch
    out = run(
        "simulate", str(DEMO), "--from", "2021-03-27", "--to", "2021-03-27", "--reset",
        capsys=capsys,
    )  # fmt: skip

    # Then it publishes again (its outbox entries were forgotten, so nothing is a duplicate)
    assert out.splitlines()[-1].startswith("1440 ticks: Published 1.")
    # And the Safer Internet Day history is untouched: nothing became MISSED
    after = status(capsys)
    assert "MISSED" not in after
    assert after.count("SENT") == before.count("SENT")
    outbox = Path(".herald/outbox/outbox.jsonl").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in outbox.splitlines()]
    assert len(entries) == 34  # SID's 33 (on X, Mastodon, Facebook) and the demo's 1, once each


def test_status_says_which_records_are_simulated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the Safer Internet Day campaign simulated
    run("simulate", str(SID), "--from", "2021-02-08", "--to", "2021-02-10", capsys=capsys)

    # When the status is shown in the terminal and as a page
    text = run(
        "status", "--campaigns", str(SID), "--now", AFTER_BOTH, "--html", "status.html",
        capsys=capsys,
    )  # fmt: skip
    page = (tmp_path / "status.html").read_text(encoding="utf-8")

    # Then both say the records were made by a simulation, not by the publisher
    expected = (
        "SIMULATED: the records of safer-internet-day-2021 were made by `herald simulate`"
        " (2021-02-08 00:00Z to 2021-02-10 23:59Z), not by the publisher: nothing was published."
    )
    assert expected in text.splitlines()
    assert "(safer-internet-day-2021, Europe/London, simulated)" in text
    assert "records of safer-internet-day-2021 were made by <code>herald simulate</code>" in page
    assert "(safer-internet-day-2021, simulated)" in page


def test_a_ledger_the_publisher_wrote_is_not_called_simulated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a ledger no simulation wrote to (a pause only)
    run("pause", "--campaigns", str(SID), "--reason", "incident", capsys=capsys)
    # When its status is shown / Then nothing is called simulated
    assert "SIMULATED" not in status(capsys)
