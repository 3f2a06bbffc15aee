"""Counting what a reader sees as one character: Unicode extended grapheme clusters
(UAX #29), as Bluesky and Mastodon count a post's length.

Segmented by `wcwidth.iter_graphemes` (Unicode 16, Indic conjuncts included). wcwidth is
already in the Lambda layer (ftfy needs it), so the count costs no new dependency; it is
imported only when a text is measured, never on an idle tick.
"""

from __future__ import annotations


def count(text: str) -> int:
    """How many user-perceived characters `text` has: 👨‍👩‍👧‍👦 is one, so is é written as e
    and a combining accent, and so is a flag."""
    from wcwidth import iter_graphemes

    return sum(1 for _ in iter_graphemes(text))
