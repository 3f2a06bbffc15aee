"""Mastodon and Facebook Pages in herald's model: their account shapes and bad input as
FILE:LINE sentences, their lengths and media rules in validation, a Page post per thread in
the plan and the preview, and their settings."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from herald.campaign import load_campaign
from herald.config import Settings
from herald.mastodon_text import status_length, urls
from herald.plan import load_plan_strict
from herald.preview import as_json, to_table
from herald.validate import validate
from herald_dev.fake_mastodon import status_length as fake_status_length
from herald_dev.images import PNG

NOW = datetime(2021, 2, 1, tzinfo=UTC)

CAMPAIGN = """\
campaign: demo
title: Demo
timezone: UTC
accounts:
  x:
    main: {{handle: Main}}
  mastodon:
    main: {mastodon}
  facebook:
    main: {facebook}
posts:
  - id: launch
    at: 2021-02-09 08:00
    text: "{text}"
    media: [{{file: a.png, alt: A shield}}]
    thread:
      - text: "Second part https://example.org/report"
        media: [{{file: a.png, alt: The form}}]
      - "Third part"
"""
MASTODON = '{handle: "@press@police.example", instance: "https://police.example"}'
FACEBOOK = '{page_id: "112130216863063", name: Hertfordshire Constabulary}'


def write(
    tmp_path: Path, *, text: str = "Hello", mastodon: str = MASTODON, facebook: str = FACEBOOK
) -> Path:
    (tmp_path / "a.png").write_bytes(PNG)
    path = tmp_path / "demo.yaml"
    path.write_text(
        CAMPAIGN.format(text=text, mastodon=mastodon, facebook=facebook), encoding="utf-8"
    )
    return path


def errors(path: Path) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in validate([path], NOW).errors]


# -- Mastodon's length --


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Hello", 5),
        ("👨‍👩‍👧‍👦", 1),  # one family: one grapheme, seven code points
        ("🇬🇧🇬🇧", 2),
        ("e\u0301", 1),
        ("see https://example.org/" + "a" * 200, 4 + 23),
        ("see https://example.org/a.", 4 + 23 + 1),  # the full stop is not the link's
        ("thanks @press@police.example", len("thanks @press")),
        ("thanks @press", len("thanks @press")),
    ],
)
def test_mastodon_counts_graphemes_urls_as_23_and_remote_mentions_by_user(
    text: str, length: int
) -> None:
    assert status_length(text) == length
    # And the fake Mastodon, counting with another segmenter, agrees
    assert fake_status_length(text) == length


def test_mastodon_links_are_found_without_their_closing_punctuation() -> None:
    assert urls("Read https://example.org/a, then https://example.org/b.") == [
        "https://example.org/a",
        "https://example.org/b",
    ]


# -- bad input: FILE:LINE --


def test_a_mastodon_account_without_an_instance_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, mastodon='{handle: "@press@police.example"}')
    result = load_campaign(path)
    assert result.campaign is None
    [problem] = [p for p in result.problems if p.is_error]
    assert problem.file == str(path) and problem.line == 8
    assert "instance" in problem.message and "mastodon" in problem.message


def test_a_facebook_account_without_a_page_id_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, facebook="{name: Hertfordshire Constabulary}")
    result = load_campaign(path)
    assert result.campaign is None
    [problem] = [p for p in result.problems if p.is_error]
    assert problem.line == 10
    assert "page_id" in problem.message and "facebook" in problem.message


@pytest.mark.parametrize(
    ("mastodon", "facebook", "words"),
    [
        ('{handle: "@press@police.example", instance: "police.example"}', FACEBOOK, "instance"),
        ('{handle: "press at police", instance: "https://police.example"}', FACEBOOK, "handle"),
        (MASTODON, "{page_id: Herts}", "is not a Facebook Page id"),
        (MASTODON, '{page_id: "1", token: "EAA"}', "token"),
    ],
)
def test_a_malformed_account_is_an_error_naming_its_key(
    tmp_path: Path, mastodon: str, facebook: str, words: str
) -> None:
    result = load_campaign(write(tmp_path, mastodon=mastodon, facebook=facebook))
    assert result.campaign is None
    assert any(words in p.message for p in result.problems if p.is_error), result.problems


def test_a_page_id_written_without_quotes_is_read_as_its_digits(tmp_path: Path) -> None:
    plan = load_plan_strict([write(tmp_path, facebook="{page_id: 112130216863063}")])
    [delivery] = [d for d in plan.deliveries if d.key.channel == "facebook"]
    assert delivery.account.settings["page_id"] == "112130216863063"


# -- lengths and media in validation --


def test_a_post_over_mastodons_limit_names_the_channel_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, text="a" * 512)
    assert (
        14,
        "post 'launch' (thread part 1 of 3) is 512 characters on Mastodon (limit 500)",
    ) in errors(path)
    # And X says so in its own words, while Facebook takes it
    assert any("on X (limit 280)" in m for _, m in errors(path))
    assert not any("Facebook" in m for _, m in errors(path))


def test_an_instances_max_characters_is_the_limit(tmp_path: Path) -> None:
    roomy = MASTODON.replace("}", ", max_characters: 1000}")
    path = write(tmp_path, text="🇬🇧" * 600, mastodon=roomy)
    assert not any("Mastodon" in m for _, m in errors(path))
    tight = (
        '{handle: "@press@police.example", instance: "https://police.example", max_characters: 100}'
    )
    path = write(tmp_path, text="b" * 101, mastodon=tight)
    assert any("is 101 characters on Mastodon (limit 100)" in m for _, m in errors(path))


def test_a_page_post_over_facebooks_limit_counts_its_whole_thread(tmp_path: Path) -> None:
    path = write(tmp_path, text="c" * 63_200)
    assert any(
        m.startswith("post 'launch' is 63,252 characters on Facebook (limit 63,206)")
        for _, m in errors(path)
    ), errors(path)


# -- a Page post per thread --


def test_a_thread_is_one_facebook_delivery_of_its_parts_joined(tmp_path: Path) -> None:
    plan = load_plan_strict([write(tmp_path)])
    by_channel: dict[str, list[str]] = {}
    for delivery in plan.deliveries:
        by_channel.setdefault(delivery.key.channel, []).append(delivery.key.post)
    assert by_channel == {
        "x": ["launch", "launch.2", "launch.3"],
        "mastodon": ["launch", "launch.2", "launch.3"],
        "facebook": ["launch"],
    }
    [page] = [d for d in plan.deliveries if d.key.channel == "facebook"]
    assert page.render() == "Hello\n\nSecond part https://example.org/report\n\nThird part"
    assert [m.alt for m in page.media()] == ["A shield", "The form"]
    assert (page.thread_position, page.reply_to) == ((1, 1), None)


def test_an_override_on_facebook_replaces_the_whole_thread(tmp_path: Path) -> None:
    path = write(tmp_path)
    text = path.read_text(encoding="utf-8").replace(
        '      - "Third part"\n',
        '      - "Third part"\n    overrides:\n      facebook: "All of it, said once"\n',
    )
    path.write_text(text, encoding="utf-8")
    [page] = [d for d in load_plan_strict([path]).deliveries if d.key.channel == "facebook"]
    assert page.render() == "All of it, said once"


def test_the_preview_shows_the_page_post_as_one_and_mastodons_length(tmp_path: Path) -> None:
    report = validate([write(tmp_path)], NOW)
    rows = as_json(report.rendered)
    [page] = [r for r in rows if r["channel"] == "facebook"]
    assert page["text"].count("\n\n") == 2 and page["thread"] == {"part": 1, "of": 1}
    assert [m["alt"] for m in page["media"]] == ["A shield", "The form"]
    [toot] = [r for r in rows if r["channel"] == "mastodon" and r["post"] == "launch.2"]
    assert (toot["weighted_length"], toot["limit"], toot["reply_to"]) == (12 + 23, 500, "launch")
    table = to_table(report.rendered)
    assert "mastodon @press@police.example" in table and "[35/500]" in table
    assert "Mastodon and Facebook APIs: no charge" in table
    json.dumps(rows)  # JSON all the way


# -- settings --


def test_the_settings_read_the_mastodon_and_facebook_addresses() -> None:
    required = {"LEDGER_TABLE": "t", "CREDENTIALS_SECRET": "s"}
    plain = Settings.from_env(required)
    assert (plain.mastodon_base_url, plain.facebook_graph_url) == (
        None,
        "https://graph.facebook.com",
    )
    local = Settings.from_env(
        required
        | {
            "MASTODON_BASE_URL": "http://127.0.0.1:8788/",
            "FACEBOOK_GRAPH_URL": "http://127.0.0.1:8789/",
        }
    )
    assert (local.mastodon_base_url, local.facebook_graph_url) == (
        "http://127.0.0.1:8788",
        "http://127.0.0.1:8789",
    )


def test_an_idle_tick_loads_nothing_of_mastodon_or_facebook(tmp_path: Path) -> None:
    # Given the function's wiring for a campaign on every channel, not yet due
    path = write(tmp_path)
    script = f"""
import sys
from datetime import datetime, UTC
from herald import runtime
from herald.config import Settings
from herald.credentials import StaticCredentials
from herald.engine import Engine
plan, accounts, _ = runtime.load_plan_for(__import__('pathlib').Path({str(path.parent)!r}))
settings = Settings("t", "s", "https://api.x.test", __import__('pathlib').Path("."))
channels = runtime.channels_for(accounts, StaticCredentials({{}}), settings)
Engine(plan, None, channels).tick(datetime(2021, 2, 1, tzinfo=UTC))
heavy = ("herald.channels.mastodon", "herald.channels.facebook", "requests", "grapheme")
print(sorted(m for m in heavy if m in sys.modules), sorted(channels.built))
"""
    # When it runs an idle tick
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    # Then no channel was built and nothing of theirs imported
    assert out.stdout.strip().splitlines()[-1] == "[] []"


def test_the_channels_are_built_from_their_factories_with_the_settings(tmp_path: Path) -> None:
    from herald import runtime
    from herald.credentials import StaticCredentials

    _, accounts, _ = runtime.load_plan_for(write(tmp_path).parent)
    settings = Settings(
        "t",
        "s",
        "https://api.x.test",
        tmp_path,
        mastodon_base_url="http://m.test",
        facebook_graph_url="http://g.test",
    )
    channels = runtime.channels_for(accounts, StaticCredentials({}), settings)
    assert "http://m.test" in repr(channels["mastodon"]) and "'main'" in repr(channels["mastodon"])
    assert "http://g.test" in repr(channels["facebook"])
    assert channels["facebook"].settlement.resends == 1
    assert channels["mastodon"].settlement.in_force(None, NOW).absence_gap == timedelta(minutes=5)
