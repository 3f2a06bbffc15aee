"""`herald draft`: a campaign skeleton written from a press release."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from herald import cli
from herald.draft import draft_campaign, slug
from herald.release import load_release, parse_release

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "campaigns" / "releases" / "safer-internet-day-2021.md"


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the real `herald` entry point with only this task's subcommands registered."""
    monkeypatch.setattr(cli, "COMMANDS", ("release", "draft"))
    return cli.main(argv)


def load_yaml(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def test_draft_has_one_post_per_headline_and_per_quote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the seed release and an output path in another folder
    out = tmp_path / "campaigns" / "sid.yaml"
    out.parent.mkdir()
    # When a draft is written for the hertspolice account
    code = run_cli(["draft", str(SEED), "--out", str(out), "--account", "hertspolice"], monkeypatch)
    _, err = capsys.readouterr()
    # Then it is YAML in the campaign format with one post per headline and one per quote,
    # three a day from the release's day
    assert code == 0
    assert f"wrote {out}: 5 posts to edit\n" in err
    doc = load_yaml(out)
    assert doc["campaign"] == "safer-internet-day-2021"
    assert doc["timezone"] == "Europe/London"
    assert doc["accounts"] == {
        "x": {"hertspolice": {"handle": "hertspolice", "name": "hertspolice"}}
    }
    assert doc["defaults"] == {"channels": ["x"]}
    release = load_release(SEED)
    assert [p["id"] for p in doc["posts"]] == [
        "headline-1",
        "headline-2",
        "headline-3",
        "quote-1",
        "quote-2",
    ]
    assert [p["at"] for p in doc["posts"]] == [
        "2021-02-09 08:00",
        "2021-02-09 12:00",
        "2021-02-09 17:00",
        "2021-02-10 08:00",
        "2021-02-10 12:00",
    ]
    for post, headline in zip(doc["posts"], release.headlines, strict=False):
        assert post["text"] == f"{headline}. {{{{ release.url }}}}"
    # A quote's post is its first sentences that fit, and names its speaker
    assert doc["posts"][3]["text"] == (
        '"As we continue to move forward through the coronavirus pandemic, the national'
        " lockdown means we are now increasingly reliant on technology for education,"
        ' socialisation and leisure activities." – {{ release.quotes[0].speaker }}'
    )
    # And `release:` points at the release from the output file's folder
    assert (out.parent / doc["release"]).resolve() == SEED.resolve()
    # And it tells the person what to edit
    assert out.read_text(encoding="utf-8").count("# EDIT") >= 6


def test_draft_loads_as_a_campaign(tmp_path: Path) -> None:
    # Given a draft written next to a copy of the release
    from herald.campaign import load_campaign
    from herald.draft import write_draft

    (tmp_path / "releases").mkdir()
    release_path = tmp_path / "releases" / "sid.md"
    release_path.write_bytes(SEED.read_bytes())
    out = tmp_path / "sid.yaml"
    write_draft(release_path, out, account="hertspolice")
    # When the campaign loader reads it
    result = load_campaign(out)
    # Then it has no errors and its five posts fall on 9 and 10 February 2021
    assert result.errors == []
    assert result.campaign is not None
    assert [p.at_local.strftime("%Y-%m-%d %H:%M") for p in result.campaign.posts] == [
        "2021-02-09 08:00",
        "2021-02-09 12:00",
        "2021-02-09 17:00",
        "2021-02-10 08:00",
        "2021-02-10 12:00",
    ]


def test_draft_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a campaign file someone already wrote
    out = tmp_path / "sid.yaml"
    out.write_text("campaign: mine\n", encoding="utf-8")
    # When a draft is asked to go there without --force
    code = run_cli(["draft", str(SEED), "--out", str(out)], monkeypatch)
    _, err = capsys.readouterr()
    # Then herald exits 1, says why, and leaves the file alone
    assert code == 1
    assert f"{out}:1: already exists" in err
    assert "--force" in err
    assert out.read_text(encoding="utf-8") == "campaign: mine\n"
    # And with --force it replaces it
    assert run_cli(["draft", str(SEED), "--out", str(out), "--force"], monkeypatch) == 0
    assert load_yaml(out)["campaign"] == "safer-internet-day-2021"


def test_draft_to_stdout_with_timezone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no --out and another time zone
    code = run_cli(["draft", str(SEED), "--timezone", "America/New_York"], monkeypatch)
    out, _ = capsys.readouterr()
    # Then the draft goes to stdout and names that zone
    assert code == 0
    doc = YAML(typ="safe", pure=True).load(out)
    assert doc["timezone"] == "America/New_York"
    assert len(doc["posts"]) == 5


def test_unknown_timezone_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a time zone that does not exist / When drafting
    with pytest.raises(SystemExit) as raised:
        run_cli(["draft", str(SEED), "--timezone", "Europe/Londn"], monkeypatch)
    _, err = capsys.readouterr()
    # Then argparse refuses it with a sentence, not a traceback
    assert raised.value.code == 2
    assert "unknown time zone 'Europe/Londn'" in err
    assert "Traceback" not in err


def test_release_without_a_readable_date_needs_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a release whose date is not one herald can read
    release = tmp_path / "r.md"
    release.write_text(
        "```yaml\ntitle: A release\npublish:\n  date: soon\n```\n\n* ### One thing\n",
        encoding="utf-8",
    )
    # When drafting without --date / Then it exits 1 and asks for one
    assert run_cli(["draft", str(release)], monkeypatch) == 1
    assert "give the first day of posts with --date" in capsys.readouterr().err
    # When drafting with --date / Then the post is on that day
    assert run_cli(["draft", str(release), "--date", "2021-03-01"], monkeypatch) == 0
    doc = YAML(typ="safe", pure=True).load(capsys.readouterr().out)
    assert [p["at"] for p in doc["posts"]] == ["2021-03-01 08:00"]


def test_more_headlines_than_slots_spill_to_the_next_day() -> None:
    # Given a release with four headlines
    body = "\n".join(f"* ### Headline {n}" for n in range(1, 5))
    release = parse_release(
        f"```yaml\ntitle: T\nurl: https://example.org/t\ndate: 2021-02-09\n```\n{body}\n", "r.md"
    )
    # When drafted
    doc = YAML(typ="safe", pure=True).load(draft_campaign(release, "r.md"))
    # Then the fourth post goes out at 08:00 the next day
    assert [p["at"] for p in doc["posts"]][-2:] == ["2021-02-09 17:00", "2021-02-10 08:00"]


def test_release_without_headlines_gets_one_post_from_its_title() -> None:
    # Given a release with no headline items
    release = parse_release(
        '```yaml\ntitle: "Quote: \\"this\\" & that"\ndate: 2021-02-09\n```\nBody.\n', "r.md"
    )
    # When drafted
    doc = YAML(typ="safe", pure=True).load(draft_campaign(release, "r.md"))
    # Then one post carries the title, quoted safely
    assert [p["text"] for p in doc["posts"]] == ['Quote: "this" & that.']
    assert doc["title"] == 'Quote: "this" & that'


def test_slug() -> None:
    # Given titles and file names / When slugged / Then lowercase words joined by dashes
    assert slug("Safer Internet Day 2021!") == "safer-internet-day-2021"
    assert slug("a" * 80) == "a" * 48
    assert slug("¿?") == ""


# ---- placeholders: a draft never validates until a person has filled it in ------------------


def _draft_next_to(tmp_path: Path, release_text: str, *argv: str) -> Path:
    (tmp_path / "releases").mkdir()
    (tmp_path / "releases" / "r.txt").write_text(release_text, encoding="utf-8")
    out = tmp_path / "r.yaml"
    assert cli.main(["draft", str(tmp_path / "releases" / "r.txt"), "--out", str(out), *argv]) == 0
    return out


def test_a_drafted_placeholder_account_is_a_validation_error(tmp_path: Path) -> None:
    # Given a draft written without --account
    from datetime import UTC, datetime

    from herald.validate import validate

    release = "Barn fire\n07/12/2026\n- A barn burned down\nJo Bloggs said: “Nobody was hurt.”\n"
    out = _draft_next_to(tmp_path, release)
    # When it is validated
    report = validate([out], datetime(2026, 12, 1, tzinfo=UTC))
    # Then its TODO account is an error at the account's line, and nothing else is
    assert [(p.line, p.message) for p in report.errors] == [
        (
            16,
            "account 'press-office' on X: its handle is still a placeholder (TODO);"
            " put the real one",
        ),
        (
            16,
            "account 'press-office' on X: its name is still a placeholder (TODO: its display"
            " name); put the real one",
        ),
    ]
    # And with a real account it validates, with a post per headline and per quote
    text = tmp_path / "real.yaml"
    argv = ["draft", str(tmp_path / "releases" / "r.txt"), "--out", str(text)]
    assert cli.main([*argv, "--account", "hertspolice"]) == 0
    report = validate([text], datetime(2026, 12, 1, tzinfo=UTC))
    assert report.errors == []
    assert [r.delivery.key.post for r in report.rendered] == ["headline-1", "quote-1"]


def test_a_todo_text_is_a_validation_error(tmp_path: Path) -> None:
    # Given a quote whose speaker herald could not tell, drafted with a TODO in its text
    from datetime import UTC, datetime

    from herald.validate import validate

    release = (
        "Barn fire\n07/12/2026\n"
        "Speaking after the fire, and on behalf of everyone involved in the response on the"
        " night, the duty officer at the station, said: “Nobody was hurt, and we are grateful.”\n"
    )
    out = _draft_next_to(tmp_path, release, "--account", "hertspolice")
    text = out.read_text(encoding="utf-8")
    assert "TODO: who said this" in text
    # When validated / Then that post is an error until the TODO is replaced
    report = validate([out], datetime(2026, 12, 1, tzinfo=UTC))
    assert [p.message for p in report.errors] == [
        "post 'quote-1' still has a placeholder (TODO) in its text"
    ]
