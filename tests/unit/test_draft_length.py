"""A drafted post too long for X says so, counted as X counts (twitter-text weighting)."""

from __future__ import annotations

from herald.draft import draft_campaign
from herald.release import parse_release
from herald.textcount import X_LIMIT

LONG_URL = "https://example.org/" + "a" * 100


def _draft(headline: str) -> str:
    release = parse_release(
        f"```yaml\ntitle: T\nurl: {LONG_URL}\ndate: 2021-02-09\n```\n* ### {headline}\n", "r.md"
    )
    return draft_campaign(release, "r.md")


def test_a_post_over_the_limit_is_marked_with_its_length() -> None:
    # Given a headline of 300 letters (301 with its full stop, 325 with the link)
    # When it is drafted
    text = _draft("a" * 300)

    # Then the post carries a comment with its length on X against the limit
    assert f"  # EDIT: too long for X: 325 of {X_LIMIT} characters" in text.splitlines()


def test_a_link_counts_as_x_counts_it_not_by_its_letters() -> None:
    # Given a headline that fits only because X counts any link as 23 characters
    # (250 letters, a full stop, a space and the link: 275 on X, 372 letters)
    # When it is drafted
    text = _draft("a" * 250)

    # Then no length comment is added
    assert "too long for X" not in text
