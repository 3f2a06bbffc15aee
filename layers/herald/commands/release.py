"""`herald release PATH [--json]`: show what herald reads from a press release, i.e. the
`release.*` fields campaign templates can use, with repaired-text warnings on stderr."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from herald.release import Release


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "release",
        help="show the fields read from a press release (what templates see as release.*)",
        description="Read a press release (```yaml front matter, then Markdown) and print "
        "the fields campaign templates can use as release.*.",
    )
    parser.add_argument("path", metavar="PATH", help="the press release file")
    parser.add_argument("--json", action="store_true", help="print the fields as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from herald.release import load_release

    release = load_release(Path(args.path))
    for warning in release.warnings:
        print(warning, file=sys.stderr)
    if args.json:
        import json

        document = {"file": release.file, **release.context()}
        document["warnings"] = [str(w) for w in release.warnings]
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(describe(release))
    return 0


def describe(release: Release) -> str:
    """The release as a person reads it: each field, then the lists, numbered for templates."""
    import textwrap

    def wrapped(text: str, indent: str, hang: str = "") -> list[str]:
        more = indent + hang
        return textwrap.wrap(text, 96, initial_indent=indent, subsequent_indent=more) or [""]

    date = release.date + (f" ({release.date_iso})" if release.date_iso else " (not a date)")
    lines = [
        f"file:        {release.file}",
        f"title:       {release.title}",
        f"url:         {release.url}",
        f"date:        {date}",
        f"area:        {release.area}",
        *textwrap.wrap(
            release.description, 96, initial_indent="description: ", subsequent_indent=" " * 13
        ),
    ]
    lines.append(f"headlines:   ({len(release.headlines)})")
    for index, headline in enumerate(release.headlines):
        lines += wrapped(f"[{index}] {headline}", "  ", "    ")
    lines.append(f"quotes:      ({len(release.quotes)})")
    for index, quote in enumerate(release.quotes):
        who = quote.speaker + (f", {quote.role}" if quote.role else "")
        lines += wrapped(f"[{index}] {who} (line {quote.line}):", "  ", "    ")
        lines += wrapped(f'"{quote.text}"', "      ")
    lines.append(f"contacts:    ({len(release.contacts)})")
    for index, contact in enumerate(release.contacts):
        detail = f": {contact.detail}" if contact.detail else ""
        lines.append(f"  [{index}] {contact.kind:<14} {contact.name}{detail}")
    lines.append(f"paragraphs:  ({len(release.paragraphs)})")
    for index, paragraph in enumerate(release.paragraphs):
        lines += wrapped(f"[{index}] {paragraph}", "  ", "    ")
    return "\n".join(lines)
