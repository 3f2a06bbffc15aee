"""The HTML pages and the terminal status, without a browser: escaping, marking up posts,
problems next to their posts, a self-contained file, and a palette that meets WCAG AA."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import escape

from herald.html import (
    PALETTE,
    TEMPLATES,
    linkify,
    preview_html,
    status_html,
    status_text,
    write_preview,
    write_status,
)
from herald.ledger import ALL_CAMPAIGNS
from herald.ledger.sqlite import SqliteLedger
from herald.plan import load_plan_strict
from herald.problems import Problem, Severity
from herald.status import Report as StatusReport
from herald.status import collect
from herald.validate import validate
from herald_dev.images import PNG

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)

CAMPAIGN = """\
campaign: page-test
title: "Tests <b>&</b> Co"
timezone: Europe/London
accounts:
  x:
    force: {handle: TestPolice, name: "Test <Police>"}
posts:
  - id: early
    at: 2030-02-01 09:00
    text: "This one is already in the past"
  - id: hello
    at: 2030-03-02 09:00
    text: "<script>alert('x')</script> & see https://example.org/a?b=1&c=2 #Safety @UK_SIC"
    media:
      - {file: pixel.png, alt: 'A "pixel" <img> & more'}
    thread:
      - "Part two"
  - id: later
    at: 2030-03-03 10:00
    text: "Plain words"
"""


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    (tmp_path / "pixel.png").write_bytes(PNG)
    path = tmp_path / "page-test.yaml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    return path


def _articles(page: str) -> dict[str, str]:
    """Each post's article in a preview page, by post id."""
    found = {}
    for chunk in page.split("<article")[1:]:
        body = chunk.split("</article>")[0]
        post = re.search(r"</time> <span>([^<]+)</span>", body)
        assert post is not None
        found[post.group(1)] = body
    return found


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


# ---- the preview page -------------------------------------------------------------------


def test_preview_shows_a_post_containing_script_as_text(campaign: Path, tmp_path: Path) -> None:
    # Given a campaign whose post, title, account name and alt text hold markup
    report = validate([campaign], NOW)
    assert not report.errors

    # When its preview is written
    out = tmp_path / "out" / "preview.html"
    write_preview(out, report, report.rendered_for(report.campaigns))
    page = out.read_text(encoding="utf-8")

    # Then none of it is markup: it is all shown as text
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; see" in page
    assert "Tests &lt;b&gt;&amp;&lt;/b&gt; Co" in page
    assert "Test &lt;Police&gt;" in page
    assert 'alt="A &#34;pixel&#34; &lt;img&gt; &amp; more"' in page


def test_preview_is_one_file_that_fetches_nothing(campaign: Path) -> None:
    # Given a campaign with an image
    report = validate([campaign], NOW)

    # When its preview is made
    page = preview_html(report, report.rendered_for(report.campaigns))

    # Then the image is inline, no resource is loaded from anywhere, and the page says so
    sources = re.findall(r'\ssrc="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"<link\b|<script\b|@import|url\(|<iframe\b|<object\b", page)
    assert "default-src 'none'" in page
    hrefs = re.findall(r'\shref="([^"]*)"', page)
    assert all(h.startswith(("https://", "#")) for h in hrefs)


def test_preview_groups_a_thread_and_shows_lengths_and_cost(campaign: Path) -> None:
    # Given a campaign with a two-part thread and a post with a URL
    report = validate([campaign], NOW)
    rendered = report.rendered_for(report.campaigns)

    # When its preview is made
    articles = _articles(preview_html(report, rendered))

    # Then the thread is one article of two parts, each with its length against the limit
    assert list(articles) == ["early", "hello", "later"]
    hello = articles["hello"]
    assert "Part 1 of 2" in hello and "Part 2 of 2, replying to hello" in hello
    lengths = {r.delivery.key.post: r.weighted_length for r in rendered}
    assert f"{lengths['hello']} of 280 characters" in hello
    assert f"{lengths['hello.2']} of 280 characters" in hello
    assert "Part two" in hello and "Part two" not in articles["later"]


def test_preview_shows_the_x_api_cost(campaign: Path) -> None:
    # Given a campaign of four deliveries, one with a link
    from herald.preview import cost

    report = validate([campaign], NOW)
    rendered = report.rendered_for(report.campaigns)

    # When its preview is made
    page = preview_html(report, rendered)

    # Then it states what publishing costs on the X API
    assert cost(rendered).describe() in page
    assert "X API cost: $0.24 for 4 posts (3 × $0.015 + 1 with a link × $0.20" in page


def test_preview_puts_each_problem_next_to_its_post(campaign: Path) -> None:
    # Given a campaign with one post already in the past, and a problem about another file
    report = validate([campaign], NOW)
    elsewhere = Problem("elsewhere.yaml", 3, "a <problem> elsewhere", Severity.WARNING)
    report.problems.append(elsewhere)

    # When its preview is made
    page = preview_html(report, report.rendered_for(report.campaigns))
    articles = _articles(page)

    # Then the post's warning is in its article and no other; the other is listed on its own
    assert "Warning:</strong> post &#39;early&#39; is in the past" in articles["early"]
    assert "Warning:" not in articles["hello"] + articles["later"]
    header = page.split("<main")[0]
    assert "Problems not tied to a shown post" in header
    assert "a &lt;problem&gt; elsewhere" in header
    assert "elsewhere.yaml:3" in header


def test_preview_of_a_broken_campaign_lists_its_errors(tmp_path: Path) -> None:
    # Given a campaign whose post is too long for X
    path = tmp_path / "broken.yaml"
    path.write_text(CAMPAIGN.replace("Plain words", "word " * 80), encoding="utf-8")
    (tmp_path / "pixel.png").write_bytes(PNG)
    report = validate([path], NOW)
    assert report.errors

    # When its preview is made
    page = preview_html(report, report.rendered_for(report.campaigns))

    # Then nothing is shown as publishable, and each error is listed with its place
    assert "There is nothing to publish" in page
    assert "<article" not in page
    for error in report.errors:
        assert str(escape(error.message)) in page
        assert f"{error.file}:{error.line}" in page


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


# ---- status -----------------------------------------------------------------------------


def _status(campaign: Path, *, paused: bool) -> StatusReport:
    plan = load_plan_strict([campaign])
    by_post = {d.key.post: d for d in plan.deliveries}
    now = datetime(2030, 3, 2, 10, 0, tzinfo=UTC)
    ledger = SqliteLedger(":memory:")
    early = by_post["early"]
    moment = early.at + timedelta(seconds=5)
    ledger.claim(early.key, "t", moment, moment + timedelta(minutes=1), early.at)
    ledger.mark_attempting(early.key, "t", moment)
    ledger.mark_sent(early.key, "t", moment, "1", "https://x.com/TestPolice/status/1")
    hello = by_post["hello"]
    moment = hello.at + timedelta(seconds=5)
    ledger.claim(hello.key, "t", moment, moment + timedelta(minutes=1), hello.at)
    ledger.mark_attempting(hello.key, "t", moment)
    ledger.mark_unknown(hello.key, "t", moment, "timed out <after> sending")
    if paused:
        ledger.pause(ALL_CAMPAIGNS, "incident & <review>", hello.at)
    return collect(plan, ledger, now)


def test_status_text_says_publishing_is_running_when_nothing_is_paused(campaign: Path) -> None:
    # Given a ledger with no pause
    report = _status(campaign, paused=False)

    # When the terminal status is made
    text = status_text(report)

    # Then it starts by saying so, and has no colour codes
    assert text.startswith("Publishing is running")
    assert "\x1b[" not in text


def test_status_text_has_one_line_per_delivery_and_a_summary(campaign: Path) -> None:
    # Given a paused ledger with one post sent, one unknown (so its reply was never sent)
    # and one not yet due
    report = _status(campaign, paused=True)

    # When the terminal status is made
    lines = status_text(report).splitlines()

    # Then the pause comes first, each delivery has one line, and the counts close it
    assert lines[0].startswith("PAUSED: publishing is paused for all campaigns since")
    assert lines[0].endswith("incident & <review>")
    rows = [line for line in lines if re.match(r"^    \d\d:\d\d ", line)]
    assert len(rows) == len(report.rows) == 4
    assert "SENT" in rows[0] and "https://x.com/TestPolice/status/1" in rows[0]
    assert "UNKNOWN" in rows[1] and "hello 1/2" in rows[1] and "timed out" in rows[1]
    assert "MISSED" in rows[2] and "hello.2 2/2" in rows[2]
    assert "4 deliveries: 1 unknown, 1 missed, 1 sent, 1 scheduled" in lines
    advice = [line for line in lines if line.startswith("  UNKNOWN page-test/hello:")]
    assert advice and "check the account on X" in advice[0]


def test_status_text_colours_only_when_asked(campaign: Path) -> None:
    # Given a report, When the status is made for a terminal that takes colour
    text = status_text(_status(campaign, paused=True), colour=True)

    # Then the states are coloured
    assert "\x1b[1;33mUNKNOWN" in text


def test_status_page_escapes_reasons_and_links_the_live_post(
    campaign: Path, tmp_path: Path
) -> None:
    # Given a paused ledger whose reasons hold markup
    report = _status(campaign, paused=True)

    # When the status page is written
    out = tmp_path / "status.html"
    write_status(out, report)
    page = out.read_text(encoding="utf-8")

    # Then the pause and its reason come first, reasons are text, SENT links to the post
    assert page.index("Publishing is paused for all campaigns") < page.index("<main")
    assert "incident &amp; &lt;review&gt;" in page
    assert "timed out &lt;after&gt; sending" in page
    assert '<a href="https://x.com/TestPolice/status/1">' in page
    assert "<script" not in page
    assert "What to check: it may have been published" in page


def test_status_page_says_running_when_nothing_is_paused(campaign: Path) -> None:
    # Given a ledger with no pause, When the page is made
    page = status_html(_status(campaign, paused=False))

    # Then it says publishing is running
    banner = page.split('role="status">')[1].split("</div>")[0]
    assert banner == "<p>Publishing is running: nothing is paused.</p>"
    assert "Publishing is paused" not in page
