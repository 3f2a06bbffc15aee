"""The preview and status pages as a person sees them in Chromium, on a desktop and a phone.

Screenshots go to tests/artifacts/ (not committed) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from herald_dev.sample_outcomes import PAUSE_REASON
from tests.browser.conftest import Opened, PageFile

pytestmark = pytest.mark.browser

OpenPage = Callable[[Path, int], AbstractContextManager[Opened]]

# A desktop, the same desktop at 200% zoom (half the CSS pixels), and a phone.
WIDTHS = [1280, 640, 390]

HEADINGS_JS = """() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .map(h => Number(h.tagName[1]))"""
ARTICLES_JS = """() => [...document.querySelectorAll('main article')].map(a => ({
    heading: a.querySelector('h3, h4').innerText,
    text: a.innerText,
    cls: a.className,
    background: getComputedStyle(a).backgroundColor,
}))"""
ARTICLE_LINKS_JS = """() => [...document.querySelectorAll('main article')].flatMap(article =>
    [...article.querySelectorAll('a')].map(a => ({
        channel: article.querySelector('h3').innerText.split('\\n')[2],
        kind: a.className, href: a.href, text: a.innerText})))"""


def _checked_render(opened: Opened, width: int, artifacts: Path, name: str) -> str:
    """Screenshot the page and check what holds at every width; return its visible text."""
    page = opened.page
    page.screenshot(path=str(artifacts / f"{name}-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert opened.errors == []
    assert opened.outside == []
    return str(page.inner_text("body"))


def _heading_order_holds(levels: list[int]) -> bool:
    return levels[0] == 1 and all(b <= a + 1 for a, b in pairwise(levels))


@pytest.mark.parametrize("width", WIDTHS)
def test_preview_shows_every_post_without_scrolling_sideways(
    open_page: OpenPage, preview_page: PageFile, artifacts: Path, width: int
) -> None:
    # Given the Safer Internet Day preview page
    # When a person opens it at this width
    with open_page(preview_page.path, width) as opened:
        seen = _checked_render(opened, width, artifacts, "preview")

    # Then every post's text is there as published, with the X API cost
    # (and nothing scrolls sideways, nothing errs, nothing is fetched: checked above)
    for text in preview_page.texts:
        assert text in seen
    assert preview_page.cost in seen


def test_preview_is_a_calendar_of_days_and_posts(
    open_page: OpenPage, preview_page: PageFile
) -> None:
    # Given the preview page
    with open_page(preview_page.path, 1280) as opened:
        page = opened.page
        # When its structure is read
        levels = page.evaluate(HEADINGS_JS)
        days = page.eval_on_selector_all(
            "main section.day > h2 time", "ts => ts.map(t => t.getAttribute('datetime'))"
        )
        post_times = page.eval_on_selector_all(
            "main article.post > h3 time", "ts => ts.map(t => t.getAttribute('datetime'))"
        )
        articles = page.evaluate(ARTICLES_JS)
        landmarks = page.eval_on_selector_all("header, main", "els => els.length")

    # Then it has one h1, headings never skip a level, a section per day and an article
    # per post and channel (a thread is one article), each with a machine-readable time
    assert levels.count(1) == 1
    assert _heading_order_holds(levels)
    assert landmarks == 2
    assert days == ["2021-02-08", "2021-02-09", "2021-02-10"]
    assert len(articles) == 7 * 3  # on X, Mastodon and the Facebook Page
    assert post_times[:4] == ["2021-02-08T17:00:00Z"] * 3 + ["2021-02-09T08:00:00Z"]
    threads = {tuple(a["heading"].split("\n")[1:3]): a["text"] for a in articles}
    for channel in ("on X", "on Mastodon"):
        assert "Part 5 of 5" in threads[("how-to-report", channel)]
        assert "Part 3 of 3" in threads[("cost-advice", channel)]
    # And on the Page a thread is one post, its parts joined
    assert "Part " not in threads[("how-to-report", "on Facebook")]
    assert "Crimestoppers" in threads[("how-to-report", "on Facebook")]


def test_preview_links_go_to_each_network_or_the_posts_own_urls(
    open_page: OpenPage, preview_page: PageFile
) -> None:
    # Given the preview page
    with open_page(preview_page.path, 1280) as opened:
        # When its links are read, with the network of the post each is in
        links: list[dict[str, Any]] = opened.page.evaluate(ARTICLE_LINKS_JS)

    # Then each goes to the post's network (its account, hashtag, mention) or is a URL
    # written in a post
    written = " ".join(preview_page.texts)
    networks = {
        "on X": ("https://x.com/HertsPolice", "https://x.com/hashtag/", "https://x.com/"),
        "on Mastodon": (
            "https://police.example/@hertspolice",
            "https://police.example/tags/",
            "https://police.example/@",
        ),
        "on Facebook": (
            "https://www.facebook.com/123456789012345",
            "https://www.facebook.com/hashtag/",
            None,
        ),
    }
    assert links
    for link in links:
        href, text = link["href"], link["text"]
        profile, hashtags, mentions = networks[link["channel"]]
        if link["kind"] == "handle":
            assert href == profile, link
        elif text.startswith("#"):
            assert href == f"{hashtags}{text[1:]}", link
        elif text.startswith("@"):
            assert mentions is not None and href == f"{mentions}{text[1:]}", link
        else:
            assert text in written, link
            assert href.rstrip("/").endswith(text.split("://")[-1].rstrip("/"))
    shown = {(link["channel"], link["text"]) for link in links}
    assert {
        ("on X", "#SaferInternetDay"),
        ("on X", "@HertsPolice"),
        ("on Mastodon", "#SaferInternetDay"),
        ("on Mastodon", "@hertspolice@police.example"),
        ("on Facebook", "#SaferInternetDay"),
        ("on Facebook", "Hertfordshire Constabulary"),
        ("on X", "herts.police.uk/contact"),
    } <= shown


def test_preview_images_are_inline_with_their_alt_text(
    open_page: OpenPage, preview_page: PageFile
) -> None:
    # Given the preview page
    with open_page(preview_page.path, 390) as opened:
        # When its images are read
        images = opened.page.eval_on_selector_all(
            "img",
            "imgs => imgs.map(i => ({src: i.src.slice(0, 22), alt: i.alt,"
            " width: i.naturalWidth, shown: i.getBoundingClientRect().width}))",
        )

    # Then each is embedded (data: URI), decoded, fits the phone, and has the campaign's alt
    assert [i["alt"] for i in images] == preview_page.image_alts
    for image in images:
        assert image["src"] == "data:image/png;base64,"
        assert image["width"] > 0
        assert 0 < image["shown"] <= 390
        assert image["alt"].strip()


def test_preview_shows_each_warning_next_to_its_post(
    open_page: OpenPage, preview_page: PageFile
) -> None:
    # Given a preview made on the morning of the day, when three posts are in the past
    assert set(preview_page.problems) == {"lead-up", "launch", "cost-advice"}
    with open_page(preview_page.path, 1280) as opened:
        # When the posts are read
        articles = opened.page.evaluate(ARTICLES_JS)

    # Then each warning is inside its own post's article, and only there
    by_post = {a["heading"].split()[2]: a["text"] for a in articles}
    for post, text in by_post.items():
        for message in preview_page.problems.get(post, []):
            assert f"Warning: {message.replace('`', '')}" in text
        if post not in preview_page.problems:
            assert "Warning:" not in text


@pytest.mark.parametrize("width", [1280, 390])
def test_status_shows_every_delivery_and_its_state(
    open_page: OpenPage, status_page: PageFile, artifacts: Path, width: int
) -> None:
    # Given the status page of a day with every kind of outcome, while paused
    # When a person opens it at this width
    with open_page(status_page.path, width) as opened:
        seen = _checked_render(opened, width, artifacts, "status")
        levels = opened.page.evaluate(HEADINGS_JS)

    # Then the pause comes first, then each state with what explains it, and every post
    assert seen.index("Publishing is paused for all campaigns") < seen.index("Needs a person")
    assert PAUSE_REASON in seen
    run = status_page.run
    assert run is not None
    assert run.sent_url.startswith("https://x.com/HertsPolice/status/")
    assert "403" in run.failed_reason
    assert run.late_reason.startswith("late:")
    assert run.paused_reason == f"paused: {PAUSE_REASON}"
    for said in (
        run.failed_reason,
        run.unknown_reason,
        run.late_reason,
        run.paused_reason,
        run.sent_url,
    ):
        assert said in seen
    assert "past its deadline with no record" in seen
    # (the faults were on X; the 15:00 post is missed, and the two later ones scheduled, on
    # X, Mastodon and the Facebook Page alike)
    assert "UNKNOWN: 1" in seen and "MISSED: 3" in seen and "SCHEDULED: 6" in seen
    for text in status_page.texts:
        assert text in seen
    assert _heading_order_holds(levels)


def test_status_links_the_live_post_and_highlights_what_needs_a_person(
    open_page: OpenPage, status_page: PageFile
) -> None:
    # Given the status page
    with open_page(status_page.path, 1280) as opened:
        # When its deliveries are read
        articles = {
            a["heading"].split()[2]: a
            for a in opened.page.evaluate(ARTICLES_JS)
            if "@HertsPolice on X" in a["text"]  # the X deliveries, where the faults were
        }
        sent_links = opened.page.eval_on_selector_all(
            "article.state-sent a", "links => links.map(a => a.href)"
        )

    # Then SENT links to the post on X; UNKNOWN stands out and says what to check
    assert status_page.run is not None
    assert status_page.run.sent_url in sent_links
    unknown = articles["cost-advice"]
    assert "UNKNOWN" in unknown["text"]
    assert "What to check: it may have been published: check the account on X" in unknown["text"]
    assert unknown["background"] != articles["launch"]["background"]
    assert "What to check: not published" in articles["launch"]["text"]
    assert "What to check: it was never attempted" in articles["partnership"]["text"]
    assert "Scheduled." in articles["follow-up"]["text"]
