"""Rendering: the one function that makes the text a channel publishes. Sandboxed (nothing
reaches Python internals or changes a value), strict (a missing name is an error), not
HTML (no escaping), with the names the campaign format promises."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from herald.campaign import Campaign, load_campaign
from herald.render import RenderError, render, source

DATA = Path(__file__).resolve().parents[1] / "data" / "campaigns"
RELEASE = DATA / "valid" / "releases" / "demo-day-2021.md"


def campaign_with(
    tmp_path: Path,
    text: str,
    *,
    variables: str = '{hashtag: "#DemoDay", items: [1, 2, 3], facts: {a: 1}}',
    release: bool = True,
    extra: str = "",
) -> Campaign:
    """A one-post campaign whose text is `text` (a YAML value), loaded for real."""
    releases = tmp_path / "releases"
    releases.mkdir(exist_ok=True)
    shutil.copy(RELEASE, releases / "demo.md")
    path = tmp_path / "c.yaml"
    path.write_text(
        "campaign: render-demo\n"
        "title: Render demo\n"
        "timezone: Europe/London\n"
        + ("release: releases/demo.md\n" if release else "")
        + "accounts:\n"
        "  x:\n"
        "    herald: {handle: HeraldDemo}\n"
        f"variables: {variables}\n"
        "posts:\n"
        "  - id: launch\n"
        "    at: 2021-03-29 09:00\n"
        f"    text: {text}\n" + extra
    )
    result = load_campaign(path)
    assert result.campaign is not None, result.problems
    return result.campaign


def rendered(campaign: Campaign, part: int = 0, channel: str = "x") -> str:
    post = campaign.posts[0]
    return render(campaign, post, post.parts[part], channel)


# ---- the sandbox -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "\"{{ ''.__class__ }}\"",
        "\"{{ ''.__class__.__mro__[1].__subclasses__() }}\"",
        '"{{ items.__len__() }}"',
        '"{{ cycler.__init__.__globals__ }}"',
        "\"{{ lipsum.__globals__['os'] }}\"",
        '"{{ release.__class__ }}"',
        '"{{ post.at.__class__ }}"',
    ],
)
def test_python_internals_are_out_of_reach(tmp_path: Path, template: str) -> None:
    # Given a template that reaches for an attribute starting with "_"
    campaign = campaign_with(tmp_path, template)
    # When it is rendered / Then it is refused, and the message shows no Python object
    with pytest.raises(RenderError, match="the template does something templates may not do"):
        rendered(campaign)


@pytest.mark.parametrize(
    "template",
    [
        '"{{ items.append(4) }}"',
        '"{% set _ = items.pop() %}ok"',
        "\"{{ facts.update({'b': 2}) }}\"",
        '"{{ facts.clear() }}"',
    ],
)
def test_lists_and_mappings_cannot_be_changed(tmp_path: Path, template: str) -> None:
    # Given a template that tries to change a campaign variable
    campaign = campaign_with(tmp_path, template)
    # When it is rendered
    with pytest.raises(RenderError, match="unsafe"):
        rendered(campaign)
    # Then it is refused, and the variables are as the file says
    assert campaign.variables["items"] == [1, 2, 3]
    assert campaign.variables["facts"] == {"a": 1}


def test_reading_lists_and_mappings_is_allowed(tmp_path: Path) -> None:
    # Given a template that only reads variables
    campaign = campaign_with(
        tmp_path, "\"{{ items | join(', ') }} / {{ facts.a }} / {{ items[-1] }}\""
    )
    # When it is rendered / Then it reads them
    assert rendered(campaign) == "1, 2, 3 / 1 / 3"


def test_huge_repetition_is_refused_and_small_repetition_works(tmp_path: Path) -> None:
    # Given templates that repeat text a little, and enormously
    small = campaign_with(tmp_path, "\"{{ '=' * 3 }} {{ 2 ** 10 }}\"")
    huge = campaign_with(tmp_path, "\"{{ 'lol' * 100000000 }}\"")
    power = campaign_with(tmp_path, '"{{ 7 ** 99999999 }}"')
    # When they are rendered / Then the small ones render and the huge ones are refused
    assert rendered(small) == "=== 1024"
    with pytest.raises(RenderError, match="would make more than 10,000 items"):
        rendered(huge)
    with pytest.raises(RenderError, match="would make a number too big to print"):
        rendered(power)


def test_template_that_calls_itself_forever_is_refused(tmp_path: Path) -> None:
    # Given a macro that calls itself without end
    campaign = campaign_with(tmp_path, '"{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"')
    # When it is rendered / Then it is refused with a sentence, not a RecursionError
    with pytest.raises(RenderError, match="the template calls itself without end"):
        rendered(campaign)


# ---- strictness --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ('"Hello {{ hashtagg }}"', "the template uses 'hashtagg', which is not defined"),
        ('"Hello {{ hashtagg }}"', "(did you mean 'hashtag'?)"),
        ('"Hello {{ nothing_like_it }}"', "(add it under variables:)"),
        ('"{% if nope %}x{% endif %}"', "'nope', which is not defined"),
        ('"{{ nope | upper }}"', "'nope', which is not defined"),
        ('"{{ release.subtitle }}"', "'subtitle', which is not defined there"),
        ('"{{ campaign.owner }}"', "'owner', which is not defined there"),
    ],
)
def test_undefined_names_are_errors_never_empty_text(
    tmp_path: Path, template: str, words: str
) -> None:
    # Given a template that uses a name the campaign does not define
    campaign = campaign_with(tmp_path, template)
    # When it is rendered / Then it is refused, naming what is missing
    with pytest.raises(RenderError) as caught:
        rendered(campaign)
    assert words in str(caught.value)


def test_release_without_a_release_says_so(tmp_path: Path) -> None:
    # Given a campaign with no release whose text uses release.title
    campaign = campaign_with(tmp_path, '"{{ release.title }}"', release=False)
    # When it is rendered / Then the message says the campaign names no release
    with pytest.raises(RenderError, match="the campaign names no release"):
        rendered(campaign)


def test_syntax_errors_carry_the_line_within_the_template(tmp_path: Path) -> None:
    # Given a broken tag on the third line of a template
    campaign = campaign_with(tmp_path, "|-\n      one\n      two\n      {{ oops( }}")
    # When it is rendered / Then the error says which line of the template it is on
    with pytest.raises(RenderError, match="the template cannot be read") as caught:
        rendered(campaign)
    assert caught.value.line_offset == 2


# ---- output ------------------------------------------------------------------------------------


def test_no_autoescape_text_stays_as_written(tmp_path: Path) -> None:
    # Given text and a variable with HTML-looking characters
    campaign = campaign_with(
        tmp_path,
        '"<b>&</b> {{ tag }} \'quotes\' \\"double\\""',
        variables="{tag: '<i>Q&A</i>'}",
    )
    # When it is rendered / Then nothing is escaped: posts are not HTML
    assert rendered(campaign) == "<b>&</b> <i>Q&A</i> 'quotes' \"double\""


def test_trailing_and_leading_whitespace_is_stripped(tmp_path: Path) -> None:
    # Given a `|` block (which keeps a final newline) with spaces and blank lines at the end
    campaign = campaign_with(tmp_path, "|\n      Hello {{ hashtag }}   \n\n      ", extra="")
    # When it is rendered / Then the published text has no whitespace around it
    assert rendered(campaign) == "Hello #DemoDay"


def test_inner_line_breaks_are_kept(tmp_path: Path) -> None:
    # Given a two-line `|-` block / Then the line break between them is published
    campaign = campaign_with(tmp_path, "|-\n      One\n      Two")
    assert rendered(campaign) == "One\nTwo"


def test_context_names(tmp_path: Path) -> None:
    # Given a template that uses every name the format promises
    campaign = campaign_with(
        tmp_path,
        '"{{ release.title }}|{{ release.url }}|{{ campaign.id }}|{{ campaign.title }}|'
        "{{ campaign.timezone }}|{{ post.id }}|{{ post.part }}|{{ post.at.strftime('%H:%M %Z') }}|"
        '{{ hashtag }}"',
    )
    # When it is rendered / Then each name has its value
    assert rendered(campaign).split("|") == [
        "Demo Day 2021",
        "https://example.org/news/demo-day-2021",
        "render-demo",
        "Render demo",
        "Europe/London",
        "launch",
        "1",
        "09:00 BST",
        "#DemoDay",
    ]


def test_thread_parts_know_their_number(tmp_path: Path) -> None:
    # Given a thread whose follow-up uses post.id and post.part
    campaign = campaign_with(
        tmp_path,
        '"First {{ post.part }}"',
        extra='    thread:\n      - "{{ post.id }} part {{ post.part }}"\n',
    )
    # When both parts are rendered / Then each sees the post's id and its own number
    assert rendered(campaign, 0) == "First 1"
    assert rendered(campaign, 1) == "launch part 2"


def test_override_is_used_for_its_channel_only(tmp_path: Path) -> None:
    # Given a post with an override for X
    campaign = campaign_with(
        tmp_path,
        '"Everywhere {{ hashtag }}"',
        extra='    overrides:\n      x: "On X {{ hashtag }}"\n',
    )
    part = campaign.posts[0].parts[0]
    # When it is rendered for X, and its source looked up for a channel without an override
    # Then X gets the override, and any other channel the post's own text
    assert rendered(campaign, channel="x") == "On X #DemoDay"
    assert source(part, "x") == "On X {{ hashtag }}"
    assert source(part, "mastodon") == "Everywhere {{ hashtag }}"


def test_rendering_is_the_same_every_time(tmp_path: Path) -> None:
    # Given one part / When it is rendered twice / Then the text is identical (what is
    # validated is what is sent)
    campaign = campaign_with(tmp_path, '"{{ hashtag }} {{ post.at.isoformat() }}"')
    assert rendered(campaign) == rendered(campaign) == "#DemoDay 2021-03-29T09:00:00+01:00"
