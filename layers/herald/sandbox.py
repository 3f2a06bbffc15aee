"""The local ledger as a simulation's sandbox: which campaigns' records `herald simulate`
made (and over which span), kept in a table of their own in the SQLite ledger file, so that
`herald status` says those records are simulated; and `--reset`, which forgets the records
and outbox entries of the simulated campaigns only, never another campaign's history."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from herald.timeutil import format_utc, parse_utc

_TABLE = """CREATE TABLE IF NOT EXISTS simulations (
    campaign TEXT PRIMARY KEY,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    run_at TEXT NOT NULL
) WITHOUT ROWID"""


@dataclass(frozen=True)
class Simulation:
    """A campaign whose records in this ledger a simulation made, from `start` to `end`."""

    campaign: str
    start: datetime
    end: datetime
    run_at: datetime

    def describe(self) -> str:
        return (
            f"made by `herald simulate` ({self.start:%Y-%m-%d %H:%MZ} to"
            f" {self.end:%Y-%m-%d %H:%MZ}), not by the publisher: nothing was published"
        )


def _connect(ledger: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(str(ledger), timeout=30.0, isolation_level=None)
    connection.execute(_TABLE)
    return connection


def mark(
    ledger: Path, campaigns: Iterable[str], start: datetime, end: datetime, now: datetime
) -> None:
    """Note that a simulation made these campaigns' records (widening an earlier span)."""
    with closing(_connect(ledger)) as connection:
        for campaign in campaigns:
            connection.execute(
                "INSERT INTO simulations (campaign, start, end, run_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (campaign) DO UPDATE SET start = min(start, excluded.start),"
                " end = max(end, excluded.end), run_at = excluded.run_at",
                [campaign, format_utc(start), format_utc(end), format_utc(now)],
            )


def simulated(ledger: Path) -> dict[str, Simulation]:
    """The campaigns whose records in this ledger file a simulation made."""
    if not ledger.is_file():
        return {}
    with closing(_connect(ledger)) as connection:
        rows = connection.execute("SELECT campaign, start, end, run_at FROM simulations")
        return {
            row[0]: Simulation(row[0], parse_utc(row[1]), parse_utc(row[2]), parse_utc(row[3]))
            for row in rows.fetchall()
        }


def forget(ledger: Path, campaigns: Iterable[str]) -> None:
    """Drop the simulation notes of these campaigns (their records are deleted apart)."""
    with closing(_connect(ledger)) as connection:
        for campaign in campaigns:
            connection.execute("DELETE FROM simulations WHERE campaign = ?", [campaign])


def forget_outbox(folder: Path, deliveries: Iterable[tuple[str, str, str]]) -> int:
    """Remove from the outbox (`outbox.jsonl` and each entry's `<id>.txt`) what these
    (channel, account, text) deliveries published, so a fresh simulation of them is not
    refused as a duplicate; other campaigns' entries stay. Returns how many were removed."""
    path = folder / "outbox.jsonl"
    if not path.is_file():
        return 0
    gone = set(deliveries)
    kept: list[str] = []
    removed = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            kept.append(line)
            continue
        if (entry.get("channel"), entry.get("account"), entry.get("text")) in gone:
            removed += 1
            (folder / f"{entry.get('id')}.txt").unlink(missing_ok=True)
        else:
            kept.append(line)
    path.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    return removed
