"""The campaign model: what a comms team writes, checked and turned into dated posts.

Loading is in two passes. The schema (pydantic, unknown keys refused) checks the shape;
then the meaning: time zone, local times that exist exactly once, the release and media
files, unique ids. Every problem is mapped back to the line of the file it came from.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from herald import yamlsource
from herald.problems import InputError, Problem, Severity

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
    at: str | datetime
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
    max_lateness: str | None = None
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


def parse_local_time(value: str | datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A wall-clock time in `zone` -> (local aware, UTC). Raises ValueError with a sentence
    when the time is malformed, does not exist (spring forward) or is ambiguous (fall back)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError("write the time without an offset: times are local to the campaign")
        naive = value
    else:
        text = value.strip()
        match = _LOCAL_TIME.match(text)
        if not match:
            raise ValueError(f"'{text}' is not a time: write it as YYYY-MM-DD HH:MM")
        parts = {k: int(v) for k, v in match.groupdict(default="0").items()}
        try:
            date(parts["y"], parts["mo"], parts["d"])
        except ValueError:
            raise ValueError(
                f"{parts['y']:04d}-{parts['mo']:02d}-{parts['d']:02d} is not a date"
            ) from None
        try:
            naive = datetime(
                parts["y"], parts["mo"], parts["d"], parts["h"], parts["mi"], parts["s"]
            )
        except ValueError:
            raise ValueError(f"'{text}' is not a time of day") from None
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    shown = naive.strftime("%Y-%m-%d %H:%M")
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(
            f"{shown} does not exist in {zone.key}: the clocks go forward then;"
            " pick a time outside the gap"
        )
    if first.utcoffset() != second.utcoffset():
        raise ValueError(
            f"{shown} happens twice in {zone.key}: the clocks go back then;"
            " pick a time outside the repeated hour"
        )
    return first, first.astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groupdict().values()):
        raise ValueError(f"'{text}' is not a duration: write it like 15m, 1h or 90s")
    hours, minutes, seconds = (int(match.group(g) or 0) for g in ("h", "m", "s"))
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


# ---- schema errors as sentences -----------------------------------------------------------


def _where(data: Any, loc: Sequence[str | int]) -> str:
    """'post 'launch'' for anything inside posts[i], else a dotted path."""
    if len(loc) >= 2 and loc[0] == "posts" and isinstance(loc[1], int):
        posts = data.get("posts") if isinstance(data, dict) else None
        post = posts[loc[1]] if isinstance(posts, list) and loc[1] < len(posts) else None
        post_id = post.get("id") if isinstance(post, dict) else None
        name = f"post '{post_id}'" if isinstance(post_id, str) else f"post {loc[1] + 1}"
        rest = ".".join(str(p) for p in loc[2:])
        return f"{name}: {rest}" if rest else name
    return ".".join(str(p) for p in loc) or "the campaign"


def _schema_message(data: Any, error: Any, spec_fields: dict[str, Any]) -> tuple[list, str]:
    loc = [p for p in error["loc"] if not (isinstance(p, str) and p in _UNION_TAGS)]
    kind = error["type"]
    if kind == "missing":
        field_name = loc[-1]
        return loc[:-1], f"{_where(data, loc[:-1])} has no '{field_name}', which is required"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        known = spec_fields.get(_model_for(loc[:-1]), [])
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"
        return loc, f"unknown key '{key}' in {_where(data, loc[:-1])}{hint}"
    if kind == "string_pattern_mismatch":
        if (loc and loc[-1] in ("x",)) or (len(loc) >= 2 and loc[-2] in ("channels", "overrides")):
            return loc, (
                f"{_where(data, loc)}: '{error.get('input')}' is not a channel herald"
                f" publishes to ({', '.join(CHANNELS)})"
            )
        return loc, (
            f"{_where(data, loc)}: '{error.get('input')}' is not a valid id"
            " (use lowercase letters, digits, - and _)"
        )
    if kind == "too_short" and loc == ["posts"]:
        return loc, "the campaign has no posts"
    message = str(error["msg"])
    message = message[0].lower() + message[1:]
    return loc, f"{_where(data, loc)}: {message}"


_UNION_TAGS = frozenset({"str", "ThreadPartSpec", "datetime", "constrained-str", "function-after"})


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
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(12)
    except FileNotFoundError:
        return [doc.problem(loc, f"media file {shown} does not exist")]
    except OSError as error:
        return [doc.problem(loc, f"media file {shown} cannot be read: {error.strerror}")]
    if not (
        head.startswith(b"\x89PNG\r\n\x1a\n")
        or head.startswith(b"\xff\xd8\xff")
        or head[:6] in (b"GIF87a", b"GIF89a")
    ):
        return [doc.problem(loc, f"media file {shown} is not a PNG, JPEG or GIF image")]
    if size > MAX_MEDIA_BYTES:
        return [
            doc.problem(loc, f"media file {shown} is {size / 1048576:.1f} MB; X takes at most 5 MB")
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
    from herald.release import load_release

    path = (doc.path.parent / ref).resolve()
    if not path.is_file():
        problems.append(doc.problem(["release"], f"the release {ref} does not exist"))
        return None, path
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
        problems = []
        for item in error.errors():
            loc, message = _schema_message(doc.data, item, _SPEC_FIELDS)
            problems.append(doc.problem(loc, message))
        return LoadResult(path, None, _dedupe(problems))
    return _build(doc, spec)


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: dict[tuple[int, str], Problem] = {}
    for problem in problems:
        seen.setdefault((problem.line, problem.message), problem)
    return sorted(seen.values(), key=lambda p: p.line)


def _build(doc: yamlsource.Document, spec: CampaignSpec) -> LoadResult:
    problems: list[Problem] = []
    try:
        zone = ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(spec.timezone, _zone_names(), n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (use an IANA name like Europe/London)"
        problems.append(doc.problem(["timezone"], f"unknown time zone '{spec.timezone}'{hint}"))
        zone = None

    max_lateness = DEFAULT_MAX_LATENESS
    if spec.max_lateness is not None:
        try:
            max_lateness = parse_duration(spec.max_lateness)
        except ValueError as error:
            problems.append(doc.problem(["max_lateness"], str(error)))
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
            )
        ]
        for n, follow in enumerate(post_spec.thread, start=2):
            part_loc: list[str | int] = [*loc, "thread", n - 2]
            media: tuple[Media, ...] = ()
            if isinstance(follow, str):
                text = follow
            else:
                text = follow.text
                media = _media(doc, [*part_loc, "media"], follow.media, problems)
            parts.append(Part(f"{post_spec.id}.{n}", n, text, media, doc.line(part_loc)))
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


def warning(doc: yamlsource.Document, loc: list[str | int], message: str) -> Problem:
    return Problem(doc.name, doc.line(loc), message, Severity.WARNING)
