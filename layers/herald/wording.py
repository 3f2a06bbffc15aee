"""How herald words days and counts for people, on the pages and in the terminal."""

from __future__ import annotations

from datetime import date


def day_label(day: date) -> str:
    """`Tuesday 9 February 2021`."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 post`, `2 posts`; `words` for a plural that is not `word` + s."""
    return f"{count} {word}" if count == 1 else f"{count} {words or word + 's'}"
