"""The outbox channel: "publishes" into a local folder, the embedded default for local runs.

Each publication appends one JSON line to `<folder>/outbox.jsonl`
(`{id, channel, account, text, reply_to, media: [{file, alt}], published_at}`) and writes a
readable `<folder>/<id>.txt`. Outcomes follow X's rules so that simulations exercise the
same paths: the same text twice from an account is refused as UNKNOWN (X's duplicate-content
403), a reply to an id the outbox never published is FAILED, and `fail_next` injects the
other outcomes. Writers in several processes share a folder safely under an fcntl lock.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from herald.channels import (
    READ_BACK_THEN_RESEND,
    CreateCall,
    Outcome,
    OutcomeKind,
    Reply,
    not_created,
    why_not,
)
from herald.delivery import DeliveryKey, MediaItem
from herald.timeutil import format_utc, parse_utc

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.jsonl"
LOCK_FILE = ".outbox.lock"
RATE_LIMIT_WINDOW = timedelta(minutes=15)


class OutboxFault(StrEnum):
    RATE_LIMITED = "rate_limited"  # RATE_LIMITED, retry_at given or now + 15 min
    FAILED = "failed"  # FAILED, retryable: it never left (connection refused)
    REJECTED = "rejected"  # FAILED, not retryable (a 400)
    UNAUTHORIZED = "unauthorized"  # FAILED, not retryable: reconnect the account (a 401)
    UNKNOWN = "unknown"  # UNKNOWN, nothing written (a timeout before X processed it)
    UNKNOWN_AFTER_WRITE = "unknown_after_write"  # written, then UNKNOWN: the double-post trap


@dataclass(frozen=True)
class OutboxEntry:
    """One line of the outbox."""

    id: str
    channel: str
    account: str
    text: str
    reply_to: str | None
    media: tuple[dict[str, str], ...]
    published_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "account": self.account,
            "text": self.text,
            "reply_to": self.reply_to,
            "media": list(self.media),
            "published_at": format_utc(self.published_at),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> OutboxEntry:
        return cls(
            id=str(value["id"]),
            channel=str(value.get("channel", "x")),
            account=str(value["account"]),
            text=str(value["text"]),
            reply_to=None if value.get("reply_to") is None else str(value["reply_to"]),
            media=tuple(
                {"file": str(m["file"]), "alt": str(m.get("alt", ""))}
                for m in value.get("media") or []
            ),
            published_at=parse_utc(str(value["published_at"])),
        )


@dataclass
class _Fault:
    kind: OutboxFault
    remaining: int
    retry_at: datetime | None


class OutboxChannel:
    """A Channel writing to `folder`. It stands in for the channel named `channel` (`name`).

    `clock` gives the publication time (a simulation passes its virtual clock).
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        channel: str = "x",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.name = channel
        # The outbox follows X's rules, so it settles an UNKNOWN as X does.
        self.settlement = READ_BACK_THEN_RESEND
        self.create_seconds = 1.0
        self._clock = clock or (lambda: datetime.now(UTC))
        self._faults: list[_Fault] = []
        self._faults_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OutboxChannel(folder={str(self.folder)!r}, channel={self.name!r})"

    @property
    def path(self) -> Path:
        return self.folder / OUTBOX_FILE

    # -- fault injection --

    def fail_next(
        self, kind: OutboxFault | str, times: int = 1, *, retry_at: datetime | None = None
    ) -> None:
        """Make the next `times` publications end as `kind` (in this process only)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._faults_lock:
            self._faults.append(_Fault(OutboxFault(kind), times, retry_at))

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._faults.clear()

    def _take_fault(self) -> _Fault | None:
        with self._faults_lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.pop(0)
            return fault

    # -- the Channel protocol --

    def new_key(self, key: DeliveryKey) -> str | None:
        return None  # settled by read-back and duplicate refusal, not by a key

    def publish(
        self, account: str, text: str, reply: Reply | None, media: list[MediaItem],
        call: CreateCall | None = None,
    ) -> Outcome:  # fmt: skip
        now = self._clock()
        reply_to = None if reply is None else reply.parent.id
        for item in media:
            if not item.path.is_file():
                return Outcome(
                    OutcomeKind.FAILED,
                    reason=f"cannot read media file {item.path}",
                    retryable=False,
                )
        stop = why_not(call)
        if stop is not None:
            return not_created(stop)
        fault = self._take_fault()
        if fault is not None and fault.kind is not OutboxFault.UNKNOWN_AFTER_WRITE:
            return _injected(fault, account, now)
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._locked(exclusive=True):
            entries = self._read()
            if reply_to is not None and not any(e.id == reply_to for e in entries):
                return Outcome(
                    OutcomeKind.FAILED,
                    reason=f"the outbox has no post {reply_to!r} to reply to",
                    retryable=False,
                )
            if any(
                e.channel == self.name and e.account == account and e.text == text for e in entries
            ):
                return Outcome(
                    OutcomeKind.UNKNOWN,
                    reason="refused as duplicate content (as X's 403): the same text is already "
                    "in the outbox for this account, maybe from an earlier attempt: reconcile",
                    duplicate=True,
                )
            entry = OutboxEntry(
                id=_next_id(entries),
                channel=self.name,
                account=account,
                text=text,
                reply_to=reply_to,
                media=tuple({"file": str(m.path), "alt": m.alt} for m in media),
                published_at=now,
            )
            self._write(entry)
        if fault is not None:  # UNKNOWN_AFTER_WRITE: published, but the caller never hears
            return Outcome(
                OutcomeKind.UNKNOWN,
                reason="injected fault: the connection dropped after the post was accepted",
            )
        return Outcome(OutcomeKind.SENT, remote_id=entry.id, url=self._url(entry.id))

    def find_recent(
        self,
        account: str,
        text: str,
        since: datetime,
        *,
        exclude_ids: frozenset[str] = frozenset(),
        idempotency_key: str | None = None,
    ) -> Outcome | None:
        """SENT for the newest entry of `account` with exactly `text` published at or after
        `since` (one clock stamps and compares: no skew), whose id is not in `exclude_ids`;
        None if there is none. An unreadable outbox raises OSError."""
        if not self.path.exists():
            return None
        with self._locked(exclusive=False):
            entries = self._read()
        for entry in reversed(entries):
            if (
                entry.channel == self.name
                and entry.account == account
                and entry.text == text
                and entry.published_at >= since
                and entry.id not in exclude_ids
            ):
                return Outcome(
                    OutcomeKind.SENT,
                    remote_id=entry.id,
                    url=self._url(entry.id),
                    reason="found in the outbox by reconciliation",
                )
        return None

    # -- reading --

    def entries(self) -> list[OutboxEntry]:
        """Everything in the outbox, in publication order."""
        if not self.path.exists():
            return []
        with self._locked(exclusive=False):
            return self._read()

    # -- plumbing --

    @contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _read(self) -> list[OutboxEntry]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entries.append(OutboxEntry.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                log.warning("%s:%d: unreadable outbox line skipped", self.path, number)
        return entries

    def _write(self, entry: OutboxEntry) -> None:
        (self.folder / f"{entry.id}.txt").write_text(_readable(entry), encoding="utf-8")
        line = json.dumps(entry.to_json(), ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as outbox:
            outbox.write(line)
            outbox.flush()
            os.fsync(outbox.fileno())

    def _url(self, entry_id: str) -> str:
        return (self.folder / f"{entry_id}.txt").resolve().as_uri()


def _next_id(entries: list[OutboxEntry]) -> str:
    numbers = [int(e.id) for e in entries if e.id.isdigit()]
    return f"{max(numbers, default=0) + 1:06d}"


def _readable(entry: OutboxEntry) -> str:
    lines = [
        f"id: {entry.id}",
        f"channel: {entry.channel}",
        f"account: {entry.account}",
        f"published_at: {format_utc(entry.published_at)}",
    ]
    if entry.reply_to:
        lines.append(f"reply_to: {entry.reply_to}")
    lines.extend(f"media: {m['file']} (alt: {m['alt']})" for m in entry.media)
    return "\n".join(lines) + "\n\n" + entry.text + "\n"


def _injected(fault: _Fault, account: str, now: datetime) -> Outcome:
    reason = f"injected fault: {fault.kind.value}"
    if fault.kind is OutboxFault.RATE_LIMITED:
        return Outcome(
            OutcomeKind.RATE_LIMITED,
            reason=reason,
            retryable=True,
            retry_at=fault.retry_at or now + RATE_LIMIT_WINDOW,
        )
    if fault.kind is OutboxFault.FAILED:
        return Outcome(OutcomeKind.FAILED, reason=f"{reason}; nothing was sent", retryable=True)
    if fault.kind is OutboxFault.UNAUTHORIZED:
        return Outcome(
            OutcomeKind.FAILED,
            reason=f"{reason}: credentials of account {account!r} refused; reconnect the account",
            retryable=False,
        )
    if fault.kind is OutboxFault.REJECTED:
        return Outcome(OutcomeKind.FAILED, reason=reason, retryable=False)
    return Outcome(OutcomeKind.UNKNOWN, reason=f"{reason}; the post may or may not be published")
