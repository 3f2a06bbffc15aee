"""`herald release PATH [--title T] [--url U] [--date D] [--write [FILE]] [--json]`: read a
press release as it is (plain text, Markdown with or without front matter, a saved web
page) and show what campaign templates can use as `release.*`; warnings on stderr say what
could not be found or read. `--write` saves it as a normalised release file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from herald.release import Release, ReleaseFields


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "release",
        help="read a press release (text, Markdown or a saved web page); show release.*",
        description="Read a press release as it is: plain text copied from a web page (its"
        " title on the first line, or none), Markdown with or without ```yaml front matter,"
        " or a saved web page (.html). Print the fields campaign templates can use as"
        " release.*; warnings say what herald could not find or read. --write saves the"
        " release as a file with front matter, ready for `herald draft`.",
    )
    parser.add_argument("path", metavar="PATH", help="the press release file")
    add_field_options(parser)
    parser.add_argument(
        "--write",
        nargs="?",
        const="",
        metavar="FILE",
        help="save the release as Markdown with its front matter (default: PATH with .md)",
    )
    parser.add_argument("--force", action="store_true", help="let --write replace a file")
    parser.add_argument("--json", action="store_true", help="print the fields as JSON")
    parser.set_defaults(run=run)


def add_field_options(parser: argparse.ArgumentParser) -> None:
    """`--title`, `--url`, `--date`: fields the release file lacks (or gets wrong)."""
    parser.add_argument("--title", metavar="TEXT", help="the release's title")
    parser.add_argument("--url", metavar="URL", help="the release's web address")
    parser.add_argument(
        "--date",
        dest="release_date",
        metavar="DATE",
        help="the release's date, e.g. 07/12/2026 (day first) or 2026-12-07",
    )


def fields_from(args: argparse.Namespace) -> ReleaseFields:
    from herald.release import ReleaseFields

    return ReleaseFields(title=args.title, url=args.url, date=args.release_date)


def run(args: argparse.Namespace) -> int:
    from herald.release import load_release

    path = Path(args.path)
    release = load_release(path, fields_from(args), html=True)
    for notice in release.notices:
        print(notice, file=sys.stderr)
    if args.write is not None:
        written = write_release(release, path, Path(args.write) if args.write else None, args.force)
        print(
            f"wrote {written}: {_counted(release)}. Next: herald draft {written}"
            " --out campaigns/NAME.yaml",
            file=sys.stderr,
        )
    if args.json:
        import json

        document = {"file": release.file, "source": release.source, **release.context()}
        document["warnings"] = [str(w) for w in release.notices]
        print(json.dumps(document, ensure_ascii=False, indent=2))
    elif args.write is None:
        print(describe(release))
    return 0


def write_release(release: Release, source: Path, target: Path | None, force: bool) -> Path:
    """Save `release` normalised; never replace the file it was read from or an existing
    file unless `force`."""
    from herald.problems import InputError, Problem
    from herald.release import to_markdown

    target = target or source.with_suffix(".md")
    if target.resolve() == source.resolve() and not force:
        message = "is the file the release was read from: name another --write FILE (or --force)"
        raise InputError([Problem(str(target), 1, message)])
    try:
        with target.open("w" if force else "x", encoding="utf-8") as handle:
            handle.write(to_markdown(release))
    except FileExistsError:
        message = "already exists; not replacing it (use --force to overwrite)"
        raise InputError([Problem(str(target), 1, message)]) from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError([Problem(str(target), 1, f"cannot write the release: {reason}")]) from None
    return target


def _counted(release: Release) -> str:
    from herald.wording import plural

    return (
        f"{plural(len(release.headlines), 'headline')}, {plural(len(release.quotes), 'quote')},"
        f" {plural(len(release.paragraphs), 'paragraph')}"
    )


def describe(release: Release) -> str:
    """The release as a person reads it: each field, then the lists, numbered for templates."""
    import textwrap

    def wrapped(text: str, indent: str, hang: str = "") -> list[str]:
        more = indent + hang
        return textwrap.wrap(text, 96, initial_indent=indent, subsequent_indent=more) or [""]

    if release.date_iso:
        date = release.date + (f" ({release.date_iso})" if release.date != release.date_iso else "")
    else:
        date = f"{release.date} (cannot be read: see the warning)" if release.date else "(none)"
    lines = [
        f"file:        {release.file} (read as {release.source})",
        f"title:       {release.title or '(none)'}",
        f"url:         {release.url or '(none)'}",
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
        who = (quote.speaker or "(speaker unclear)") + (f", {quote.role}" if quote.role else "")
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
