"""The campaign model: what a comms team writes, checked and turned into dated posts.

Loading is in two passes. The schema (pydantic, unknown keys refused) checks the shape;
then the meaning: time zone, local times that exist exactly once, the release and media
files, unique ids. Every problem is mapped back to the line of the file it came from.
"""

from __future__ import annotations

import calendar
import difflib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from herald import yamlsource
from herald.problems import InputError, Problem

if TYPE_CHECKING:
    from herald.release import Release

CHANNELS = ("x",)  # networks herald publishes to
MAX_MEDIA_BYTES = 5 * 1024 * 1024
MAX_ALT_CHARS = 1000
DEFAULT_MAX_LATENESS = timedelta(minutes=15)
RESERVED_NAMES = frozenset({"release", "campaign", "post"})

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", min_length=1, max_length=64)
]
Channel = Annotated[str, StringConstraints(pattern=r"^(x)$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountSpec(_Strict):
    handle: NonEmpty
    name: str | None = None
    user_id: str | None = None


class MediaSpec(_Strict):
    file: NonEmpty
    alt: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ALT_CHARS)]


class ThreadPartSpec(_Strict):
    text: NonEmpty
    media: list[MediaSpec] = Field(default_factory=list)


class PostSpec(_Strict):
    id: Slug
    at: Any  # checked by parse_local_time, which says what is wrong in a sentence
    text: NonEmpty
    media: list[MediaSpec] = Field(default_factory=list)
    thread: list[NonEmpty | ThreadPartSpec] = Field(default_factory=list)
    overrides: dict[Channel, NonEmpty] = Field(default_factory=dict)
    channels: list[Channel] | None = None


class DefaultsSpec(_Strict):
    channels: list[Channel] | None = None


class CampaignSpec(_Strict):
    campaign: Slug
    title: NonEmpty
    timezone: NonEmpty
    release: str | None = None
    max_lateness: Any = None  # checked by parse_duration
    accounts: dict[Channel, dict[Slug, AccountSpec]]
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    variables: dict[str, Any] = Field(default_factory=dict)
    posts: Annotated[list[PostSpec], Field(min_length=1)]


# ---- the loaded campaign ----------------------------------------------------------------


@dataclass(frozen=True)
class Media:
    path: Path
    alt: str
    line: int


@dataclass(frozen=True)
class Part:
    """One published unit: a post, or one follow-up of its thread (id `<post>.<n>`)."""

    id: str
    number: int  # 1 for the post itself, 2.. for its thread
    text: str  # a Jinja2 template
    media: tuple[Media, ...]
    line: int  # of its text in the campaign file
    overrides: dict[str, str] = field(default_factory=dict)
    # where each template starts ("text", or a channel for its override) and whether its
    # lines are the file's lines one for one, to point errors into the template
    spots: dict[str, tuple[int, bool]] = field(default_factory=dict)

    def line_for(self, channel: str, template_line: int = 1) -> int:
        """The file line of line `template_line` of the template `channel` publishes."""
        spot = "text" if channel not in self.overrides else channel
        line, exact = self.spots.get(spot, (self.line, False))
        return line + template_line - 1 if exact else line


@dataclass(frozen=True)
class Post:
    id: str
    at_local: datetime
    at: datetime  # UTC
    channels: tuple[str, ...]
    parts: tuple[Part, ...]
    line: int


@dataclass(frozen=True)
class Account:
    id: str
    handle: str
    name: str | None
    user_id: str | None


@dataclass(frozen=True)
class Campaign:
    id: str
    title: str
    path: Path
    timezone: ZoneInfo
    release: Release | None
    release_path: Path | None
    max_lateness: timedelta
    accounts: dict[str, dict[str, Account]]
    variables: dict[str, Any]
    posts: tuple[Post, ...]
    document: yamlsource.Document = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return str(self.path)


@dataclass
class LoadResult:
    """A campaign file's outcome: the campaign when usable, and everything found."""

    path: Path
    campaign: Campaign | None
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


# ---- times --------------------------------------------------------------------------------

_LOCAL_TIME = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"[T ](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?$"
)
_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?\s*(?:(?P<m>\d+)m(?:in)?)?\s*(?:(?P<s>\d+)s)?$")


def parse_local_time(value: object, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A wall-clock time in `zone` -> (local aware, UTC). Raises ValueError with a sentence
    when the time is malformed, does not exist (spring forward) or is ambiguous (fall back):
    herald never guesses which of two moments, or which moment near a gap, was meant."""
    naive = _naive_time(value)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    shown = naive.isoformat(sep=" ", timespec="minutes")
    try:
        at_utc = first.astimezone(UTC)
        round_trip = at_utc.astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        raise ValueError(f"{shown} is too far in the past or the future") from None
    step = _span(abs((second.utcoffset() or timedelta(0)) - (first.utcoffset() or timedelta(0))))
    if round_trip != naive:
        raise ValueError(
            f"{shown} does not exist in {zone.key}: the clocks go forward {step} then;"
            " pick a time outside the gap"
        )
    if first.utcoffset() != second.utcoffset():
        raise ValueError(
            f"{shown} happens twice in {zone.key}: the clocks go back {step} then;"
            f" pick a time before or after the repeated {'hour' if step == 'an hour' else 'time'}"
        )
    return first, at_utc


def _naive_time(value: object) -> datetime:
    """The naive wall-clock time an `at:` value names (YAML may hand over text, or a
    datetime when the time has seconds); ValueError with a sentence otherwise."""
    example = "write it as YYYY-MM-DD HH:MM, e.g. 2021-02-09 08:00"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(
                f"{value.isoformat(sep=' ')} has a UTC offset: write the local time without one"
                " (the campaign's timezone says where it is)"
            )
        return value
    if isinstance(value, date):
        raise ValueError(f"{value.isoformat()} has no time of day: {example}")
    if value is None:
        raise ValueError(f"'at' is empty: {example}")
    if not isinstance(value, str):
        raise ValueError(f"'at' should be a date and time, not {_describe(value)}: {example}")
    text = value.strip()
    match = _LOCAL_TIME.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a date and time: {example}")
    parts = {k: int(v) for k, v in match.groupdict(default="0").items()}
    year, month, day = parts["y"], parts["mo"], parts["d"]
    shown = f"{year:04d}-{month:02d}-{day:02d}"
    if year < 1:
        raise ValueError(f"{shown} is not a date: there is no year {year}")
    if not 1 <= month <= 12:
        raise ValueError(f"{shown} is not a date: there is no month {month}")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise ValueError(
            f"{shown} is not a date: {calendar.month_name[month]} {year} has {days} days"
        )
    try:
        return datetime(parts["y"], parts["mo"], parts["d"], parts["h"], parts["mi"], parts["s"])
    except ValueError:
        raise ValueError(f"'{text}' is not a time of day") from None


def _span(delta: timedelta) -> str:
    """'an hour', '30 minutes', 'a day': how far the clocks jump."""
    minutes = int(delta.total_seconds() // 60)
    if minutes == 60:
        return "an hour"
    if minutes == 24 * 60:
        return "a day"
    if minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groupdict().values()):
        raise ValueError(f"'{text}' is not a duration: write it like 15m, 1h or 90s")
    hours, minutes, seconds = (int(match.group(g) or 0) for g in ("h", "m", "s"))
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


# ---- schema errors as sentences -----------------------------------------------------------

# pydantic's "this value has the wrong type" errors, and what each type is called in a sentence
_EXPECTED = {
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "datetime_type": "a date and time",
    "bool_type": "yes or no (true or false)",
    "int_type": "a whole number",
}


def _describe(value: Any) -> str:
    """A value as a sentence names it: 'the number 5', 'a list', 'the text 'x''."""
    if isinstance(value, bool):
        return f"the yes/no value {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return f"the text '{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, date):
        return f"the date {value}"
    return f"a {type(value).__name__}"


def _labels(data: Any, loc: Sequence[str | int]) -> list[str]:
    """A location as the things a reader sees in the file: "post 'launch'", 'image 2',
    "'alt'"; the last label names the value itself."""
    labels: list[str] = []
    node = data
    parent_key: str | int | None = None
    for index, part in enumerate(loc):
        child = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            child = node[part]
        if isinstance(part, int) and parent_key == "posts":
            post_id = child.get("id") if isinstance(child, dict) else None
            labels[-1:] = [f"post '{post_id}'" if isinstance(post_id, str) else f"post {part + 1}"]
        elif isinstance(part, int) and parent_key == "thread":
            labels[-1:] = [f"thread item {part + 1}"]
        elif isinstance(part, int) and parent_key == "media":
            labels[-1:] = [f"image {part + 1}"]
        elif isinstance(part, int) and parent_key == "channels":
            pass  # the value is named in the message
        elif isinstance(part, int):
            labels.append(f"item {part + 1}")
        elif index == 2 and loc[0] == "accounts":
            labels[-2:] = [f"{loc[1]} account '{part}'"]
        else:
            labels.append(f"'{part}'")
        node, parent_key = child, part
    return labels


def _subject(data: Any, loc: Sequence[str | int]) -> tuple[str, str]:
    """(where it is, what it is): ("post 'launch', image 2", "'alt'")."""
    labels = _labels(data, loc)
    if not labels:
        return "", "the campaign"
    return ", ".join(labels[:-1]), labels[-1]


def _sentence(data: Any, loc: Sequence[str | int], predicate: str) -> str:
    where, what = _subject(data, loc)
    return f"{where}: {what} {predicate}" if where else f"{what} {predicate}"


def _clean_loc(data: Any, error: Any) -> list[str | int]:
    """pydantic's location with its own markers (union branches such as 'str' or
    'ThreadPartSpec', '[key]') taken out: only keys and indexes that are in the file,
    plus, for a missing key, the key's name."""
    raw = list(error["loc"])
    loc: list[str | int] = []
    node = data
    for index, part in enumerate(raw):
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if present:
            loc.append(part)
            node = node[part]
        elif error["type"] == "missing" and index == len(raw) - 1:
            loc.append(part)
    return loc


def _is_channel_place(loc: Sequence[str | int]) -> bool:
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    return (
        bool(parents)
        and parents[-1] in ("channels", "overrides", "accounts")
        and (parents[-1] != "accounts" or len(loc) == 2)
    )


def _schema_message(data: Any, loc: list[str | int], error: Any) -> tuple[list[str | int], str]:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    last = loc[-1] if loc else None
    if kind == "missing":
        parent = loc[:-1]
        if last == "alt":
            return parent, (
                f"{_where_text(data, parent)} has no alt text: describe the image for people"
                " who cannot see it (alt: ...)"
            )
        return parent, f"{_where_text(data, parent)} has no '{last}', which is required"
    if kind == "extra_forbidden":
        key = str(last)
        known = _SPEC_FIELDS.get(_model_for(loc[:-1]), [])
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"
        return loc, f"unknown key '{key}' in {_where_text(data, loc[:-1])}{hint}"
    if kind == "invalid_key":
        return loc, f"the key {last!r} is not a word: write keys as words (in quotes: '{last}')"
    if kind == "string_pattern_mismatch":
        prefix = f"{_where_text(data, loc[:-1])}: " if loc[:-1] else ""
        if _is_channel_place(loc):
            return loc, (
                f"{prefix}'{value}' is not a channel herald publishes to ({', '.join(CHANNELS)})"
            )
        noun = {"campaign": "campaign id", "id": "post id"}.get(str(last), "id")
        return loc, (
            f"{prefix}'{value}' is not a valid {noun}: use lowercase letters, digits, - and _"
        )
    if kind == "string_too_short":
        return loc, _sentence(data, loc, "is empty")
    if kind == "string_too_long":
        limit = int(ctx.get("max_length", MAX_ALT_CHARS))
        if last == "alt":
            return loc, (
                f"{_where_text(data, loc[:-1])}: the alt text is {len(str(value)):,} characters;"
                f" X takes at most {limit:,}"
            )
        return loc, _sentence(data, loc, f"is {len(str(value)):,} characters (at most {limit:,})")
    if kind == "too_short":
        if loc == ["posts"]:
            return loc, "the campaign has no posts"
        return loc, _sentence(data, loc, "is empty")
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
        if value is None:
            return loc, _sentence(data, loc, f"is empty: it should be {expected}")
        return loc, _sentence(data, loc, f"should be {expected}, not {_describe(value)}")
    message = str(error["msg"])
    return loc, _sentence(data, loc, "is wrong: " + message[0].lower() + message[1:])


def _where_text(data: Any, loc: Sequence[str | int]) -> str:
    """A location as a phrase: "post 'launch', image 2", or 'the campaign'."""
    labels = _labels(data, loc)
    return ", ".join(labels) if labels else "the campaign"


def _schema_problems(doc: yamlsource.Document, errors: Sequence[Any]) -> list[Problem]:
    """pydantic's errors as sentences at their lines. Where a value may take several
    shapes (a thread item is text or a mapping), only the errors of the shape the author
    evidently meant are kept; if no shape fits, one sentence lists them all."""
    by_loc: dict[tuple[str | int, ...], list[Any]] = {}
    for error in errors:
        by_loc.setdefault(tuple(_clean_loc(doc.data, error)), []).append(error)
    problems = []
    for loc_key, group in by_loc.items():
        loc = list(loc_key)
        deeper = any(
            len(other) > len(loc_key) and other[: len(loc_key)] == loc_key for other in by_loc
        )
        wrong_type = [e for e in group if e["type"] in _EXPECTED]
        others = [e for e in group if e["type"] not in _EXPECTED]
        if wrong_type and (deeper or others):
            group = others
        elif len(wrong_type) > 1:
            expected = " or ".join(dict.fromkeys(_EXPECTED[e["type"]] for e in wrong_type))
            value = wrong_type[0].get("input")
            shown = "empty" if value is None else f"not {_describe(value)}"
            message = _sentence(doc.data, loc, f"should be {expected}, {shown}")
            problems.append(doc.problem(loc, message))
            continue
        for error in group:
            where, message = _schema_message(doc.data, loc, error)
            problems.append(doc.problem(where, message))
    return problems


def _model_for(loc: Sequence[Any]) -> str:
    path = [p for p in loc if not isinstance(p, int)]
    if not path:
        return "CampaignSpec"
    last = path[-1]
    parent = path[-2] if len(path) >= 2 else None
    if last == "posts":
        return "PostSpec"
    if last == "media":
        return "MediaSpec"
    if last == "thread":
        return "ThreadPartSpec"
    if last == "defaults":
        return "DefaultsSpec"
    if parent == "accounts" or (len(path) >= 3 and path[-3] == "accounts"):
        return "AccountSpec"
    return ""


_SPEC_FIELDS = {
    model.__name__: list(model.model_fields)
    for model in (CampaignSpec, PostSpec, MediaSpec, ThreadPartSpec, DefaultsSpec, AccountSpec)
}


# ---- loading --------------------------------------------------------------------------------


def _check_media_file(
    doc: yamlsource.Document, loc: list[str | int], path: Path, shown: str
) -> list[Problem]:
    shown = f"{_where_text(doc.data, loc[:-1])}: media file {shown}"
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(12)
    except FileNotFoundError:
        return [doc.problem(loc, f"{shown} does not exist")]
    except OSError as error:
        return [doc.problem(loc, f"{shown} cannot be read: {error.strerror}")]
    if not (
        head.startswith(b"\x89PNG\r\n\x1a\n")
        or head.startswith(b"\xff\xd8\xff")
        or head[:6] in (b"GIF87a", b"GIF89a")
    ):
        return [doc.problem(loc, f"{shown} is not a PNG, JPEG or GIF image")]
    if size > MAX_MEDIA_BYTES:
        return [
            doc.problem(
                loc,
                f"{shown} is {math.ceil(size * 10 / 1048576) / 10:.1f} MB;"
                " X takes images of at most 5 MB",
            )
        ]
    return []


def _media(
    doc: yamlsource.Document, loc: list[str | int], specs: list[MediaSpec], problems: list[Problem]
) -> tuple[Media, ...]:
    found = []
    for index, spec in enumerate(specs):
        where = [*loc, index]
        path = (doc.path.parent / spec.file).resolve()
        problems.extend(_check_media_file(doc, [*where, "file"], path, spec.file))
        if not spec.alt.strip():
            problems.append(doc.problem([*where, "alt"], "the image's alt text is empty"))
        found.append(Media(path, spec.alt.strip(), doc.line(where)))
    return tuple(found)


def _load_release(doc: yamlsource.Document, ref: str, problems: list[Problem]) -> tuple[Any, Path]:
    path = doc.path.parent / ref  # as the author wrote it, so problems name it that way
    if not path.is_file():
        problems.append(doc.problem(["release"], f"the release {ref} does not exist"))
        return None, path
    from herald.release import load_release

    try:
        release = load_release(path)
    except InputError as error:
        problems.extend(error.problems)
        return None, path
    problems.extend(getattr(release, "warnings", []))
    return release, path


def load_campaign(path: Path) -> LoadResult:
    """Load and check one campaign file. Never raises for bad input."""
    try:
        doc = yamlsource.load(path)
    except InputError as error:
        return LoadResult(path, None, error.problems)
    if not isinstance(doc.data, dict):
        return LoadResult(
            path,
            None,
            [doc.problem([], "a campaign is a mapping of keys (campaign, title, posts, ...)")],
        )
    try:
        spec = CampaignSpec.model_validate(doc.data)
    except ValidationError as error:
        problems = _schema_problems(doc, error.errors())
        problems += _loose_checks(doc, problems)
        return LoadResult(path, None, _dedupe(problems))
    return _build(doc, spec)


def _zone(doc: yamlsource.Document, name: str, problems: list[Problem]) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, _zone_names(), n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (use an IANA name like Europe/London)"
        problems.append(doc.problem(["timezone"], f"unknown time zone '{name}'{hint}"))
        return None


def _loose_checks(doc: yamlsource.Document, reported: list[Problem]) -> list[Problem]:
    """After a schema error, the checks that need no valid whole: the time zone, each post's
    time, each media file. One run then reports these too, not one problem per run. A time
    on a line the schema already reported on is left to the schema's message."""
    data = doc.data
    taken = {p.line for p in reported}
    found: list[Problem] = []
    zone = _zone(doc, data["timezone"], found) if isinstance(data.get("timezone"), str) else None
    posts = data.get("posts")
    for index, post in enumerate(posts if isinstance(posts, list) else []):
        if not isinstance(post, dict):
            continue
        loc: list[str | int] = ["posts", index]
        name = post.get("id") if isinstance(post.get("id"), str) else str(index + 1)
        at_taken = doc.line([*loc, "at"]) in taken
        if zone is not None and not at_taken and isinstance(post.get("at"), str | datetime):
            try:
                parse_local_time(post["at"], zone)
            except ValueError as error:
                found.append(doc.problem([*loc, "at"], f"post '{name}': {error}"))
        thread = post.get("thread")
        media_lists: list[tuple[list[str | int], Any]] = [([*loc, "media"], post.get("media"))]
        for n, part in enumerate(thread if isinstance(thread, list) else []):
            if isinstance(part, dict):
                media_lists.append(([*loc, "thread", n, "media"], part.get("media")))
        for where, items in media_lists:
            for j, item in enumerate(items if isinstance(items, list) else []):
                if isinstance(item, dict) and isinstance(item.get("file"), str):
                    path = (doc.path.parent / item["file"]).resolve()
                    found.extend(_check_media_file(doc, [*where, j, "file"], path, item["file"]))
    return found


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: dict[tuple[int, str], Problem] = {}
    for problem in problems:
        seen.setdefault((problem.line, problem.message), problem)
    return sorted(seen.values(), key=lambda p: p.line)


def _build(doc: yamlsource.Document, spec: CampaignSpec) -> LoadResult:
    problems: list[Problem] = []
    zone = _zone(doc, spec.timezone, problems)

    max_lateness = DEFAULT_MAX_LATENESS
    if spec.max_lateness is not None:
        try:
            max_lateness = parse_duration(str(spec.max_lateness))
        except ValueError as error:
            problems.append(doc.problem(["max_lateness"], f"max_lateness: {error}"))
        if max_lateness <= timedelta(0) or max_lateness > timedelta(hours=24):
            problems.append(
                doc.problem(["max_lateness"], "max_lateness must be between 1 second and 24 hours")
            )

    release, release_path = (None, None)
    if spec.release is not None:
        release, release_path = _load_release(doc, spec.release, problems)

    for name in spec.variables:
        if name in RESERVED_NAMES or not name.isidentifier():
            problems.append(
                doc.problem(
                    ["variables", name],
                    f"'{name}' cannot be a variable name"
                    + (" (it is reserved for templates)" if name in RESERVED_NAMES else ""),
                )
            )

    accounts = {
        channel: {
            account_id: Account(account_id, a.handle.lstrip("@"), a.name, a.user_id)
            for account_id, a in by_id.items()
        }
        for channel, by_id in spec.accounts.items()
    }
    if not any(accounts.values()):
        problems.append(doc.problem(["accounts"], "the campaign names no account to publish from"))

    default_channels = spec.defaults.channels or list(accounts)
    posts: list[Post] = []
    seen_ids: dict[str, int] = {}
    for index, post_spec in enumerate(spec.posts):
        loc: list[str | int] = ["posts", index]
        if post_spec.id in seen_ids:
            problems.append(
                doc.problem(
                    [*loc, "id"],
                    f"post id '{post_spec.id}' is used twice"
                    f" (first on line {seen_ids[post_spec.id]})",
                )
            )
        else:
            seen_ids[post_spec.id] = doc.line([*loc, "id"])
        channels = tuple(post_spec.channels or default_channels)
        for channel in channels:
            if not accounts.get(channel):
                problems.append(
                    doc.problem(
                        [*loc],
                        f"post '{post_spec.id}' is for {channel}, but no {channel} account"
                        " is listed under accounts",
                    )
                )
        for channel in post_spec.overrides:
            if channel not in channels:
                problems.append(
                    doc.problem(
                        [*loc, "overrides", channel],
                        f"post '{post_spec.id}' overrides its text on {channel},"
                        " which it is not published to",
                    )
                )
        at_local = at_utc = None
        if zone is not None:
            try:
                at_local, at_utc = parse_local_time(post_spec.at, zone)
            except ValueError as error:
                problems.append(doc.problem([*loc, "at"], f"post '{post_spec.id}': {error}"))
        parts = [
            Part(
                id=post_spec.id,
                number=1,
                text=post_spec.text,
                media=_media(doc, [*loc, "media"], post_spec.media, problems),
                line=doc.line([*loc, "text"]),
                overrides=dict(post_spec.overrides),
                spots={
                    "text": doc.text_start([*loc, "text"]),
                    **{c: doc.text_start([*loc, "overrides", c]) for c in post_spec.overrides},
                },
            )
        ]
        for n, follow in enumerate(post_spec.thread, start=2):
            part_loc: list[str | int] = [*loc, "thread", n - 2]
            media: tuple[Media, ...] = ()
            if isinstance(follow, str):
                text, text_loc = follow, part_loc
            else:
                text, text_loc = follow.text, [*part_loc, "text"]
                media = _media(doc, [*part_loc, "media"], follow.media, problems)
            spots = {"text": doc.text_start(text_loc)}
            line = doc.line(part_loc)
            parts.append(Part(f"{post_spec.id}.{n}", n, text, media, line, spots=spots))
        if at_local is not None and at_utc is not None:
            posts.append(
                Post(post_spec.id, at_local, at_utc, channels, tuple(parts), doc.line(loc))
            )

    if any(p.is_error for p in problems) or zone is None:
        return LoadResult(doc.path, None, _dedupe(problems))
    campaign = Campaign(
        id=spec.campaign,
        title=spec.title,
        path=doc.path,
        timezone=zone,
        release=release,
        release_path=release_path,
        max_lateness=max_lateness,
        accounts=accounts,
        variables=dict(spec.variables),
        posts=tuple(sorted(posts, key=lambda p: (p.at, p.line))),
        document=doc,
    )
    return LoadResult(doc.path, campaign, _dedupe(problems))


def _zone_names() -> list[str]:
    from zoneinfo import available_timezones

    return sorted(available_timezones())


def load_campaigns(paths: Sequence[Path]) -> list[LoadResult]:
    """Every campaign under `paths` (files, or folders searched for *.yaml), each on its
    own: one broken file never hides another's problems or stops it loading. Campaign ids
    must be unique across the set."""
    results = [load_campaign(path) for path in yamlsource.walk_files(paths)]
    seen: dict[str, Campaign] = {}
    for result in results:
        campaign = result.campaign
        if campaign is None:
            continue
        if campaign.id in seen:
            first = seen[campaign.id]
            result.problems.append(
                campaign.document.problem(
                    ["campaign"],
                    f"campaign id '{campaign.id}' is also used by {first.name}",
                )
            )
            result.campaign = None
        else:
            seen[campaign.id] = campaign
    return results
