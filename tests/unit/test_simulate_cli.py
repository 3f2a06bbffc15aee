"""`herald simulate`: the timeline it prints, the ledger it keeps, the times and faults it
takes from the command line, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from herald.channels.outbox import OutboxFault
from herald.cli import main

VALID = Path(__file__).resolve().parents[1] / "data" / "campaigns" / "valid"
# The minutes around the valid campaign's first post (09:00 GMT on 27 March 2021).
AROUND_LAUNCH = ["--from", "2021-03-27T08:58Z", "--to", "2021-03-27T09:02Z"]


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder, so the default ledger and outbox are the test's own."""
    monkeypatch.chdir(tmp_path)


def simulate(*options: str) -> int:
    return main(["simulate", str(VALID), *AROUND_LAUNCH, *options])


def test_simulate_prints_what_went_out_when(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the valid campaign and five minutes around its first post
    # When they are simulated
    code = simulate()
    out, err = capsys.readouterr()

    # Then the timeline shows the post going out on its minute, and the totals close it
    lines = out.splitlines()
    assert code == 0 and err == ""
    assert lines[0] == (
        "Simulating 5 deliveries from 2021-03-27 08:58 GMT (08:58Z)"
        " to 2021-03-27 09:02 GMT (09:02Z) (virtual clock)"
    )
    assert lines[1].startswith("2021-03-27 09:00:00Z  Published     demo-day-2021/launch")
    assert lines[1].endswith("/.herald/outbox/000001.txt")
    assert lines[2:] == ["5 ticks: Published 1. Outbox: .herald/outbox/outbox.jsonl"]
    assert Path(".herald/ledger.sqlite3").is_file()


def test_simulate_refuses_a_ledger_with_records_unless_reset(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a ledger that an earlier simulation wrote to
    assert simulate("--ledger", "run.sqlite3", "--outbox", "out") == 0
    capsys.readouterr()

    # When the same is simulated again, without and then with --reset
    again = simulate("--ledger", "run.sqlite3", "--outbox", "out")
    _, refused = capsys.readouterr()
    reset = simulate("--ledger", "run.sqlite3", "--outbox", "out", "--reset")
    out, _ = capsys.readouterr()

    # Then it is refused with the ledger named, and --reset starts afresh
    assert again == 1
    assert refused == (
        "run.sqlite3:1: this ledger already has records of demo-day-2021 from an earlier run;"
        " add --reset to start those afresh (other campaigns' records stay)\n"
    )
    assert reset == 0
    assert "Published 1. Outbox: out/outbox.jsonl" in out


WHAT_TO_WRITE = (
    "write a day, 2026-12-07, or a day and time, 2026-12-07 08:00 (both in Europe/London),"
    " or a UTC time, 2026-12-07T08:00Z"
)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (
            "nonsense",
            "2021-03-27T09:02Z",
            f"--from 'nonsense': not a time herald can read: {WHAT_TO_WRITE}",
        ),
        (
            "2021-03-27T25:00Z",
            "2021-03-27T09:02Z",
            f"--from '2021-03-27T25:00Z': not a time herald can read: {WHAT_TO_WRITE}",
        ),
        ("2021-02-30", "2021-03-27T09:02Z", "--from '2021-02-30': not a day of the calendar"),
        (
            "03/27/2021",
            "2021-03-27T09:02Z",
            "--from '03/27/2021': is written month first; herald reads dates day first, as a UK"
            " reader does: write 27 March 2021 or 2021-03-27",
        ),
        (
            "2021-03-27T09:02Z",
            "2021-03-27T08:58Z",
            "--to (2021-03-27 08:58Z) is before --from (2021-03-27 09:02Z)",
        ),
    ],
)
def test_simulate_refuses_times_it_cannot_use(
    start: str, end: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a start or end that is not a time with a zone, or an end before the start
    # When they are simulated
    code = main(["simulate", str(VALID), "--from", start, "--to", end])

    # Then nothing runs: exit 1 and one line saying what is wrong with the command line
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == f"<command line>:1: {message}\n"


@pytest.mark.parametrize("fault", list(OutboxFault))
def test_every_outbox_fault_can_be_rehearsed(
    fault: OutboxFault, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a fault the outbox can answer with
    # When the first post is simulated with it
    code = simulate("--fault", f"launch={fault.value}")

    # Then the post's first attempt meets the fault
    out, _ = capsys.readouterr()
    launch = [line for line in out.splitlines() if "demo-day-2021/launch " in line]
    assert code == 0
    assert "injected fault" in launch[0]


def test_a_fault_the_outbox_does_not_know_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # When a simulation asks for a fault the outbox does not have
    code = simulate("--fault", "launch=meteor")

    # Then it is refused, listing every fault there is
    _, err = capsys.readouterr()
    kinds = tuple(fault.value for fault in OutboxFault)
    assert code == 1
    assert err == f"<command line>:1: --fault launch=meteor: kind must be one of {kinds}\n"


def test_a_fault_for_a_post_not_in_the_plan_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When a simulation asks for a fault on a post no campaign has
    code = simulate("--fault", "nosuch")

    # Then it is refused
    _, err = capsys.readouterr()
    assert code == 1
    assert err == "<command line>:1: --fault nosuch: no such post\n"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2021-03-27 08:58", "2021-03-27 09:02"),  # local, in the campaign's zone
        ("2021-03-27T08:58", "2021-03-27T09:02"),
        ("27/03/2021 08:58", "2021-03-27T09:02Z"),  # a UK day, and UTC
        ("2021-03-27T08:58Z", "2021-03-27T10:02+01:00"),  # UTC, and an offset
    ],
)
def test_times_may_be_local_or_utc(
    start: str, end: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the same five minutes written in the ways a person writes them
    code = main(["simulate", str(VALID), "--from", start, "--to", end])
    # Then each is the same simulation
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[0] == (
        "Simulating 5 deliveries from 2021-03-27 08:58 GMT (08:58Z)"
        " to 2021-03-27 09:02 GMT (09:02Z) (virtual clock)"
    )


def test_a_day_alone_runs_from_its_first_minute_to_its_last(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["simulate", str(VALID), "--from", "2021-03-27", "--to", "2021-03-27"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[0] == (
        "Simulating 5 deliveries from 2021-03-27 00:00 GMT (00:00Z)"
        " to 2021-03-27 23:59 GMT (23:59Z) (virtual clock)"
    )
    assert "1440 ticks" in out.splitlines()[-1]


def test_a_utc_day_with_z_is_its_first_minute(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", str(VALID), "--from", "2021-03-27Z", "--to", "2021-03-27T00:01Z"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "from 2021-03-27 00:00 GMT (00:00Z)" in out.splitlines()[0]
