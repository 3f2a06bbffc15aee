"""The preview page without a browser: everything escaped, one self-contained file,
threads together with their lengths and the X API cost, problems next to their posts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import escape

from herald.pages.preview import preview_html, write_preview
from herald.problems import Problem, Severity
from herald.validate import validate
from tests.unit.page_sample import CAMPAIGN, NOW, write_campaign


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    return write_campaign(tmp_path)


def _articles(page: str) -> dict[str, str]:
    """Each post's article in a preview page, by post id."""
    found = {}
    for chunk in page.split("<article")[1:]:
        body = chunk.split("</article>")[0]
        post = re.search(r"</time> <span>([^<]+)</span>", body)
        assert post is not None
        found[post.group(1)] = body
    return found


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
    path = write_campaign(tmp_path, CAMPAIGN.replace("Plain words", "word " * 80))
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
