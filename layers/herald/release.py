"""Press releases: the source document a campaign is written from.

A release is a fenced ```yaml front matter block (title, url, publish date, ...) followed by
Markdown. `load_release` reads one into a `Release` whose `context()` is what campaign
templates see as `release.*`. Mis-decoded text (mojibake) is repaired line by line and
reported as warnings, so authors can fix the source too; nothing else in the text is changed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from herald.problems import InputError, Problem, Severity

__all__ = [
    "Contact",
    "Quote",
    "Release",
    "load_release",
    "parse_release",
]

_FENCE_OPEN = re.compile(r"^\s*(```|~~~)\s*(yaml|yml)\s*$", re.IGNORECASE)
_DASHES = "---"
_HEADLINE = re.compile(r"^\s*[*+-]\s+#{1,6}\s+(?P<text>.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[*+-]|\d{1,3}[.)])\s+(?P<text>\S.*)$")
_HEADING = re.compile(r"^\s*#{1,6}\s+(?P<text>.*?)\s*#*\s*$")
_DATE_FORMATS = ("%d %b %Y", "%d %B %Y", "%A %d %B %Y", "%a %d %b %Y", "%B %d, %Y", "%b %d, %Y")

_OPEN_QUOTES = '"“'
_CLOSE_QUOTES = '"”'
_SAID = r"(?:said|says|added|explained|commented)"
# `Name, role, said: "text` (the text may run on into the next paragraphs).
_QUOTE_AFTER = re.compile(rf"^(?P<who>[^\"“”:]+?),?\s+{_SAID}\s*:\s*[\"“](?P<text>.*)$")
# `"text," said Name, role.`
_QUOTE_BEFORE = re.compile(rf"^[\"“](?P<text>.+?)[\"”],?\s+{_SAID}\s+(?P<who>[^\"“”]+?)\.?$")
# `"text," Name, role, said.`
_QUOTE_BEFORE_SAID_LAST = re.compile(
    rf"^[\"“](?P<text>.+?)[\"”],?\s+(?P<who>[^\"“”]+?),?\s+{_SAID}\.?$"
)

_ADDRESS = r"(?P<detail>[\w-]+(?:\.[\w-]+)+(?:/[\w./-]*\w)?)"
_REPORT_ONLINE = re.compile(rf"\breport\b[^.]*?\bonline at {_ADDRESS}", re.IGNORECASE)
_WEBCHAT = re.compile(rf"\bweb\s?chat at {_ADDRESS}", re.IGNORECASE)
_PHONE = re.compile(r"\b(?:call|ring|dial|phone)\b[^.\d]{0,40}?(?P<detail>\b\d[\d ]{1,14}\d)\b")
_EMERGENCY_NUMBERS = {"999", "112"}
_NON_EMERGENCY_NUMBERS = {"101"}
_NAME = r"[A-Z][\w'’&-]*(?: (?:of |and |for |the )?[A-Z][\w'’&-]*)*"
_SPEAK_TO = re.compile(rf"\b(?:speak|talk) to (?P<names>{_NAME}(?:(?:, | or | and ){_NAME})*)")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”]?\s+(?=[A-Z\"“])")


@dataclass(frozen=True)
class Quote:
    """Words the release attributes to a named person, exactly as written."""

    speaker: str
    role: str
    text: str
    paragraphs: tuple[str, ...]
    line: int

    def context(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker,
            "role": self.role,
            "text": self.text,
            "paragraphs": list(self.paragraphs),
        }


@dataclass(frozen=True)
class Contact:
    """A way the release tells readers to get help or report something.

    `kind` is one of: report-online, webchat, non-emergency, emergency, phone,
    organisation, young-people. `detail` is the address or number when the release gives
    one ("" otherwise); `note` is the release's sentence that names the route.
    """

    kind: str
    name: str
    detail: str
    note: str
    line: int

    def context(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "detail": self.detail, "note": self.note}


@dataclass(frozen=True)
class Release:
    """A press release, parsed: front matter fields, headlines, body, quotes, contacts."""

    file: str
    title: str
    url: str
    date: str
    date_iso: str | None
    description: str
    area: str
    headlines: tuple[str, ...]
    paragraphs: tuple[str, ...]
    quotes: tuple[Quote, ...]
    contacts: tuple[Contact, ...]
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def organisations(self) -> tuple[str, ...]:
        """Names of the organisations the release lists as alternatives to the police."""
        return tuple(c.name for c in self.contacts if c.kind == "organisation")

    def context(self) -> dict[str, Any]:
        """The `release` object campaign templates see (plain dicts and lists)."""
        return {
            "title": self.title,
            "url": self.url,
            "date": self.date,
            "date_iso": self.date_iso,
            "description": self.description,
            "area": self.area,
            "headlines": list(self.headlines),
            "paragraphs": list(self.paragraphs),
            "quotes": [q.context() for q in self.quotes],
            "contacts": [c.context() for c in self.contacts],
            "organisations": list(self.organisations),
        }


@dataclass(frozen=True)
class _Para:
    line: int
    text: str
    listed: bool = False  # a Markdown list item (`- x`, `* x`, `1. x`)


def load_release(path: Path) -> Release:
    """Read and parse the press release at `path`; raise `InputError` if it cannot be used."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError([Problem(file, 1, f"cannot read the release: {reason}")]) from None
    return parse_release(_decode(data, file), file)


def parse_release(text: str, file: str) -> Release:
    """Parse release text; `file` names it in problems and warnings."""
    if "\x00" in text:
        raise InputError([Problem(file, 1, "this is a binary file, not a press release")])
    lines, warnings = _repair_lines(text.split("\n"), file)
    if not any(line.strip() for line in lines):
        raise InputError([Problem(file, 1, "the file is empty; a release starts with ```yaml")])
    meta, body_start = _front_matter(lines, file)
    body = lines[body_start:]
    headlines, paragraphs = _body(body, body_start + 1)
    date_text = _text_field(meta, "publish", "date") or _text_field(meta, "date")
    return Release(
        file=file,
        title=_text_field(meta, "title"),
        url=_text_field(meta, "url"),
        date=date_text,
        date_iso=_iso_date(_raw_field(meta, "publish", "date") or _raw_field(meta, "date")),
        description=_text_field(meta, "og", "description") or _text_field(meta, "description"),
        area=_text_field(meta, "area"),
        headlines=tuple(headlines),
        paragraphs=tuple(p.text for p in paragraphs),
        quotes=tuple(_quotes(paragraphs)),
        contacts=tuple(_contacts(paragraphs)),
        warnings=tuple(warnings),
    )


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        byte = data[error.start]
        message = f"not UTF-8 text (byte 0x{byte:02x} at offset {error.start}); is this a release?"
        raise InputError([Problem(file, line, message)]) from None


def _repair_lines(lines: list[str], file: str) -> tuple[list[str], list[Problem]]:
    """Undo mis-decoding (UTF-8 read as cp1252/latin-1) per line, and say where."""
    repaired = [line.removesuffix("\r") for line in lines]
    warnings: list[Problem] = []
    if all(line.isascii() for line in repaired):
        return repaired, warnings  # nothing to repair: skip importing ftfy
    from ftfy import fix_encoding

    for index, line in enumerate(repaired):
        if line.isascii():
            continue
        fixed = fix_encoding(line)
        number = index + 1
        if fixed != line:
            before, after = _changed_span(line, fixed)
            message = f"repaired mis-decoded text: {before!r} → {after!r}"
            warnings.append(Problem(file, number, message, Severity.WARNING))
            repaired[index] = fixed
    return repaired, warnings


def _changed_span(before: str, after: str) -> tuple[str, str]:
    """The smallest middle part that differs between two strings."""
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end_b, end_a = len(before), len(after)
    while end_b > start and end_a > start and before[end_b - 1] == after[end_a - 1]:
        end_b -= 1
        end_a -= 1
    return before[start:end_b], after[start:end_a]


def _front_matter(lines: list[str], file: str) -> tuple[dict[str, Any], int]:
    """Parse the front matter block; return it and the index of the first body line."""
    first = next(i for i, line in enumerate(lines) if line.strip())
    opener = lines[first].strip()
    if _FENCE_OPEN.match(opener):
        closer = re.compile(r"^\s*" + re.escape(opener[:3]) + r"\s*$")
    elif opener == _DASHES:
        closer = re.compile(r"^\s*(---|\.\.\.)\s*$")
    else:
        message = "no front matter: a release starts with a ```yaml block (title, url, date)"
        raise InputError([Problem(file, first + 1, message)])
    end = next((i for i in range(first + 1, len(lines)) if closer.match(lines[i])), None)
    if end is None:
        message = "the front matter block opened here is never closed"
        raise InputError([Problem(file, first + 1, message)])
    meta = _load_yaml("\n".join(lines[first + 1 : end]), file, first + 2)
    if not isinstance(meta, dict):
        message = "the front matter must be a mapping of fields (title: ..., url: ...)"
        raise InputError([Problem(file, first + 2, message)])
    if not _text_field(meta, "title"):
        raise InputError([Problem(file, first + 1, "the front matter has no title")])
    return meta, end + 1


def _load_yaml(text: str, file: str, first_line: int) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = first_line + (mark.line if mark is not None else 0)
        problem = error.problem or error.context or "cannot be read"
        raise InputError(
            [Problem(file, line, f"invalid YAML in the front matter: {problem}")]
        ) from None
    except YAMLError as error:
        raise InputError(
            [Problem(file, first_line, f"invalid YAML in the front matter: {error}")]
        ) from None


def _raw_field(meta: dict[str, Any], *keys: str) -> Any:
    value: Any = meta
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _text_field(meta: dict[str, Any], *keys: str) -> str:
    value = _raw_field(meta, *keys)
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _iso_date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace(",", ", ").split()).replace(" ,", ",")
    for candidate in (text, re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)):
        for fmt in (*_DATE_FORMATS, "%Y-%m-%d"):
            try:
                return datetime.strptime(candidate, fmt).date().isoformat()
            except ValueError:
                continue
    return None


def _body(lines: list[str], first_line: int) -> tuple[list[str], list[_Para]]:
    """Split the Markdown body into headline items and plain-text paragraphs."""
    headlines: list[str] = []
    paragraphs: list[_Para] = []
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if not block:
            return
        rest: list[tuple[int, str]] = []
        for number, line in block:
            if match := _HEADLINE.match(line):
                headlines.append(_plain(match["text"]))
            else:
                rest.append((number, line))
        if rest and all(_LIST_ITEM.match(line) for _, line in rest):
            for number, line in rest:
                item = _LIST_ITEM.match(line)
                assert item is not None
                paragraphs.append(_Para(number, _plain(item["text"]), listed=True))
        elif rest:
            joined = " ".join(line.strip() for _, line in rest)
            heading = _HEADING.match(joined)
            text = _plain(heading["text"] if heading else joined)
            if text:
                paragraphs.append(_Para(rest[0][0], text))
        block.clear()

    for number, line in enumerate(lines, start=first_line):
        if line.strip():
            block.append((number, line))
        else:
            flush()
    flush()
    return headlines, paragraphs


def _plain(text: str) -> str:
    """Markdown inline markup stripped to the words a reader sees."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    text = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])", r"\1", text)
    text = re.sub(r"~~(?=\S)(.+?)(?<=\S)~~", r"\1", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!])", r"\1", text)
    return " ".join(text.split())


def _quotes(paragraphs: list[_Para]) -> list[Quote]:
    """Attributed quotes; consecutive quoted paragraphs after one join the same quote."""
    quotes: list[Quote] = []
    current: tuple[str, str, int, list[str]] | None = None

    def close() -> None:
        if current is not None:
            speaker, role, line, parts = current
            quotes.append(Quote(speaker, role, " ".join(parts), tuple(parts), line))

    for para in paragraphs:
        text = para.text
        after = _QUOTE_AFTER.match(text)
        before = _QUOTE_BEFORE.match(text) or _QUOTE_BEFORE_SAID_LAST.match(text)
        if after:
            close()
            speaker, role = _speaker_and_role(after["who"])
            current = (speaker, role, para.line, [_unquote(after["text"])])
        elif before:
            close()
            speaker, role = _speaker_and_role(before["who"])
            words = before["text"].rstrip().removesuffix(",")
            current = (speaker, role, para.line, [words])
        elif current is not None and text[:1] in _OPEN_QUOTES:
            current[3].append(_unquote(text[1:]))
        else:
            close()
            current = None
    close()
    return quotes


def _unquote(text: str) -> str:
    text = text.strip()
    if text[-1:] in _CLOSE_QUOTES:
        text = text[:-1]
    return text.strip()


def _speaker_and_role(who: str) -> tuple[str, str]:
    speaker, _, role = who.strip().partition(", ")
    return speaker.strip(), role.strip().rstrip(",")


def _contacts(paragraphs: list[_Para]) -> list[Contact]:
    """The routes to report or get help that the release names, in document order."""
    contacts: list[Contact] = []
    list_intro: str | None = None
    for para in paragraphs:
        text = para.text
        item = text if para.listed else _marker_item(text)
        if item is not None and list_intro is not None:
            contacts.append(Contact("organisation", item, "", list_intro, para.line))
            continue
        list_intro = None
        if text.endswith(":") and re.search(r"organi[sz]ation|contact|charit", text, re.I):
            list_intro = text
            continue
        found: list[tuple[int, Contact]] = []
        for match in _REPORT_ONLINE.finditer(text):
            contact = Contact(
                "report-online",
                "Report online",
                match["detail"],
                _sentence(text, match.start()),
                para.line,
            )
            found.append((match.start(), contact))
        for match in _WEBCHAT.finditer(text):
            note = _sentence(text, match.start())
            found.append(
                (match.start(), Contact("webchat", "Webchat", match["detail"], note, para.line))
            )
        for match in _PHONE.finditer(text):
            number = match["detail"]
            kind, name = _phone_kind(number)
            note = _sentence(text, match.start())
            found.append((match.start(), Contact(kind, name, number, note, para.line)))
        if re.search(r"\b(child|young person|young people|teenager)", text, re.I):
            for match in _SPEAK_TO.finditer(text):
                note = _sentence(text, match.start())
                for name in re.split(r", | or | and ", match["names"]):
                    found.append(
                        (match.start(), Contact("young-people", name, "", note, para.line))
                    )
        contacts.extend(contact for _, contact in sorted(found, key=lambda pair: pair[0]))
    return contacts


def _marker_item(text: str) -> str | None:
    """The text of a list item written with a symbol marker (emoji, bullet), else None."""
    if len(text) < 3 or " " not in text:
        return None
    marker, _, rest = text.partition(" ")
    if not rest.strip() or len(marker) > 4:
        return None
    symbolic = all(unicodedata.category(ch)[0] in "SP" or ch in "\ufe0f\u200d" for ch in marker)
    return rest.strip() if symbolic else None


def _phone_kind(number: str) -> tuple[str, str]:
    compact = number.replace(" ", "")
    if compact in _EMERGENCY_NUMBERS:
        return "emergency", "Emergency number"
    if compact in _NON_EMERGENCY_NUMBERS:
        return "non-emergency", "Non-emergency number"
    return "phone", "Phone"


def _sentence(text: str, position: int) -> str:
    """The sentence of `text` that holds `position`."""
    start = 0
    for boundary in _SENTENCE_END.finditer(text):
        if boundary.end() > position:
            return text[start : boundary.start() + 1].strip()
        start = boundary.end()
    return text[start:].strip()
