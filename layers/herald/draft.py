"""Campaign skeletons drafted from a press release: one post per headline, at suggested
times on the release's day, with comments telling the author what to edit. The draft is a
starting point in the campaign file format, never a finished campaign."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from herald import textcount
from herald.problems import InputError, Problem
from herald.release import Release

SLOTS = ("08:00", "12:00", "17:00")
"""Suggested local times for the posts of one day, in order."""

_COMMENT_COLUMN = 40


@dataclass(frozen=True)
class DraftPost:
    id: str
    at: str
    text: str
    headline: str


def slug(text: str, limit: int = 48) -> str:
    """A lowercase slug (`a-z0-9` words joined by `-`), cut at a word boundary."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out or (words[0][:limit] if words else "")


def suggested_posts(release: Release, start: date) -> list[DraftPost]:
    """One post per headline (or one from the title when there are none), three a day."""
    headlines = list(release.headlines) or [release.title]
    posts = []
    for index, headline in enumerate(headlines):
        day = start + timedelta(days=index // len(SLOTS))
        at = f"{day.isoformat()} {SLOTS[index % len(SLOTS)]}"
        sentence = headline if headline[-1:] in ".!?" else headline + "."
        text = sentence + " {{ release.url }}" if release.url else sentence
        posts.append(DraftPost(f"headline-{index + 1}", at, text, headline))
    return posts


def draft_campaign(
    release: Release,
    release_ref: str,
    *,
    timezone: str = "Europe/London",
    account: str = "press-office",
    campaign_id: str | None = None,
    start: date | None = None,
) -> str:
    """The YAML text of a campaign skeleton for `release`.

    `release_ref` is the release's path as the campaign file should name it (relative to
    the campaign file). `start` is the first day of posts; by default the release's date.
    """
    if start is None:
        if release.date_iso is None:
            shown = repr(release.date) if release.date else "none"
            message = (
                f"the release's date ({shown}) is not one herald can read; "
                "give the first day of posts with --date YYYY-MM-DD"
            )
            raise InputError([Problem(release.file, 1, message)])
        start = date.fromisoformat(release.date_iso)
    ident = campaign_id or slug(Path(release_ref).stem) or slug(release.title) or "campaign"
    handle = (re.sub(r"[^A-Za-z0-9_]", "", account) or "EDIT")[:15]
    q = _quote
    out = [
        "# Campaign drafted by `herald draft` from the press release",
        f"#   {release.title}" + (f" ({release.date})" if release.date else ""),
        "# A starting point, not a campaign: edit every line marked EDIT, then run",
        "#   herald validate THIS-FILE   and   herald preview THIS-FILE",
        "# Post texts are Jinja2 templates; `herald release RELEASE` lists the release.* fields",
        "# they can use (release.url, release.headlines[0], release.quotes[0].speaker, ...).",
        _with_comment(f"campaign: {ident}", "EDIT if you like: a unique lowercase slug"),
        _with_comment(f"title: {q(release.title)}", "EDIT: a short name people recognise"),
        _with_comment(f"timezone: {timezone}", "every `at` below is wall-clock time here"),
        f"release: {q(release_ref)}",
        _with_comment("max_lateness: 15m", "how late a post may still go out"),
        "accounts:",
        "  x:",
        "    # EDIT: the account's X handle (without @) and its display name",
        f"    {account}: {{handle: {q(handle)}, name: {q(account)}}}",
        "defaults:",
        "  channels: [x]",
        "# Values every template can use by name, e.g. {{ hashtag }}:",
        "# variables:",
        '#   hashtag: "#EDIT"',
        "posts:",
    ]
    for number, post in enumerate(suggested_posts(release, start), start=1):
        out += _post_lines(number, post, release)
    return "\n".join(out) + "\n"


def _post_lines(number: int, post: DraftPost, release: Release) -> list[str]:
    """One drafted post, with what to edit (and its length when it is too long for X)."""
    out = [
        f"  # From headline {number}: {post.headline}",
        "  # EDIT: rewrite it for people on X; add media (with alt text), a thread, ...",
    ]
    length = textcount.weighted_length(post.text.replace("{{ release.url }}", release.url))
    if length > textcount.X_LIMIT:
        out.append(f"  # EDIT: too long for X: {length} of {textcount.X_LIMIT} characters")
    return [
        *out,
        _with_comment(f"  - id: {post.id}", "names the post in the ledger: keep it once sent"),
        _with_comment(f"    at: {post.at}", "EDIT: when it should go out"),
        f"    text: {_quote(post.text)}",
    ]


def write_draft(
    release_path: Path,
    out: Path | None,
    *,
    timezone: str = "Europe/London",
    account: str = "press-office",
    start: date | None = None,
    force: bool = False,
) -> tuple[Release, str]:
    """Draft a campaign from the release at `release_path`, write it to `out` (refusing to
    replace an existing file unless `force`), and return the release and the YAML text."""
    from herald.release import load_release

    release = load_release(release_path)
    base = out.resolve().parent if out is not None else Path.cwd()
    ref = Path(os.path.relpath(release_path.resolve(), base)).as_posix()
    text = draft_campaign(release, ref, timezone=timezone, account=account, start=start)
    if out is not None:
        try:
            with out.open("w" if force else "x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            message = "already exists; not replacing it (use --force to overwrite)"
            raise InputError([Problem(str(out), 1, message)]) from None
        except OSError as error:
            reason = error.strerror or str(error)
            raise InputError([Problem(str(out), 1, f"cannot write the draft: {reason}")]) from None
    return release, text


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _with_comment(line: str, comment: str) -> str:
    return f"{line.ljust(_COMMENT_COLUMN - 1)} # {comment}"
