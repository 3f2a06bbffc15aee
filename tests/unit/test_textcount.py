"""herald's X counting against X's own conformance suite (twitter-text validate.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from herald import textcount

CONFORMANCE = Path(__file__).parent.parent / "data" / "twitter-text-validate.yml"
SECTIONS = ("WeightedTweetsWithDiscountedEmojiCounterTest", "UnicodeDirectionalMarkerCounterTest")


def _cases() -> list[tuple[str, str, dict[str, object]]]:
    suite = YAML(typ="safe").load(CONFORMANCE.read_text(encoding="utf-8"))
    cases = []
    for section in SECTIONS:
        for case in suite["tests"][section]:
            cases.append((f"{section}: {case['description']}", case["text"], case["expected"]))
    return cases


CASES = _cases()


def test_the_conformance_sections_are_present() -> None:
    # Given the two sections of X's suite, When loaded, Then they hold real cases.
    assert len(CASES) > 20


@pytest.mark.parametrize(("description", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_weighted_length_matches_x_conformance(
    description: str, text: str, expected: dict[str, object]
) -> None:
    # Given a case from X's conformance suite
    # When herald counts it
    result = textcount.count(text)
    # Then the weighted length, validity and permillage are what X says
    assert result.weighted_length == expected["weightedLength"], description
    assert result.valid == expected["valid"], description
    assert result.permillage == expected["permillage"], description


def test_urls_count_23_and_emoji_and_cjk_count_2() -> None:
    # Given texts with a long URL, an emoji and CJK characters
    # When counted / Then each follows X's weights
    assert textcount.weighted_length("a https://example.com/" + "x" * 100) == 2 + 23
    assert textcount.weighted_length("🔺") == 2
    assert textcount.weighted_length("日本") == 4


def test_urls_without_a_scheme_are_found() -> None:
    # Given the release's own contact address, written without https://
    # When URLs are extracted / Then X would link it (and price the post as one with a URL)
    assert textcount.urls("report at herts.police.uk/contact or call 101") == [
        "herts.police.uk/contact"
    ]
