"""What the SQLite ledger adds to the contract: a file several processes share safely."""

from __future__ import annotations

import multiprocessing
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald.delivery import DeliveryKey
from herald.ledger import Ledger, LedgerConflict, State
from herald.ledger.sqlite import SqliteLedger

T0 = datetime(2021, 2, 9, 8, 0, tzinfo=UTC)
KEY = DeliveryKey("safer-internet-day-2021", "launch", "x", "hertspolice")


def claim_in_another_process(path: str, token: str, start: Any) -> None:
    """Open the ledger, wait for the starting gun, claim; exit 0 if the claim won, else 3."""
    ledger = SqliteLedger(path)
    start.wait()
    won = ledger.claim(KEY, token, T0, T0 + timedelta(minutes=2), due_at=T0) is not None
    ledger.close()
    sys.exit(0 if won else 3)


def test_processes_racing_on_one_file_have_exactly_one_winner(tmp_path: Path) -> None:
    # Given four processes sharing one ledger file
    path = str(tmp_path / "ledger.sqlite3")
    SqliteLedger(path).close()
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    workers = {
        f"p{n}": context.Process(target=claim_in_another_process, args=(path, f"p{n}", start))
        for n in range(4)
    }

    # When they all claim the same delivery at once
    for worker in workers.values():
        worker.start()
    for worker in workers.values():
        worker.join(timeout=60)

    # Then exactly one claim won, and the file records that winner
    exits = {token: worker.exitcode for token, worker in workers.items()}
    assert sorted(-1 if code is None else code for code in exits.values()) == [0, 3, 3, 3]
    winner = next(token for token, code in exits.items() if code == 0)
    with SqliteLedger(path) as ledger:
        record = ledger.get_many([KEY])[KEY]
    assert (record.claim_token, record.attempts) == (winner, 1)


def test_the_file_uses_write_ahead_logging_and_survives_reopening(tmp_path: Path) -> None:
    # Given a ledger in a directory that does not exist yet
    path = tmp_path / ".herald" / "ledger.sqlite3"
    with SqliteLedger(path) as ledger:
        ledger.skip(KEY, T0, "paused", due_at=T0)
        ledger.pause("*", "incident", T0)

    # When the file is opened again
    with SqliteLedger(path) as reopened:
        records = reopened.records(KEY.campaign)
        pauses = reopened.pauses()

    # Then what was written is there, and the journal is in WAL mode for concurrent readers
    assert [(record.key, record.state) for record in records] == [(KEY, State.SKIPPED)]
    assert [pause.scope for pause in pauses] == ["*"]
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_refused_transition_rolls_back_and_leaves_the_ledger_usable(tmp_path: Path) -> None:
    # Given a claimed delivery
    ledger: Ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    ledger.claim(KEY, "w1", T0, T0 + timedelta(minutes=2), due_at=T0)

    # When a wrong token is refused, and the right one then moves on
    with pytest.raises(LedgerConflict):
        ledger.mark_attempting(KEY, "w2", T0)
    moved = ledger.mark_attempting(KEY, "w1", T0)

    # Then the refusal left no transaction open behind it
    assert moved.state is State.ATTEMPTING


def test_an_in_memory_ledger_works_for_simulations() -> None:
    # Given a ledger with no file
    ledger = SqliteLedger(":memory:")

    # When a delivery is claimed twice
    first = ledger.claim(KEY, "w1", T0, T0 + timedelta(minutes=2), due_at=T0)
    second = ledger.claim(KEY, "w2", T0, T0 + timedelta(minutes=2), due_at=T0)

    # Then the ledger behaves as on a file
    assert first is not None and first.state is State.CLAIMED
    assert second is None
