"""`herald draft PATH [--out FILE]`: write a campaign skeleton from a press release: a post
per headline and per quote, with `TODO` where only a person can fill in."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "draft",
        help="write a campaign skeleton from a press release",
        description="Draft a campaign file from a press release (text or Markdown; for a"
        " saved web page run `herald release PAGE --write FILE` first): one post per headline"
        " and one per quote at suggested times from the release's day, with comments saying"
        " what to edit. What only a person can fill in is TODO, which validation refuses.",
    )
    parser.add_argument("path", metavar="PATH", help="the press release file")
    parser.add_argument(
        "--out", metavar="FILE", help="write the campaign here (default: standard output)"
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        default="Europe/London",
        type=_timezone,
        help="IANA time zone of the post times (default: Europe/London)",
    )
    parser.add_argument(
        "--account",
        metavar="HANDLE",
        help="the X account that posts, its handle without @ (default: a TODO to replace)",
    )
    parser.add_argument("--title", metavar="TEXT", help="the release's title, if it has none")
    parser.add_argument("--url", metavar="URL", help="the release's web address, if it has none")
    parser.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        type=_day,
        help="first day of posts (default: the release's date)",
    )
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from herald.draft import write_draft
    from herald.release import ReleaseFields

    out = Path(args.out) if args.out else None
    release, text = write_draft(
        Path(args.path),
        out,
        timezone=args.timezone,
        account=args.account,
        start=args.date,
        force=args.force,
        fields=ReleaseFields(title=args.title, url=args.url),
    )
    for notice in release.notices:
        print(notice, file=sys.stderr)
    if out is None:
        sys.stdout.write(text)
    else:
        todo = sum(
            line.count("TODO") for line in text.splitlines() if not line.lstrip().startswith("#")
        )
        left = f"; replace each TODO ({todo}) before it validates" if todo else ""
        print(f"wrote {out}: {text.count('  - id: ')} posts to edit{left}", file=sys.stderr)
    return 0


def _timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown time zone {name!r} (e.g. Europe/London)"
        ) from None
    return name


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2021-02-09") from None
