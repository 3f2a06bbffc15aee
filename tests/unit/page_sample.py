"""A small campaign whose texts, title, account name and alt text hold markup, and a status
report over it, for the tests of the pages and of the terminal status."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from herald.ledger import ALL_CAMPAIGNS
from herald.ledger.sqlite import SqliteLedger
from herald.plan import load_plan_strict
from herald.status import Report, collect

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)  # after `early`, before the others

CAMPAIGN = """\
campaign: page-test
title: "Tests <b>&</b> Co"
timezone: Europe/London
accounts:
  x:
    force: {handle: TestPolice, name: "Test <Police>"}
posts:
  - id: early
    at: 2030-02-01 09:00
    text: "This one is already in the past"
  - id: hello
    at: 2030-03-02 09:00
    text: "<script>alert('x')</script> & see https://example.org/a?b=1&c=2 #Safety @UK_SIC"
    media:
      - {file: pixel.png, alt: 'A "pixel" <img> & more'}
    thread:
      - "Part two"
  - id: later
    at: 2030-03-03 10:00
    text: "Plain words"
"""


def png() -> bytes:
    """A 1x1 red PNG, made here so the tests need no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def write_campaign(folder: Path, text: str = CAMPAIGN) -> Path:
    """The campaign (`text`) and its image in `folder`; the campaign file's path."""
    (folder / "pixel.png").write_bytes(png())
    path = folder / "page-test.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def sample_status(campaign: Path, *, paused: bool, scope: str = ALL_CAMPAIGNS) -> Report:
    """The status the next morning: `early` SENT, `hello` UNKNOWN (so its reply was never
    sent: MISSED), `later` SCHEDULED; reasons that hold markup; `paused`: publishing paused
    for `scope` (all campaigns, or one)."""
    plan = load_plan_strict([campaign])
    by_post = {d.key.post: d for d in plan.deliveries}
    now = datetime(2030, 3, 2, 10, 0, tzinfo=UTC)
    ledger = SqliteLedger(":memory:")
    early = by_post["early"]
    moment = early.at + timedelta(seconds=5)
    ledger.claim(early.key, "t", moment, moment + timedelta(minutes=1), early.at)
    ledger.mark_attempting(early.key, "t", moment)
    ledger.mark_sent(early.key, "t", moment, "1", "https://x.com/TestPolice/status/1")
    hello = by_post["hello"]
    moment = hello.at + timedelta(seconds=5)
    ledger.claim(hello.key, "t", moment, moment + timedelta(minutes=1), hello.at)
    ledger.mark_attempting(hello.key, "t", moment)
    ledger.mark_unknown(hello.key, "t", moment, "timed out <after> sending")
    if paused:
        ledger.pause(scope, "incident & <review>", hello.at)
    return collect(plan, ledger, now)
