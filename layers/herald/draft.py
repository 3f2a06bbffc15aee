"""Campaign skeletons drafted from a press release: one post per headline and one per
quote, at suggested times from the release's day, with comments telling the author what to
edit. The draft is a starting point in the campaign file format, never a finished campaign:
what only a person can fill in (the account, a speaker herald could not tell) is written
`TODO`, which `herald validate` refuses until it is replaced."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from herald import textcount
from herald.problems import InputError, Problem
from herald.release import Release, ReleaseFields

SLOTS = ("08:00", "12:00", "17:00")
"""Suggested local times for the posts of one day, in order."""

_COMMENT_COLUMN = 40


PLACEHOLDER = "TODO"
"""What a draft writes where only a person can fill in: `herald validate` refuses any text,
handle or name that still holds it."""

QUOTE_EXCERPT = 200
"""At most this many characters of a quote in a drafted post (whole sentences when they fit)."""


@dataclass(frozen=True)
class DraftPost:
    id: str
    at: str
    text: str
    source: str  # what the post was drafted from, for its comment


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
    """One post per headline and one per quote (or one from the title when there are
    neither), three a day from `start`."""
    drafted: list[tuple[str, str, str]] = []  # (id, text, source)
    link = " {{ release.url }}" if release.url else ""
    for index, headline in enumerate(release.headlines):
        sentence = headline if headline[-1:] in ".!?" else headline + "."
        source = f"headline {index + 1}: {headline}"
        drafted.append((f"headline-{index + 1}", sentence + link, source))
    for index, quote in enumerate(release.quotes):
        who = (
            f"{{{{ release.quotes[{index}].speaker }}}}"
            if quote.speaker
            else f"{PLACEHOLDER}: who said this"
        )
        text = f'"{excerpt(quote.text)}" – {who}'
        source = f"quote {index + 1}, by {quote.speaker or 'a speaker herald could not tell'}"
        drafted.append((f"quote-{index + 1}", text, source))
    if not drafted:
        title = release.title or f"{PLACEHOLDER}: write the post"
        sentence = title if title[-1:] in ".!?" else title + "."
        drafted.append(("headline-1", sentence + link, f"the title: {title}"))
    posts = []
    for index, (ident, text, source) in enumerate(drafted):
        day = start + timedelta(days=index // len(SLOTS))
        at = f"{day.isoformat()} {SLOTS[index % len(SLOTS)]}"
        posts.append(DraftPost(ident, at, text, source))
    return posts


def excerpt(text: str, limit: int = QUOTE_EXCERPT) -> str:
    """The quote's first sentences that fit in `limit` characters; a first sentence longer
    than that is cut at a word, with an ellipsis."""
    out = ""
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        candidate = f"{out} {sentence}".strip()
        if len(candidate) > limit:
            break
        out = candidate
    if out:
        return out
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def draft_campaign(
    release: Release,
    release_ref: str,
    *,
    timezone: str = "Europe/London",
    account: str | None = None,
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
    if account is None:  # a placeholder account: validation refuses it until it is real
        account, handle, name = "press-office", PLACEHOLDER, f"{PLACEHOLDER}: its display name"
    else:
        handle = (re.sub(r"[^A-Za-z0-9_]", "", account) or PLACEHOLDER)[:15]
        name = account
    title = release.title or f"{PLACEHOLDER}: a short name people recognise"
    q = _quote
    out = [
        "# Campaign drafted by `herald draft` from the press release",
        f"#   {release.title or release.file}" + (f" ({release.date})" if release.date else ""),
        "# A starting point, not a campaign: edit every line marked EDIT and replace every",
        f"# {PLACEHOLDER} (herald validate refuses a campaign that still has one), then run",
        "#   herald validate THIS-FILE   and   herald preview THIS-FILE",
        "# Post texts are Jinja2 templates; `herald release RELEASE` lists the release.* fields",
        "# they can use (release.url, release.headlines[0], release.quotes[0].speaker, ...).",
        _with_comment(f"campaign: {ident}", "EDIT if you like: a unique lowercase slug"),
        _with_comment(f"title: {q(title)}", "EDIT: a short name people recognise"),
        _with_comment(f"timezone: {timezone}", "every `at` below is wall-clock time here"),
        f"release: {q(release_ref)}",
        _with_comment("max_lateness: 15m", "how late a post may still go out"),
        "accounts:",
        "  x:",
        "    # EDIT: the account's X handle (without @) and its display name",
        f"    {account}: {{handle: {q(handle)}, name: {q(name)}}}",
        "defaults:",
        "  channels: [x]",
        "# Values every template can use by name, e.g. {{ hashtag }}:",
        "# variables:",
        '#   hashtag: "#EDIT"',
        "posts:",
    ]
    for post in suggested_posts(release, start):
        out += _post_lines(post, release)
    return "\n".join(out) + "\n"


def _post_lines(post: DraftPost, release: Release) -> list[str]:
    """One drafted post, with what to edit (and its length when it is too long for X)."""
    out = [
        f"  # From {post.source}",
        "  # EDIT: rewrite it for people on X; add media (with alt text), a thread, ...",
    ]
    shown = post.text.replace("{{ release.url }}", release.url)
    for index, quote in enumerate(release.quotes):
        shown = shown.replace(f"{{{{ release.quotes[{index}].speaker }}}}", quote.speaker)
    length = textcount.weighted_length(shown)
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
    account: str | None = None,
    start: date | None = None,
    force: bool = False,
    fields: ReleaseFields | None = None,
) -> tuple[Release, str]:
    """Draft a campaign from the release at `release_path`, write it to `out` (refusing to
    replace an existing file unless `force`), and return the release and the YAML text."""
    from herald.release import load_release

    release = load_release(release_path, fields)
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
