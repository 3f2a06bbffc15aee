"""Bad input: every malformed campaign is refused with `FILE:LINE: message`, never with a
traceback, and nothing written in a campaign is ever executed.

Each broken campaign in tests/data/campaigns/bad/ says in its first line what is wrong
where. Every case goes through the library (`load_campaign`, `validate`) and through the
real command line (`herald.cli.main`, and the installed `herald` in a subprocess).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from herald.campaign import load_campaign
from herald.cli import main
from herald.problems import Problem
from herald.validate import validate

DATA = Path(__file__).resolve().parents[1] / "data" / "campaigns"
BAD = DATA / "bad"
VALID = DATA / "valid" / "demo-day-2021.yaml"
TINY_PNG = DATA / "valid" / "media" / "tiny.png"
NOW = datetime(2021, 1, 1, tzinfo=UTC)
NOW_ISO = "2021-01-01T00:00:00Z"
HERALD = Path(sys.executable).with_name("herald")

HEAD = """\
campaign: generated
title: A generated campaign
timezone: Europe/London
accounts:
  x:
    herald: {handle: HeraldDemo}
posts:
"""  # seven lines: the first post starts on line 8


@dataclass(frozen=True)
class Case:
    """A broken campaign, the line its problem is reported on and words the message has."""

    file: str
    line: int
    words: str
    found_by_loading: bool = True  # False: the schema is fine, validation (rendering) finds it

    def __str__(self) -> str:
        return self.file


CASES = [
    Case("empty.yaml", 1, "the file is empty"),
    Case("tab-indented.yaml", 11, "a tab is used for indentation: YAML needs spaces"),
    Case("duplicate-key.yaml", 5, "the key 'title' is written twice (first on line 3)"),
    Case("unknown-key.yaml", 11, "unknown key 'txet' in post 'one' (did you mean 'text'?)"),
    Case("alias-bomb.yaml", 3, "YAML aliases (*a) are not allowed in campaigns"),
    Case("text-is-a-number.yaml", 11, "post 'one': 'text' should be text, not the number 5"),
    Case("posts-is-text.yaml", 8, "'posts' should be a list, not the text 'Hello everyone'"),
    Case(
        "unknown-timezone.yaml",
        4,
        "unknown time zone 'Europe/Lundon' (did you mean Europe/London?)",
    ),
    Case("february-30.yaml", 10, "2021-02-30 is not a date: February 2021 has 28 days"),
    Case(
        "spring-forward-gap.yaml",
        10,
        "2021-03-28 01:30 does not exist in Europe/London: the clocks go forward an hour",
    ),
    Case(
        "fall-back-repeat.yaml",
        10,
        "2021-10-31 01:30 happens twice in Europe/London: the clocks go back an hour",
    ),
    Case(
        "missing-release.yaml",
        5,
        "the release ../valid/releases/no-such-release.md does not exist",
    ),
    Case("missing-media.yaml", 13, "media file media/no-such-image.png does not exist"),
    Case(
        "media-not-an-image.yaml",
        13,
        "media file media/not-an-image.png is not a PNG, JPEG, GIF or WebP image",
    ),
    Case("media-without-alt.yaml", 13, "post 'one', image 1 has no alt text"),
    Case("too-many-images.yaml", 17, "post 'one' has 5 images; X takes at most 4", False),
    Case(
        "undefined-variable.yaml",
        11,
        "post 'one': the template uses 'hashtagg', which is not defined",
        False,
    ),
    Case(
        "python-internals.yaml",
        11,
        "post 'one': the template does something templates may not do",
        False,
    ),
    Case("jinja-syntax.yaml", 14, "post 'one': the template cannot be read", False),
    Case("duplicate-post-id.yaml", 12, "post id 'one' is used twice (first on line 9)"),
    Case(
        "duplicate-text.yaml",
        14,
        "post 'two' has the same text as post 'one' (line 11); X refuses duplicates",
        False,
    ),
]


def reported(problems: list[Problem], file: Path | str, line: int, words: str) -> bool:
    """Whether an error at FILE:LINE says `words`."""
    return any(
        p.is_error and p.file == str(file) and p.line == line and words in p.message
        for p in problems
    )


def run_herald(*args: str | Path, cwd: Path = DATA) -> subprocess.CompletedProcess[str]:
    """The installed `herald` command, as a comms officer would run it."""
    return subprocess.run(
        [str(HERALD), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def assert_one_line_per_problem(stderr: str) -> None:
    """stderr is `FILE:LINE: message` lines and the closing count, nothing else."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert lines, "expected problems on stderr"
    *problems, summary = lines
    assert summary.endswith("nothing was published.")
    for line in problems:
        file, number, message = line.split(":", 2)
        assert file and number.isdigit() and message.startswith(" "), line


# ---- each broken campaign, through the library ----------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_load_campaign_refuses_with_file_and_line(case: Case) -> None:
    # Given a broken campaign
    path = BAD / case.file
    # When it is loaded
    result = load_campaign(path)
    # Then either loading refuses it at the line, or (for what only rendering can find)
    # it loads and leaves the finding to validation
    if case.found_by_loading:
        assert result.campaign is None
        assert reported(result.problems, path, case.line, case.words), result.problems
    else:
        assert result.campaign is not None, result.problems


@pytest.mark.parametrize("case", CASES, ids=str)
def test_validate_refuses_with_file_and_line(case: Case) -> None:
    # Given a broken campaign
    path = BAD / case.file
    # When it is validated
    report = validate([path], NOW)
    # Then the error is at its line, and the campaign is not offered for publishing
    assert reported(report.errors, path, case.line, case.words), report.problems
    assert report.campaigns == []


# ---- each broken campaign, through the command line ----------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_cli_validate_prints_file_line_message(
    case: Case, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a comms officer in the campaigns folder
    monkeypatch.chdir(DATA)
    # When they validate a broken campaign by its relative name
    code = main(["validate", f"bad/{case.file}", "--now", NOW_ISO])
    # Then exit 1, and stderr names the file as they typed it, the line, and the problem
    out, err = capsys.readouterr()
    assert code == 1
    assert f"bad/{case.file}:{case.line}: " in err
    line = next(x for x in err.splitlines() if x.startswith(f"bad/{case.file}:{case.line}: "))
    assert case.words in line
    assert str(DATA) not in err  # no absolute paths where the relative one reads better
    assert_one_line_per_problem(err)
    assert out == ""


@pytest.mark.parametrize(
    "name",
    ["empty.yaml", "tab-indented.yaml", "alias-bomb.yaml", "jinja-syntax.yaml", "unknown-key.yaml"],
)
def test_installed_herald_validate_exits_1_without_traceback(name: str) -> None:
    # Given a broken campaign, and the installed command
    case = next(c for c in CASES if c.file == name)
    # When `herald validate` runs in a fresh process
    proc = run_herald("validate", f"bad/{name}", "--now", NOW_ISO)
    # Then exit 1, one FILE:LINE line per problem, no traceback
    assert proc.returncode == 1, proc.stderr
    assert f"bad/{name}:{case.line}: " in proc.stderr
    assert case.words in proc.stderr
    assert_one_line_per_problem(proc.stderr)


def test_installed_herald_validate_reports_every_bad_file_at_once() -> None:
    # Given every broken campaign named on one command line
    names = [f"bad/{c.file}" for c in CASES]
    # When the installed command validates them all
    proc = run_herald("validate", *names, "--now", NOW_ISO)
    # Then each file's problem is reported, at its line, and nothing crashed
    assert proc.returncode == 1
    assert_one_line_per_problem(proc.stderr)
    for case in CASES:
        assert f"bad/{case.file}:{case.line}: " in proc.stderr, case.file


# ---- files that are not YAML, and YAML that tries to do harm ------------------------------

# Fixed "random" bytes: a binary header, NULs, and bytes that are not UTF-8.
GARBAGE = bytes.fromhex("7f454c46020101000000000000000000") + bytes(range(256)) * 4


def test_binary_garbage_is_not_a_campaign(tmp_path: Path) -> None:
    # Given a file of binary bytes named like a campaign
    path = tmp_path / "garbage.yaml"
    path.write_bytes(GARBAGE)
    # When it is loaded and validated
    result = load_campaign(path)
    report = validate([path], NOW)
    # Then it is refused as a whole (line 1) as not a text file, and nothing else is tried
    assert result.campaign is None
    assert reported(result.problems, path, 1, "this is not a text file (it holds binary data)")
    assert reported(report.errors, path, 1, "this is not a text file (it holds binary data)")


def test_text_saved_in_another_encoding_is_refused_at_the_line(tmp_path: Path) -> None:
    # Given a campaign saved as Latin-1, with an accented letter on line 2
    path = tmp_path / "latin1.yaml"
    path.write_bytes("campaign: cafe\ntitle: Café\n".encode("latin-1"))
    # When it is loaded / Then refused at line 2, saying how to fix it
    result = load_campaign(path)
    assert reported(result.problems, path, 2, "this line is not UTF-8 text: save the file as UTF-8")


def test_control_characters_are_refused_at_their_line(tmp_path: Path) -> None:
    # Given UTF-8 text with an escape character pasted into line 3
    path = tmp_path / "control.yaml"
    path.write_bytes(b"campaign: esc\ntitle: x\ntimezone: \x1b[31mUTC\n")
    # When it is loaded / Then refused at line 3, naming the character
    result = load_campaign(path)
    assert reported(result.problems, path, 3, "this is not a text file (control character U+001B)")


def test_installed_herald_refuses_binary_garbage(tmp_path: Path) -> None:
    # Given binary garbage / When the installed command validates it
    (tmp_path / "garbage.yaml").write_bytes(GARBAGE)
    proc = run_herald("validate", "garbage.yaml", cwd=tmp_path)
    # Then exit 1 with a FILE:LINE sentence, no traceback
    assert proc.returncode == 1
    assert "garbage.yaml:1: this is not a text file (it holds binary data)" in proc.stderr
    assert_one_line_per_problem(proc.stderr)


def test_alias_bomb_is_refused_with_bounded_memory() -> None:
    # Given the "billion laughs" file: expanded, 9**9 strings (gigabytes);
    # the loader's code is imported first so only the load itself is measured
    load_campaign(VALID)
    path = BAD / "alias-bomb.yaml"
    # When it is loaded while allocations are traced
    tracemalloc.start()
    try:
        result = load_campaign(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Then it is refused at the first alias, and the peak allocation stayed small
    assert result.campaign is None
    assert reported(result.problems, path, 3, "YAML aliases (*a) are not allowed")
    assert peak < 20 * 1024 * 1024, f"peak allocation {peak:,} bytes"


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system",
        "!!python/object/new:os.system",
        "!!python/name:os.system",
        "!!python/module:os",
    ],
)
def test_python_tags_are_refused_and_run_nothing(tmp_path: Path, tag: str) -> None:
    # Given a campaign whose value asks YAML to call os.system to create a marker file
    marker = tmp_path / "marker"
    path = tmp_path / "evil.yaml"
    path.write_text(
        HEAD.replace("title: A generated campaign", f'title: {tag} ["touch {marker}"]')
        + '  - {id: one, at: "2021-03-01 09:00", text: "Hello"}\n'
    )
    # When it is loaded, validated and run through the installed command
    result = load_campaign(path)
    report = validate([path], NOW)
    proc = run_herald("validate", "evil.yaml", cwd=tmp_path)
    # Then it is refused at the tag's line, and the command never ran
    assert reported(result.problems, path, 2, f"the tag {tag} is not allowed in campaigns")
    assert reported(report.errors, path, 2, f"the tag {tag} is not allowed in campaigns")
    assert proc.returncode == 1
    assert "evil.yaml:2: the tag !!python/" in proc.stderr
    assert_one_line_per_problem(proc.stderr)
    assert not marker.exists()


def test_python_tag_deep_inside_a_post_is_refused(tmp_path: Path) -> None:
    # Given the tag hidden in a post's text, three levels down
    marker = tmp_path / "marker"
    path = tmp_path / "evil.yaml"
    path.write_text(
        HEAD
        + "  - id: one\n"
        + '    at: "2021-03-01 09:00"\n'
        + f'    text: !!python/object/apply:os.system ["touch {marker}"]\n'
    )
    # When it is validated / Then refused at line 10, and nothing ran
    report = validate([path], NOW)
    assert reported(report.errors, path, 10, "the tag !!python/object/apply:os.system")
    assert not marker.exists()


# ---- media and alt text --------------------------------------------------------------------


def test_media_over_5_mb_is_refused(tmp_path: Path) -> None:
    # Given a PNG that is 6 MB (sparse: the header, then a hole)
    big = tmp_path / "big.png"
    with big.open("wb") as handle:
        handle.write(TINY_PNG.read_bytes())
        handle.truncate(6 * 1024 * 1024)
    path = tmp_path / "big.yaml"
    path.write_text(
        HEAD
        + "  - id: one\n"
        + "    at: 2021-03-01 09:00\n"
        + "    text: Hello\n"
        + "    media:\n"
        + "      - file: big.png\n"
        + "        alt: A very large picture\n"
    )
    # When it is loaded
    result = load_campaign(path)
    # Then it is refused at the file's line with its size and the limit
    assert reported(
        result.problems, path, 12, "media file big.png is 6.0 MB; X takes images of at most 5 MB"
    )


def test_media_just_over_5_mb_does_not_read_as_5_mb(tmp_path: Path) -> None:
    # Given a PNG one byte over the limit
    big = tmp_path / "big.png"
    with big.open("wb") as handle:
        handle.write(TINY_PNG.read_bytes())
        handle.truncate(5 * 1024 * 1024 + 1)
    path = tmp_path / "big.yaml"
    path.write_text(
        HEAD + "  - id: one\n    at: 2021-03-01 09:00\n    text: Hi\n"
        "    media: [{file: big.png, alt: Big}]\n"
    )
    # When it is loaded / Then the size shown is over 5 MB, so the message is not a riddle
    result = load_campaign(path)
    assert reported(result.problems, path, 11, "is 5.1 MB; X takes images of at most 5 MB")


def test_alt_text_over_1000_characters_is_refused(tmp_path: Path) -> None:
    # Given an image whose alt text is 1001 characters
    path = tmp_path / "alt.yaml"
    (tmp_path / "tiny.png").write_bytes(TINY_PNG.read_bytes())
    path.write_text(
        HEAD
        + "  - id: one\n"
        + "    at: 2021-03-01 09:00\n"
        + "    text: Hello\n"
        + "    media:\n"
        + "      - file: tiny.png\n"
        + f"        alt: {'a' * 1001}\n"
    )
    # When it is loaded / Then refused at the alt line, with the count and the limit
    result = load_campaign(path)
    assert reported(
        result.problems,
        path,
        13,
        "post 'one', image 1: the alt text is 1,001 characters; X takes at most 1,000",
    )


def test_alt_text_of_spaces_is_empty(tmp_path: Path) -> None:
    # Given an image whose alt text is only spaces
    path = tmp_path / "alt.yaml"
    (tmp_path / "tiny.png").write_bytes(TINY_PNG.read_bytes())
    path.write_text(
        HEAD + "  - id: one\n    at: 2021-03-01 09:00\n    text: Hi\n"
        '    media: [{file: tiny.png, alt: "   "}]\n'
    )
    # When it is loaded / Then it is refused: spaces describe nothing
    result = load_campaign(path)
    assert reported(result.problems, path, 11, "the image's alt text is empty")


# ---- what X would refuse -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "weighted"),
    [("中" * 150, 300), ("😀" * 141, 282)],
    ids=["150-cjk", "141-emoji"],
)
def test_post_over_280_weighted_characters_is_refused(
    tmp_path: Path, text: str, weighted: int
) -> None:
    # Given a post under 280 code points that X counts as over 280 (CJK and emoji weigh 2)
    path = tmp_path / "long.yaml"
    path.write_text(HEAD + f'  - id: one\n    at: 2021-03-01 09:00\n    text: "{text}"\n')
    assert len(text) < 280
    # When it is validated
    report = validate([path], NOW)
    # Then it is refused at the text's line, with X's count and the limit
    assert reported(
        report.errors, path, 10, f"post 'one' is {weighted} characters on X (limit 280)"
    )
    assert report.campaigns == []


def test_thread_part_over_the_limit_is_reported_at_its_own_line(tmp_path: Path) -> None:
    # Given a thread whose second follow-up is too long
    path = tmp_path / "thread.yaml"
    path.write_text(
        HEAD
        + "  - id: one\n"
        + "    at: 2021-03-01 09:00\n"
        + "    text: Start\n"
        + "    thread:\n"
        + "      - Fine\n"
        + f"      - {'x' * 281}\n"
    )
    # When it is validated / Then the problem points at that follow-up
    report = validate([path], NOW)
    assert reported(
        report.errors, path, 13, "post 'one' (thread part 3 of 3) is 281 characters on X"
    )


def test_text_that_differs_only_in_a_date_is_a_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two posts whose texts differ only in the date
    monkeypatch.chdir(DATA)
    path = Path("bad/date-only-difference.yaml")
    # When it is validated, in the library and on the command line
    report = validate([path], NOW)
    code = main(["validate", str(path), "--now", NOW_ISO])
    # Then it is valid (exit 0) with a warning at the second post
    out, err = capsys.readouterr()
    assert report.errors == []
    assert [(w.line, "only in a date" in w.message) for w in report.warnings] == [(14, True)]
    assert code == 0
    assert f"{path}:14: warning: post 'two' differs from post 'one' only in a date" in err
    assert "1 campaign(s) valid: 2 deliveries." in out


# ---- templates -----------------------------------------------------------------------------


def test_template_reaching_for_python_internals_leaks_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a template that walks from a string to every class Python has loaded
    monkeypatch.chdir(DATA)
    # When it is validated and previewed
    validate_code = main(["validate", "bad/python-internals.yaml", "--now", NOW_ISO])
    preview_code = main(["preview", "bad/python-internals.yaml", "--json", "--now", NOW_ISO])
    out, err = capsys.readouterr()
    # Then both refuse it at its line, and no Python object was rendered anywhere
    assert (validate_code, preview_code) == (1, 1)
    assert "bad/python-internals.yaml:11: post 'one': the template does something" in err
    assert "<class" not in out + err
    assert "subclasses" not in out + err
    assert out.strip() == "[]"


def test_template_escape_through_globals_runs_nothing(tmp_path: Path) -> None:
    # Given the classic template-injection escape, aimed at creating a marker file
    marker = tmp_path / "marker"
    path = tmp_path / "escape.yaml"
    path.write_text(
        HEAD
        + "  - id: one\n"
        + "    at: 2021-03-01 09:00\n"
        + "    text: \"{{ cycler.__init__.__globals__.os.system('touch "
        + str(marker)
        + "') }}\"\n"
    )
    # When it is validated
    report = validate([path], NOW)
    # Then it is refused at its line, and the command never ran
    assert reported(report.errors, path, 10, "the template does something templates may not do")
    assert not marker.exists()


def test_template_that_would_exhaust_memory_is_refused(tmp_path: Path) -> None:
    # Given templates that would build a gigabyte of text, or a number with a billion digits
    path = tmp_path / "huge.yaml"
    path.write_text(
        HEAD
        + "  - id: one\n"
        + "    at: 2021-03-01 09:00\n"
        + "    text: \"{{ 'a' * 1000000000 }}\"\n"
        + "  - id: two\n"
        + "    at: 2021-03-01 10:00\n"
        + '    text: "{{ 10 ** 1000000000 }}"\n'
    )
    # When it is validated / Then both are refused at their lines
    report = validate([path], NOW)
    assert reported(report.errors, path, 10, "'*' would make more than 10,000 items")
    assert reported(report.errors, path, 13, "'**' would make a number too big to print")


def test_jinja_syntax_error_in_an_override_points_into_the_override(tmp_path: Path) -> None:
    # Given a post whose X override (a `|` block) is broken on its second line
    path = tmp_path / "override.yaml"
    path.write_text(
        HEAD
        + "  - id: one\n"
        + "    at: 2021-03-01 09:00\n"
        + "    text: Fine\n"
        + "    overrides:\n"
        + "      x: |-\n"
        + "        First line\n"
        + "        {% if %}\n"
    )
    # When it is validated / Then the error is on line 14, inside the override
    report = validate([path], NOW)
    assert reported(report.errors, path, 14, "the template cannot be read")


# ---- more wrong shapes, each a sentence at a line -------------------------------------------


@pytest.mark.parametrize(
    ("posts", "line", "words"),
    [
        ("  - {id: one, at: 5, text: Hi}\n", 8, "'at' should be a date and time, not the number 5"),
        ("  - {id: one, at: 2021-03-01, text: Hi}\n", 8, "2021-03-01 has no time of day"),
        ("  - {id: one, at: tomorrow, text: Hi}\n", 8, "'tomorrow' is not a date and time"),
        (
            "  - {id: one, at: 2021-03-01T09:00:00+01:00, text: Hi}\n",
            8,
            "has a UTC offset: write the local time without one",
        ),
        ("  - {id: one, at: '2021-13-01 09:00', text: Hi}\n", 8, "there is no month 13"),
        ("  - {id: One, at: '2021-03-01 09:00', text: Hi}\n", 8, "'One' is not a valid post id"),
        (
            "  - {id: one, at: '2021-03-01 09:00', text: Hi, thread: [5]}\n",
            8,
            "thread item 1 should be text or a mapping (key: value), not the number 5",
        ),
        (
            "  - {id: one, at: '2021-03-01 09:00', text: Hi, channels: [myspace]}\n",
            8,
            "'myspace' is not a channel herald publishes to (x, bluesky",
        ),
        (
            "  - {id: one, at: '2021-03-01 09:00', text: Hi, media: picture.png}\n",
            8,
            "'media' should be a list, not the text 'picture.png'",
        ),
        ("  - {id: one, at: '2021-03-01 09:00', text: ''}\n", 8, "post 'one': 'text' is empty"),
        ("  - 5\n", 8, "post 1 should be a mapping (key: value), not the number 5"),
        ("  - {id: one, <<: {at: x}}\n", 8, "merge keys (<<) are not allowed"),
        ('  - {id: one, at: "2021-03-01 09:00", text: "Hi}\n', 8, "the quote opened on this line"),
        ("  - id: one\n    at: x\n   text: y\n", 10, "does not line up"),
        ("  - id: one\n    at: x: y\n", 9, "put text that contains ': ' in quotes"),
        ("  - id: one\n    text: @HeraldDemo\n", 9, "a value cannot start with @: put the text in"),
    ],
    ids=[
        "at-number",
        "at-date-only",
        "at-word",
        "at-offset",
        "month-13",
        "id-uppercase",
        "thread-number",
        "unknown-channel",
        "media-text",
        "empty-text",
        "post-number",
        "merge-key",
        "open-quote",
        "indentation",
        "colon-in-text",
        "at-sign",
    ],
)
def test_wrong_shapes_are_sentences_at_their_line(
    tmp_path: Path, posts: str, line: int, words: str
) -> None:
    # Given a campaign whose posts are written wrongly
    path = tmp_path / "shape.yaml"
    path.write_text(HEAD + posts)
    # When it is loaded
    result = load_campaign(path)
    # Then one sentence says what is wrong, at the line, with no pydantic jargon
    assert result.campaign is None
    assert reported(result.problems, path, line, words), result.problems
    assert not any("Input should be" in p.message for p in result.problems)


@pytest.mark.parametrize(
    ("replace", "by", "line", "words"),
    [
        ("title: A generated campaign", "title: 5", 2, "'title' should be text, not the number 5"),
        ("title: A generated campaign", "title:", 2, "'title' is empty"),
        ("campaign: generated", "campaign: Generated Day", 1, "is not a valid campaign id"),
        ("timezone: Europe/London", "timezone: Mars/Olympus", 3, "use an IANA name"),
        ("accounts:", "max_lateness: 15\naccounts:", 4, "max_lateness: '15' is not a duration"),
        ("accounts:", "max_lateness: 2d\naccounts:", 4, "'2d' is not a duration"),
        ("accounts:", "timezon: UTC\naccounts:", 4, "unknown key 'timezon' in the campaign"),
        ("accounts:", "variables: [1]\naccounts:", 4, "'variables' should be a mapping"),
        ("accounts:", "variables: {post: 1}\naccounts:", 4, "'post' cannot be a variable name"),
        ("accounts:", "5: five\naccounts:", 4, "the key 5 is not a word"),
        ("accounts:", "[a]: b\naccounts:", 4, "a key must be a plain word"),
        ("accounts:", "---\naccounts:", 4, "holds one YAML document, not several"),
        ("    herald: {handle: HeraldDemo}", "    herald: {handle: 5}", 6, "x account 'herald'"),
        ("    herald: {handle: HeraldDemo}", "    herald: {name: N}", 6, "has no 'handle'"),
        ("    herald: {handle: HeraldDemo}", "", 5, "'x' is empty"),
    ],
)
def test_wrong_campaign_fields_are_sentences_at_their_line(
    tmp_path: Path, replace: str, by: str, line: int, words: str
) -> None:
    # Given a campaign with one field written wrongly
    path = tmp_path / "fields.yaml"
    path.write_text(HEAD.replace(replace, by) + "  - {id: one, at: '2021-03-01 09:00', text: Hi}\n")
    # When it is loaded / Then it is refused with a sentence at the field's line
    result = load_campaign(path)
    assert result.campaign is None
    assert reported(result.problems, path, line, words), result.problems
    assert not any("Input should be" in p.message for p in result.problems)


def test_folder_and_missing_paths_are_refused_with_a_line(tmp_path: Path) -> None:
    # Given a path that does not exist, and a folder named like a campaign file
    missing = tmp_path / "nowhere.yaml"
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    # When each is loaded / Then each is refused at line 1
    assert reported(load_campaign(missing).problems, missing, 1, "no such file")
    assert reported(load_campaign(folder).problems, folder, 1, "this is a folder, not a file")


@pytest.mark.parametrize(
    "zone",
    ["Europe", "Europe/" + "London" * 60],
    ids=["a region's folder", "a name too long for a file"],
)
def test_a_time_zone_that_is_no_zone_file_is_an_unknown_zone(tmp_path: Path, zone: str) -> None:
    # Given a campaign whose timezone names a folder of the zone database, or is longer
    # than any file name can be
    path = tmp_path / "zone.yaml"
    path.write_text(
        HEAD.replace("Europe/London", zone) + "  - {id: one, at: '2021-03-01 09:00', text: Hi}\n"
    )
    # When it is loaded / Then it is refused at the timezone's line, not with a traceback
    result = load_campaign(path)
    assert result.campaign is None
    assert reported(result.problems, path, 3, f"unknown time zone '{zone}'"), result.problems


# ---- one broken file never hides the others ------------------------------------------------

FOLDER = DATA / "folder"


def test_two_broken_campaigns_in_a_folder_are_both_reported() -> None:
    # Given a folder with two broken campaigns and a good one
    # When the folder is validated
    report = validate([FOLDER], NOW)
    # Then both broken files are reported at their lines, and the good one is usable
    assert reported(report.errors, FOLDER / "broken-yaml.yaml", 7, "the quote opened on this line")
    assert reported(
        report.errors, FOLDER / "broken-time.yaml", 10, "does not exist in America/New_York"
    )
    assert [c.id for c in report.campaigns] == ["folder-good"]


def test_preview_of_a_folder_still_lists_the_valid_campaign(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a folder with two broken campaigns and a good one
    monkeypatch.chdir(DATA)
    # When it is previewed as JSON
    code = main(["preview", "folder", "--json", "--now", NOW_ISO])
    out, err = capsys.readouterr()
    # Then the good campaign's deliveries are listed, both broken files are reported on
    # stderr, and the exit code says something was wrong
    rows = json.loads(out)
    assert code == 1
    assert [(r["campaign"], r["post"], r["at"], r["reply_to"]) for r in rows] == [
        ("folder-good", "hello", "2021-03-14T07:30:00Z", None),
        ("folder-good", "hello.2", "2021-03-14T07:30:00Z", "hello"),
    ]
    assert "folder/broken-yaml.yaml:7: the quote opened on this line is never closed" in err
    assert "folder/broken-time.yaml:10: post 'one': 2021-03-14 02:30 does not exist" in err
    assert "Traceback" not in err


def test_installed_herald_preview_of_a_folder_lists_the_valid_campaign() -> None:
    # Given the same folder / When the installed command previews it as JSON
    proc = run_herald("preview", "folder", "--json", "--now", NOW_ISO)
    # Then exit 1, the good campaign's two deliveries on stdout, both problems on stderr
    assert proc.returncode == 1
    assert [r["post"] for r in json.loads(proc.stdout)] == ["hello", "hello.2"]
    assert "folder/broken-yaml.yaml:7: " in proc.stderr
    assert "folder/broken-time.yaml:10: " in proc.stderr
    assert "Traceback" not in proc.stderr


def test_installed_herald_validate_of_a_folder_reports_both_broken_files() -> None:
    # Given the same folder / When the installed command validates it
    proc = run_herald("validate", "folder", "--now", NOW_ISO)
    # Then exit 1 and both problems, one line each
    assert proc.returncode == 1
    assert "folder/broken-yaml.yaml:7: " in proc.stderr
    assert "folder/broken-time.yaml:10: " in proc.stderr
    assert_one_line_per_problem(proc.stderr)


def test_a_schema_error_does_not_hide_bad_times_or_missing_media(tmp_path: Path) -> None:
    # Given a campaign with an image without alt text (a schema error), a time in the
    # spring-forward gap, and an image file that does not exist
    path = tmp_path / "winter.yaml"
    path.write_text(
        "campaign: winter\n"
        "title: Winter driving\n"
        "timezone: Europe/London\n"
        "accounts:\n"
        "  x:\n"
        "    main: {handle: Main}\n"
        "posts:\n"
        "  - id: clocks\n"
        "    at: 2027-03-28 01:30\n"
        "    text: Check your tyres.\n"
        "    media:\n"
        "      - file: tyres.png\n",
        encoding="utf-8",
    )
    # When it is loaded
    result = load_campaign(path)
    # Then one run reports all three, each at its line
    found = [(p.line, p.message) for p in result.problems]
    assert result.campaign is None
    assert any(line == 12 and "no alt text" in message for line, message in found)
    assert any(line == 9 and "not exist in Europe/London" in message for line, message in found)
    assert any(line == 12 and "tyres.png does not exist" in message for line, message in found)
