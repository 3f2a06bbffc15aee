"""A Bluesky post on the pages as Bluesky shows it: exactly the links, tags and mentions
herald sends as facets (herald.channels.bluesky_facets) are links, the rest is text."""

from __future__ import annotations

from urllib.parse import quote

from markupsafe import Markup, escape

PROFILE = "https://bsky.app/profile/"


def profile_url(handle: str) -> str:
    return PROFILE + quote(handle)


def linkify(text: str) -> Markup:
    """`text` as HTML: each facet of it a link (a tag to Bluesky's tag search, a mention to
    the profile), everything else escaped."""
    from herald.channels.bluesky_facets import Kind, find_spans

    pieces: list[str] = []
    position = 0
    for span in find_spans(text):
        pieces.append(str(escape(text[position : span.start])))
        shown = escape(text[span.start : span.end])
        if span.kind is Kind.LINK:
            pieces.append(f'<a class="url" href="{escape(span.value)}">{shown}</a>')
        elif span.kind is Kind.TAG:
            href = f"https://bsky.app/hashtag/{quote(span.value)}"
            pieces.append(f'<a class="hashtag" href="{href}">{shown}</a>')
        else:
            pieces.append(f'<a class="mention" href="{profile_url(span.value)}">{shown}</a>')
        position = span.end
    pieces.append(str(escape(text[position:])))
    return Markup("".join(pieces))
