"""The campaign model: a valid campaign loads into dated posts, threads and deliveries, with
its times in UTC, its defaults applied and its lateness understood."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from herald.campaign import Campaign, load_campaign, load_campaigns, parse_duration
from herald.plan import deliveries

DATA = Path(__file__).resolve().parents[1] / "data" / "campaigns"
VALID = DATA / "valid" / "demo-day-2021.yaml"
GOOD_NEW_YORK = DATA / "folder" / "good.yaml"

HEAD = """\
campaign: model
title: Model
timezone: Europe/London
accounts:
  x:
    herald: {handle: HeraldDemo}
"""


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    result = load_campaign(VALID)
    assert result.errors == [], result.errors
    assert result.campaign is not None
    return result.campaign


def test_valid_campaign_loads_with_its_fields(campaign: Campaign) -> None:
    # Given the valid demo campaign, loaded
    # Then its fields are what the file says, with the release parsed and the handle clean
    assert campaign.id == "demo-day-2021"
    assert campaign.title == "Demo Day 2021"
    assert campaign.timezone == ZoneInfo("Europe/London")
    assert campaign.release is not None
    assert campaign.release.title == "Demo Day 2021"
    assert campaign.release_path == VALID.parent / "releases" / "demo-day-2021.md"
    assert campaign.max_lateness == timedelta(minutes=10)
    assert campaign.accounts["x"]["herald"].handle == "HeraldDemo"  # the "@" is not kept
    assert campaign.accounts["x"]["herald"].name == "Herald Demo"
    assert campaign.variables == {"hashtag": "#DemoDay"}
    assert [p.id for p in campaign.posts] == ["launch", "advice", "wrap-up"]


def test_thread_parts_get_ids_and_reply_in_order(campaign: Campaign) -> None:
    # Given the post with a two-part thread
    advice = next(p for p in campaign.posts if p.id == "advice")
    # When its deliveries are listed
    rows = [(d.key.post, d.reply_to, d.part.number) for d in deliveries(campaign)]
    # Then the parts are advice, advice.2, advice.3, each replying to the one before
    assert [(p.id, p.number) for p in advice.parts] == [
        ("advice", 1),
        ("advice.2", 2),
        ("advice.3", 3),
    ]
    assert ("advice", None, 1) in rows
    assert rows.index(("advice.2", "advice", 2)) == rows.index(("advice", None, 1)) + 1
    assert rows.index(("advice.3", "advice.2", 3)) == rows.index(("advice.2", "advice", 2)) + 1
    # And a thread item written as a mapping keeps its media and alt text
    assert [m.alt for m in advice.parts[2].media] == ["Another grey pixel"]
    assert advice.parts[2].media[0].path == (VALID.parent / "media" / "tiny.png").resolve()


def test_override_belongs_to_the_first_part_only(campaign: Campaign) -> None:
    # Given the post with an X override / Then only its first part carries it
    advice = next(p for p in campaign.posts if p.id == "advice")
    assert advice.parts[0].overrides == {"x": "Three tips on X {{ hashtag }}"}
    assert advice.parts[1].overrides == {}


def test_defaults_channels_apply_to_every_post(campaign: Campaign) -> None:
    # Given a campaign whose defaults name the channels / Then every post goes there
    assert {p.channels for p in campaign.posts} == {("x",)}
    assert {d.key.channel for d in deliveries(campaign)} == {"x"}


def test_without_defaults_posts_go_to_every_channel_with_an_account(tmp_path: Path) -> None:
    # Given a campaign with no defaults
    path = tmp_path / "c.yaml"
    path.write_text(HEAD + "posts:\n  - {id: one, at: '2021-03-01 09:00', text: Hi}\n")
    # When it is loaded / Then its post goes to every channel that has an account
    result = load_campaign(path)
    assert result.campaign is not None
    assert result.campaign.posts[0].channels == ("x",)


def test_a_channel_without_accounts_is_refused(tmp_path: Path) -> None:
    # Given a campaign that lists the X channel but no account on it
    path = tmp_path / "c.yaml"
    path.write_text(
        HEAD.replace("    herald: {handle: HeraldDemo}\n", "").replace("  x:\n", "  x: {}\n")
        + "posts:\n  - {id: one, at: '2021-03-01 09:00', text: Hi, channels: [x]}\n"
    )
    # When it is loaded / Then it is refused: nobody to publish as
    result = load_campaign(path)
    assert result.campaign is None
    messages = [(p.line, p.message) for p in result.errors]
    assert (4, "the campaign names no account to publish from") in messages
    assert (7, "post 'one' is for x, but no x account is listed under accounts") in messages


# ---- times -------------------------------------------------------------------------------


def test_times_are_converted_to_utc_across_dst(campaign: Campaign) -> None:
    # Given posts in winter time, summer time, and on the eve of the clocks going back
    by_id = {p.id: p for p in campaign.posts}
    # Then each is stored in UTC with the offset in force on its day
    assert by_id["launch"].at == datetime(2021, 3, 27, 9, 0, tzinfo=UTC)  # GMT = UTC
    assert by_id["advice"].at == datetime(2021, 3, 29, 8, 0, tzinfo=UTC)  # BST = UTC+1
    assert by_id["wrap-up"].at == datetime(2021, 10, 30, 17, 30, tzinfo=UTC)  # still BST
    # And the local time is kept as written, aware of the campaign's zone
    assert by_id["advice"].at_local.replace(tzinfo=None) == datetime(2021, 3, 29, 9, 0)
    assert by_id["advice"].at_local.tzinfo == ZoneInfo("Europe/London")
    assert by_id["advice"].at.tzinfo is UTC


def test_posts_are_in_time_order(campaign: Campaign) -> None:
    # Given the loaded posts / Then they are sorted by their UTC time
    times = [p.at for p in campaign.posts]
    assert times == sorted(times)


def test_new_york_time_just_after_spring_forward() -> None:
    # Given 03:30 on the day New York's clocks go from 02:00 to 03:00
    result = load_campaign(GOOD_NEW_YORK)
    # Then it is 07:30 UTC (EDT, UTC-4)
    assert result.campaign is not None
    assert result.campaign.posts[0].at == datetime(2021, 3, 14, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("2021-10-31 00:59", datetime(2021, 10, 30, 23, 59, tzinfo=UTC)),  # BST
        ("2021-10-31 02:00", datetime(2021, 10, 31, 2, 0, tzinfo=UTC)),  # GMT again
        ("2021-03-28 00:59", datetime(2021, 3, 28, 0, 59, tzinfo=UTC)),  # GMT
        ("2021-03-28 02:00", datetime(2021, 3, 28, 1, 0, tzinfo=UTC)),  # BST
    ],
)
def test_times_either_side_of_the_changes_are_accepted(
    tmp_path: Path, written: str, utc: datetime
) -> None:
    # Given a post just outside a gap or a repeated hour
    path = tmp_path / "c.yaml"
    path.write_text(HEAD + f"posts:\n  - {{id: one, at: '{written}', text: Hi}}\n")
    # When it is loaded / Then it has exactly one meaning, in UTC
    result = load_campaign(path)
    assert result.campaign is not None, result.problems
    assert result.campaign.posts[0].at == utc


# ---- max_lateness ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        ("2m30s", timedelta(seconds=150)),
        ("15min", timedelta(minutes=15)),
        (" 5m ", timedelta(minutes=5)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    # Given a duration as a comms officer writes it / Then it means what it says
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "15", "m", "-5m", "1d", "15 minutes", "1.5h", "h1"])
def test_bad_durations_are_refused_with_an_example(text: str) -> None:
    # Given something that is not a duration / Then it is refused with the way to write one
    with pytest.raises(ValueError, match="is not a duration: write it like 15m, 1h or 90s"):
        parse_duration(text)


def test_max_lateness_defaults_to_15_minutes(tmp_path: Path) -> None:
    # Given a campaign without max_lateness
    path = tmp_path / "c.yaml"
    path.write_text(HEAD + "posts:\n  - {id: one, at: '2021-03-01 09:00', text: Hi}\n")
    # When it is loaded / Then a post may go out up to 15 minutes late
    result = load_campaign(path)
    assert result.campaign is not None
    assert result.campaign.max_lateness == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0m", "max_lateness must be between 1 second and 24 hours"),
        ("25h", "max_lateness must be between 1 second and 24 hours"),
        ("soon", "max_lateness: 'soon' is not a duration"),
        ("15", "max_lateness: '15' is not a duration"),
    ],
)
def test_bad_max_lateness_is_refused_at_its_line(tmp_path: Path, value: str, words: str) -> None:
    # Given a campaign whose max_lateness is wrong (line 7)
    path = tmp_path / "c.yaml"
    path.write_text(
        HEAD
        + f"max_lateness: {value}\n"
        + "posts:\n  - {id: one, at: '2021-03-01 09:00', text: Hi}\n"
    )
    # When it is loaded / Then it is refused at that line
    result = load_campaign(path)
    assert result.campaign is None
    assert [(p.line, words in p.message) for p in result.errors] == [(7, True)]


# ---- sets of campaigns -------------------------------------------------------------------


def test_campaign_ids_are_unique_across_files(tmp_path: Path) -> None:
    # Given two files that use the same campaign id
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    for path in (first, second):
        path.write_text(HEAD + "posts:\n  - {id: one, at: '2021-03-01 09:00', text: Hi}\n")
    # When the folder is loaded
    results = load_campaigns([tmp_path])
    # Then the first is kept and the second refused at its id line, naming the first
    assert results[0].campaign is not None
    assert results[1].campaign is None
    problem = results[1].problems[-1]
    assert (problem.file, problem.line) == (str(second), 1)
    assert problem.message == f"campaign id 'model' is also used by {first}"


def test_text_start_lines_point_into_block_texts(campaign: Campaign) -> None:
    # Given a post whose text is a `|-` block (key on line 32, text from line 33)
    wrap_up = next(p for p in campaign.posts if p.id == "wrap-up")
    part = wrap_up.parts[0]
    # Then problems with the whole text point at the key, and line n of the template is
    # line 32 + n of the file
    assert part.line == 32
    assert part.line_for("x") == 33
    assert part.line_for("x", 2) == 34
