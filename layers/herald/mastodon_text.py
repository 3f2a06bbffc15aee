"""Mastodon's status length, as the server counts it against the instance's limit.

Mastodon counts grapheme clusters (what a reader sees as one character: a family emoji, a
flag, a letter with its accent). Before counting, every URL is replaced by 23 characters
whatever its length, and a remote mention (`@user@domain`) counts only its `@user` part.
Graphemes are counted by herald.graphemes (UAX #29 extended grapheme clusters), the same
count as Bluesky's. Counting is for validation and preview, never on the idle tick.
"""

from __future__ import annotations

import re

DEFAULT_MAX_CHARACTERS = 500  # an instance's `max_characters` unless it says otherwise
URL_LENGTH = 23

# A link as Mastodon links it: a scheme, then anything but white space, without the
# punctuation that ends a sentence.
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\")]"
_REMOTE_MENTION = re.compile(r"(^|[^/\w])@(([a-z0-9_]+)@[a-z0-9.\-]+[a-z0-9]+)", re.IGNORECASE)


def urls(text: str) -> list[str]:
    """The URLs Mastodon links in `text`, in order."""
    found = []
    for match in _URL.finditer(text):
        found.append(match.group().rstrip(_URL_TRAILING))
    return found


def countable(text: str) -> str:
    """`text` as Mastodon measures it: each URL as 23 x's, each remote mention as @user."""
    out, position = [], 0
    for match in _URL.finditer(text):
        end = match.start() + len(match.group().rstrip(_URL_TRAILING))
        out.append(text[position : match.start()])
        out.append("x" * URL_LENGTH)
        position = end
    out.append(text[position:])
    return _REMOTE_MENTION.sub(r"\1@\3", "".join(out))


def status_length(text: str) -> int:
    """The length Mastodon counts for a status's text."""
    from herald import graphemes

    return graphemes.count(countable(text))
