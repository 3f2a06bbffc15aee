"""A Bluesky post's two limits, counted as the server counts them: at most 300 graphemes
(Unicode extended grapheme clusters, UAX #29) and at most 3,000 UTF-8 bytes.

Graphemes are counted by herald.graphemes (UAX #29 extended grapheme clusters, as Node 22's
Intl.Segmenter that the server uses).
"""

from __future__ import annotations

MAX_GRAPHEMES = 300
MAX_BYTES = 3000


def graphemes(text: str) -> int:
    """How many user-perceived characters `text` has: 👨‍👩‍👧‍👦 is one, so is é written as e
    and a combining accent, and so is a flag."""
    from herald import graphemes as segmenter

    return segmenter.count(text)


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))
