"""Reading a campaign's YAML fast, with libyaml's C parser (PyYAML's), where it is installed.

`yamlsource` reads YAML with ruamel's round-trip loader, which is pure Python: a tenth of a
second for a campaign of a hundred posts. herald's CLI also has PyYAML, whose C parser
composes the same text many times faster; the Lambda layer does not ship it, so there this
module always gives way. From libyaml's nodes it builds what ruamel gives herald: the same
values of the same types (ruamel's own YAML 1.2 resolver and constructors decide every
scalar that is not text; `|` and `>` blocks are ruamel's string types) in mappings and
lists that know the line of every part, as ruamel's `lc` tells it.

It reads only what it can read exactly as ruamel would. On anything else it raises `Unusual`
and `yamlsource` reads the text with ruamel, which gives the answer or the problem: tags,
anchors and aliases, directives, tabs and line breaks other than `\\n`, keys that are not
plain scalars, merge keys, duplicate keys, values left empty, nesting past the limit, an
empty document, a document that is a scalar alone, several documents, and every error
libyaml reports.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# Text that libyaml and ruamel could read differently, or that herald refuses: tabs, the
# line breaks of YAML 1.1 and carriage returns, byte order marks inside the text, lines
# starting with % (directives, which can change the YAML version), and tags and anchors
# (`!` wherever a node could start, `&` before a name; so no alias can be read either). A
# `!` or `&` inside text may match too: then ruamel reads the file, as it always did. And
# a quote or bracket just before `:` and a character (libyaml takes `'d':e` in a flow list
# as a key and its value, ruamel refuses it).
_UNUSUAL_TEXT = re.compile(
    r"[\t\r\x85\u2028\u2029\ufeff]|^%|(?:^|[\s\[{,:?-])(?:!|&\S)|[\"'\]}]:\S", re.M
)

# What the parser's resolver marks nodes with; every tag written in the text is other.
_PLAIN, _QUOTED, _MAP, _SEQ = "\x00plain", "\x00quoted", "\x00map", "\x00seq"
_KEY_STYLES = frozenset(("", "'", '"'))
_STANDARD_TAG = "tag:yaml.org,2002:"
_STR = _STANDARD_TAG + "str"
# The scalars other than text that ruamel's constructors build; any other tag is unusual.
_CONSTRUCTED = frozenset(
    _STANDARD_TAG + name for name in ("int", "float", "bool", "null", "timestamp")
)


class Unusual(Exception):
    """The text is not one this module reads exactly as ruamel would: let ruamel read it."""


class Lines:
    """Where a mapping or a list and its parts begin, 0-based, as ruamel's `lc` gives it:
    `line`, `col`, and `key(k)`, `value(k)` or `item(i)` as (line, column)."""

    __slots__ = ("col", "data", "line")

    def __init__(self, line: int, col: int) -> None:
        self.line, self.col = line, col
        self.data: dict[Any, tuple[int, int, int, int] | tuple[int, int]] = {}

    def key(self, k: Any) -> tuple[int, int]:
        return self.data[k][0], self.data[k][1]

    def value(self, k: Any) -> tuple[int, int]:
        entry = self.data[k]
        return entry[2], entry[3]  # type: ignore[misc]

    def item(self, i: int) -> tuple[int, int]:
        return self.data[i][0], self.data[i][1]


class Mapping(dict[Any, Any]):
    """A YAML mapping, with the lines of its keys and values in `lc`."""

    __slots__ = ("lc",)
    lc: Lines


class Sequence(list[Any]):
    """A YAML list, with the lines of its items in `lc`."""

    __slots__ = ("lc",)
    lc: Lines


class _Parts:
    """libyaml's parser, told to mark nodes rather than resolve them, and ruamel's resolver
    and constructors for the scalars that are not text."""

    def __init__(self, parser: type, ruamel: Any) -> None:
        from ruamel.yaml.nodes import ScalarNode
        from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

        self.parser = parser
        self.constructor = ruamel.constructor
        self.scalar_node = ScalarNode
        self.blocks = {"|": LiteralScalarString, ">": FoldedScalarString}
        resolver = ruamel.resolver
        if resolver.processing_version != (1, 2) or resolver.yaml_path_resolvers:
            raise ImportError("ruamel's resolver is not the plain YAML 1.2 one")
        # What ruamel's resolver.resolve does with a plain scalar: the tag of the first
        # pattern that matches, among those for the scalar's first character.
        self.patterns: dict[str, list[tuple[str, re.Pattern[str]]]] = dict(
            resolver.versioned_resolver
        )
        if None in self.patterns:  # patterns for scalars of any start
            raise ImportError("ruamel resolves scalars of any start")

    def resolve(self, value: str) -> str:
        for tag, pattern in self.patterns.get(value[:1], ()):
            if pattern.match(value):
                return tag
        return _STR


@cache
def _parts() -> _Parts | None:
    """libyaml's parser and ruamel's resolver, or None when PyYAML has no C parser."""
    try:
        from yaml._yaml import CParser
        from yaml.nodes import ScalarNode
    except ImportError:
        return None

    class MarkingParser(CParser):
        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            if kind is ScalarNode:
                plain, quoted = implicit
                return _PLAIN if plain else _QUOTED if quoted else "!"
            if not implicit:
                return "!"  # the non-specific tag `!` on a mapping or a list
            return _MAP if kind.__name__ == "MappingNode" else _SEQ

        def descend_resolver(self, parent: Any, index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass

    from ruamel.yaml import YAML

    ruamel = YAML(typ="rt", pure=True)
    ruamel.allow_duplicate_keys = False
    try:
        return _Parts(MarkingParser, ruamel)
    except ImportError:
        return None


def available() -> bool:
    """Whether libyaml's parser is installed (on Lambda it is not)."""
    return _parts() is not None


def load(text: str, max_depth: int) -> Any:
    """The data of one YAML document, as ruamel's round-trip loader gives it, if its lists
    and mappings nest at most `max_depth` deep; or Unusual."""
    parts = _parts()
    if parts is None or _UNUSUAL_TEXT.search(text):
        raise Unusual
    try:
        node = parts.parser(text).get_single_node()
    except Exception:  # any error is ruamel's to describe
        raise Unusual from None
    if node is None or node.tag not in (_MAP, _SEQ):
        # An empty document, or a scalar alone: ruamel says what it holds. (A `|` or `>`
        # block at the top may start its text at column 0 for ruamel, not for libyaml.)
        raise Unusual
    return _Builder(parts, text, max_depth).build(node, 0)


# The header of a `|` or `>` block as ruamel reads it (libyaml is more lenient: `|#`).
_BLOCK_HEADER = re.compile(r"[|>](?:[1-9][-+]?|[-+][1-9]?)?(?: +#.*| *)")


class _Builder:
    def __init__(self, parts: _Parts, text: str, max_depth: int) -> None:
        self.parts = parts
        self.max_depth = max_depth
        self.text = text
        self.lines: list[str] | None = None

    def check_header(self, mark: Any) -> None:
        if self.lines is None:
            self.lines = self.text.split("\n")
        if not _BLOCK_HEADER.fullmatch(self.lines[mark.line], mark.column):
            raise Unusual

    def build(self, node: Any, depth: int) -> Any:
        tag = node.tag
        if tag == _MAP:
            return self.mapping(node, depth + 1)
        if tag == _SEQ:
            return self.sequence(node, depth + 1)
        return self.scalar(node)

    def scalar(self, node: Any) -> Any:
        tag, value = node.tag, node.value
        if tag == _QUOTED:
            block = self.parts.blocks.get(node.style)
            if block is None:
                return value
            self.check_header(node.start_mark)
            return block(value)
        if tag != _PLAIN:
            raise Unusual  # a tag written in the text
        if not value:
            raise Unusual  # nothing written (null): ruamel places it where the next token is
        parts = self.parts
        resolved = parts.resolve(value)
        if resolved == _STR:
            return value
        if resolved not in _CONSTRUCTED:
            raise Unusual  # a merge key, or another of ruamel's special scalars
        ruamel_node = parts.scalar_node(resolved, value, node.start_mark, node.end_mark)
        try:
            return parts.constructor.construct_non_recursive_object(ruamel_node)
        except Exception:  # ruamel's error (`._` is a float it cannot make) is its to tell
            raise Unusual from None

    def mapping(self, node: Any, depth: int) -> Mapping:
        if depth > self.max_depth:
            raise Unusual
        start = node.start_mark
        lines = Lines(start.line, start.column)
        result = Mapping()
        result.lc = lines
        for key_node, value_node in node.value:
            if key_node.tag not in (_PLAIN, _QUOTED) or key_node.style not in _KEY_STYLES:
                raise Unusual  # a list, a mapping or a block as a key
            if key_node.value == "<<" and key_node.tag == _PLAIN:
                raise Unusual  # a merge key
            key = self.scalar(key_node)
            if key in result:
                raise Unusual  # a duplicate key
            result[key] = self.build(value_node, depth)
            at, to = key_node.start_mark, value_node.start_mark
            lines.data[key] = (at.line, at.column, to.line, to.column)
        return result

    def sequence(self, node: Any, depth: int) -> Sequence:
        if depth > self.max_depth:
            raise Unusual
        start = node.start_mark
        lines = Lines(start.line, start.column)
        result = Sequence()
        result.lc = lines
        for index, item in enumerate(node.value):
            result.append(self.build(item, depth))
            at = item.start_mark
            lines.data[index] = (at.line, at.column)
        return result
