"""A generated month (or day) of campaigns, written as real campaign files for herald's loader.

Several X accounts of a county's public services; campaigns that run one to four days, two
to four posts a day each, most of them at the same few minutes (09:00, 12:00, 17:00 local),
so that several accounts and campaigns are due together. About a quarter of the posts are
threads (one to four replies), a fifth carry one to four small PNG images, and the appeals
differ only in their link (the case where matching on text without links goes wrong).
Everything is drawn from `random.Random(seed)`: the same seed writes the same files.
"""

from __future__ import annotations

import json
import random
import struct
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

ACCOUNTS = {
    "hertspolice": "HertsPolice",
    "stalbanspolice": "StAlbansPolice",
    "watfordpolice": "WatfordPolice",
    "hertsroads": "HertsRoads",
    "hertsfire": "HertsFireRescue",
    "hertscc": "HertsCC",
}
# Local times and how often posts are scheduled at each: most go out at a few busy minutes.
SLOTS = (
    ("07:00", 2),
    ("08:00", 3),
    ("09:00", 6),
    ("10:30", 2),
    ("12:00", 6),
    ("13:15", 1),
    ("15:00", 3),
    ("17:00", 6),
    ("18:30", 2),
    ("20:00", 2),
    ("21:45", 1),
)
LATENESS = ("10m", "15m", "15m", "15m", "30m")
IMAGES = 6


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    hashtag: str
    accounts: tuple[str, ...]
    lines: tuple[str, ...]  # what the posts say; `{when}` is the post's day and time
    replies: tuple[str, ...] = ()
    link: str | None = None  # posts that differ only in this link (`{slug}` varies)


TOPICS = (
    Topic(
        "roadworks",
        "Roadworks",
        "#HertsRoads",
        ("hertsroads", "hertscc"),
        (
            "Roadworks {when}: lane closures on the A414 at Hatfield. Allow extra time.",
            "Overnight closure {when}: the A505 Baldock bypass, diversion signed via the A1(M).",
            "Resurfacing {when} on the A10 near Ware: temporary lights in place.",
        ),
        ("Diversion map and times on our website.", "Buses are running to their timetables."),
    ),
    Topic(
        "fraud-week",
        "Fraud awareness week",
        "#ScamAware",
        ("hertspolice", "stalbanspolice", "watfordpolice"),
        (
            "Courier fraud {when}: police will never ask you to hand over cash or cards.",
            "Had a call from 'your bank' {when}? Hang up and call back on a number you trust.",
            "Romance scams {when}: never send money to someone you have only met online.",
        ),
        (
            "Report fraud to Action Fraud on 0300 123 2040.",
            "Talk to older relatives and neighbours about these calls.",
            "If you have lost money, call your bank straight away.",
        ),
    ),
    Topic(
        "appeals",
        "Appeals for information",
        "#Appeal",
        ("hertspolice", "stalbanspolice", "watfordpolice"),
        ("Can you help us find this person? Call 101 or read the appeal:",),
        link="https://www.herts.police.uk/appeals/{slug}",
    ),
    Topic(
        "fire-safety",
        "Home fire safety",
        "#FireSafety",
        ("hertsfire", "hertscc"),
        (
            "Test your smoke alarms {when}: it takes ten seconds and it saves lives.",
            "Cooking {when}? Never leave pans unattended on the hob.",
            "Charging e-bikes {when}: use the charger that came with them, never overnight.",
        ),
        ("Book a free home fire safety visit on our website.", "Plan how you would get out."),
    ),
    Topic(
        "community",
        "Community events",
        "#HertsCommunity",
        ("hertscc", "stalbanspolice", "watfordpolice", "hertsfire"),
        (
            "Drop-in session {when} at the library: meet your local officers.",
            "Bike marking event {when} in the market square: bring proof of ownership.",
            "Open day {when} at the fire station: see the engines and meet the crews.",
        ),
        ("Everyone is welcome, no need to book.", "Parking is limited: come by bus if you can."),
    ),
)
NAMES = ("smith", "jones", "patel", "okafor", "nowak", "murphy", "khan", "evans", "walsh")


@dataclass
class _Texts:
    """Every text an account publishes must differ (X refuses duplicates; so does herald)."""

    used: dict[str, set[str]] = field(default_factory=dict)

    def unique(self, accounts: list[str], text: str) -> str:
        candidate, n = text, 1
        while any(candidate in self.used.setdefault(a, set()) for a in accounts):
            n += 1
            candidate = f"{text} ({n})"
        for account in accounts:
            self.used[account].add(candidate)
        return candidate


def write_month(folder: Path, start: date, days: int, seed: int) -> list[Path]:
    """Write the campaigns (and their images) into `folder`; their paths."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    write_images(folder / "media")
    texts = _Texts()
    paths = []
    index = 0
    for day in range(days):
        for _ in range(8 if day == 0 else 3):  # about eight campaigns running on any day
            topic = TOPICS[index % len(TOPICS)]
            length = min(rng.randint(1, 4), days - day)
            text = campaign_yaml(topic, index, start + timedelta(days=day), length, rng, texts)
            path = folder / f"{topic.slug}-{index:03d}.yaml"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
            index += 1
    return paths


def campaign_yaml(
    topic: Topic, index: int, first: date, days: int, rng: random.Random, texts: _Texts
) -> str:
    accounts = rng.sample(topic.accounts, k=min(len(topic.accounts), rng.choice((1, 2, 2, 3))))
    lines = [
        f"campaign: {topic.slug}-{index:03d}",
        f"title: {topic.title} ({index})",
        "timezone: Europe/London",
        f"max_lateness: {rng.choice(LATENESS)}",
        "accounts:",
        "  x:",
        *(f"    {a}: {{handle: {ACCOUNTS[a]}}}" for a in accounts),
        "defaults:",
        "  channels: [x]",
        "variables:",
        f'  hashtag: "{topic.hashtag}"',
        "posts:",
    ]
    for day in range(days):
        moment = first + timedelta(days=day)
        for slot in _slots(rng):
            at = datetime.combine(moment, datetime.strptime(slot, "%H:%M").time())
            lines += _post_yaml(topic, at, rng, texts, accounts)
    return "\n".join(lines) + "\n"


def _slots(rng: random.Random) -> list[str]:
    """Two to four distinct times of day, the busy minutes most likely."""
    chosen: list[str] = []
    wanted = rng.randint(2, 4)
    times, weights = zip(*SLOTS, strict=True)
    while len(chosen) < wanted:
        slot = rng.choices(times, weights)[0]
        if slot not in chosen:
            chosen.append(slot)
    return sorted(chosen)


def _post_yaml(
    topic: Topic, at: datetime, rng: random.Random, texts: _Texts, accounts: list[str]
) -> list[str]:
    when = f"{at:%a} {at.day} {at:%b} {at:%H:%M}"
    line = rng.choice(topic.lines).format(when=when)
    if topic.link is not None:
        line = f"{line} {topic.link.format(slug=f'{rng.choice(NAMES)}-{rng.randrange(10**4)}')}"
    text = texts.unique(accounts, f"{line} {{{{ hashtag }}}}")
    lines = [f"  - id: p{at:%m%d-%H%M}", f"    at: {at:%Y-%m-%d %H:%M}", f"    text: {_q(text)}"]
    if rng.random() < 0.2:
        lines += ["    media:", *_media_yaml(rng, "      ")]
    replies = rng.randint(1, 4) if topic.replies and rng.random() < 0.25 else 0
    if replies:
        lines.append("    thread:")
    for number in range(2, replies + 2):
        reply = texts.unique(accounts, f"{number}/{replies + 1} {rng.choice(topic.replies)}")
        if rng.random() < 0.1:
            lines += [
                f"      - text: {_q(reply)}",
                "        media:",
                *_media_yaml(rng, "          "),
            ]
        else:
            lines.append(f"      - {_q(reply)}")
    return lines


def _media_yaml(rng: random.Random, indent: str) -> list[str]:
    lines = []
    for n in rng.sample(range(IMAGES), k=rng.randint(1, 4)):
        lines += [f"{indent}- file: media/image-{n}.png", f"{indent}  alt: {_q(f'Picture {n}')}"]
    return lines


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def write_images(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(IMAGES):
        (folder / f"image-{n}.png").write_bytes(png(8, 8, (40 * n % 256, 120, 200 - 30 * n)))


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small valid PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
