"""Press releases: the source document a campaign is written from.

A release comes in as it is: plain text copied from a web page (the title on its first
line, or none), Markdown with or without front matter (a ```yaml or --- block of title,
url, date, ...), or a saved HTML page, whose main text an extraction library turns into
Markdown first (on the officer's machine only: see `herald.release_html`). Fields the file
lacks can be given as `ReleaseFields` (the command line's --title, --url, --date).

`load_release` reads one into a `Release` whose `context()` is what campaign templates see
as `release.*`. Headlines are the items of any bullet list; quotes are found after `said:`,
`said “`, `says`, and before `, said …`, with their speakers; dates are read as a UK
reader writes them (07/12/2026 is 7 December). What cannot be understood is a warning,
never a silent drop. Mis-decoded text (mojibake) is repaired line by line and reported.
`to_markdown` writes the release back as a normalised file with its front matter.
"""

from __future__ import annotations

import calendar
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
    "ReleaseFields",
    "load_release",
    "parse_release",
    "read_date",
    "to_markdown",
]

_FENCE_OPEN = re.compile(r"^\s*(```|~~~)\s*(yaml|yml)\s*$", re.IGNORECASE)
_DASHES = "---"
# A list item: `-`, `*`, `+`, `•` and other bullet characters, or `1.` / `1)`.
_BULLETS = "-*+•·●▪◦‣–"
_LIST_ITEM = re.compile(rf"^\s*(?:[{re.escape(_BULLETS)}]|\d{{1,3}}[.)])\s+(?P<text>\S.*)$")
_HEADLINE_MARK = re.compile(r"^#{1,6}\s+(?P<text>.*?)\s*#*\s*$")
_HEADING = re.compile(r"^\s*#{1,6}\s+(?P<text>.*?)\s*#*\s*$")
_CONTACT_INTRO = re.compile(r"organi[sz]ation|contact|charit|helpline", re.IGNORECASE)

_OPEN_QUOTES = '"“'
_CLOSE_QUOTES = '"”'
_CLOSING_FOR = {'"': '"', "“": "”"}
_VERBS = (
    r"(?:said|says|added|adds|explained|explains|commented|comments|continued|continues"
    r"|stated|states|warned|warns|urged|urges|told\s+[\w ]{1,40}?)"
)
# `Name, role, said: "text` / `Name said “text` / `Name says "text`.
_QUOTE_INTRO = re.compile(rf"\b{_VERBS}(?P<colon>\s*:\s*|\s+)(?P<open>[\"“])")
# After a closing quote mark: `, said Name, role.` / `, Name said.`
_ATTRIBUTION_VERB_FIRST = re.compile(rf"^\s*,?\s*{_VERBS}\s+(?P<who>[^.!?\"“”]+)[.!?]?")
_ATTRIBUTION_VERB_LAST = re.compile(rf"^\s*,?\s*(?P<who>[^.!?\"“”]+?),?\s+{_VERBS}\s*[.!?:,]?")
_PRONOUNS = {"he", "she", "they", "he also", "she also", "they also"}
_NAME_LINKS = {"of", "the", "and", "for", "de", "van", "von", "la", "le", "du", "da", "at", "&"}
_SENTENCE_BREAK = re.compile(r"[.!?][\"”’)]*\s+(?=[A-Z\"“‘])")

_ADDRESS = r"(?P<detail>[\w-]+(?:\.[\w-]+)+(?:/[\w./-]*\w)?)"
_REPORT_ONLINE = re.compile(rf"\breport\b[^.]*?\bonline at {_ADDRESS}", re.IGNORECASE)
_WEBCHAT = re.compile(rf"\bweb\s?chat at {_ADDRESS}", re.IGNORECASE)
_PHONE = re.compile(r"\b(?:call|ring|dial|phone)\b[^.\d]{0,40}?(?P<detail>\b\d[\d ]{1,14}\d)\b")
_EMERGENCY_NUMBERS = {"999", "112"}
_NON_EMERGENCY_NUMBERS = {"101"}
_NAME = r"[A-Z][\w'’&-]*(?: (?:of |and |for |the )?[A-Z][\w'’&-]*)*"
_SPEAK_TO = re.compile(rf"\b(?:speak|talk) to (?P<names>{_NAME}(?:(?:, | or | and ){_NAME})*)")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”]?\s+(?=[A-Z\"“])")

# Dates, as a UK reader writes them.
_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): n for n, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday|rsday)?"
_ISO_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ].*)?$")
_NUMERIC_DATE = re.compile(r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})(?:[/.-](?P<y>\d{4}|\d{2}))?$")
_DAY_MONTH = re.compile(
    rf"^(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{_MONTH})(?:\s+(?P<y>\d{{4}}))?$"
)
_MONTH_DAY = re.compile(
    rf"^(?P<m>{_MONTH})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(?P<y>\d{{4}}))?$"
)
_DATE_PREFIX = re.compile(
    r"^(?:(?:first\s+)?published|posted|date|dated|updated|last\s+updated|released?)\b\s*(?:on\b)?\s*:?\s*",
    re.IGNORECASE,
)
_TIME_SUFFIX = re.compile(
    r"(?:\s+at\s+|\s*[-–|]\s*|\s+)"
    r"(?:\d{1,2}[:.]\d{2}\s*(?:am|pm|hrs)?|\d{1,2}\s*(?:am|pm))(?:\s*(?:GMT|BST|UTC))?$",
    re.IGNORECASE,
)
_URL_LINE = re.compile(r"^(?:(?:url|source|link|web)\s*:\s*)?(?P<url>https?://\S+)$", re.IGNORECASE)


@dataclass(frozen=True)
class ReleaseFields:
    """Fields given outside the release file (the command line): each replaces the file's."""

    title: str | None = None
    url: str | None = None
    date: str | None = None


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
class Block:
    """One piece of the body in reading order: a headline, a paragraph, or an item of a
    list that is not headlines (organisations to contact)."""

    kind: str  # "headline", "paragraph" or "item"
    text: str
    line: int


@dataclass(frozen=True)
class Release:
    """A press release, parsed: its fields, headlines, body, quotes, contacts.

    `warnings` are what could not be read as written (repaired text, a date that is not
    one, a quote cut off): campaigns that use the release show them too. `gaps` say what
    the release lacks (no headlines, no quotes, no title, url or date): `herald release` and
    `herald draft` show them, so an author knows what herald did not find.
    """

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
    gaps: tuple[Problem, ...] = field(default=())
    source: str = "front matter"  # how it came in: front matter, markdown, text, html
    blocks: tuple[Block, ...] = field(default=(), repr=False)

    @property
    def organisations(self) -> tuple[str, ...]:
        """Names of the organisations the release lists as alternatives to the police."""
        return tuple(c.name for c in self.contacts if c.kind == "organisation")

    @property
    def notices(self) -> tuple[Problem, ...]:
        """Every warning and gap, in line order: what `herald release` prints."""
        return tuple(sorted((*self.warnings, *self.gaps), key=lambda p: p.line))

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
    listed: bool = False  # an item of a list that is not headlines


@dataclass
class _Meta:
    """The release's fields before they are checked, with the line each came from."""

    title: str = ""
    url: str = ""
    date: Any = None
    description: str = ""
    area: str = ""
    date_line: int = 1
    title_line: int = 1


# ---- reading a file ------------------------------------------------------------------------


def is_html(path: Path, head: bytes) -> bool:
    """Whether a file is a saved web page (by its name, or by how it starts)."""
    if path.suffix.lower() in {".html", ".htm", ".xhtml"}:
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<?xml")) and b"<html" in head.lower()


def load_release(path: Path, fields: ReleaseFields | None = None, *, html: bool = False) -> Release:
    """Read and parse the press release at `path`; raise `InputError` if it cannot be used.

    `html=True` lets a saved web page in (its text extracted on this machine); campaigns
    name a text or Markdown release, which is all the publisher reads.
    """
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError([Problem(file, 1, f"cannot read the release: {reason}")]) from None
    if is_html(Path(path), data[:4096]):
        if not html:
            message = (
                "this is a saved web page (HTML): run `herald release"
                f" {file} --write RELEASE.md` and name the .md file instead"
            )
            raise InputError([Problem(file, 1, message)])
        from herald.release_html import extract

        page = extract(data, file)
        meta = _Meta(title=page.title, url=page.url, date=page.date, description=page.description)
        return _parse(page.markdown, file, fields, meta, source="html")
    return parse_release(_decode(data, file), file, fields)


def parse_release(text: str, file: str, fields: ReleaseFields | None = None) -> Release:
    """Parse release text (any of the shapes above but HTML); `file` names it in problems."""
    return _parse(text, file, fields, None, source=None)


def _parse(
    text: str, file: str, fields: ReleaseFields | None, given: _Meta | None, source: str | None
) -> Release:
    if "\x00" in text:
        raise InputError([Problem(file, 1, "this is a binary file, not a press release")])
    lines, warnings = _repair_lines(text.split("\n"), file)
    if not any(line.strip() for line in lines) and given is None:
        message = "the file is empty: a release is the text of a press release"
        raise InputError([Problem(file, 1, message)])
    if given is not None:
        meta, body_start = given, 0
    elif (found := _front_matter(lines, file)) is not None:
        meta, body_start = found
        source = "front matter"
    else:
        meta, body_start = _top_fields(lines)
        source = "markdown" if _looks_like_markdown(lines) else "text"
    if source == "html":
        body_start = _field_lines(lines, _skip_title_heading(lines, meta.title), meta)
    _apply(meta, fields or ReleaseFields())
    date_text, date_iso = _checked_date(meta, file, warnings)
    blocks = _blocks(lines[body_start:], body_start + 1)
    paragraphs = [
        _Para(b.line, b.text, listed=b.kind == "item") for b in blocks if b.kind != "headline"
    ]
    headlines = [b.text for b in blocks if b.kind == "headline"]
    quotes = _quotes(paragraphs, file, warnings)
    first_body = blocks[0].line if blocks else body_start + 1
    gaps = _gaps(file, meta, first_body, bool(headlines), bool(quotes))
    return Release(
        file=file,
        title=meta.title,
        url=meta.url,
        date=date_text,
        date_iso=date_iso,
        description=meta.description,
        area=meta.area,
        headlines=tuple(headlines),
        paragraphs=tuple(p.text for p in paragraphs),
        quotes=tuple(quotes),
        contacts=tuple(_contacts(paragraphs)),
        warnings=tuple(warnings),
        gaps=tuple(gaps),
        source=source or "text",
        blocks=tuple(blocks),
    )


def _gaps(
    file: str, meta: _Meta, first_body: int, has_headlines: bool, has_quotes: bool
) -> list[Problem]:
    """A warning for each part of a release herald could not find, saying how to give it."""
    gaps: list[Problem] = []
    if not meta.title:
        gaps.append(_gap(file, meta.title_line, "no title found: give one with --title"))
    if not meta.url:
        gaps.append(_gap(file, meta.title_line, "no url found: give one with --url"))
    if meta.date is None or meta.date == "":
        gaps.append(_gap(file, meta.title_line, "no date found: give one with --date"))
    if not has_headlines:
        message = "no headlines found: herald reads them from a bullet list (-, *, •, 1.)"
        gaps.append(_gap(file, first_body, message))
    if not has_quotes:
        message = (
            "no quotes found: herald reads them after `said:`, `said “` or `says`,"
            " and before `, said …`"
        )
        gaps.append(_gap(file, first_body, message))
    return gaps


def _gap(file: str, line: int, message: str) -> Problem:
    return Problem(file, line, message, Severity.WARNING)


def _apply(meta: _Meta, fields: ReleaseFields) -> None:
    if fields.title is not None:
        meta.title = fields.title.strip()
    if fields.url is not None:
        meta.url = fields.url.strip()
    if fields.date is not None:
        meta.date = fields.date.strip()
        meta.date_line = 0  # the command line


def _checked_date(meta: _Meta, file: str, warnings: list[Problem]) -> tuple[str, str | None]:
    """The date as written and in ISO form; an ambiguous date is an error, one that cannot
    be read a warning."""
    raw = meta.date
    if raw is None or raw == "":
        return "", None
    if isinstance(raw, datetime):
        return raw.date().isoformat(), raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat(), raw.isoformat()
    written = str(raw).strip()
    where = (file, meta.date_line) if meta.date_line else ("<command line>", 1)
    try:
        iso = read_date(written)
    except ValueError as error:
        raise InputError([Problem(*where, f"the date {written!r} {error}")]) from None
    if iso is None:
        message = (
            f"the date {written!r} cannot be read: write it like 7 December 2026,"
            " 07/12/2026 or 2026-12-07 (or give it with --date)"
        )
        warnings.append(Problem(*where, message, Severity.WARNING))
    return written, iso


def read_date(text: str) -> str | None:
    """A date as a UK reader writes it, in ISO form: `07/12/2026` and `7th December 2026`
    are 2026-12-07. None if it is not a date; ValueError (saying why) if it is ambiguous:
    written month first, or without a year."""
    value = " ".join(text.replace(",", " ").split())
    value = _DATE_PREFIX.sub("", value)
    value = re.sub(rf"^{_WEEKDAY}\.?\s+", "", value, flags=re.IGNORECASE)
    value = _TIME_SUFFIX.sub("", value).strip() if not _ISO_DATE.match(value) else value
    if match := _ISO_DATE.match(value):
        return _iso(int(match["y"]), int(match["m"]), int(match["d"]))
    if match := _NUMERIC_DATE.match(value):
        first, second = int(match["a"]), int(match["b"])
        if match["y"] is None:
            raise ValueError("has no year: write it like 7 December 2026")
        year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
        iso = _iso(year, second, first)
        if iso is None and _iso(year, first, second) is not None:
            raise ValueError(
                "is written month first; herald reads dates day first, as a UK reader"
                f" does: write {second} {calendar.month_name[first]} {year}"
                f" or {year}-{first:02d}-{second:02d}"
            )
        return iso
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        if match := pattern.match(value.lower()):
            month = _MONTHS[match["m"].rstrip(".")]
            if match["y"] is None:
                raise ValueError(
                    f"has no year: write it like {match['d']} {calendar.month_name[month]} 2026"
                )
            return _iso(int(match["y"]), month, int(match["d"]))
    return None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _looks_like_date(line: str) -> bool:
    try:
        return read_date(line) is not None
    except ValueError:
        return True


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
    repaired = [line.removesuffix("\r").replace("\u00a0", " ") for line in lines]
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


# ---- the fields: front matter, or the top of the text --------------------------------------


def _front_matter(lines: list[str], file: str) -> tuple[_Meta, int] | None:
    """The front matter block and the index of the first body line; None if there is none."""
    first = next(i for i, line in enumerate(lines) if line.strip())
    opener = lines[first].strip()
    if _FENCE_OPEN.match(opener):
        closer = re.compile(r"^\s*" + re.escape(opener[:3]) + r"\s*$")
    elif opener == _DASHES:
        closer = re.compile(r"^\s*(---|\.\.\.)\s*$")
    else:
        return None
    end = next((i for i in range(first + 1, len(lines)) if closer.match(lines[i])), None)
    if end is None:
        message = "the front matter block opened here is never closed"
        raise InputError([Problem(file, first + 1, message)])
    data = _load_yaml("\n".join(lines[first + 1 : end]), file, first + 2)
    if not isinstance(data, dict):
        message = "the front matter must be a mapping of fields (title: ..., url: ...)"
        raise InputError([Problem(file, first + 2, message)])
    date_key = re.compile(r"^\s*date\s*:")
    date_line = next((i + 1 for i in range(first + 1, end) if date_key.match(lines[i])), first + 2)
    meta = _Meta(
        title=_text_field(data, "title"),
        url=_text_field(data, "url"),
        date=_raw_field(data, "publish", "date") or _raw_field(data, "date"),
        description=_text_field(data, "og", "description") or _text_field(data, "description"),
        area=_text_field(data, "area"),
        date_line=date_line,
        title_line=first + 1,
    )
    return meta, end + 1


def _top_fields(lines: list[str]) -> tuple[_Meta, int]:
    """A release without front matter: its title is its first line when that reads as one
    (a `# heading`, or a short line that does not end a sentence); lines just after it that
    are a date or a link are its date and url."""
    meta = _Meta()
    index = next(i for i, line in enumerate(lines) if line.strip())
    first = lines[index].strip()
    heading = _HEADING.match(first)
    if heading or _reads_as_title(first):
        meta.title = _plain(heading["text"] if heading else first)
        meta.title_line = index + 1
        index += 1
    return meta, _field_lines(lines, index, meta)


def _field_lines(lines: list[str], index: int, meta: _Meta) -> int:
    """Read the date and link lines at `index` (`Published: 07/12/2026`, a lone URL) into
    `meta` where it has none yet; return where the body starts after them."""
    start = index
    seen = 0
    while index < len(lines) and seen < 4:
        line = _plain(lines[index].strip())
        if not line:
            index += 1
            continue
        if link := _URL_LINE.match(line):
            meta.url = meta.url or link["url"]
        elif len(line) <= 60 and (_looks_like_date(line) or _DATE_PREFIX.match(line)):
            if meta.date is None or meta.date == "":
                meta.date = _DATE_PREFIX.sub("", line).strip()
                meta.date_line = index + 1
        else:
            break
        seen += 1
        index += 1
        start = index
    return start


def _reads_as_title(line: str) -> bool:
    if len(line) > 160 or _LIST_ITEM.match(line) or line[:1] in _OPEN_QUOTES + "‘'":
        return False
    if line.endswith((".", ":", ",", ";")) or _looks_like_date(line):
        return False
    return not _URL_LINE.match(line)


def _looks_like_markdown(lines: list[str]) -> bool:
    return any(_HEADING.match(line) or re.search(r"\*\*\S|\]\(", line) for line in lines)


def _skip_title_heading(lines: list[str], title: str) -> int:
    """Where an extracted page's body starts: after its first heading when that is the title."""
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        heading = _HEADING.match(line)
        if heading and _plain(heading["text"]).casefold() == title.casefold():
            return index + 1
        return index
    return 0


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


# ---- the body: headlines, paragraphs, list items -------------------------------------------


def _blocks(lines: list[str], first_line: int) -> list[Block]:
    """The body in reading order. Blank lines separate paragraphs; so does a line break
    after a sentence's end when the text is not wrapped by an editor (a release copied from
    a web page has one paragraph per line). Items of a bullet list are headlines, unless the
    paragraph before the list introduces organisations or contacts."""
    units: list[tuple[str, int, list[str]]] = []  # (kind, line, lines); kind: text/item/mark
    chunk: list[tuple[int, str]] = []
    chunks: list[list[tuple[int, str]]] = []

    for number, line in enumerate(lines, start=first_line):
        if line.strip():
            chunk.append((number, line))
        elif chunk:
            chunks.append(list(chunk))
            chunk.clear()
    if chunk:
        chunks.append(list(chunk))
    # Text with no blank line between its paragraphs was copied from a web page, where each
    # line is a paragraph; elsewhere a single line break may be an editor's wrapping.
    copied = len(chunks) == 1
    for run in chunks:
        units.extend(_units(run, copied))

    blocks: list[Block] = []
    in_list = False
    contact_list = False
    for kind, at, parts in units:
        text = _plain(" ".join(part.strip() for part in parts))
        if kind == "mark":  # `* ### Headline`: always a headline
            blocks.append(Block("headline", text, at))
            continue
        if kind == "item":
            if not in_list:
                before = next((b for b in reversed(blocks) if b.kind == "paragraph"), None)
                contact_list = bool(
                    blocks
                    and blocks[-1].kind == "paragraph"
                    and before is not None
                    and before.text.endswith(":")
                    and _CONTACT_INTRO.search(before.text)
                )
            in_list = True
            blocks.append(Block("item" if contact_list else "headline", text, at))
            continue
        in_list = False
        heading = _HEADING.match(text)
        text = _plain(heading["text"]) if heading else text
        if text:
            blocks.append(Block("paragraph", text, at))
    return blocks


def _units(chunk: list[tuple[int, str]], copied: bool) -> list[tuple[str, int, list[str]]]:
    """Split one run of non-blank lines into list items and paragraphs: in `copied` text
    every line is one."""
    texts = [line for _, line in chunk if not _LIST_ITEM.match(line)]
    width = max((len(line.rstrip()) for line in texts), default=0)
    wrapped = _editor_wrapped(texts, width)
    units: list[tuple[str, int, list[str]]] = []
    previous = ""
    for number, line in chunk:
        stripped = line.strip()
        if item := _LIST_ITEM.match(line):
            body = item["text"]
            mark = _HEADLINE_MARK.match(body)
            units.append(("mark" if mark else "item", number, [mark["text"] if mark else body]))
        elif _HEADING.match(line):
            units.append(("text", number, [stripped]))
        elif units and units[-1][0] == "item" and line[:1].isspace():
            units[-1][2].append(stripped)  # an item's continued line
        elif (
            units
            and units[-1][0] == "text"
            and not copied
            and not _HEADING.match(previous)
            and not _paragraph_break(previous, stripped, wrapped, width)
        ):
            units[-1][2].append(stripped)
        else:
            units.append(("text", number, [stripped]))
        previous = stripped
    return units


def _editor_wrapped(lines: list[str], width: int) -> bool:
    """Whether these lines look wrapped by an editor at a fixed width (Markdown written by
    hand) rather than one paragraph per line (text copied from a web page)."""
    if len(lines) < 2 or width > 100:
        return False
    full = [len(line.rstrip()) for line in lines[:-1]]
    return sum(1 for n in full if n >= width * 0.6) >= len(full) * 0.75


def _paragraph_break(before: str, after: str, wrapped: bool, width: int) -> bool:
    """Whether the line break between two lines ends a paragraph."""
    ends = re.search(r"[.!?:][\"”’)]*$", before) is not None
    starts = re.match(r"[\"“‘(]?[A-Z0-9]", after) is not None
    if not (ends and starts):
        return False
    if not wrapped:
        return True
    first_word = after.split()[0] if after.split() else ""
    return len(before) + 1 + len(first_word) <= width  # it would have fitted: a break on purpose


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


# ---- quotes ---------------------------------------------------------------------------------


@dataclass
class _OpenQuote:
    speaker: str
    role: str
    line: int
    parts: list[str]
    closed: bool  # its last part ended with a closing quote mark
    last_para: int  # the index of the paragraph its last part came from


def _quotes(paragraphs: list[_Para], file: str, warnings: list[Problem]) -> list[Quote]:
    """Attributed quotes, each with its speaker; a quote that runs on over paragraphs (each
    opening with a quote mark) is one quote. A quote cut off, or one whose speaker cannot
    be told, is a warning."""
    quotes: list[Quote] = []
    current: _OpenQuote | None = None
    last_speaker: tuple[str, str] | None = None
    for index, para in enumerate(paragraphs):
        text = para.text
        if para.listed:
            _finish(current, file, quotes, warnings)
            current = None
            continue
        continues = current is not None and current.last_para == index - 1
        if continues and current is not None and text[:1] in _OPEN_QUOTES:
            words, closed, rest = _quoted(text, 0)
            if not closed or _attribution(words, rest) is None:
                current.parts.append(words)
                current.closed = closed
                current.last_para = index
                continue
        found = _quote_in(text, last_speaker)
        _finish(current, file, quotes, warnings)
        current = None
        if found is None:
            if text[:1] in _OPEN_QUOTES and len(text.split()) > 3:
                warnings.append(_warning(file, para.line, _NO_SPEAKER))
            continue
        (speaker, role), quoted, closed, unclear = found
        if unclear:
            message = f"cannot tell who is speaking in {unclear!r}: the quote is listed with no"
            warnings.append(_warning(file, para.line, f"{message} speaker"))
        else:
            last_speaker = (speaker, role)
        current = _OpenQuote(speaker, role, para.line, quoted, closed, index)
    _finish(current, file, quotes, warnings)
    return quotes


_NO_SPEAKER = (
    "quoted words with no speaker herald can tell: not listed in"
    " release.quotes (write `Name said: “…”` or `“…,” said Name`)"
)


def _warning(file: str, line: int, message: str) -> Problem:
    return Problem(file, line, message, Severity.WARNING)


def _finish(
    current: _OpenQuote | None, file: str, quotes: list[Quote], warnings: list[Problem]
) -> None:
    """Close the quote being read, if any: listed in `quotes`, with a warning if it was cut
    off."""
    if current is None:
        return
    if not current.closed:
        warnings.append(
            _warning(
                file,
                current.line,
                f"the quote by {current.speaker or 'an unnamed speaker'} is cut off:"
                " it has no closing quote mark (is the end of the text missing?)",
            )
        )
    parts = [p for p in current.parts if p]
    if parts:
        quotes.append(
            Quote(current.speaker, current.role, " ".join(parts), tuple(parts), current.line)
        )


def _quote_in(
    text: str, last_speaker: tuple[str, str] | None
) -> tuple[tuple[str, str], list[str], bool, str] | None:
    """The quote a paragraph starts: ((speaker, role), its parts, whether it closed, the
    words that named no one). None if the paragraph quotes no one."""
    if text[:1] in _OPEN_QUOTES:  # `“text,” said Name, role.` or `“text,” Name said.`
        words, closed, rest = _quoted(text, 0)
        attribution = _attribution(words, rest) if closed else None
        if attribution is None:
            return None
        who, after = attribution
        more = _more_quoted(rest[after:])
        parts = [_joined_end(words, bool(more)), *more]
        closed = _all_closed(rest[after:])
        (speaker, role), unclear = _speaker_and_role(who, last_speaker)
        return (speaker, role), parts, closed, unclear
    for intro in _QUOTE_INTRO.finditer(text):
        words, closed, rest = _quoted(text, intro.start("open"))
        embedded = closed and not intro["colon"].strip() and re.match(r"\s*[a-z]", rest)
        if embedded or len(words.split()) < 2:
            continue  # `said “significant” progress`: a word quoted, not a quote
        start = _sentence_start(text, intro.start())
        who = text[start : intro.start()].strip().rstrip(",").strip()
        if not who:
            continue
        parts = [words, *_more_quoted(rest)]
        closed = closed and _all_closed(rest)
        (speaker, role), unclear = _speaker_and_role(who, last_speaker)
        return (speaker, role), parts, closed, unclear
    return None


def _joined_end(words: str, more: bool) -> str:
    """The first part of a quote broken by its attribution (`“Text,” said Jo. “More.”`):
    its comma ends the sentence when more follows, and is dropped when nothing does."""
    words = words.rstrip()
    if words.endswith(","):
        return words[:-1].rstrip() + ("." if more else "")
    return words


def _quoted(text: str, start: int) -> tuple[str, bool, str]:
    """The words inside the quote mark at `start`: (words, closed, what follows)."""
    opener = text[start]
    end = text.find(_CLOSING_FOR[opener], start + 1)
    if opener == "“" and end < 0:
        end = text.find('"', start + 1)
    if end < 0:
        return text[start + 1 :].strip(), False, ""
    return text[start + 1 : end].strip(), True, text[end + 1 :]


def _more_quoted(text: str) -> list[str]:
    """Further quoted sentences in the rest of a paragraph (`… said Jo. “More.”`)."""
    parts = []
    position = 0
    while (start := _next_open(text, position)) >= 0:
        words, closed, rest = _quoted(text, start)
        if words:
            parts.append(words)
        if not closed:
            break
        position = len(text) - len(rest)
    return parts


def _all_closed(text: str) -> bool:
    position = 0
    while (start := _next_open(text, position)) >= 0:
        _, closed, rest = _quoted(text, start)
        if not closed:
            return False
        position = len(text) - len(rest)
    return True


def _next_open(text: str, position: int) -> int:
    found = [i for i in (text.find(q, position) for q in _OPEN_QUOTES) if i >= 0]
    return min(found) if found else -1


def _attribution(words: str, rest: str) -> tuple[str, int] | None:
    """`, said Name, role.` or `, Name said.` just after the closing quote mark of `words`:
    (who, where the attribution ends). A quote that ends its sentence has none."""
    if not (words.rstrip().endswith((",", "!", "?", "…")) or rest.lstrip().startswith(",")):
        return None
    head = rest[:200]
    for pattern in (_ATTRIBUTION_VERB_FIRST, _ATTRIBUTION_VERB_LAST):
        match = pattern.match(head)
        if match and match["who"].strip():
            return match["who"].strip().rstrip(","), match.end()
    return None


def _sentence_start(text: str, position: int) -> int:
    start = 0
    for boundary in _SENTENCE_BREAK.finditer(text, 0, position):
        start = boundary.end()
    return start


def _speaker_and_role(
    who: str, last_speaker: tuple[str, str] | None
) -> tuple[tuple[str, str], str]:
    """(speaker, role) from the words that introduce a quote, and those words when no name
    can be told in them ("" when one can). A pronoun is the last speaker named."""
    who = who.strip().rstrip(",").strip()
    if who.casefold() in _PRONOUNS:
        return (last_speaker or ("", "")), ("" if last_speaker else who)
    parts = _split_top_level(who)
    for index, part in enumerate(parts):
        if _name_like(part):
            role = ", ".join(parts[index + 1 :]).strip().rstrip(",")
            return (part.strip(), role), ""
    if len(who) <= 60 and len(parts) <= 2:
        return (parts[0].strip(), ", ".join(parts[1:]).strip()), ""
    return ("", ""), who


def _split_top_level(text: str) -> list[str]:
    """Split at ", " outside brackets."""
    parts, depth, current = [], 0, ""
    for index, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0 and text[index + 1 : index + 2] == " ":
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _name_like(part: str) -> bool:
    """Capitalised words (with the small words of titles), at least two of them: a name
    with its rank or title, like `Detective Inspector Gemma Badat`."""
    words = part.split()
    if not 2 <= len(words) <= 9:
        return False
    capitals = 0
    for word in words:
        if word.lower() in _NAME_LINKS:
            continue
        if not (word[:1].isupper() or word[:1].isdigit()):
            return False
        capitals += 1
    return capitals >= 2 and words[0].lower() not in _NAME_LINKS


# ---- contacts -------------------------------------------------------------------------------


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
        if text.endswith(":") and _CONTACT_INTRO.search(text):
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


# ---- writing a release back ------------------------------------------------------------------


def to_markdown(release: Release) -> str:
    """The release as a normalised file: ```yaml front matter with its fields, then its
    headlines as a bullet list and its paragraphs, one per blank-line-separated block.
    Reading it back gives the same release."""
    import json

    def field_line(name: str, value: str) -> str:
        return f"{name}: {json.dumps(value, ensure_ascii=False)}"

    front = [field_line("title", release.title), field_line("url", release.url)]
    front.append(field_line("date", release.date_iso or release.date))
    if release.description:
        front.append(field_line("description", release.description))
    if release.area:
        front.append(field_line("area", release.area))
    out = ["```yaml", *front, "```"]
    previous = ""
    for block in release.blocks:
        listed = block.kind in {"headline", "item"}
        if not listed or previous != block.kind:
            out.append("")  # a blank line between paragraphs, and before each list
        out.append(f"- {_escaped(block.text)}" if listed else _escaped(block.text))
        previous = block.kind
    return "\n".join(out) + "\n"


def _escaped(text: str) -> str:
    """Text that reads back as itself: Markdown markup and a list or heading marker at its
    start are escaped."""
    text = re.sub(r"([*_`~\\\[\]])", r"\\\1", text)
    if match := re.match(r"^(\d{1,3})([.)]\s)", text):
        return f"{match[1]}\\{match[2]}{text[match.end() :]}"
    if re.match(r"^(?:[-+#]|[•·●▪◦‣–]\s)", text):
        return "\\" + text if text[0] in "-+#" else text
    return text
