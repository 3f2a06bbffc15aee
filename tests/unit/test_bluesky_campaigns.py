"""Campaigns that publish to Bluesky: the account's shape, validation on Bluesky's terms
(graphemes, bytes, images), preview and cost, the setting that points every account at
another server, and the function's wiring, which loads nothing of Bluesky on an idle tick."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from herald import runtime
from herald.campaign import load_campaign
from herald.channels.bluesky_length import graphemes, utf8_bytes
from herald.config import ConfigError, Settings
from herald.credentials import StaticCredentials
from herald.preview import as_json, free_channels, to_markdown, to_table
from herald.validate import validate
from herald_dev.images import PNG

NOW = datetime(2021, 2, 1, tzinfo=UTC)
ACCOUNTS = """accounts:
  x:
    hertspolice: {handle: HertsPolice}
  bluesky:
    hertspolice: {handle: hertspolice.bsky.social}
defaults: {channels: [x, bluesky]}
"""


def campaign(folder: Path, posts: str, accounts: str = ACCOUNTS) -> Path:
    path = folder / "campaign.yaml"
    path.write_text(
        "campaign: sid\ntitle: SID\ntimezone: Europe/London\n" + accounts + "posts:\n" + posts,
        encoding="utf-8",
    )
    return path


def post(text: str, extra: str = "") -> str:
    written = json.dumps(text, ensure_ascii=False)
    return f"  - id: launch\n    at: 2021-02-09 08:00\n    text: {written}\n{extra}"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("abc", 3),
        ("👨‍👩‍👧‍👦", 1),  # a family: seven code points, one grapheme
        ("🇬🇧🇫🇷", 2),  # two flags
        ("e\u0301\u0302", 1),  # combining marks
        ("नमस्ते", 3),  # Devanagari with conjuncts
        ("한국어", 3),
        ("👍🏽", 1),
        ("\r\n", 1),
    ],
)
def test_graphemes_are_user_perceived_characters(text: str, count: int) -> None:
    assert graphemes(text) == count
    assert utf8_bytes(text) == len(text.encode("utf-8"))


def test_a_text_over_300_graphemes_is_an_error_at_its_line_on_blueskys_terms(
    tmp_path: Path,
) -> None:
    # Given a text of 312 graphemes, within X's limit as X counts it (a long link is 23)
    text = "Read this: https://example.org/" + "a" * 281
    path = campaign(tmp_path, post(text), ACCOUNTS.replace("[x, bluesky]", "[bluesky]"))
    # When validated
    report = validate([path], NOW)
    # Then one FILE:LINE error says so in graphemes
    assert [(p.line, p.message) for p in report.errors] == [
        (13, "post 'launch' is 312 graphemes on Bluesky (limit 300)")
    ]


def test_a_text_over_3000_bytes_is_an_error_even_within_300_graphemes(tmp_path: Path) -> None:
    path = campaign(tmp_path, post("👨‍👩‍👧‍👦" * 130))  # 130 graphemes, 3,250 bytes
    messages = [p.message for p in validate([path], NOW).errors]
    assert "post 'launch' is 3,250 bytes on Bluesky (limit 3,000)" in messages
    assert not any("graphemes" in m for m in messages)


def test_images_on_bluesky_at_most_four_and_two_million_bytes(tmp_path: Path) -> None:
    # Given a post with five images, one of them 2,000,001 bytes
    (tmp_path / "big.png").write_bytes(PNG + b"\0" * (2_000_001 - len(PNG)))
    (tmp_path / "ok.png").write_bytes(PNG)
    media = "    media:\n" + "".join(
        f"      - {{file: {name}, alt: picture {n}}}\n"
        for n, name in enumerate(["big.png", "ok.png", "ok.png", "ok.png", "ok.png"])
    )
    path = campaign(tmp_path, post("Five pictures", media))
    # When validated
    errors = [(p.line, p.message) for p in validate([path], NOW).errors]
    # Then Bluesky's limits are each an error at the image's line (X's count too)
    assert (
        15,
        "post 'launch': big.png is 2,000,001 bytes; Bluesky takes images of at most "
        "2,000,000 bytes (herald never resizes them)",
    ) in errors
    assert (19, "post 'launch' has 5 images; Bluesky takes at most 4") in errors


def test_empty_alt_text_is_refused_though_bluesky_would_take_it(tmp_path: Path) -> None:
    (tmp_path / "ok.png").write_bytes(PNG)
    path = campaign(tmp_path, post("A picture", "    media: [{file: ok.png, alt: ''}]\n"))
    result = load_campaign(path)
    assert result.campaign is None
    assert any("the alt text" in p.message or "alt" in p.message for p in result.problems)


@pytest.mark.parametrize(
    ("account", "words"),
    [
        ("{handle: HertsPolice}", "'HertsPolice' is not a Bluesky handle"),
        ("{handle: hertspolice.bsky.social, service: bsky.social}", "is not a service address"),
        ("{handle: hertspolice.bsky.social, servise: x}", "did you mean 'service'?"),
    ],
)
def test_a_bluesky_account_that_is_not_one_is_a_sentence(
    tmp_path: Path, account: str, words: str
) -> None:
    accounts = f"accounts:\n  bluesky:\n    hertspolice: {account}\n"
    result = load_campaign(campaign(tmp_path, post("Hello"), accounts))
    assert result.campaign is None
    [problem] = result.problems
    assert problem.line == 6 and words in problem.message, problem


def test_preview_shows_bluesky_beside_x_with_its_unit_and_cost(tmp_path: Path) -> None:
    # Given a post to both with a hashtag and a link
    text = "Today is #SaferInternetDay https://www.herts.police.uk/news"
    report = validate([campaign(tmp_path, post(text))], NOW)
    # When previewed
    rows = as_json(report.rendered)
    table = to_table(report.rendered)
    # Then the post is there on each channel, each measured in its own unit
    by_channel = {r["channel"]: r for r in rows}
    assert [(r["handle"], r["unit"], r["limit"]) for r in by_channel.values()] == [
        ("hertspolice.bsky.social", "graphemes", 300),
        ("HertsPolice", "characters", 280),
    ]
    bluesky = by_channel["bluesky"]
    assert bluesky["weighted_length"] == len(text) and bluesky["has_url"] is True
    assert f"bluesky @hertspolice.bsky.social  sid/launch  [{len(text)}/300 graphemes]" in table
    assert f"| {len(text)}/300 graphemes |" in to_markdown(report.rendered)
    # And Bluesky's posts cost nothing, said beside X's price
    assert free_channels(report.rendered) == "Bluesky API: no charge (1 posts)"
    assert "Bluesky API: no charge (1 posts)" in table


def test_the_html_preview_shows_a_bluesky_post_as_bluesky_links_it(tmp_path: Path) -> None:
    from herald.pages.preview import preview_html

    text = "Thanks @partner.bsky.social #SaferInternetDay https://example.org/a."
    report = validate([campaign(tmp_path, post(text))], NOW)
    page = preview_html(report, report.rendered)
    assert 'href="https://bsky.app/profile/hertspolice.bsky.social"' in page
    assert 'href="https://bsky.app/hashtag/SaferInternetDay"' in page
    assert 'href="https://bsky.app/profile/partner.bsky.social"' in page
    assert 'href="https://example.org/a"' in page  # the full stop is not the link's
    assert "of 300 graphemes" in page and "Bluesky API: no charge" in page


def test_bluesky_service_url_replaces_every_accounts_service() -> None:
    base = {"LEDGER_TABLE": "t", "CREDENTIALS_SECRET": "s"}
    assert Settings.from_env(base).bluesky_service_url is None
    local = Settings.from_env({**base, "BLUESKY_SERVICE_URL": "http://127.0.0.1:2583/"})
    assert local.bluesky_service_url == "http://127.0.0.1:2583"
    with pytest.raises(ConfigError, match="BLUESKY_SERVICE_URL must be an http"):
        Settings.from_env({**base, "BLUESKY_SERVICE_URL": "pds.local"})


def test_the_function_builds_bluesky_with_the_campaigns_accounts_and_the_setting(
    tmp_path: Path,
) -> None:
    path = campaign(tmp_path, post("Hello"))
    settings = Settings("t", "s", "https://api.x.test", tmp_path, None, "http://127.0.0.1:9")
    _, accounts, _ = runtime.load_plan_for(tmp_path)
    channels = runtime.channels_for(accounts, StaticCredentials({}), settings)
    assert channels.built == frozenset()
    bluesky = channels["bluesky"]
    assert bluesky.name == "bluesky" and channels.built == {"bluesky"}
    assert bluesky.service_of("hertspolice") == "http://127.0.0.1:9"  # type: ignore[attr-defined]
    assert path.exists()


def test_an_idle_tick_loads_nothing_of_bluesky(tmp_path: Path) -> None:
    # Given the function's wiring for a campaign to X and Bluesky not yet due
    campaign(tmp_path, post("Hello #SaferInternetDay"))
    script = f"""
import sys
from datetime import datetime, UTC
from herald import runtime
from herald.config import Settings
from herald.credentials import StaticCredentials
from herald.engine import Engine
from pathlib import Path
settings = Settings("t", "s", "https://api.x.test", Path({str(tmp_path)!r}), None)
plan, accounts, _ = runtime.load_plan_for(settings.campaigns_dir)
channels = runtime.channels_for(accounts, StaticCredentials({{}}), settings)
Engine(plan, None, channels).tick(datetime(2021, 2, 1, tzinfo=UTC))
names = ("herald.channels.bluesky", "herald.channels.bluesky_xrpc", "herald.channels.tid",
         "herald.channels.bluesky_facets", "wcwidth", "requests")
print(sorted(m for m in names if m in sys.modules), sorted(channels.built))
"""
    # When it runs an idle tick in a fresh interpreter
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    # Then no channel was built and nothing of Bluesky was imported
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[] []"


def test_the_same_text_twice_is_a_warning_on_bluesky_which_would_post_it_twice(
    tmp_path: Path,
) -> None:
    # Given two posts with one text, to X and Bluesky
    second = post("Same words").replace("id: launch", "id: again").replace("08:00", "09:00")
    report = validate([campaign(tmp_path, post("Same words") + second)], NOW)
    # Then X's refusal is an error, Bluesky's double post a warning
    said = {(p.is_error, p.message.split("; ")[-1]) for p in report.problems if "same" in p.message}
    assert said == {
        (True, "X refuses duplicates from one account"),
        (False, "Bluesky would publish it twice"),
    }


def test_the_compiled_plan_keeps_the_bluesky_accounts_settings(tmp_path: Path) -> None:
    from herald.compiled_plan import write_index
    from herald.plan import load_plan

    accounts = ACCOUNTS.replace(
        "{handle: hertspolice.bsky.social}",
        "{handle: '@hertspolice.bsky.social', service: 'https://pds.example.org', link_card: true}",
    )
    campaign(tmp_path, post("Hello"), accounts)
    plan, problems = load_plan([tmp_path])
    write_index(tmp_path, plan, [str(p) for p in problems if p.is_error])
    _, compiled, _ = runtime.load_plan_for(tmp_path)
    assert compiled["bluesky"]["hertspolice"] == {
        "handle": "hertspolice.bsky.social",
        "service": "https://pds.example.org",
        "link_card": True,
        "user_id": None,
    }
    settings = Settings("t", "s", "https://api.x.test", tmp_path, None)
    bluesky = runtime.channels_for(compiled, StaticCredentials({}), settings)["bluesky"]
    assert bluesky.service_of("hertspolice") == "https://pds.example.org"  # type: ignore[attr-defined]
