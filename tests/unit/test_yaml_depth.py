"""Deep nesting is refused at once. Lists and mappings nested deeper than MAX_DEPTH are
refused as `FILE:LINE: the file is nested too deeply to be a campaign`, at the line where
the nesting gets too deep, before ruamel reads the text (5,000 levels of `[` took it 20 s).
The first reading never counts deeper than the YAML is, so no campaign is refused for the
brackets in its templates.

The timeout markers only stop a regression from hanging the suite; they time nothing."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from herald import yamlsource
from herald.campaign import load_campaign
from herald.cli import main
from herald.problems import InputError
from herald.yamlsource import MAX_DEPTH, TOO_DEEP, load

DATA = Path(__file__).resolve().parents[1] / "data" / "campaigns"
SID = Path(__file__).resolve().parents[2] / "campaigns" / "safer-internet-day-2021.yaml"
HEAD = "campaign: deep\nvariables:\n  v: "  # `v` is 2 deep: the file's mapping, `variables`
LEVELS = 5_000


def depth_of(value: Any) -> int:
    """How many lists and mappings `value` has inside one another."""
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


def refused_at(path: Path) -> int:
    """The line of the file's one problem, which must be that it is nested too deeply."""
    with pytest.raises(InputError) as refused:
        load(path)
    [problem] = refused.value.problems
    assert (problem.file, problem.message) == (str(path), TOO_DEEP)
    return problem.line


# ---- too deep: refused at once, at the line ----------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("opening", "closing"),
    [("[", "]"), ("{a: ", "}")],
    ids=["flow-lists", "flow-mappings"],
)
def test_5000_levels_of_flow_nesting_on_one_line_are_refused_at_that_line(
    tmp_path: Path, opening: str, closing: str
) -> None:
    # Given 5,000 levels of flow lists (or mappings) on line 3
    path = tmp_path / "deep.yaml"
    path.write_text(HEAD + opening * LEVELS + "1" + closing * LEVELS + "\n")
    # When it is loaded / Then it is refused at line 3
    assert refused_at(path) == 3


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("opening", "closing"),
    [("[", "]"), ("{a: ", "}")],
    ids=["flow-lists", "flow-mappings"],
)
def test_5000_levels_of_flow_nesting_on_their_own_lines_are_refused_where_too_deep(
    tmp_path: Path, opening: str, closing: str
) -> None:
    # Given 5,000 levels of flow nesting, one opening per line from line 4
    path = tmp_path / "deep.yaml"
    path.write_text(HEAD + "\n" + f"    {opening}\n" * LEVELS + "1" + closing * LEVELS + "\n")
    # When it is loaded / Then it is refused at the opening that is one too deep: `v` is
    # 2 deep, so line 4 opens level 3 and line n opens level n - 1
    assert refused_at(path) == MAX_DEPTH + 2


@pytest.mark.timeout(10)
def test_deep_block_nesting_is_refused_where_too_deep(tmp_path: Path) -> None:
    # Given 1,000 levels of indented mappings (about a megabyte), and a list of lists
    # written `- - - ...` on one line
    mappings = tmp_path / "mappings.yaml"
    mappings.write_text("v:\n" + "".join(" " * level + "a:\n" for level in range(1, 1000)))
    lists = tmp_path / "lists.yaml"
    lists.write_text("campaign: deep\nv:\n" + "- " * LEVELS + "x\n")
    # When they are loaded / Then each is refused where it gets too deep: the mapping on
    # line n is n deep; all the lists are on line 3
    assert refused_at(mappings) == MAX_DEPTH + 1
    assert refused_at(lists) == 3


@pytest.mark.timeout(10)
def test_lists_at_their_keys_indentation_count_as_a_level(tmp_path: Path) -> None:
    # Given lists written at the same indentation as their keys (`k:` then `- k:`): each
    # line opens a list and a mapping, two levels, where the indentation moves once
    path = tmp_path / "same-indent.yaml"
    path.write_text("v:\n" + "".join("  " * n + "- k:\n" for n in range(MAX_DEPTH)))
    # When it is loaded / Then it is refused at the line where the mapping one too deep
    # opens (line n + 1 opens levels 2n and 2n + 1)
    assert refused_at(path) == MAX_DEPTH // 2 + 1


@pytest.mark.timeout(30)
def test_validate_reports_deep_nesting_at_its_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a campaign file with 5,000 levels of flow lists on line 3
    (tmp_path / "deep.yaml").write_text(HEAD + "[" * LEVELS + "]" * LEVELS + "\n")
    monkeypatch.chdir(tmp_path)
    # When it is validated
    code = main(["validate", "deep.yaml"])
    # Then exit 1, and the one problem is at line 3
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.splitlines() == [f"deep.yaml:3: {TOO_DEEP}", "1 error; nothing was published."]


# ---- not too deep: loads as before -------------------------------------------------------


def test_nesting_exactly_max_depth_deep_loads_and_one_more_is_refused(tmp_path: Path) -> None:
    # Given a value nested to MAX_DEPTH in all (with the two mappings around it), and one
    # nested a level more
    inner = MAX_DEPTH - 2
    exact, over = tmp_path / "exact.yaml", tmp_path / "over.yaml"
    exact.write_text(HEAD + "[" * inner + "1" + "]" * inner + "\n")
    over.write_text(HEAD + "[" * (inner + 1) + "1" + "]" * (inner + 1) + "\n")
    # When they are loaded / Then the first loads, whole; the second is refused
    assert depth_of(load(exact).data) == MAX_DEPTH
    assert refused_at(over) == 3


@pytest.mark.parametrize(
    "path",
    [SID, *sorted((DATA / "valid").glob("*.yaml")), DATA / "folder" / "good.yaml"],
    ids=lambda p: p.name,
)
def test_campaigns_load_as_before(path: Path) -> None:
    # Given a valid campaign / When it is loaded / Then it loads with no problem
    result = load_campaign(path)
    assert result.campaign is not None, result.problems
    assert not [p for p in result.problems if p.is_error]


# Text full of brackets that are not nesting: in templates (quoted, plain, block scalars),
# comments, and flow collections holding quoted brackets or apostrophes.
BRACKETS_AS_TEXT = [
    'text: "{{ a }} [[[ {{{{ \\" ]]] #"\n',
    "text: '{{ a }} [[[ {{{{ '' ]]] #'\n",
    "text: Today is {{ hashtag }} [\n  {{ more }} {{{{ [[[[\n  - not a list [\n",
    "text: |\n  {{ a }} [[[[ {{{{\n  {% if x %}{{ b }}{% endif %} ]]]]\nnext: 1\n",
    "text: >-\n  [[[[ {{{{\n\n    - {{ x }}\nnext: 1\n",
    "# [[[[ {{{{ a comment\ntext: plain # [[[[ {{{{\nurl: http://x.org/#[[[[\n",
    'list: [a, "b]]]]", \'c]]\', it\'s, "x\\"]]]"]\n',
    "map: {a: '{{{{', b: [1, '# [[[['], c: \"]]\"}  # [[[[\n",
    'multi: "[[[[ {{{{\n  ]]]] \\"\n  [[[["\nnext: [1,\n  [2, "]]]]"],\n  3]\n',
    "posts:\n- text: \"{{ a }}\"\n  thread:\n  - '[[[['\n  - text: |\n      {{{{ [[[[\n",
]


@pytest.mark.parametrize("text", BRACKETS_AS_TEXT)
def test_brackets_in_text_are_not_nesting(
    tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given YAML whose scalars and comments are full of brackets, read once as it is
    path = tmp_path / "text.yaml"
    path.write_text(text)
    depth = depth_of(load(path).data)
    # When it is loaded with MAX_DEPTH at exactly its real depth
    monkeypatch.setattr(yamlsource, "MAX_DEPTH", depth)
    # Then it still loads, with the same data
    assert json.dumps(load(path).data) == json.dumps(YAML(typ="safe").load(text))


TRICKY = st.sampled_from(
    [*"ab :-#[]{},'\"|>&!?%@`\\\n\t", "{{ x }}", "{% if a %}", "- ", ": ", " #", "[[", "é"]
)
TEXT = st.lists(TRICKY, max_size=12).map("".join)
SCALAR = st.one_of(
    TEXT,
    TEXT.map(LiteralScalarString),
    TEXT.map(FoldedScalarString),
    TEXT.map(DoubleQuotedScalarString),
    TEXT.map(SingleQuotedScalarString),
    st.integers(),
    st.none(),
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text("abxyz_", min_size=1, max_size=4), inner, max_size=4),
    ),
    max_leaves=30,
)


def _reads_back(text: str, data: Any) -> bool:
    """Whether ruamel reads `text` back as `data` (it writes `[?a]` in flow style, which
    reads back as a list holding a mapping: a level deeper than what was written)."""
    try:
        return bool(YAML(typ="safe", pure=True).load(text) == data)
    except Exception:
        return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=VALUE,
    flow=st.sampled_from([None, True, False]),
    width=st.sampled_from([20, 4096]),
    indent=st.sampled_from([(2, 2, 0), (2, 4, 2), (4, 4, 0)]),
)
def test_the_first_reading_never_counts_deeper_than_the_yaml_is(
    value: Any, flow: bool | None, width: int, indent: tuple[int, int, int]
) -> None:
    # Given any data written by ruamel: block, flow or mixed, wrapped narrow or wide
    writer = YAML(typ="rt", pure=True)
    writer.default_flow_style, writer.width = flow, width
    writer.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    depth = 1 + depth_of(value)
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = Path(folder) / "data.yaml"
        with path.open("w") as file:
            writer.dump({"root": value}, file)
        # (ruamel writes a few scalars, like `?a`, that it cannot read back as written)
        assume(_reads_back(path.read_text(), {"root": value}))
        # When it is loaded with MAX_DEPTH at exactly its depth, then at a level less
        patch.setattr(yamlsource, "MAX_DEPTH", depth)
        loaded = load(path)
        patch.setattr(yamlsource, "MAX_DEPTH", depth - 1)
        # Then it loads at its own depth, and is refused a level less
        assert depth_of(loaded.data) == depth
        with pytest.raises(InputError, match=TOO_DEEP):
            load(path)


def test_a_value_the_yaml_reader_trips_on_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    # Given a value on which ruamel's own reader raises IndexError (`-_`)
    path = tmp_path / "dash.yaml"
    path.write_text("campaign: x\ntitle: -_\n", encoding="utf-8")
    # When it is loaded / Then it is a FILE:LINE problem saying what to do
    with pytest.raises(InputError) as caught:
        yamlsource.load(path)
    [problem] = caught.value.problems
    assert problem.file == str(path) and "quote odd values" in problem.message
