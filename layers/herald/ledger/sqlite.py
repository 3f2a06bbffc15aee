"""The ledger in a SQLite file: the embedded default for local runs, same contract as DynamoDB.

Every transition is one `BEGIN IMMEDIATE` transaction that reads the row, checks the same
condition the DynamoDB adapter puts in its ConditionExpression, and writes. WAL mode and a
busy timeout let several processes share the file; a lock lets several threads share one
ledger object. Times are stored as fixed-width UTC strings (`format_utc`), compared as
strings, exactly as in DynamoDB.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from herald.delivery import DeliveryKey
from herald.ledger import (
    Attempt,
    Pause,
    Record,
    State,
    absent_note,
    conflict,
    found_note,
    resend_note,
    sent_text,
    sort_key,
)
from herald.timeutil import format_utc, parse_utc

# Bound parameters per SELECT ... IN (...) when reading many keys.
_CHUNK = 400

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS deliveries (
        campaign TEXT NOT NULL,
        sk TEXT NOT NULL,
        post TEXT NOT NULL,
        channel TEXT NOT NULL,
        account TEXT NOT NULL,
        state TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        due_at TEXT,
        claim_token TEXT,
        lease_until TEXT,
        not_before TEXT,
        retryable INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        remote_id TEXT,
        remote_url TEXT,
        remote_cid TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        attempted_at TEXT,
        absent_since TEXT,
        resends INTEGER NOT NULL DEFAULT 0,
        idempotency_key TEXT,
        history TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (campaign, sk)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS pauses (
        scope TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        since TEXT NOT NULL
    ) WITHOUT ROWID""",
)
_COLUMNS = (
    "campaign",
    "sk",
    "post",
    "channel",
    "account",
    "state",
    "updated_at",
    "due_at",
    "claim_token",
    "lease_until",
    "not_before",
    "retryable",
    "reason",
    "remote_id",
    "remote_url",
    "remote_cid",
    "attempts",
    "attempted_at",
    "absent_since",
    "resends",
    "idempotency_key",
    "history",
)
# Columns added since the first release, with their definitions: a ledger file made by an
# older herald gains them when it is opened.
_ADDED = {
    "attempted_at": "TEXT",
    "absent_since": "TEXT",
    "resends": "INTEGER NOT NULL DEFAULT 0",
    "idempotency_key": "TEXT",
    "history": "TEXT NOT NULL DEFAULT '[]'",
    "remote_cid": "TEXT",
}
_UPSERT = (
    f"INSERT OR REPLACE INTO deliveries ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)

Row = dict[str, Any]


class SqliteLedger:
    """The `Ledger` in one SQLite file (parent directories are created)."""

    def __init__(self, path: str | Path, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._connection = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._connection.row_factory = sqlite3.Row
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        with self._transaction() as connection:
            for statement in _SCHEMA:
                connection.execute(statement)
            present = {row[1] for row in connection.execute("PRAGMA table_info(deliveries)")}
            for column, definition in _ADDED.items():
                if column not in present:
                    connection.execute(f"ALTER TABLE deliveries ADD COLUMN {column} {definition}")

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- reads ----------------------------------------------------------------------

    def get_many(self, keys: list[DeliveryKey]) -> dict[DeliveryKey, Record]:
        by_campaign: dict[str, list[str]] = {}
        for key in dict.fromkeys(keys):
            by_campaign.setdefault(key.campaign, []).append(sort_key(key))
        found: dict[DeliveryKey, Record] = {}
        with self._lock:
            for campaign, sort_keys in by_campaign.items():
                for start in range(0, len(sort_keys), _CHUNK):
                    chunk = sort_keys[start : start + _CHUNK]
                    rows = self._connection.execute(
                        "SELECT * FROM deliveries WHERE campaign = ? "
                        f"AND sk IN ({', '.join('?' for _ in chunk)})",
                        [campaign, *chunk],
                    ).fetchall()
                    for row in rows:
                        record = _record(dict(row))
                        found[record.key] = record
        return found

    def records(self, campaign: str) -> list[Record]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT * FROM deliveries WHERE campaign = ? ORDER BY sk", [campaign]
            ).fetchall()
        return [_record(dict(row)) for row in rows]

    def delete_campaign(self, campaign: str) -> int:
        """Forget every record of one campaign (a local simulation starting afresh); the
        records of other campaigns and the pauses stay. Returns how many were deleted."""
        with self._transaction() as connection:
            cursor = connection.execute("DELETE FROM deliveries WHERE campaign = ?", [campaign])
        return cursor.rowcount

    def pauses(self) -> list[Pause]:
        with self._lock:
            rows = self._connection.execute("SELECT * FROM pauses ORDER BY scope").fetchall()
        return [_pause(dict(row)) for row in rows]

    # --- transitions ----------------------------------------------------------------

    def claim(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        lease_until: datetime,
        due_at: datetime,
        idempotency_key: str | None = None,
        *,
        attempt_text: str | None = None,
    ) -> Record | None:
        clock, due = format_utc(now), format_utc(due_at)
        state = State.CLAIMED if attempt_text is None else State.ATTEMPTING
        return self._change(
            key,
            allowed=lambda row: _claimable(row, clock, due),
            change=lambda row: {
                **_identity(key),
                **({} if attempt_text is None else {"attempted_at": clock}),
                "state": state.value,
                "claim_token": token,
                "lease_until": format_utc(lease_until),
                "due_at": due,
                "updated_at": clock,
                "retryable": 0,
                "not_before": None,
                "reason": None,
                "attempts": (row["attempts"] if row else 0) + 1,
                "idempotency_key": (row or {}).get("idempotency_key") or idempotency_key,
            },
            note=Attempt(now, state, text=sent_text(attempt_text), key=idempotency_key),
        )

    def mark_attempting(
        self, key: DeliveryKey, token: str, now: datetime, text: str | None = None
    ) -> Record:
        return self._must(
            key,
            token,
            "mark it ATTEMPTING",
            "CLAIMED under this claim",
            allowed=_held(token, State.CLAIMED),
            change={
                "state": State.ATTEMPTING.value,
                "updated_at": format_utc(now),
                "attempted_at": format_utc(now),
            },
            note=Attempt(now, State.ATTEMPTING, text=sent_text(text)),
        )

    def mark_sent(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        remote_id: str,
        remote_url: str,
        cid: str | None = None,
    ) -> Record:
        return self._must(
            key,
            token,
            "mark it SENT",
            "ATTEMPTING under this claim",
            allowed=_held(token, State.ATTEMPTING),
            change={
                "state": State.SENT.value,
                "updated_at": format_utc(now),
                "remote_id": remote_id,
                "remote_url": remote_url,
                "remote_cid": cid,
                "lease_until": None,
            },
            note=Attempt(now, State.SENT, remote_id=remote_id),
        )

    def mark_failed(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        reason: str,
        retryable: bool,
        not_before: datetime | None = None,
    ) -> Record:
        return self._must(
            key,
            token,
            "mark it FAILED",
            "CLAIMED or ATTEMPTING under this claim",
            allowed=_held(token, State.CLAIMED, State.ATTEMPTING),
            change={
                "state": State.FAILED.value,
                "updated_at": format_utc(now),
                "reason": reason,
                "retryable": int(retryable),
                "not_before": None if not_before is None else format_utc(not_before),
                "lease_until": None,
            },
            note=Attempt(now, State.FAILED, reason),
        )

    def mark_unknown(self, key: DeliveryKey, token: str, now: datetime, reason: str) -> Record:
        return self._must(
            key,
            token,
            "mark it UNKNOWN",
            "ATTEMPTING under this claim",
            allowed=_held(token, State.ATTEMPTING),
            change={
                "state": State.UNKNOWN.value,
                "updated_at": format_utc(now),
                "reason": reason,
                "lease_until": None,
            },
            note=Attempt(now, State.UNKNOWN, reason),
        )

    def skip(self, key: DeliveryKey, now: datetime, reason: str, due_at: datetime) -> Record | None:
        clock, due = format_utc(now), format_utc(due_at)
        return self._change(
            key,
            allowed=lambda row: _claimable(row, clock, due),
            change=lambda row: {
                **_identity(key),
                "state": State.SKIPPED.value,
                "updated_at": clock,
                "due_at": due,
                "reason": reason,
                "retryable": 0,
                "claim_token": None,
                "lease_until": None,
                "not_before": None,
            },
            note=Attempt(now, State.SKIPPED, reason),
        )

    def expire_attempt(self, key: DeliveryKey, now: datetime, reason: str) -> Record | None:
        clock = format_utc(now)
        return self._change(
            key,
            allowed=lambda row: (
                row is not None
                and row["state"] == State.ATTEMPTING
                and row["lease_until"] is not None
                and row["lease_until"] <= clock
            ),
            change=lambda row: {
                "state": State.UNKNOWN.value,
                "updated_at": clock,
                "reason": reason,
                "lease_until": None,
            },
            note=Attempt(now, State.UNKNOWN, reason),
        )

    def note_absent(self, key: DeliveryKey, now: datetime) -> Record | None:
        clock = format_utc(now)
        return self._change(
            key,
            allowed=lambda row: row is not None and row["state"] == State.UNKNOWN,
            change=lambda row: {"absent_since": (row or {}).get("absent_since") or clock},
            note=absent_note(now),
        )

    def reclaim_unknown(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        lease_until: datetime,
        absent_before: datetime,
        max_resends: int,
    ) -> Record | None:
        before = format_utc(absent_before)
        return self._change(
            key,
            allowed=lambda row: (
                row is not None
                and row["state"] == State.UNKNOWN
                and row["absent_since"] is not None
                and row["absent_since"] <= before
                and int(row["resends"] or 0) < max_resends
            ),
            change=lambda row: {
                "state": State.CLAIMED.value,
                "claim_token": token,
                "lease_until": format_utc(lease_until),
                "updated_at": format_utc(now),
                "absent_since": None,
                "attempts": int((row or {}).get("attempts") or 0) + 1,
                "resends": int((row or {}).get("resends") or 0) + 1,
            },
            note=resend_note(now),
        )

    def resolve_unknown(
        self,
        key: DeliveryKey,
        now: datetime,
        remote_id: str,
        remote_url: str,
        cid: str | None = None,
    ) -> Record:
        return self._must(
            key,
            None,
            "resolve it as SENT",
            "UNKNOWN",
            allowed=lambda row: row is not None and row["state"] == State.UNKNOWN,
            change={
                "state": State.SENT.value,
                "updated_at": format_utc(now),
                "remote_id": remote_id,
                "remote_url": remote_url,
                "remote_cid": cid,
            },
            note=found_note(now, remote_id),
        )

    def requeue(self, key: DeliveryKey, now: datetime, reason: str) -> Record:
        clock = format_utc(now)
        return self._must(
            key,
            None,
            "requeue it",
            "UNKNOWN or FAILED",
            allowed=lambda row: row is not None and row["state"] in (State.UNKNOWN, State.FAILED),
            change={
                "state": State.FAILED.value,
                "updated_at": clock,
                "reason": reason,
                "retryable": 1,
                "not_before": clock,
                "lease_until": None,
            },
            note=Attempt(now, State.FAILED, reason),
        )

    # --- the pause switch -----------------------------------------------------------

    def pause(self, scope: str, reason: str, now: datetime) -> Pause:
        """Pause a scope; pausing it again keeps the first `since` and takes the new reason."""
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO pauses (scope, reason, since) VALUES (?, ?, ?) "
                "ON CONFLICT (scope) DO UPDATE SET reason = excluded.reason",
                [scope, reason, format_utc(now)],
            )
            row = connection.execute("SELECT * FROM pauses WHERE scope = ?", [scope]).fetchone()
        return _pause(dict(row))

    def resume(self, scope: str) -> bool:
        with self._transaction() as connection:
            cursor = connection.execute("DELETE FROM pauses WHERE scope = ?", [scope])
        return cursor.rowcount > 0

    # --- plumbing -------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def _must(
        self,
        key: DeliveryKey,
        token: str | None,
        action: str,
        expected: str,
        *,
        allowed: Callable[[Row | None], bool],
        change: Row,
        note: Attempt,
    ) -> Record:
        with self._transaction() as connection:
            row = _read(connection, key)
            if not allowed(row):
                old = _record(row) if row is not None else None
                raise conflict(key, action, expected, token, old)
            return _write(connection, {**(row or {}), **change, "history": _noted(row, note)})

    def _change(
        self,
        key: DeliveryKey,
        *,
        allowed: Callable[[Row | None], bool],
        change: Callable[[Row | None], Row],
        note: Attempt,
    ) -> Record | None:
        with self._transaction() as connection:
            row = _read(connection, key)
            if not allowed(row):
                return None
            return _write(connection, {**(row or {}), **change(row), "history": _noted(row, note)})


def _read(connection: sqlite3.Connection, key: DeliveryKey) -> Row | None:
    row = connection.execute(
        "SELECT * FROM deliveries WHERE campaign = ? AND sk = ?", [key.campaign, sort_key(key)]
    ).fetchone()
    return dict(row) if row is not None else None


def _write(connection: sqlite3.Connection, row: Row) -> Record:
    full = {column: row.get(column) for column in _COLUMNS}
    full["retryable"] = int(full["retryable"] or 0)
    full["attempts"] = int(full["attempts"] or 0)
    full["resends"] = int(full["resends"] or 0)
    full["history"] = full["history"] or "[]"
    connection.execute(_UPSERT, [full[column] for column in _COLUMNS])
    return _record(full)


def _noted(row: Row | None, note: Attempt) -> str:
    """The row's history with `note` appended, as stored (JSON)."""
    history = json.loads((row or {}).get("history") or "[]")
    return json.dumps([*history, note.as_dict()], ensure_ascii=False)


def _claimable(row: Row | None, clock: str, due: str) -> bool:
    """New, CLAIMED with a lease that ended, FAILED retryable whose not_before passed, or
    SKIPPED for another due time (the post was re-timed since)."""
    if row is None:
        return True
    if row["state"] == State.SKIPPED:
        return row["due_at"] is not None and row["due_at"] != due
    if row["state"] == State.CLAIMED:
        return row["lease_until"] is not None and row["lease_until"] <= clock
    if row["state"] == State.FAILED:
        return bool(row["retryable"]) and (row["not_before"] is None or row["not_before"] <= clock)
    return False


def _held(token: str, *states: State) -> Callable[[Row | None], bool]:
    return lambda row: row is not None and row["state"] in states and row["claim_token"] == token


def _identity(key: DeliveryKey) -> Row:
    return {
        "campaign": key.campaign,
        "sk": sort_key(key),
        "post": key.post,
        "channel": key.channel,
        "account": key.account,
    }


def _optional_time(text: str | None) -> datetime | None:
    return None if text is None else parse_utc(text)


def _record(row: Row) -> Record:
    return Record(
        key=DeliveryKey(row["campaign"], row["post"], row["channel"], row["account"]),
        state=State(row["state"]),
        updated_at=parse_utc(row["updated_at"]),
        due_at=_optional_time(row["due_at"]),
        claim_token=row["claim_token"],
        lease_until=_optional_time(row["lease_until"]),
        not_before=_optional_time(row["not_before"]),
        retryable=bool(row["retryable"]),
        reason=row["reason"],
        remote_id=row["remote_id"],
        remote_url=row["remote_url"],
        remote_cid=row["remote_cid"],
        attempts=int(row["attempts"] or 0),
        attempted_at=_optional_time(row["attempted_at"]),
        absent_since=_optional_time(row["absent_since"]),
        resends=int(row["resends"] or 0),
        idempotency_key=row["idempotency_key"],
        history=tuple(Attempt.from_dict(entry) for entry in json.loads(row["history"] or "[]")),
    )


def _pause(row: Row) -> Pause:
    return Pause(scope=row["scope"], reason=row["reason"], since=parse_utc(row["since"]))
