"""The campaign model: what a comms team writes, checked and turned into dated posts.

Loading is in two passes. The schema (herald.campaign_schema: pydantic, unknown keys
refused) checks the shape, and herald.schema_errors says in sentences what is wrong with
it; then the meaning: time zone, local times that exist exactly once, the release and
media files, unique ids. Every problem is mapped back to the line of the file it came from.
"""

from __future__ import annotations

import calendar
import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError

from herald import yamlsource
from herald.campaign_schema import CHANNELS, CampaignSpec, MediaSpec, PostSpec
from herald.media import HEAD_BYTES, IMAGE_KINDS, escape, image_type
from herald.problems import InputError, Problem
from herald.schema_errors import describe, schema_problems, where_text

if TYPE_CHECKING:
    from herald.release import Release

MAX_MEDIA_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_LATENESS = timedelta(minutes=15)
RESERVED_NAMES = frozenset({"release", "campaign", "post"})


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
    # every setting the campaign gave the account, by its key (a channel's own: an
    # instance's max_characters, a Page's page_id), for the channel's rules and adapter
    settings: Mapping[str, Any] = field(default_factory=dict)


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
    # A refused file's posts that passed, built for validation to check further (their
    # templates, lengths, media) in the same run. Never published: `campaign` is None.
    checked: Campaign | None = None

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
        raise ValueError(f"'at' should be a date and time, not {describe(value)}: {example}")
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


# ---- loading --------------------------------------------------------------------------------


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
        problems = schema_problems(doc, error.errors())
        problems += _loose_checks(doc, problems)
        return _without_broken_posts(doc, error.errors(), _dedupe(problems))
    return _build(doc, spec)


def _without_broken_posts(
    doc: yamlsource.Document, errors: list[Any], problems: list[Problem]
) -> LoadResult:
    """A file whose schema errors all lie inside some of its posts: refused, with the rest
    of it built as `checked`, so that one run also reports the other posts' template,
    length and media problems. Errors anywhere else leave nothing to check further."""
    broken = {e["loc"][1] for e in errors if len(e["loc"]) > 1 and e["loc"][0] == "posts"}
    posts = doc.data.get("posts")
    if not isinstance(posts, list) or any(e["loc"][:1] != ("posts",) for e in errors):
        return LoadResult(doc.path, None, problems)
    kept = [i for i in range(len(posts)) if i not in broken]
    if not kept or len(broken) != len({e["loc"][1] for e in errors if len(e["loc"]) > 1}):
        return LoadResult(doc.path, None, problems)
    try:
        spec = CampaignSpec.model_validate({**doc.data, "posts": [posts[i] for i in kept]})
    except ValidationError:
        return LoadResult(doc.path, None, problems)
    rest = _build(doc, spec, kept)
    checked = rest.campaign or rest.checked
    return LoadResult(doc.path, None, _dedupe(problems + rest.problems), checked)


def _build(
    doc: yamlsource.Document, spec: CampaignSpec, post_indices: Sequence[int] | None = None
) -> LoadResult:
    """The campaign a schema-valid file describes, once its meaning checks out. Posts are
    the file's `posts[i]` for each i of `post_indices` (all of them by default)."""
    problems: list[Problem] = []
    zone = _zone(doc, spec.timezone, problems)
    max_lateness = _max_lateness(doc, spec.max_lateness, problems)
    release, release_path = (None, None)
    if spec.release is not None:
        release, release_path = _load_release(doc, spec.release, problems)
    _check_variables(doc, spec.variables, problems)
    accounts = _accounts(doc, spec, problems)
    posts = _posts(doc, spec, zone, accounts, problems, post_indices)
    if zone is None:
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
    if any(p.is_error for p in problems):  # refused; what passed is still checked further
        return LoadResult(doc.path, None, _dedupe(problems), campaign)
    return LoadResult(doc.path, campaign, _dedupe(problems))


def _loose_checks(doc: yamlsource.Document, reported: list[Problem]) -> list[Problem]:
    """After a schema error, the checks that need no valid whole: the time zone, and each
    post's time and media files, by the same checks as a valid campaign's. One run then
    reports these too, not one problem per run. A time on a line the schema already
    reported on is left to the schema's message."""
    data = doc.data
    taken = {p.line for p in reported}
    found: list[Problem] = []
    zone = _zone(doc, data["timezone"], found) if isinstance(data.get("timezone"), str) else None
    posts = data.get("posts")
    for index, post in enumerate(posts if isinstance(posts, list) else []):
        if not isinstance(post, dict):
            continue
        loc: list[str | int] = ["posts", index]
        name = post["id"] if isinstance(post.get("id"), str) else str(index + 1)
        at_taken = doc.line([*loc, "at"]) in taken
        if zone is not None and not at_taken and isinstance(post.get("at"), str | datetime):
            _post_time(doc, loc, name, post["at"], zone, found)
        for where, written in _media_files_written(loc, post):
            _media_path(doc, where, written, found)
    return found


def _media_files_written(
    loc: list[str | int], post: dict[str, Any]
) -> Iterator[tuple[list[str | int], str]]:
    """(location, file as written) of each media file a post that did not pass the schema
    names: in its own media and in its thread's."""
    thread = post.get("thread")
    media_lists: list[tuple[list[str | int], Any]] = [([*loc, "media"], post.get("media"))]
    for n, part in enumerate(thread if isinstance(thread, list) else []):
        if isinstance(part, dict):
            media_lists.append(([*loc, "thread", n, "media"], part.get("media")))
    for where, items in media_lists:
        for j, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and isinstance(item.get("file"), str):
                yield [*where, j, "file"], item["file"]


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: dict[tuple[int, str], Problem] = {}
    for problem in problems:
        seen.setdefault((problem.line, problem.message), problem)
    return sorted(seen.values(), key=lambda p: p.line)


# ---- the campaign's settings ----------------------------------------------------------------


def _zone(doc: yamlsource.Document, name: str, problems: list[Problem]) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: 'Europe' is a folder
        close = difflib.get_close_matches(name, _zone_names(), n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (use an IANA name like Europe/London)"
        problems.append(doc.problem(["timezone"], f"unknown time zone '{name}'{hint}"))
        return None


def _max_lateness(doc: yamlsource.Document, value: Any, problems: list[Problem]) -> timedelta:
    """How late a post may still go out: the campaign's max_lateness, or the default."""
    if value is None:
        return DEFAULT_MAX_LATENESS
    max_lateness = DEFAULT_MAX_LATENESS
    try:
        max_lateness = parse_duration(str(value))
    except ValueError as error:
        problems.append(doc.problem(["max_lateness"], f"max_lateness: {error}"))
    if max_lateness <= timedelta(0) or max_lateness > timedelta(hours=24):
        problems.append(
            doc.problem(["max_lateness"], "max_lateness must be between 1 second and 24 hours")
        )
    return max_lateness


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


def _check_variables(
    doc: yamlsource.Document, variables: dict[str, Any], problems: list[Problem]
) -> None:
    for name in variables:
        if name in RESERVED_NAMES or not name.isidentifier():
            problems.append(
                doc.problem(
                    ["variables", name],
                    f"'{name}' cannot be a variable name"
                    + (" (it is reserved for templates)" if name in RESERVED_NAMES else ""),
                )
            )


def _accounts(
    doc: yamlsource.Document, spec: CampaignSpec, problems: list[Problem]
) -> dict[str, dict[str, Account]]:
    accounts = {
        channel: {account_id: _account(account_id, a) for account_id, a in by_id.items()}
        for channel in CHANNELS
        if (by_id := getattr(spec.accounts, channel))
    }
    if not any(accounts.values()):
        problems.append(doc.problem(["accounts"], "the campaign names no account to publish from"))
    return accounts


def _account(account_id: str, spec: BaseModel) -> Account:
    """An account from its channel's spec: a handle is written with or without its @."""
    settings = spec.model_dump(exclude_none=True)
    handle = str(settings.get("handle") or settings.get("name") or account_id).lstrip("@")
    return Account(
        account_id, handle, settings.get("name"), settings.get("user_id"), settings=settings
    )


# ---- posts ------------------------------------------------------------------------------------


def _posts(
    doc: yamlsource.Document,
    spec: CampaignSpec,
    zone: ZoneInfo | None,
    accounts: dict[str, dict[str, Account]],
    problems: list[Problem],
    post_indices: Sequence[int] | None = None,
) -> list[Post]:
    """Each post checked and dated. A post without a usable time is left out; its problem
    says why. `post_indices`: the index in the file's `posts` of each of `spec.posts`."""
    default_channels = spec.defaults.channels or list(accounts)
    seen_ids: dict[str, int] = {}
    posts: list[Post] = []
    indices = range(len(spec.posts)) if post_indices is None else post_indices
    for index, post_spec in zip(indices, spec.posts, strict=True):
        loc: list[str | int] = ["posts", index]
        _check_unique_id(doc, loc, post_spec.id, seen_ids, problems)
        channels = tuple(post_spec.channels or default_channels)
        _check_channels(doc, loc, post_spec, channels, accounts, problems)
        at = (
            None
            if zone is None
            else _post_time(doc, loc, post_spec.id, post_spec.at, zone, problems)
        )
        parts = _parts(doc, loc, post_spec, problems)
        if at is not None:
            posts.append(Post(post_spec.id, at[0], at[1], channels, parts, doc.line(loc)))
    return posts


def _check_unique_id(
    doc: yamlsource.Document,
    loc: list[str | int],
    post_id: str,
    seen_ids: dict[str, int],
    problems: list[Problem],
) -> None:
    if post_id in seen_ids:
        problems.append(
            doc.problem(
                [*loc, "id"],
                f"post id '{post_id}' is used twice (first on line {seen_ids[post_id]})",
            )
        )
    else:
        seen_ids[post_id] = doc.line([*loc, "id"])


def _check_channels(
    doc: yamlsource.Document,
    loc: list[str | int],
    post_spec: PostSpec,
    channels: tuple[str, ...],
    accounts: dict[str, dict[str, Account]],
    problems: list[Problem],
) -> None:
    """Every channel a post goes to has an account, and it overrides its text only there."""
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


def _post_time(
    doc: yamlsource.Document,
    loc: list[str | int],
    name: str,
    value: object,
    zone: ZoneInfo,
    problems: list[Problem],
) -> tuple[datetime, datetime] | None:
    """A post's `at` as (local, UTC), or None with the problem said."""
    try:
        return parse_local_time(value, zone)
    except ValueError as error:
        problems.append(doc.problem([*loc, "at"], f"post '{name}': {error}"))
        return None


def _parts(
    doc: yamlsource.Document, loc: list[str | int], post_spec: PostSpec, problems: list[Problem]
) -> tuple[Part, ...]:
    """A post's parts: the post itself, then each follow-up of its thread."""
    first = Part(
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
    parts = [first]
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
    return tuple(parts)


# ---- media ------------------------------------------------------------------------------------


def _media(
    doc: yamlsource.Document, loc: list[str | int], specs: list[MediaSpec], problems: list[Problem]
) -> tuple[Media, ...]:
    found = []
    for index, spec in enumerate(specs):
        where = [*loc, index]
        path = _media_path(doc, [*where, "file"], spec.file, problems)
        if not spec.alt.strip():
            problems.append(doc.problem([*where, "alt"], "the image's alt text is empty"))
        found.append(Media(path, spec.alt.strip(), doc.line(where)))
    return tuple(found)


def _media_path(
    doc: yamlsource.Document, loc: list[str | int], written: str, problems: list[Problem]
) -> Path:
    """The media file a campaign names at `loc` (as `written`, relative to the campaign's
    file), checked: it is under the campaign's folder, exists, is an image herald
    publishes, and is small enough. A file outside the folder is not opened."""
    path = (doc.path.parent / written).resolve()
    outside = _outside_folder(doc, loc, written)
    if outside is not None:
        problems.append(outside)
        return path
    problems.extend(_check_media_file(doc, loc, path, written))
    return path


def _outside_folder(doc: yamlsource.Document, loc: list[str | int], written: str) -> Problem | None:
    """A media file that is not under the campaign's folder (links followed): only that
    folder is packaged with the function, so the post would validate here and fail there."""
    folder = doc.path.parent
    shown = f"{where_text(doc.data, loc[:-1])}: media file {written}"
    folder_shown = folder.as_posix().rstrip("/") + "/"
    packaged = "only files under it are packaged with the function"
    if Path(written).is_absolute():
        return doc.problem(
            loc,
            f"{shown} is an absolute path: write it relative to the campaign's folder"
            f" {folder_shown}; {packaged}",
        )
    outside = escape(folder, Path(written))
    if outside is None:
        return None
    return doc.problem(loc, f"{shown} {outside} {folder_shown}: {packaged}")


def _check_media_file(
    doc: yamlsource.Document, loc: list[str | int], path: Path, shown: str
) -> list[Problem]:
    shown = f"{where_text(doc.data, loc[:-1])}: media file {shown}"
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except FileNotFoundError:
        return [doc.problem(loc, f"{shown} does not exist")]
    except OSError as error:
        return [doc.problem(loc, f"{shown} cannot be read: {error.strerror}")]
    if image_type(head) is None:
        return [doc.problem(loc, f"{shown} is not a {IMAGE_KINDS} image")]
    if size > MAX_MEDIA_BYTES:
        return [
            doc.problem(
                loc,
                f"{shown} is {math.ceil(size * 10 / 1048576) / 10:.1f} MB;"
                " X takes images of at most 5 MB",
            )
        ]
    return []


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
