"""What both pages share, without a browser: a post's text marked up as X shows it with
everything else escaped, and a palette that meets WCAG AA."""

from __future__ import annotations

import re

import pytest

from herald.pages.common import PALETTE, TEMPLATES, linkify, web_link

# ---- marking up a post ----------------------------------------------------------------


def test_linkify_escapes_everything_it_does_not_mark() -> None:
    # Given a text with markup, quotes and ampersands
    text = "<script>alert(\"x\")</script> & 'q' <img src=x onerror=alert(1)>"

    # When it is marked up
    html = str(linkify(text))

    # Then no tag survives: everything shows as text
    assert "<" not in html.replace("&lt;", "")
    assert html.startswith("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39;")


def test_linkify_marks_urls_hashtags_and_mentions() -> None:
    # Given a post with a URL (with a query), a URL without scheme, a hashtag and a mention
    text = "Read https://example.org/a?b=1&c=2 and www.example.com. #SaferInternetDay @UK_SIC!"

    # When it is marked up
    html = str(linkify(text))

    # Then each is a link as X makes it, and the rest is untouched text
    assert html == (
        'Read <a class="url" href="https://example.org/a?b=1&amp;c=2">'
        "https://example.org/a?b=1&amp;c=2</a> and "
        '<a class="url" href="https://www.example.com">www.example.com</a>. '
        '<a class="hashtag" href="https://x.com/hashtag/SaferInternetDay">#SaferInternetDay</a> '
        '<a class="mention" href="https://x.com/UK_SIC">@UK_SIC</a>!'
    )


@pytest.mark.parametrize(
    "text",
    [
        "write to me@example.org",  # an e-mail address, not a mention
        "since #2021",  # digits only: not a hashtag on X
        "a#b and x@y",  # inside a word
        "#one#two @a@b",  # run together
        "@averyveryverylonghandle",  # longer than X allows
    ],
)
def test_linkify_leaves_what_x_would_not_link(text: str) -> None:
    # Given a text with no entity X would link
    # When it is marked up
    html = str(linkify(text))

    # Then there is no link in it
    assert "<a " not in html


def test_linkify_keeps_a_hashtag_inside_a_url_in_the_url() -> None:
    # Given a URL with a fragment, then a real hashtag
    html = str(linkify("https://example.org/page#top #Real"))

    # Then the fragment stays part of the URL's one link, and the hashtag gets its own
    assert html.count("<a ") == 2
    assert 'href="https://example.org/page#top"' in html
    assert 'href="https://x.com/hashtag/Real"' in html


def test_only_web_addresses_are_linked() -> None:
    # Given addresses a ledger may hold for a published post
    # When a page asks whether it may link to them
    # Then http and https addresses may be linked, and nothing else
    assert web_link("https://x.com/TestPolice/status/1") == "https://x.com/TestPolice/status/1"
    assert web_link("HTTP://example.org/") == "HTTP://example.org/"
    assert web_link("javascript:alert(1)") is None
    assert web_link("file:///tmp/outbox/000001.txt") is None
    assert web_link(None) is None


# ---- contrast ---------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour written #rrggbb."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_is_computed_as_wcag_defines_it() -> None:
    # Given the extremes and a known grey, Then the ratios are WCAG's
    assert _contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert _contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert _contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("name", sorted(PALETTE))
def test_every_text_colour_meets_wcag_aa_on_its_background(name: str) -> None:
    # Given a text colour and the background it is shown on
    foreground, background = PALETTE[name]

    # When their contrast is computed, Then it is at least 4.5:1 (AA for normal text)
    assert _contrast(foreground, background) >= 4.5


def test_text_is_coloured_only_from_the_palette() -> None:
    # Given the pages' style sheet
    css = (TEMPLATES / "page.css").read_text(encoding="utf-8")

    # When every colour declaration is read
    colours = re.findall(r"(?<![-\w])color:\s*([^;]+);", css)

    # Then each is a palette foreground (so the contrast tests above cover it)
    assert colours
    for value in colours:
        match = re.fullmatch(r"var\(--([a-z-]+)-fg\)", value.strip())
        assert match is not None and match.group(1) in PALETTE, value


def test_linkify_links_hashtags_and_mentions_where_the_posts_network_says() -> None:
    from herald.channels.rules import rules_for

    # Given a Mastodon account on its instance, and a Facebook Page
    instance = {"instance": "https://police.example"}
    on_mastodon = rules_for("mastodon")
    on_facebook = rules_for("facebook")
    text = "Thanks @press #SaferInternetDay"
    # When the text is marked up for each
    toot = str(
        linkify(
            text,
            lambda tag: on_mastodon.hashtag_link(tag, instance),
            lambda handle: on_mastodon.mention_link(handle, instance),
        )
    )
    page = str(
        linkify(
            text,
            lambda tag: on_facebook.hashtag_link(tag, {}),
            lambda handle: on_facebook.mention_link(handle, {}),
        )
    )
    # Then each links to its own network, and what a network does not link stays text
    assert 'href="https://police.example/tags/SaferInternetDay"' in toot
    assert 'href="https://police.example/@press"' in toot
    assert 'href="https://www.facebook.com/hashtag/SaferInternetDay"' in page
    assert "Thanks @press" in page and "x.com" not in page + toot
