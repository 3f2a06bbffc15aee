"""The Safer Internet Day 2021 campaign: the shape the press office asked for, every post
within X's limit, and every fact and quoted word taken from the release."""

from __future__ import annotations

import re
import struct
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from herald.campaign import Campaign, load_campaign
from herald.plan import LoadedDelivery, deliveries
from herald.release import load_release

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = ROOT / "campaigns" / "safer-internet-day-2021.yaml"
SEED_COPY = ROOT / "campaigns" / "releases" / "safer-internet-day-2021.md"


def weighted_length() -> Callable[[str], int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # twitter-text imports the deprecated pkg_resources
        from twitter_text import parse_tweet
    return lambda text: int(parse_tweet(text).weightedLength)


@pytest.fixture(scope="module")
def raw() -> dict:
    return YAML(typ="safe", pure=True).load(CAMPAIGN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    result = load_campaign(CAMPAIGN)
    assert result.errors == [], [str(p) for p in result.errors]
    assert result.campaign is not None
    return result.campaign


@pytest.fixture(scope="module")
def rendered(campaign: Campaign) -> list[tuple[LoadedDelivery, str]]:
    return [(d, d.render()) for d in deliveries(campaign)]


def texts_by_post(rendered: list[tuple[LoadedDelivery, str]]) -> dict[str, str]:
    """Each post's parts joined, so a thread can be read as a whole."""
    joined: dict[str, list[str]] = {}
    for delivery, text in rendered:
        joined.setdefault(delivery.post.id, []).append(text)
    return {post: "\n".join(parts) for post, parts in joined.items()}


def test_release_copy_is_the_seed_byte_for_byte() -> None:
    # Given the release the campaign names / Then it is the real input, mojibake included
    data = SEED_COPY.read_bytes()
    assert "ðŸ”º".encode() in data
    assert data.count(b"\n") == 55


def test_campaign_header(raw: dict) -> None:
    # Given the campaign YAML / Then it names the zone, the release and the police account
    assert raw["campaign"] == "safer-internet-day-2021"
    assert raw["timezone"] == "Europe/London"
    assert (CAMPAIGN.parent / raw["release"]).resolve() == SEED_COPY.resolve()
    assert raw["accounts"]["x"] == {
        "hertspolice": {"handle": "HertsPolice", "name": "Hertfordshire Constabulary"}
    }
    # And it also goes out on the force's Mastodon account and Facebook Page
    assert set(raw["accounts"]) == {"x", "mastodon", "facebook"}
    assert set(raw["defaults"]["channels"]) == {"x", "mastodon", "facebook"}


def test_shape_deliveries_days_thread_image(raw: dict, campaign: Campaign) -> None:
    # Given the campaign as written and as loaded
    parts = sum(1 + len(post.get("thread", [])) for post in raw["posts"])
    days = {str(post["at"])[:10] for post in raw["posts"]}
    with_media = [m for post in raw["posts"] for m in post.get("media", [])]
    # Then there are at least 8 deliveries over at least 3 days, a thread, and an image
    assert parts >= 8
    by_channel: dict[str, int] = {}
    for delivery in deliveries(campaign):
        by_channel[delivery.key.channel] = by_channel.get(delivery.key.channel, 0) + 1
    # (a Facebook Page has no threads: one post each, its thread joined into it)
    assert by_channel == {"x": parts, "mastodon": parts, "facebook": len(raw["posts"])}
    assert len(days) >= 3
    assert {"2021-02-08", "2021-02-09"} <= days
    assert any(day in days for day in ("2021-02-10", "2021-02-11"))
    assert any(len(post.parts) > 1 for post in campaign.posts)
    assert with_media
    for media in with_media:
        assert len(media["alt"]) > 40
        png = (CAMPAIGN.parent / media["file"]).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (1200, 675)


def test_times_are_the_planned_day(campaign: Campaign) -> None:
    # Given the loaded posts / Then the lead-up is on 8 Feb, the day's posts on Tue 9 Feb
    local = {p.id: p.at_local for p in campaign.posts}
    assert local["lead-up"].date() == date(2021, 2, 8)
    day_posts = ("launch", "cost-advice", "how-to-report", "partnership", "young-people")
    assert {local[p].date() for p in day_posts} == {date(2021, 2, 9)}
    assert local["launch"].hour == 8
    assert local["how-to-report"].hour == 12
    assert local["young-people"].hour >= 17
    assert local["follow-up"].date() in (date(2021, 2, 10), date(2021, 2, 11))


def test_every_part_fits_on_x_and_none_repeat(rendered: list[tuple[LoadedDelivery, str]]) -> None:
    # Given every delivery rendered as it will be published
    measure = weighted_length()
    on_x = [(d, t) for d, t in rendered if d.key.channel == "x"]
    texts = [text for _, text in on_x]
    # Then each is within 280 weighted characters, non-empty, and no two are the same
    too_long = {d.key.post: measure(t) for d, t in on_x if measure(t) > 280}
    assert too_long == {}
    assert all(texts)
    assert len(set(texts)) == len(texts)


def test_every_part_fits_on_mastodon_and_facebook(
    rendered: list[tuple[LoadedDelivery, str]],
) -> None:
    from herald.mastodon_text import status_length

    # Given the Mastodon and Facebook deliveries
    toots = [t for d, t in rendered if d.key.channel == "mastodon"]
    pages = [t for d, t in rendered if d.key.channel == "facebook"]
    # Then every status is within Mastodon's 500, and each Page post is its thread joined
    assert toots and max(status_length(t) for t in toots) <= 500
    assert len(set(toots)) == len(toots)
    assert any(t.count("\n\n") >= 2 for t in pages)
    assert all(len(t) <= 63_206 for t in pages)


def test_templates_use_release_and_variables(raw: dict, rendered) -> None:
    # Given the texts as written and rendered
    written = "\n".join(
        part if isinstance(part, str) else part["text"]
        for post in raw["posts"]
        for part in [post["text"], *post.get("thread", [])]
    )
    release = load_release(SEED_COPY)
    # Then they use templates, and the rendered texts carry the release's url and names
    assert "{{ release.url }}" in written
    assert "{{ hashtag }}" in written
    assert "{{ release.quotes[0].speaker }}" in written
    assert all("{{" not in text and "{%" not in text for _, text in rendered)
    assert any(release.url in text for _, text in rendered)


def test_quotes_are_verbatim_and_correctly_attributed(rendered) -> None:
    # Given the release's quotes and every post (threads read whole)
    release = load_release(SEED_COPY)
    posts = texts_by_post(rendered)
    quoted = 0
    for post_id, text in posts.items():
        for words in re.findall(r'"([^"]+)"', text):
            # Then every double-quoted passage is words someone said in the release
            fragment = words.rstrip(",")
            speakers = [q for q in release.quotes if fragment in q.text]
            assert speakers, f"{post_id}: {words!r} is not in the release"
            # And the person who said it is named in the same post
            assert speakers[0].speaker in text, f"{post_id}: {words!r} is not attributed"
            quoted += 1
    assert quoted >= 3


def test_facts_from_the_release(rendered) -> None:
    # Given the posts, threads read whole
    posts = texts_by_post(rendered)
    everything = "\n".join(posts.values())
    report = posts["how-to-report"]
    release = load_release(SEED_COPY)
    # Then the launch gives the theme, the report thread every route and organisation,
    # and the evening post where children and young people can turn
    assert "'together for a better internet'" in posts["launch"]
    for route in ("herts.police.uk.report", "herts.police.uk/contact", "101", "999"):
        assert route in report
    assert "immediate danger" in report
    for organisation in release.organisations:
        assert organisation in report
    assert "ChildLine" in posts["young-people"]
    assert "Fearless" in posts["young-people"]
    assert "Child Online Safeguarding Team" in posts["cost-advice"]
    assert "#SaferInternetDay" in everything
