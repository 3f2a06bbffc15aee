"""One pass of validation shows every problem: a broken post never hides the others'
problems, a misspelt key is one line, and a refused file is never published."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from herald.campaign import load_campaign
from herald.plan import load_plan
from herald.validate import validate

NOW = datetime(2021, 1, 1, tzinfo=UTC)

CAMPAIGN = """\
campaign: one-pass
title: One pass
timezone: Europe/London
accounts:
  x:
    main: {handle: Main}
posts:
  - id: typo
    at: 2021-02-09 08:00
    txet: "A key written wrongly"
  - id: long
    at: 2021-02-09 09:00
    text: "{{ 'a' * 300 }}"
  - id: undefined
    at: 2021-02-09 10:00
    text: "Hello {{ nobody }}"
  - id: fine
    at: 2021-02-09 11:00
    text: "All good"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "one-pass.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_schema_error_in_one_post_hides_nothing_of_the_others(tmp_path: Path) -> None:
    # Given a campaign whose first post has a misspelt key, and two other broken posts
    path = write(tmp_path, CAMPAIGN)
    # When it is validated once
    report = validate([path], NOW)
    found = [(p.line, p.message) for p in report.errors]
    # Then the misspelt key is one line, saying what was meant
    typo = [m for line, m in found if line == 10]
    assert typo == ["unknown key 'txet' in post 'typo' (did you mean 'text'?)"], found
    assert not any("has no 'text'" in m for _, m in found)
    # And the other posts' length and template problems are there too, at their lines
    assert (13, "post 'long' is 300 characters on X (limit 280)") in found
    assert any(line == 16 and "nobody" in m for line, m in found), found
    assert len(found) == 3


def test_a_refused_file_is_never_published(tmp_path: Path) -> None:
    # Given the same campaign, with a post that is fine
    path = write(tmp_path, CAMPAIGN)
    # When it is loaded for publishing / Then it is refused whole: no delivery at all
    result = load_campaign(path)
    assert result.campaign is None and result.checked is not None
    plan, problems = load_plan([path])
    assert len(plan) == 0 and any(p.is_error for p in problems)


def test_a_bad_time_in_one_post_hides_nothing_of_the_others(tmp_path: Path) -> None:
    # Given a post with a time that is no time, and another that is too long
    text = CAMPAIGN.replace("txet:", "text:").replace("at: 2021-02-09 08:00", "at: tomorrow")
    path = write(tmp_path, text)
    # When it is validated once / Then both are reported
    found = [(p.line, p.message) for p in validate([path], NOW).errors]
    assert any(line == 9 and "tomorrow" in m for line, m in found), found
    assert (13, "post 'long' is 300 characters on X (limit 280)") in found


def test_errors_outside_the_posts_still_refuse_before_rendering(tmp_path: Path) -> None:
    # Given a top-level key misspelt: nothing of the file can be trusted to render
    path = write(tmp_path, CAMPAIGN.replace("timezone:", "timezon:"))
    report = validate([path], NOW)
    # Then the key is reported once, and no post was rendered
    messages = [p.message for p in report.errors]
    assert any("unknown key 'timezon'" in m and "'timezone'" in m for m in messages), messages
    assert not any("has no 'timezone'" in m for m in messages)
    assert report.rendered == []
