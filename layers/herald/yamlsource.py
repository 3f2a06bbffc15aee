"""Reading YAML that people wrote: safely, with bounded cost, and with line numbers.

Only plain YAML is accepted: no aliases or merge keys (an alias bomb must fail at once,
before anything is expanded), no tags other than YAML's own (a `!!python/...` tag never runs
anything: the round-trip loader builds no Python objects, and such tags are refused
outright), and keys are plain words, never lists or mappings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from herald.problems import InputError, Problem

MAX_BYTES = 1_048_576  # a campaign is text a person reviews; a megabyte is plenty
# Lists and mappings inside one another. A campaign needs fewer than ten; past a few hundred
# ruamel runs out of stack, and deep flow nesting (`[[[[...`) costs it time quadratic in the
# depth (5,000 levels took 20 s), so the depth is read before ruamel sees the text.
MAX_DEPTH = 64
TOO_DEEP = "the file is nested too deeply to be a campaign"
_STANDARD_TAG = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(
    _STANDARD_TAG + name
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)


@dataclass(frozen=True)
class Document:
    """A loaded YAML document and the means to find the line of any part of it."""

    path: Path
    data: Any

    @property
    def name(self) -> str:
        return str(self.path)

    def line(self, loc: Sequence[str | int]) -> int:
        """The 1-based line of the value at `loc` (keys and indexes from the root); where
        the path goes past what exists, the line of the deepest part that does."""
        node = self.data
        line = _own_line(node)
        for part in loc:
            found = _child_line(node, part)
            if found is None:
                break
            line, node = found
        return line

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        return Problem(self.name, self.line(loc), message)

    def text_start(self, loc: Sequence[str | int]) -> tuple[int, bool]:
        """Where the text at `loc` begins (for a `|` or `>` block, the line after the key),
        and whether its lines are the file's lines one for one (so that line n of a
        template is line start + n - 1 of the file). Used to point into templates."""
        line = self.line(loc)
        if not loc:
            return line, False
        parent: Any = self.data
        for part in loc[:-1]:
            found = _child_line(parent, part)
            if found is None:
                return line, False
            parent = found[1]
        last = loc[-1]
        position = _position(parent, last, value=True)
        if position is None:
            return line, False
        value = parent[last]
        kind = type(value).__name__
        if kind in ("LiteralScalarString", "FoldedScalarString"):
            return position + 1, kind == "LiteralScalarString"
        return position, "\n" not in value if isinstance(value, str) else False


def _own_line(node: Any) -> int:
    lc = getattr(node, "lc", None)
    return int(lc.line) + 1 if lc is not None and lc.line is not None else 1


def _position(node: Any, part: str | int, value: bool = False) -> int | None:
    """The 1-based line of a key (or of its value) in a mapping, or of an item in a list;
    None when the part is not there or the loader kept no position for it."""
    lc = getattr(node, "lc", None)
    try:
        if isinstance(node, dict) and part in node:
            if lc is None:
                return 1
            return int((lc.value(part) if value else lc.key(part))[0]) + 1
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            return int(lc.item(part)[0]) + 1 if lc is not None else 1
    except (KeyError, IndexError, TypeError):
        return _own_line(node)
    return None


def _child_line(node: Any, part: str | int) -> tuple[int, Any] | None:
    line = _position(node, part)
    return None if line is None else (line, node[part])


def _yaml() -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.scanner import Scanner

    yaml = YAML(typ="rt", pure=True)
    # The round-trip loader keeps every value's line; its own scanner also gathers the
    # comments, which herald never reads, at a fifth of the loading time.
    yaml.Scanner = Scanner
    yaml.allow_duplicate_keys = False
    return yaml


def _decode(path: Path, raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise InputError(
            [Problem(str(path), 1, "this is not a text file (it holds binary data): is it YAML?")]
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(
            [
                Problem(
                    str(path),
                    line,
                    "this line is not UTF-8 text: save the file as UTF-8 (is it YAML?)",
                )
            ]
        ) from None
    if (bad := _CONTROL.search(text)) is not None:
        line = text.count("\n", 0, bad.start()) + 1
        code = ord(bad.group())
        raise InputError(
            [Problem(str(path), line, f"this is not a text file (control character U+{code:04X})")]
        )
    return text


# Characters no text file holds: C0 controls but tab, line feed and carriage return; DEL;
# and the two noncharacters U+FFFE and U+FFFF.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _mark_line(mark: Any) -> int | None:
    return int(mark.line) + 1 if mark is not None and mark.line is not None else None


_DUPLICATE = re.compile(r'found duplicate key "(?P<key>.*?)" with value')
_BAD_START = re.compile(r"found character '(?P<char>.+?)' that cannot start any token")


def _syntax_problem(name: str, text: str, error: Exception) -> Problem:
    """A YAML syntax error as a sentence a comms officer can act on, at the line to look at."""
    problem = str(getattr(error, "problem", None) or str(error).splitlines()[0])
    context = str(getattr(error, "context", None) or "")
    at = _mark_line(getattr(error, "problem_mark", None))
    opened = _mark_line(getattr(error, "context_mark", None))
    line = at or opened or 1
    if "\\t" in problem or "tab" in problem.lower():
        return Problem(name, line, "a tab is used for indentation: YAML needs spaces")
    if duplicate := _DUPLICATE.search(problem):
        key = _shorten(duplicate["key"])
        first = _first_key_line(text, duplicate["key"], opened, at)
        where = f" (first on line {first})" if first else ""
        return Problem(name, line, f"the key '{key}' is written twice{where}: keep one")
    if "quoted scalar" in context and "end of stream" in problem:
        return Problem(name, opened or line, "the quote opened on this line is never closed")
    if "mapping values are not allowed" in problem:
        return Problem(
            name,
            line,
            "there is a second ': ' on this line: put text that contains ': ' in quotes,"
            " or check the indentation",
        )
    if "could not find expected ':'" in problem:
        return Problem(name, opened or line, "this line is not 'key: value' (no ':' after a key)")
    if "expected <block end>" in problem:
        return Problem(
            name, line, "the indentation of this line does not line up with the lines above"
        )
    if "flow sequence" in context or "flow mapping" in context:
        close = "]" if "sequence" in context else "}"
        return Problem(
            name,
            opened or line,
            f"the {'[' if close == ']' else '{'} opened on this line is not closed with"
            f" {close} (or a comma is missing)",
        )
    if bad := _BAD_START.search(problem):
        return Problem(
            name, line, f"a value cannot start with {bad['char']}: put the text in quotes"
        )
    detail = f"{context}: {problem}" if context else problem
    return Problem(name, line, f"this is not valid YAML ({detail})")


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_key_line(text: str, key: str, start: int | None, end: int | None) -> int | None:
    """The line where a duplicated key was first written, if it can be seen plainly."""
    if start is None or end is None:
        return None
    lines = text.splitlines()
    for number in range(start, min(end, len(lines) + 1)):
        content = lines[number - 1].strip().removeprefix("- ").strip()
        for spelled in (key, f'"{key}"', f"'{key}'"):
            if content.startswith(f"{spelled}:"):
                return number
    return None


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


_KEY_OR_COMMENT = re.compile(r":(?=[ \t]|$)|[ \t]#")  # ends a plain scalar in a block
_FLOW_MARK = re.compile(r"[\[{]+|[\]}]+|[\"'#]")  # runs of openers or closers, quotes, #


def _skip_blanks(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _quote_end(text: str, pos: int, quote: str) -> int | None:
    """Where the quoted scalar running from `pos` ends (after its closing quote), or None
    when it runs on past this line."""
    while (pos := text.find(quote, pos)) >= 0:
        if quote == "'" and text.startswith("''", pos):  # '' is a quote inside '...'
            pos += 2
            continue
        escapes = 0
        while quote == '"' and pos > escapes and text[pos - 1 - escapes] == "\\":
            escapes += 1
        if escapes % 2 == 0:
            return pos + 1
        pos += 1
    return None


def _value_after(text: str, pos: int) -> int:
    """Where the value begins if a key ends at `pos` (`: ` follows), else -1."""
    pos = _skip_blanks(text, pos)
    if text[pos : pos + 1] == ":" and text[pos + 1 : pos + 2] in ("", " ", "\t"):
        return pos + 1
    return -1


def _opens_scalar(text: str, pos: int) -> bool:
    """Whether a quote at `pos`, in a flow collection, begins a scalar (rather than being
    a character inside a plain one)."""
    while pos > 0 and text[pos - 1] in " \t":
        pos -= 1
    return pos == 0 or text[pos - 1] in "[{,:?"


class _Nesting:
    """How deeply the lists and mappings of YAML text nest, read line by line, without
    ruamel: flow brackets outside quoted scalars and comments, and block indentation with
    `- ` items. Brackets in quoted, plain and block scalars (templates are full of them) are
    text. It never counts deeper than the YAML is (it may count less: a list at the same
    indentation as its key), so it refuses only what ruamel would find too deep too."""

    def __init__(self) -> None:
        self.line = 0
        # (column, depth, is a list) of each open block collection
        self.block: list[tuple[int, int, bool]] = []
        self.flow = 0  # open flow collections, inside a block collection at depth flow_base:
        self.flow_base, self.flow_column = 0, 0
        self.quote: str | None = None  # the quote of a quoted scalar that runs on
        self.literal: int | None = None  # a block scalar's lines are indented past this
        self.plain: int | None = None  # so are the next lines of a plain scalar

    def deeper(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _TooDeep(self.line)

    def read(self, number: int, text: str) -> None:
        self.line, pos = number, 0
        indent = len(text) - len(text.lstrip(" "))
        if self.literal is not None:
            if not text.strip() or indent > self.literal:
                return
            self.literal = None
        if self.quote is not None:
            end = _quote_end(text, 0, self.quote)
            if end is None:
                return
            self.quote, pos = None, end
            if not self.flow:
                return
        if self.flow:
            end = self.in_flow(text, pos)
            if end is not None and (value := _value_after(text, end)) >= 0:
                self.node(text, value, self.flow_base, self.flow_column)
            return
        self.in_block(text, indent)

    def in_block(self, text: str, column: int) -> None:
        content = text[column:]
        if not content or content[0] == "#" or (column == 0 and content[0] == "%"):
            return
        if self.plain is not None and column > self.plain:
            return  # the plain scalar of the line before goes on
        self.plain = None
        if column == 0 and content[:3] in ("---", "...") and content[3:4] in ("", " ", "\t"):
            self.block.clear()
            self.node(text, 3, 0, -1, item=True)
            return
        while self.block and self.block[-1][0] > column:
            self.block.pop()
        if not self.block or self.block[-1][0] < column:
            # a node further in: a collection opens here if a key or a `- ` begins it
            parent, depth, _ = self.block[-1] if self.block else (-1, 0, False)
            self.node(text, column, depth, parent, item=True)
            return
        listed = content[:2] in ("- ", "-\t") or content == "-"
        _, depth, is_list = self.block[-1]
        if is_list and not listed and len(self.block) > 1 and self.block[-2][0] == column:
            self.block.pop()  # the list at its key's indentation has ended: the next key
            depth = self.block[-1][1]
        # the next entry of the collection; or, `- ` under a key at the key's indentation,
        # the first item of the key's list
        self.node(text, column, depth, column, item=listed and not is_list)

    def opened(self, column: int, depth: int, is_list: bool = False) -> int:
        """A block collection opens at `column` inside one `depth` deep: its depth."""
        self.deeper(depth + 1)
        self.block.append((column, depth + 1, is_list))
        return depth + 1

    def node(self, text: str, pos: int, depth: int, column: int, item: bool = False) -> None:
        """The node at `pos`, in the block collection at `column`, `depth` deep. `item`: it
        is a value of its own (after a `- `, or alone on a line further in), so a key or a
        `- ` there opens a collection one level deeper."""
        while (pos := _skip_blanks(text, pos)) < len(text):
            char = text[pos]
            if char in "-?" and text[pos + 1 : pos + 2] in ("", " ", "\t"):
                if item:  # a list (or, `? `, a mapping with an explicit key) opens here
                    depth = self.opened(pos, depth, is_list=char == "-")
                column, item, pos = pos, True, pos + 1
            elif char in "&!":  # an anchor or a tag, then the node
                pos = len(text) if (space := text.find(" ", pos)) < 0 else space
            elif char in "[{":
                self.flow_base, self.flow_column = depth, column
                end = self.in_flow(text, pos)
                if end is None or (pos := _value_after(text, end)) < 0:
                    return
            elif char in "\"'":
                end = _quote_end(text, pos + 1, char)
                if end is None:
                    self.quote = char
                if end is None or (value := _value_after(text, end)) < 0:
                    return
                if item:  # a key: its mapping is the item
                    depth, item = self.opened(pos, depth), False
                column, pos = pos, value
            elif char in "|>":
                self.literal = column
                return
            elif char in "#*%@`":
                return
            else:
                mark = _KEY_OR_COMMENT.search(text, pos)
                if mark is None or mark.group() != ":":
                    self.plain = column
                    return
                if item:  # a key: its mapping is the item
                    depth, item = self.opened(pos, depth), False
                column, pos = pos, mark.end()  # the key's value follows

    def in_flow(self, text: str, pos: int) -> int | None:
        """Read flow collections from `pos`: where the outermost one closes, or None when it
        (or a quoted scalar in it) runs on past this line."""
        while (mark := _FLOW_MARK.search(text, pos)) is not None:
            at, run, pos = mark.start(), mark.group(), mark.end()
            if run == "#" and text[at - 1 : at] in ("", " ", "\t"):
                return None  # a comment, to the end of the line
            if run in ("'", '"') and _opens_scalar(text, at):
                end = _quote_end(text, at + 1, run)
                if end is None:
                    self.quote = run
                    return None
                pos = end
            elif run[0] in "[{":
                self.flow += len(run)
                self.deeper(self.flow_base + self.flow)
            elif run[0] in "]}" and self.flow:
                if len(run) >= self.flow:  # the outermost closes
                    end, self.flow = at + self.flow, 0
                    return end
                self.flow -= len(run)
        return None


def _check_nesting(path: Path, text: str) -> None:
    """Refuse text nested deeper than MAX_DEPTH, at the line where it gets too deep."""
    nesting = _Nesting()
    try:
        for number, line in enumerate(text.split("\n"), start=1):
            nesting.read(number, line.removesuffix("\r"))
    except _TooDeep as deep:
        raise InputError([Problem(str(path), deep.line, TOO_DEEP)]) from None


class _EventCheck:
    """Refuses aliases, merge keys, keys that are not plain and foreign tags, event by
    event, as the parser produces them: before the composer sees the event, so before
    anything is built."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.documents = 0
        # For each open mapping or list: [is a mapping, nodes seen so far]; in a mapping,
        # the nodes at even positions are keys.
        self.open_nodes: list[list[Any]] = []

    def refuse(self, line: int, message: str) -> InputError:
        return InputError([Problem(str(self.path), line, message)])

    def see(self, event: Any) -> None:
        line = int(event.start_mark.line) + 1 if event.start_mark is not None else 1
        name = type(event).__name__
        if name in ("MappingEndEvent", "SequenceEndEvent"):
            self.open_nodes.pop()
            return
        is_node = name in ("ScalarEvent", "AliasEvent", "MappingStartEvent", "SequenceStartEvent")
        if is_node and self.open_nodes:
            parent = self.open_nodes[-1]
            is_key = parent[0] and parent[1] % 2 == 0
            parent[1] += 1
            if is_key and name != "ScalarEvent" and name != "AliasEvent":
                raise self.refuse(line, "a key must be a plain word, not a list or a mapping")
            if is_key and name == "ScalarEvent" and event.value == "<<" and not event.style:
                raise self.refuse(
                    line, "merge keys (<<) are not allowed in campaigns: write the keys out"
                )
        if name in ("MappingStartEvent", "SequenceStartEvent"):
            self.open_nodes.append([name == "MappingStartEvent", 0])
            if len(self.open_nodes) > MAX_DEPTH:  # what the first reading counted short
                raise self.refuse(line, TOO_DEEP)
        if name == "DocumentStartEvent":
            self.documents += 1
            if self.documents > 1:
                raise self.refuse(line, "a campaign file holds one YAML document, not several")
        if name == "AliasEvent":
            raise self.refuse(
                line,
                f"YAML aliases (*{event.anchor}) are not allowed in campaigns: write the value out",
            )
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and str(tag) not in _ALLOWED_TAGS:
            shown = str(tag).replace(_STANDARD_TAG, "!!")
            raise self.refuse(line, f"the tag {shown} is not allowed in campaigns")


def _checked_load(path: Path, text: str) -> Any:
    """Parse `text` once: every event passes the checks on its way to the composer."""
    yaml = _yaml()
    check = _EventCheck(path)
    base = yaml.Parser

    class CheckingParser(base):  # type: ignore[misc,valid-type]
        def get_event(self) -> Any:
            event = super().get_event()
            if event is not None:
                check.see(event)
            return event

    yaml.Parser = CheckingParser
    return yaml.load(text)


def load(path: Path) -> Document:
    """Load one YAML file, or raise InputError with FILE:LINE problems. With PyYAML's C
    parser installed (the CLI), `yaml_fast` reads the usual file; ruamel reads the rest."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(
                [Problem(name, 1, f"the file is {size:,} bytes; a campaign may be at most 1 MiB")]
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(name, 1, "no such file")]) from None
    except IsADirectoryError:
        raise InputError([Problem(name, 1, "this is a folder, not a file")]) from None
    except OSError as error:
        raise InputError([Problem(name, 1, f"cannot be read: {error.strerror}")]) from None
    text = _decode(path, raw)
    _check_nesting(path, text)
    from herald import yaml_fast

    try:
        return Document(path, yaml_fast.load(text, MAX_DEPTH))
    except yaml_fast.Unusual:
        pass  # ruamel reads it: the exact data, or the exact problem
    return Document(path, ruamel_load(path, text))


def ruamel_load(path: Path, text: str) -> Any:
    """The data of `text` (decoded from `path`, its nesting checked) by ruamel's round-trip
    loader, or InputError with FILE:LINE problems."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    name = str(path)
    try:
        data = _checked_load(path, text)
    except InputError:
        raise
    except MarkedYAMLError as error:
        raise InputError([_syntax_problem(name, text, error)]) from None
    except RecursionError:
        raise InputError([Problem(name, 1, TOO_DEEP)]) from None
    except (YAMLError, ValueError) as error:
        raise InputError([Problem(name, 1, f"this is not valid YAML ({error})")]) from None
    except (IndexError, KeyError, TypeError, AttributeError):  # the YAML reader's own fault
        raise InputError(
            [Problem(name, 1, "the YAML reader could not read a value here: quote odd values")]
        ) from None
    if data is None:
        raise InputError(
            [Problem(name, 1, "the file is empty: a campaign needs at least its id and posts")]
        )
    return data


def walk_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Campaign files named directly, and every *.yaml / *.yml under named folders."""
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
            )
            yield from found
        else:
            yield path
