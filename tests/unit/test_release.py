"""Press releases: what herald reads from the Safer Internet Day seed, and how it refuses
input it cannot use (a `FILE:LINE: message`, never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from herald import cli
from herald.problems import InputError, Severity
from herald.release import load_release, parse_release

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "campaigns" / "releases" / "safer-internet-day-2021.md"
MOJIBAKE_LINES = [41, 43, 45, 47, 49, 51]

BADAT_TEXT = (
    "As we continue to move forward through the coronavirus pandemic, the national lockdown "
    "means we are now increasingly reliant on technology for education, socialisation and "
    "leisure activities. Therefore it's more vital than ever that we ensure our children and "
    "teenagers are given the tools, information and support to keep themselves safe online. "
    "Many of us will be home-schooling at the moment so why not take this opportunity to "
    "discuss online safety with your children? You can access age-appropriate advice on the "
    "Internet Matters website to help start and guide those conversations."
)
HERITAGE_TEXT = (
    "Protecting children and young people when they go online can be a challenge. Just like "
    "the real world, the virtual world can be a dangerous place. It's so important we educate "
    "our children and teenagers and ourselves about the dangers and we take time to have that "
    "talk to keep them safe."
)
ORGANISATIONS = [
    "Hertfordshire Safeguarding Children Partnership",
    "Internet Watch Foundation",
    "The NSPCC",
    "Child Exploitation and Online Protection command (CEOP)",
    "The Children's Society",
    "Crimestoppers",
]


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the real `herald` entry point with only this task's subcommands registered."""
    monkeypatch.setattr(cli, "COMMANDS", ("release", "draft"))
    return cli.main(argv)


@pytest.fixture(scope="module")
def seed():
    return load_release(SEED)


# ---- the seed ---------------------------------------------------------------------------


def test_seed_front_matter_fields(seed) -> None:
    # Given the Safer Internet Day release / When it is loaded
    # Then the front matter fields are read as written, with the date also in ISO form
    assert seed.title == "Police and partners show their support for Safer Internet Day 2021"
    assert seed.url == (
        "https://www.herts.police.uk/news-and-appeals/"
        "police-and-partners-show-their-support-for-safer-internet-day-2021"
    )
    assert seed.date == "9 Feb 2021"
    assert seed.date_iso == "2021-02-09"
    assert seed.area == "Hertfordshire"
    # The description's \u2019 escape is a curly apostrophe and stays one
    assert seed.description.startswith(
        "Hertfordshire Constabulary and colleagues from the county’s Safeguarding"
    )


def test_seed_headlines_have_markup_stripped(seed) -> None:
    # Given the three `* ### ...` items / When loaded / Then they are plain text, in order
    assert seed.headlines == (
        "Police and partners are supporting Safer Internet Day to raise awareness of cyber "
        "bulling, inappropriate content, and online personal safety",
        "The Constabulary's Child Online Safeguarding Team work hard to combat and investigate "
        "online offences against children",
        "If you suspect criminal activity against children online, please act",
    )


def test_seed_paragraphs_are_plain_text_in_order(seed) -> None:
    # Given the body / When loaded
    # Then paragraphs keep their order, lose Markdown emphasis, and keep the author's quotes
    assert seed.paragraphs[0].startswith("Hertfordshire Constabulary and colleagues")
    assert "If you believe a child is in immediate danger, always call police on 999." in (
        seed.paragraphs
    )
    assert not any("**" in p for p in seed.paragraphs)
    assert 'said: "As we continue' in seed.paragraphs[2]
    assert "the county's Safeguarding" in seed.paragraphs[0]
    assert seed.paragraphs[-1] == (
        "Visit the Herts Police website to find out more about how you and your children can "
        "stay safe online."
    )
    assert "🔺 Crimestoppers" in seed.paragraphs


def test_seed_quotes_join_each_speakers_paragraphs(seed) -> None:
    # Given two people quoted over several paragraphs / When loaded
    # Then there is one quote per speaker, named and described as the release does
    assert [q.speaker for q in seed.quotes] == [
        "Detective Inspector Gemma Badat",
        "Cllr Teresa Heritage",
    ]
    badat, heritage = seed.quotes
    assert badat.role == "who leads the Constabulary's Child Online Safeguarding Team (COST)"
    assert heritage.role == (
        "Deputy Leader of Hertfordshire County Council and Cabinet Member for Children, "
        "Young People and Families"
    )
    assert badat.text == BADAT_TEXT
    assert heritage.text == HERITAGE_TEXT
    assert len(badat.paragraphs) == 3
    assert len(heritage.paragraphs) == 2
    assert (badat.line, heritage.line) == (21, 31)


def test_seed_contact_routes(seed) -> None:
    # Given the "please act" paragraphs / When loaded
    # Then every route to report or get help is listed, in the order the release gives them
    routes = [(c.kind, c.detail) for c in seed.contacts if c.kind != "organisation"]
    assert routes == [
        ("report-online", "herts.police.uk.report"),
        ("webchat", "herts.police.uk/contact"),
        ("non-emergency", "101"),
        ("emergency", "999"),
        ("young-people", ""),
        ("young-people", ""),
    ]
    emergency = next(c for c in seed.contacts if c.kind == "emergency")
    assert (
        emergency.note
        == "If you believe a child is in immediate danger, always call police on 999."
    )
    assert [c.name for c in seed.contacts if c.kind == "young-people"] == ["ChildLine", "Fearless"]


def test_seed_lists_six_organisations(seed) -> None:
    # Given the 🔺 list after "organisations you can contact instead:" / When loaded
    # Then the six organisations are contacts of kind organisation, with their lines
    assert list(seed.organisations) == ORGANISATIONS
    lines = [c.line for c in seed.contacts if c.kind == "organisation"]
    assert lines == MOJIBAKE_LINES


def test_seed_mojibake_repaired_with_one_warning_per_line(seed) -> None:
    # Given six lines where 🔺 was mis-decoded as ðŸ”º / When loaded
    # Then the text is repaired and each line is reported once, with its line number
    assert [w.line for w in seed.warnings] == MOJIBAKE_LINES
    assert all(w.severity is Severity.WARNING for w in seed.warnings)
    assert str(seed.warnings[0]) == (
        f"{SEED}:41: warning: repaired mis-decoded text: 'ðŸ”º' → '🔺'"
    )
    assert not any("ðŸ" in p for p in seed.paragraphs)


def test_context_is_what_templates_see(seed) -> None:
    # Given the sandboxed, strict Jinja2 environment templates run in
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    template = env.from_string(
        "{{ release.title }}|{{ release.headlines[0] }}|{{ release.quotes[0].speaker }}|"
        "{{ release.quotes[1].text }}|{{ release.contacts[0].detail }}|"
        "{{ release.organisations | length }}|{{ release.date_iso }}"
    )
    # When a template reads release fields with attribute and index access
    rendered = template.render(release=seed.context())
    # Then each resolves to the parsed value
    assert rendered.split("|") == [
        seed.title,
        seed.headlines[0],
        "Detective Inspector Gemma Badat",
        HERITAGE_TEXT,
        "herts.police.uk.report",
        "6",
        "2021-02-09",
    ]


# ---- text that must be left alone, and other shapes ---------------------------------------


def test_curly_quotes_and_entities_are_left_alone() -> None:
    # Given a correctly encoded release with curly quotes and an HTML entity
    text = (
        "```yaml\ntitle: Test\nurl: https://example.org/x\npublish:\n  date: 1 March 2021\n```\n"
        "\n"
        "Jo Bloggs, head of things, said: “It’s ‘fine’ &amp; good.”\n"
    )
    # When it is parsed
    release = parse_release(text, "r.md")
    # Then nothing is changed and nothing is reported
    assert release.warnings == ()
    assert release.quotes[0].text == "It’s ‘fine’ &amp; good."
    assert release.quotes[0].speaker == "Jo Bloggs"
    assert release.date_iso == "2021-03-01"


def test_mis_decoded_curly_apostrophe_is_repaired_curly() -> None:
    # Given a line where ’ was mis-decoded as â€™
    text = "```yaml\ntitle: T\n```\n\nFirst line.\n\nItâ€™s here.\n"
    # When parsed
    release = parse_release(text, "r.md")
    # Then it becomes the curly apostrophe again (not a straight one), reported on line 7
    assert release.paragraphs == ("First line.", "It’s here.")
    assert [str(w) for w in release.warnings] == [
        "r.md:7: warning: repaired mis-decoded text: 'â€™' → '’'"
    ]


def test_markdown_lists_and_quote_after_attribution_forms() -> None:
    # Given dash front matter, a Markdown list of organisations and a `"..." said X.` quote
    text = (
        "---\ntitle: T\ndate: 2021-02-09\n---\n"
        "If you need help, contact these organisations:\n\n- Org One\n- Org Two\n\n"
        '"Stay *safe*," said Sam Smith, a volunteer.\n'
    )
    # When parsed
    release = parse_release(text, "r.md")
    # Then list items are organisations and the quote is attributed with emphasis stripped
    assert list(release.organisations) == ["Org One", "Org Two"]
    assert [(q.speaker, q.role, q.text) for q in release.quotes] == [
        ("Sam Smith", "a volunteer", "Stay safe")
    ]
    assert release.date == "2021-02-09"
    assert release.date_iso == "2021-02-09"


# ---- input herald refuses -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (b"", 1, "empty"),
        (b"  \n\n", 1, "empty"),
        (b"```yaml\ntitle: A\n", 1, "never closed"),
        (b"```yaml\ntitle: A\nurl: x: y\n```\nbody\n", 3, "invalid YAML in the front matter"),
        (b"\n```yaml\ntitle: A\n\turl: b\n```\n", 4, "invalid YAML in the front matter"),
        (b"```yaml\n- a list\n```\n", 2, "must be a mapping"),
        (b"```yaml\ntitle: A\n```\nok\n\xff\xfe\x00garbage", 5, "not UTF-8"),
        (b"```yaml\ntitle: A\n```\n\x00\x01\x02", 1, "binary"),
    ],
)
def test_bad_input_is_a_located_problem(
    tmp_path: Path, content: bytes, line: int, fragment: str
) -> None:
    # Given a file herald cannot use as a release
    path = tmp_path / "release.md"
    path.write_bytes(content)
    # When it is loaded
    with pytest.raises(InputError) as raised:
        load_release(path)
    # Then one problem names the file and the line
    [problem] = raised.value.problems
    assert (problem.file, problem.line) == (str(path), line)
    assert fragment in problem.message


def test_missing_file_is_a_located_problem(tmp_path: Path) -> None:
    # Given a path with no file / When loaded / Then the problem says it cannot be read
    path = tmp_path / "nope.md"
    with pytest.raises(InputError) as raised:
        load_release(path)
    assert str(raised.value.problems[0]).startswith(f"{path}:1: cannot read the release")


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    # Given binary garbage
    path = tmp_path / "garbage.md"
    path.write_bytes(bytes(range(256)) * 8)
    # When loaded / Then it is refused as input, not crashed on
    with pytest.raises(InputError):
        load_release(path)


# ---- the command ----------------------------------------------------------------------------


def test_command_prints_fields_and_warnings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the seed / When `herald release` runs
    code = run_cli(["release", str(SEED)], monkeypatch)
    out, err = capsys.readouterr()
    # Then it exits 0, shows the fields, and puts each repair warning on stderr
    assert code == 0
    assert "title:       Police and partners show their support" in out
    assert "Detective Inspector Gemma Badat" in out
    assert "emergency" in out
    assert err.splitlines() == [
        f"{SEED}:{n}: warning: repaired mis-decoded text: 'ðŸ”º' → '🔺'" for n in MOJIBAKE_LINES
    ]


def test_command_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Given the seed / When `herald release --json` runs
    code = run_cli(["release", str(SEED), "--json"], monkeypatch)
    out, _ = capsys.readouterr()
    document = json.loads(out)
    # Then the JSON holds the template fields and the warnings
    assert code == 0
    assert document["date_iso"] == "2021-02-09"
    assert document["quotes"][1]["speaker"] == "Cllr Teresa Heritage"
    assert document["organisations"] == ORGANISATIONS
    assert len(document["warnings"]) == 6


def test_command_bad_input_exits_1_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a release whose front matter is not valid YAML
    path = tmp_path / "bad.md"
    path.write_text("```yaml\ntitle: A\nurl: x: y\n```\n", encoding="utf-8")
    # When `herald release` runs
    code = run_cli(["release", str(path)], monkeypatch)
    _, err = capsys.readouterr()
    # Then it exits 1 with one FILE:LINE line
    assert code == 1
    assert err.startswith(f"{path}:3: invalid YAML in the front matter")
    assert "Traceback" not in err


def test_import_stays_light() -> None:
    # Given a fresh interpreter / When herald.release is imported
    code = (
        "import sys, herald.release; "
        "print(sorted(m for m in ('ftfy', 'ruamel.yaml', 'jinja2', 'boto3') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    # Then none of the heavy libraries it uses were loaded yet
    assert result.stdout.strip() == "[]"
