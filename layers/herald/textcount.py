"""X's weighted character count, from twitter-text (the library X publishes the rules for).

URLs count 23 whatever their length; emoji and CJK count 2; most Latin text counts 1.
Imported lazily: counting is for validation and preview, never on the idle tick.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from functools import cache
from types import ModuleType

X_LIMIT = 280


@cache
def _twitter_text() -> ModuleType:
    with warnings.catch_warnings():
        # twitter-text-parser loads its emoji table through the deprecated pkg_resources.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        import twitter_text
    return twitter_text


@cache
def _url_extractor() -> ModuleType:
    _twitter_text()
    return importlib.import_module("twitter_text.extract_urls")


@dataclass(frozen=True)
class Count:
    """What X makes of a text: its weighted length and whether X would accept it."""

    weighted_length: int
    valid: bool
    permillage: int
    valid_range_end: int


def count(text: str) -> Count:
    result = _twitter_text().parse_tweet(text)
    return Count(
        weighted_length=result.weightedLength,
        valid=result.valid,
        permillage=result.permillage,
        valid_range_end=result.validRangeEnd,
    )


def weighted_length(text: str) -> int:
    return count(text).weighted_length


def urls(text: str) -> list[str]:
    """The URLs X will link (and price as a post with a URL), with or without a scheme."""
    return list(_url_extractor().extract_urls(text))
