"""Press releases as they come: plain text copied from a web page, Markdown with no front
matter and bullets of every kind, a release with none of the optional parts, a saved web
page. Each is read without hand editing; what cannot be found or read is a warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from herald import cli
from herald.problems import InputError, Severity
from herald.release import ReleaseFields, load_release, parse_release, read_date, to_markdown

ROOT = Path(__file__).resolve().parents[2]
RELEASES = ROOT / "tests" / "data" / "releases"


def messages(release) -> list[str]:
    return [p.message for p in release.notices]


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(cli, "COMMANDS", ("release", "draft"))
    return cli.main(argv)


# ---- plain text copied from a web page ----------------------------------------------------


def test_plain_text_copied_from_a_web_page() -> None:
    # Given a release copied from a web page: title on line 1, a UK date, one paragraph per
    # line, `•` tips, a `said “` quote over two paragraphs and a `“…,” said …` quote
    release = load_release(RELEASES / "web-copy.txt")

    # Then every part is found without hand editing
    assert release.source == "text"
    assert release.title == "Appeal after catalytic converters stolen in Hatfield"
    assert (release.date, release.date_iso) == ("07/12/2026", "2026-12-07")
    assert release.headlines == (
        "Park in a garage or a well-lit area where you can.",
        "Fit a catalytic converter lock or cage, approved by Thatcham.",
        "Mark your converter with a forensic marking kit.",
    )
    assert len(release.paragraphs) == 7  # single line breaks separate paragraphs
    khan, reeve = release.quotes
    assert (khan.speaker, khan.role) == (
        "Detective Sergeant Amira Khan",
        "from the Hatfield Local Crime Unit",
    )
    assert len(khan.paragraphs) == 2
    assert khan.text.endswith("please get in touch.")
    assert (reeve.speaker, reeve.role) == (
        "Inspector Tom Reeve",
        "who leads Hatfield’s Safer Neighbourhood Team",
    )
    assert reeve.text == (
        "Our rural and town teams are patrolling the area tonight."
        " Report anything suspicious straight away."
    )
    # And the one thing it lacks is said
    assert messages(release) == ["no url found: give one with --url"]


def test_speaker_is_a_name_not_the_paragraph_before_it() -> None:
    # Given a quote introduced at the end of a long paragraph, after other sentences
    text = (
        "Title\n\nThe force has made 40 arrests this year, and seized more than 200 kilograms of"
        " drugs in raids across the county over the summer. Speaking at the launch, Assistant"
        " Chief Constable Jo Bright, of the Eastern Region, said “We are not letting up.”\n"
    )
    # When it is read
    [quote] = parse_release(text, "r.txt").quotes
    # Then the speaker is the name, with its role, not a run of the text before it
    assert (quote.speaker, quote.role) == (
        "Assistant Chief Constable Jo Bright",
        "of the Eastern Region",
    )


@pytest.mark.parametrize(
    ("paragraph", "speaker", "words"),
    [
        ('Jo Smith said: "We are here to help."', "Jo Smith", "We are here to help."),
        ("Jo Smith said “We are here to help.”", "Jo Smith", "We are here to help."),
        (
            'Inspector Jo Smith says "We are here to help."',
            "Inspector Jo Smith",
            "We are here to help.",
        ),
        ("“We are here to help,” said Jo Smith, a volunteer.", "Jo Smith", "We are here to help"),
        ('"We are here to help," Jo Smith said.', "Jo Smith", "We are here to help"),
    ],
)
def test_quote_forms(paragraph: str, speaker: str, words: str) -> None:
    # Given a quote written in one of the ways releases write them / When read
    [quote] = parse_release(f"Title\n\n{paragraph}\n", "r.txt").quotes
    # Then its speaker and words are found
    assert (quote.speaker, quote.text) == (speaker, words)


def test_a_word_in_quote_marks_is_not_a_quote() -> None:
    # Given reported speech with a quoted word
    release = parse_release("Title\n\nPolice said “significant” progress was made.\n", "r.txt")
    # Then no quote is listed, and the release says it found none
    assert release.quotes == ()
    assert any(m.startswith("no quotes found") for m in messages(release))


# ---- Markdown with bullets of each kind ------------------------------------------------------


def test_markdown_without_front_matter_and_bullets_of_each_kind() -> None:
    # Given a Markdown release with a `# title`, a date line, and `-`, `*`, `+`, `•` and
    # numbered lists, hard-wrapped paragraphs, a `says:` quote and a `“…,” added …` one
    release = load_release(RELEASES / "bullets.md")

    # Then the title and date come from its top, and every list item is a headline
    assert release.source == "markdown"
    assert release.title == "Winter driving: police and partners launch road safety week"
    assert release.date_iso == "2026-12-07"
    assert len(release.headlines) == 7
    assert (
        release.headlines[3]
        == "Clear all snow and ice from your windows and roof before you set off"
    )
    assert release.headlines[6] == "Carry a blanket, a torch and a charged phone"
    # A hard-wrapped paragraph stays one paragraph
    assert release.paragraphs[0].startswith("Hertfordshire Constabulary and the county's road")
    assert release.paragraphs[0].endswith("help drivers prepare for winter.")
    lane, shah = release.quotes
    assert (lane.speaker, lane.role) == (
        "Chief Inspector Rob Lane",
        "head of the Roads Policing Unit",
    )
    assert (
        lane.text
        == "Most collisions in winter are avoidable. A few minutes of preparation can save a life."
    )
    assert (shah.speaker, shah.text) == (
        "Sergeant Priya Shah",
        "We will be out on the roads all week. Come and say hello.",
    )


def test_a_list_of_organisations_to_contact_is_not_headlines() -> None:
    # Given a bullet list introduced as organisations to contact
    text = "Title\n\n- A headline\n\nYou can contact these organisations:\n\n- NSPCC\n- Childline\n"
    release = parse_release(text, "r.md")
    # Then those items are organisations, and only the first list is headlines
    assert release.headlines == ("A headline",)
    assert release.organisations == ("NSPCC", "Childline")


# ---- none of the optional parts ----------------------------------------------------------------


def test_release_with_none_of_the_optional_parts_says_what_it_lacks() -> None:
    # Given three sentences of text: no title, url, date, headlines or quotes
    release = load_release(RELEASES / "bare.txt")
    # Then its paragraphs are read, and each missing part is a warning, never a silence
    assert release.title == ""
    assert len(release.paragraphs) == 3
    assert messages(release) == [
        "no title found: give one with --title",
        "no url found: give one with --url",
        "no date found: give one with --date",
        "no headlines found: herald reads them from a bullet list (-, *, •, 1.)",
        "no quotes found: herald reads them after `said:`, `said “` or `says`,"
        " and before `, said …`",
    ]
    assert all(p.severity is Severity.WARNING for p in release.notices)


def test_missing_fields_come_from_the_command_line() -> None:
    # Given the bare release and fields given as --title, --url, --date
    fields = ReleaseFields(title="Barn fire", url="https://example.org/barn", date="08/12/2026")
    release = load_release(RELEASES / "bare.txt", fields)
    # Then they are the release's, and no longer missing
    assert (release.title, release.url, release.date_iso) == (
        "Barn fire",
        "https://example.org/barn",
        "2026-12-08",
    )
    assert not any(m.startswith(("no title", "no url", "no date")) for m in messages(release))


# ---- a saved web page ---------------------------------------------------------------------------


def test_saved_web_page_main_text_is_extracted() -> None:
    # Given a saved page with a menu, a cookie banner, related links and a footer
    release = load_release(RELEASES / "page.html", html=True)
    # Then only the article is read: fields from the page's head, its list as headlines,
    # its quote with the speaker
    assert release.source == "html"
    assert release.title == "Arrests after county lines drugs operation"
    assert release.url.endswith("/arrests-after-county-lines-drugs-operation")
    assert release.date_iso == "2026-12-07"
    assert release.headlines == (
        "Four people arrested and drugs worth £20,000 seized",
        "Two vulnerable young people safeguarded",
    )
    [quote] = release.quotes
    assert quote.speaker == "Detective Inspector Sam Osei"
    assert len(quote.paragraphs) == 2
    text = " ".join(release.paragraphs)
    for chrome in ("cookies", "Related news", "Privacy", "News and appeals", "Published"):
        assert chrome not in text
    assert release.notices == ()


def test_a_campaign_never_names_a_web_page_as_its_release() -> None:
    # Given the saved page / When loaded the way a campaign loads its release
    with pytest.raises(InputError) as raised:
        load_release(RELEASES / "page.html")
    # Then it is refused with the command that makes a release file of it
    assert "--write RELEASE.md" in raised.value.problems[0].message


def test_importing_release_loads_no_extraction_library() -> None:
    code = (
        "import sys, herald.release, herald.campaign; "
        "print([m for m in ('trafilatura', 'lxml', 'herald.release_html') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# ---- what cannot be understood ------------------------------------------------------------------


def test_a_quote_cut_off_at_the_end_is_a_warning() -> None:
    release = load_release(RELEASES / "cut-off.txt")
    [quote] = release.quotes
    assert quote.speaker == "Sergeant Lee Grant"
    cut = [p for p in release.warnings if "cut off" in p.message]
    assert [(p.line, p.severity) for p in cut] == [(4, Severity.WARNING)]


def test_a_date_that_cannot_be_read_is_a_warning() -> None:
    release = load_release(RELEASES / "unreadable-date.txt")
    assert release.date_iso is None
    [warning] = [p for p in release.warnings if "date" in p.message]
    assert warning.line == 2
    assert "'the week before Christmas 2026' cannot be read" in warning.message


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("07/12/2026", "2026-12-07"),
        ("7/12/26", "2026-12-07"),
        ("07.12.2026", "2026-12-07"),
        ("7 December 2026", "2026-12-07"),
        ("Monday 7th December 2026", "2026-12-07"),
        ("Mon 7 Dec 2026 10:30", "2026-12-07"),
        ("December 7, 2026", "2026-12-07"),
        ("2026-12-07", "2026-12-07"),
        ("Published: 07/12/2026 at 9.30am", "2026-12-07"),
        ("next Tuesday", None),
        ("31/02/2026", None),
    ],
)
def test_dates_are_read_as_a_uk_reader_writes_them(written: str, iso: str | None) -> None:
    assert read_date(written) == iso


@pytest.mark.parametrize(
    ("written", "fragment"),
    [
        ("12/25/2026", "written month first"),
        ("7 December", "has no year"),
        ("07/12", "has no year"),
    ],
)
def test_an_ambiguous_date_is_an_error(written: str, fragment: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_release(f"```yaml\ntitle: T\ndate: {written}\n```\nBody.\n", "r.md")
    [problem] = raised.value.problems
    assert (problem.file, problem.line) == ("r.md", 3)
    assert fragment in problem.message


# ---- --write: a normalised release ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["web-copy.txt", "bullets.md", "page.html"])
def test_written_release_reads_back_the_same(name: str, tmp_path: Path) -> None:
    # Given a release read from its original shape
    original = load_release(RELEASES / name, ReleaseFields(url="https://example.org/r"), html=True)
    # When written as a normalised file and read again
    path = tmp_path / "release.md"
    path.write_text(to_markdown(original), encoding="utf-8")
    again = load_release(path)
    # Then it has front matter, and templates see the same release
    assert path.read_text(encoding="utf-8").startswith("```yaml\ntitle: ")
    assert again.source == "front matter"
    assert {**again.context(), "date": ""} == {**original.context(), "date": ""}
    assert again.date_iso == original.date_iso


def test_command_write_saves_a_release_ready_for_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a saved web page / When `herald release page.html --write FILE`
    target = tmp_path / "arrests.md"
    code = run_cli(["release", str(RELEASES / "page.html"), "--write", str(target)], monkeypatch)
    _, err = capsys.readouterr()
    # Then the file is written and the next step is named
    assert code == 0
    assert f"wrote {target}: 2 headlines, 1 quote, 5 paragraphs. Next: herald draft" in err
    # And a second run refuses to replace it
    assert (
        run_cli(["release", str(RELEASES / "page.html"), "--write", str(target)], monkeypatch) == 1
    )
    assert "already exists" in capsys.readouterr().err


def test_command_takes_missing_fields_and_prints_warnings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["release", str(RELEASES / "bare.txt"), "--title", "Barn fire", "--date", "8/12/2026"]
    assert run_cli(argv, monkeypatch) == 0
    out, err = capsys.readouterr()
    assert "title:       Barn fire" in out
    assert "date:        8/12/2026 (2026-12-08)" in out
    assert "warning: no headlines found" in err
    assert "no title found" not in err


def test_command_ambiguous_date_on_the_command_line_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["release", str(RELEASES / "bare.txt"), "--date", "12/25/2026"]
    assert run_cli(argv, monkeypatch) == 1
    assert capsys.readouterr().err.startswith("<command line>:1: the date '12/25/2026' is written")
