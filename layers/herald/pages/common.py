"""What both pages share: the template environment and its frame, the palette, post text
marked up as its network shows it, and writing a page to a file."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup, escape

from herald.timeutil import format_utc
from herald.wording import plural

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Every colour the pages use, as (text, background) pairs that appear together. Unit tests
# hold each pair to WCAG AA (contrast >= 4.5:1); the CSS gets them as custom properties
# `--<name>-fg` and `--<name>-bg` and uses no other colour for text.
PALETTE: dict[str, tuple[str, str]] = {
    "page": ("#1b1f24", "#f2f4f6"),  # body text on the page
    "page-muted": ("#4b5560", "#f2f4f6"),  # secondary text on the page
    "page-link": ("#0a4f94", "#f2f4f6"),  # links on the page
    "card": ("#0f1419", "#ffffff"),  # a post as X shows it
    "muted": ("#536471", "#ffffff"),  # handle, times and counts on a card
    "link": ("#0b5aa6", "#ffffff"),  # links, hashtags and mentions on a card
    "card-error": ("#8f1116", "#ffffff"),  # a length over the limit, on a card
    "warning": ("#5e3b00", "#fff1c7"),
    "error": ("#8f1116", "#fde7e7"),
    "running": ("#0d4f24", "#e1f3e6"),
    "paused": ("#ffffff", "#a3161b"),
    "sent": ("#0d4f24", "#e1f3e6"),
    "failed": ("#8f1116", "#fde7e7"),
    "unknown": ("#4a2f00", "#ffd666"),
    "skipped": ("#36404a", "#e6e9ec"),
    "missed": ("#7a0f3d", "#fbe2ec"),
    "scheduled": ("#173f73", "#e4edf9"),
    "due": ("#44237a", "#eee7fa"),
    "in-progress": ("#0f4a52", "#def2f4"),
}

# Lines and borders only (not text): kept distinct from PALETTE so tests know what is text.
RULE = "#c4ccd4"
FOCUS = "#0a4f94"

_HASHTAG = re.compile(r"(?<![\w&])[#＃](?![\ufe0f\u20e3])(?P<tag>\w++)(?![#＃]|://)")
_MENTION = re.compile(
    r"(?<![A-Za-z0-9_!#$%&*@＠])[@＠](?P<handle>[A-Za-z0-9_]{1,15}+)(?![A-Za-z0-9_@＠]|://)"
)
_ENTITY = re.compile(f"{_HASHTAG.pattern}|{_MENTION.pattern}")
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)
_CODE = re.compile(r"`([^`]+)`")


Href = Callable[[str], str | None]  # where a hashtag or a mention links to (None: nowhere)


def x_hashtag(tag: str) -> str:
    return f"https://x.com/hashtag/{quote(tag)}"


def x_mention(handle: str) -> str:
    return f"https://x.com/{handle}"


def network_links(channel: str, account: Any) -> tuple[Href, Href]:
    """Where hashtags and mentions link on `channel`, for the campaign's `account` (its
    settings: a Mastodon account's instance)."""
    from herald.channels.rules import rules_for

    rules, settings = rules_for(channel), account.settings
    return (
        lambda tag: rules.hashtag_link(tag, settings),
        lambda handle: rules.mention_link(handle, settings),
    )


def linkify(text: str, hashtag: Href = x_hashtag, mention: Href = x_mention) -> Markup:
    """A post's text as HTML, marked up as its network shows it: URLs link to themselves,
    hashtags and mentions where `hashtag` and `mention` say (X's search and accounts by
    default); everything else escaped."""
    from herald import textcount

    textcount.urls("")  # loads twitter-text (its URL rules are X's own)
    from twitter_text import extract_urls_with_indices

    pieces: list[str] = []
    position = 0
    for found in extract_urls_with_indices(text):
        start, end = found["indices"]
        pieces.append(_entities(text, position, start, hashtag, mention))
        url = text[start:end]
        href = url if _SCHEME.match(url) else f"https://{url}"
        pieces.append(f'<a class="url" href="{escape(href)}">{escape(url)}</a>')
        position = end
    pieces.append(_entities(text, position, len(text), hashtag, mention))
    return Markup("".join(pieces))


def _entities(text: str, start: int, end: int, hashtag: Href, mention: Href) -> str:
    """Hashtags and mentions in text[start:end] as links; the rest escaped."""
    pieces: list[str] = []
    position = start
    for match in _ENTITY.finditer(text, start, end):
        tag, handle = match.group("tag"), match.group("handle")
        if tag is not None and not any(c.isalpha() for c in tag):
            continue  # '#2021' is not a hashtag on X
        href = hashtag(tag) if tag is not None else mention(handle)
        if href is None:
            continue  # not linked on this network: left as text
        pieces.append(str(escape(text[position : match.start()])))
        shown = escape(match.group(0))
        kind = "hashtag" if tag is not None else "mention"
        pieces.append(f'<a class="{kind}" href="{escape(href)}">{shown}</a>')
        position = match.end()
    pieces.append(str(escape(text[position:end])))
    return "".join(pieces)


def code_spans(text: str) -> Markup:
    """Text escaped, with `backquoted` commands shown as code."""
    pieces = _CODE.split(text)
    return Markup("").join(
        Markup("<code>{}</code>").format(p) if odd else escape(p)
        for odd, p in ((i % 2 == 1, p) for i, p in enumerate(pieces))
    )


def web_link(url: str | None) -> str | None:
    """`url` when a page may link to it (http or https), else None."""
    return url if url and _SCHEME.match(url) else None


def anchor(*parts: str) -> str:
    """An id for an element of a page, made of `parts` (a delivery's key, say)."""
    return "--".join(re.sub(r"[^A-Za-z0-9_-]", "-", p) for p in parts)


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["palette"] = PALETTE
    env.globals["rule"] = RULE
    env.globals["focus"] = FOCUS
    env.globals["plural"] = plural
    env.filters["utc"] = format_utc
    env.filters["code"] = code_spans
    return env


def render(template: str, **context: Any) -> str:
    """The page made from `template` (in TEMPLATES) with `context`."""
    return _environment().get_template(template).render(**context)


def write(path: Path, page: str) -> None:
    """Write `page` to `path`, making its folder if need be."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
