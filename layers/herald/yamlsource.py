"""Reading YAML that people wrote: safely, with bounded cost, and with line numbers.

Only plain YAML is accepted: no aliases (an alias bomb must fail at once, before anything
is expanded), no tags other than YAML's own (a `!!python/...` tag never runs anything:
the round-trip loader builds no Python objects, and such tags are refused outright).
"""

from __future__ import annotations

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


def _own_line(node: Any) -> int:
    lc = getattr(node, "lc", None)
    return int(lc.line) + 1 if lc is not None and lc.line is not None else 1


def _child_line(node: Any, part: str | int) -> tuple[int, Any] | None:
    lc = getattr(node, "lc", None)
    if isinstance(node, dict) and part in node:
        line = lc.key(part)[0] + 1 if lc is not None else 1
        return line, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        line = lc.item(part)[0] + 1 if lc is not None else 1
        return line, node[part]
    return None


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    return yaml


def _decode(path: Path, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(
            [Problem(str(path), line, "this is not a text file (it is not UTF-8): is it YAML?")]
        ) from None
    for number, content in enumerate(text.splitlines(), start=1):
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


def _mark_line(error: Exception) -> int:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return int(mark.line) + 1 if mark is not None else 1


def _sentence(error: Exception) -> str:
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    text = str(problem)
    if "\\t" in text or "'\\t'" in text or "tab" in text.lower():
        return "a tab is used for indentation: YAML needs spaces"
    if context and "duplicate key" not in text:
        return f"{context.rstrip(':')}: {text}"
    return text


def _scan(path: Path, text: str) -> None:
    """Refuse aliases and foreign tags from the event stream, before building anything."""
    from ruamel.yaml.events import AliasEvent

    documents = 0
    for event in _yaml().parse(text):
        line = int(event.start_mark.line) + 1 if event.start_mark is not None else 1
        name = type(event).__name__
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
            raise InputError(
                [Problem(str(path), line, f"the tag {shown} is not allowed in campaigns")]
            )


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
        raise InputError([Problem(name, _mark_line(error), _sentence(error))]) from None
    except (YAMLError, ValueError, RecursionError) as error:
        raise InputError([Problem(name, 1, f"this is not valid YAML: {error}")]) from None
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
