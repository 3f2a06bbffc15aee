"""The libyaml fast path reads YAML exactly as ruamel's round-trip loader does.

Every file is loaded twice by `yamlsource.load`: with the fast path, and with it turned
off (ruamel only). Both give the same data (values and types: text, ruamel's `|` and `>`
strings, ints, floats, bools, None, dates and timestamps), the same `line()` and
`text_start()` for every part of the document, or the same problems. The files: the
campaigns shipped and every fixture under tests/data, good and bad; the awkward scalars
written out; and documents hypothesis makes."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herald import yaml_fast, yamlsource
from herald.problems import InputError

DEPTH = yamlsource.MAX_DEPTH
ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p
    for folder in (ROOT / "campaigns", ROOT / "tests" / "data")
    for p in folder.rglob("*")
    if p.suffix in (".yaml", ".yml") and p.is_file()
)

# Scalars whose meaning YAML 1.1 and 1.2 disagree on, or that libyaml and ruamel could
# read differently; each is written plain, and as a value in a list.
AWKWARD = [
    "yes", "no", "on", "off", "Yes", "NO", "y", "n", "~", "null", "Null", "NULL", "", "true",
    "True", "FALSE", "0777", "0o17", "0x1F", "0b101", "1_000", "+12", "-7", "08:00", "1:30",
    "12:30:45", "1.5", "1.", ".5", "1e3", "1.0e+3", "-1.5E-2", "1_000.5", ".inf", "-.inf",
    ".Inf", ".nan", ".NaN", "2021-02-09", "2021-2-9", "2027-01-04 09:00",
    "2021-02-09T10:00:00Z", "2021-02-09 10:00:00", "2021-02-09t10:00:00.5+01:00",
    "2021-02-09 10:00:00 -05:00", "'quoted'", '"double"', '"08:00"', "'yes'", '"a\\tb\\u00e9"',
    "'it''s'", "héllo wörld", "🚀 launch", "{{ tag }} x", "- not a list", "a: b c",
    "=", "<<x", "._", "-_", "0x_", "#Hash", "x # comment", "100%", "@handle", "`tick`",
]  # fmt: skip

BLOCKS = [
    "text: |\n  one\n  two\n",
    "text: |-\n  one\n  two\n\n",
    "text: |+\n  one\n  two\n\n",
    "text: >\n  one\n  two\n\n  three\n",
    "text: >-\n  one\n  two\n",
    "text: >+\n  one\n\n",
    "text: |2\n    indented\n  less\n",
    "text: plain that\n  goes on\n  over lines\n",
    "text: 'single that\n  goes on'\n",
    'text: "double that\n  goes on \\\n  and on"\n',
    "text: |\n  🎉 emoji ✓ ünïcode\n",
    "text: >\n  a\n    more\n  b\n\n    c\n  d\n\n\n  e\n",
    "text: >\n\n  after a blank\n   one more\n",
    "text: |\n\n  after a blank\n\n",
    "text: |\n    \n  less after more\n",
    "text: >2-\n   x\n  y\n",
    "text: |\n  a\n # not a comment\nb: c\n",
    'text: "\\/ \\x41 \\u263A \\U0001F600 \\N \\_ \\L \\P \\e \\0 \\a \\ "\n',
    "text: 'a\n\n  b\n    c'\n",
    "text: plain\n\n  after blank\n  # comment\nnext: x\n",
    "a: [b, c,]\nd: {e: f,}\n",
    "a: [b: c, d]\n",
    "a: {b, c: d}\n",
    "a: [b:c, 'd':e]\n",
    "- a\n- b: c\n  d: e\n- - f\n  - g\n",
    "a: b\n...\n",
    "--- a\n",
    "--- |\n  root text\n",
    "a: 'x' # c\nb: \"y\" #c\n",
    "a: b #c\n#d\n  # e\nf: g\n",
    "key with spaces: v\n'quoted key': v\n\"dq\": v\n",
    "a:\n  - x\n  -\n  - - y\n    - z\n  - k: v\n    l: [1, {m: n}]\n",
    "a: {b: [c, d], e: {}}\nf: []\ng:\nh: ~\n",
    "posts:\n- id: p1\n  at: 2027-01-04 09:00\n- id: p2\n  text: |\n    hi\n",
    "# a comment\n\n---\nkey: value  # after\n...\n",
    "? a\n: b\n",
    "[1, 2, 3]\n",
    "just text\n",
    "1: one\n2.5: two\ntrue: three\nnull: four\n",
    "a: b\na: c\n",
    "a: &x 1\nb: *x\n",
    "<<: {a: 1}\n",
    "a: !!str 5\n",
    "a: ! 5\n",
    "%YAML 1.1\n---\na: yes\n",
    "a:\tb\n",
    "a: b\r\nc: d\r\n",
    "[a, b]: c\n",
    "a: [b\n",
    "a: 'b\n",
    "a: b: c\n",
    "a\nb: c\n",
    "---\na: 1\n---\nb: 2\n",
    "",
    "# only a comment\n",
]


def fast_off(text: str, max_depth: int) -> Any:
    raise yaml_fast.Unusual


def outcome(path: Path) -> tuple[str, Any]:
    try:
        return "ok", yamlsource.load(path)
    except InputError as error:
        return "problems", error.problems
    except Exception as error:  # ruamel fails on `-_` with IndexError: so must the fast path
        return "raised", repr(error)


def both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple[str, Any], tuple[str, Any]]:
    fast = outcome(path)
    with monkeypatch.context() as patched:
        patched.setattr(yaml_fast, "load", fast_off)
        slow = outcome(path)
    return fast, slow


def paths(data: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    yield loc
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths(value, (*loc, index))


def assert_same_data(fast: Any, slow: Any, loc: tuple[str | int, ...] = ()) -> None:
    if isinstance(slow, dict):
        assert isinstance(fast, dict), loc
        assert list(fast) == list(slow), loc
        assert [type(k) for k in fast] == [type(k) for k in slow], loc
        for key in slow:
            assert_same_data(fast[key], slow[key], (*loc, key))
    elif isinstance(slow, list):
        assert isinstance(fast, list) and len(fast) == len(slow), loc
        for index, (a, b) in enumerate(zip(fast, slow, strict=True)):
            assert_same_data(a, b, (*loc, index))
    else:
        assert type(fast) is type(slow), (loc, type(fast), type(slow))
        if isinstance(slow, float) and math.isnan(slow):
            assert math.isnan(fast), loc
        else:
            # ruamel's TaggedScalar (what it makes of `=`) is equal to nothing but itself
            assert fast == slow or repr(fast) == repr(slow), loc
            assert str(fast) == str(slow), loc
        if isinstance(slow, date):
            assert getattr(fast, "tzinfo", None) == getattr(slow, "tzinfo", None), loc


def assert_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (kind, fast), (slow_kind, slow) = both(path, monkeypatch)
    assert kind == slow_kind, (fast, slow)
    if kind != "ok":
        assert fast == slow
        return kind
    assert_same_data(fast.data, slow.data)
    for loc in paths(slow.data):
        for extra in ((), (0,), ("nothing here",)):
            assert fast.line((*loc, *extra)) == slow.line((*loc, *extra)), loc
        if loc:
            assert fast.text_start(loc) == slow.text_start(loc), loc
    return kind


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_the_fast_path_is_there_and_reads_usual_campaigns() -> None:
    assert yaml_fast.available()
    data = yaml_fast.load((ROOT / "campaigns" / "safer-internet-day-2021.yaml").read_text(), DEPTH)
    assert isinstance(data, yaml_fast.Mapping) and data["posts"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_campaign_and_fixture_reads_the_same(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same(path, monkeypatch)


def test_the_fixtures_are_read_by_the_fast_path_mostly() -> None:
    fast = 0
    for path in FILES:
        try:
            yaml_fast.load(path.read_text(encoding="utf-8-sig"), DEPTH)
            fast += 1
        except (yaml_fast.Unusual, UnicodeDecodeError):
            pass
    assert fast >= len(FILES) // 2, (fast, len(FILES))


@pytest.mark.parametrize("scalar", AWKWARD)
def test_awkward_scalars_mean_the_same(scalar: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with tempfile.TemporaryDirectory() as folder:
        text = f"value: {scalar}\nlist:\n  - {scalar}\n  - [{scalar}]\n{scalar or 'k'}: key\n"
        assert_same(write(Path(folder), "a.yaml", text), monkeypatch)


@pytest.mark.parametrize("text", BLOCKS)
def test_blocks_and_shapes_read_the_same(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert_same(write(Path(folder), "a.yaml", text), monkeypatch)


def test_block_strings_are_ruamels_and_point_into_the_file() -> None:
    text = "a: |\n  one\n  two\nb: >\n  three\n"
    data = yaml_fast.load(text, DEPTH)
    assert type(data["a"]).__name__ == "LiteralScalarString"
    assert type(data["b"]).__name__ == "FoldedScalarString"
    doc = yamlsource.Document(Path("x.yaml"), data)
    assert doc.text_start(["a"]) == (2, True)
    assert doc.text_start(["b"]) == (5, False)


@pytest.mark.parametrize(
    "text",
    [
        "a: *x\n",
        "a: &x 1\n",
        "{a:&x 1, b: *x}\n",
        "- &x [1]\n- *x\n",
        "a: !!int 1\n",
        "a: !x 1\n",
        "a: b\na: c\n",
        "<<: {}\n",
        "[a]: b\n",
        "a:\tb\n",
        "a: b\r\n",
        "%YAML 1.2\n---\na: b\n",
        "a: |#\n  b\n",
        "a: ['d':e]\n",
        "a:\n",
        "~\n",
        ">\n#\n",
        "|\n#a\n",
        "just text\n",
    ],
)
def test_what_it_cannot_read_exactly_it_leaves_to_ruamel(text: str) -> None:
    with pytest.raises(yaml_fast.Unusual):
        yaml_fast.load(text, DEPTH)


def test_text_with_ampersands_and_bangs_is_still_read_fast() -> None:
    data = yaml_fast.load("a: Q&A, M&S and Fish & chips! Go!\nb: [x&y]\n", DEPTH)
    assert data == {"a": "Q&A, M&S and Fish & chips! Go!", "b": ["x&y"]}


def test_nesting_past_the_limit_is_left_to_ruamel() -> None:
    deep = "a: " + "[" * DEPTH + "]" * DEPTH + "\n"  # the file's mapping, then DEPTH lists
    with pytest.raises(yaml_fast.Unusual):
        yaml_fast.load(deep, DEPTH)
    fine = "a: " + "[" * (DEPTH - 1) + "]" * (DEPTH - 1) + "\n"
    assert isinstance(yaml_fast.load(fine, DEPTH)["a"], list)


def test_too_deep_is_refused_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = "a:\n  b: " + "[" * 5_000 + "]" * 5_000 + "\n"
    assert assert_same(write(tmp_path, "deep.yaml", deep), monkeypatch) == "problems"
    with pytest.raises(InputError, match=yamlsource.TOO_DEEP):
        yamlsource.load(tmp_path / "deep.yaml")


FIXTURE = HealthCheck.function_scoped_fixture  # monkeypatch is undone in each example

# Documents hypothesis writes: mappings and lists, block and flow, of awkward scalars.
_WORD = st.text(
    alphabet=st.sampled_from("abyn019:._-+ ~é🚀'\"#{}[],|>!&*%@"), min_size=0, max_size=8
)
_SCALAR = st.one_of(st.sampled_from(AWKWARD), _WORD)


def _block(value: Any, indent: int) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        return "".join(f"{pad}{k}:{_nested(v, indent)}" for k, v in value.items()) or f"{pad}{{}}\n"
    if isinstance(value, list):
        return "".join(f"{pad}-{_nested(v, indent + 2)}" for v in value) or f"{pad}[]\n"
    return f"{pad}{value}\n"


def _nested(value: Any, indent: int) -> str:
    if isinstance(value, dict | list) and value:
        return "\n" + _block(value, indent + 2)
    if isinstance(value, dict | list):
        return " " + ("{}" if isinstance(value, dict) else "[]") + "\n"
    return f" {value}\n"


_TREE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["a", "b", "id", "text", "yes", "1", "~"]), inner, max_size=3
        ),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[FIXTURE])
@given(tree=_TREE)
def test_generated_documents_read_the_same(tree: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert_same(write(Path(folder), "a.yaml", _block(tree, 0)), monkeypatch)


@settings(max_examples=300, deadline=None, suppress_health_check=[FIXTURE])
@given(text=st.text(alphabet=st.sampled_from("ab1:-#'\"[]{},|>\n  .~é"), max_size=40))
def test_generated_text_reads_the_same(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert_same(write(Path(folder), "a.yaml", text), monkeypatch)
