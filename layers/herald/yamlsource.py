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

    yaml = YAML(typ="rt", pure=True)
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
    for number, content in enumerate(text.split("\n"), start=1):
        bad = next((c for c in content if _is_control(c)), None)
        if bad is not None:
            raise InputError(
                [
                    Problem(
                        str(path),
                        number,
                        f"this is not a text file (control character U+{ord(bad):04X})",
                    )
                ]
            )
    return text


def _is_control(char: str) -> bool:
    code = ord(char)
    return (code < 0x20 and char not in "\t\r\n") or code == 0x7F or code in (0xFFFE, 0xFFFF)


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


def _scan(path: Path, text: str) -> None:
    """Refuse aliases, merge keys, keys that are not plain and foreign tags from the event
    stream, before anything is built."""
    from ruamel.yaml.events import AliasEvent

    def refuse(line: int, message: str) -> InputError:
        return InputError([Problem(str(path), line, message)])

    documents = 0
    # For each open mapping or list: [is a mapping, nodes seen so far]; in a mapping,
    # the nodes at even positions are keys.
    open_nodes: list[list[Any]] = []
    for event in _yaml().parse(text):
        line = int(event.start_mark.line) + 1 if event.start_mark is not None else 1
        name = type(event).__name__
        if name in ("MappingEndEvent", "SequenceEndEvent"):
            open_nodes.pop()
            continue
        is_node = name in ("ScalarEvent", "AliasEvent", "MappingStartEvent", "SequenceStartEvent")
        if is_node and open_nodes:
            parent = open_nodes[-1]
            is_key = parent[0] and parent[1] % 2 == 0
            parent[1] += 1
            if is_key and name != "ScalarEvent" and name != "AliasEvent":
                raise refuse(line, "a key must be a plain word, not a list or a mapping")
            if is_key and name == "ScalarEvent" and event.value == "<<" and not event.style:
                raise refuse(
                    line, "merge keys (<<) are not allowed in campaigns: write the keys out"
                )
        if name in ("MappingStartEvent", "SequenceStartEvent"):
            open_nodes.append([name == "MappingStartEvent", 0])
        if name == "DocumentStartEvent":
            documents += 1
            if documents > 1:
                raise InputError(
                    [
                        Problem(
                            str(path), line, "a campaign file holds one YAML document, not several"
                        )
                    ]
                )
        if isinstance(event, AliasEvent):
            raise InputError(
                [
                    Problem(
                        str(path),
                        line,
                        f"YAML aliases (*{event.anchor}) are not allowed in campaigns:"
                        " write the value out",
                    )
                ]
            )
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and str(tag) not in _ALLOWED_TAGS:
            shown = str(tag).replace(_STANDARD_TAG, "!!")
            raise refuse(line, f"the tag {shown} is not allowed in campaigns")


def load(path: Path) -> Document:
    """Load one YAML file, or raise InputError with FILE:LINE problems."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

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
    try:
        _scan(path, text)
        data = _yaml().load(text)
    except InputError:
        raise
    except MarkedYAMLError as error:
        raise InputError([_syntax_problem(name, text, error)]) from None
    except RecursionError:
        raise InputError(
            [Problem(name, 1, "the file is nested too deeply to be a campaign")]
        ) from None
    except (YAMLError, ValueError) as error:
        raise InputError([Problem(name, 1, f"this is not valid YAML ({error})")]) from None
    if data is None:
        raise InputError(
            [Problem(name, 1, "the file is empty: a campaign needs at least its id and posts")]
        )
    return Document(path, data)


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
