"""The compiled plan: the index of every delivery that `herald compile` writes at build time.

The engine only asks "what is due between these two moments" and, for what it publishes,
"render this" (herald.delivery.Plan). `LoadedPlan` (herald.plan) answers from loaded
campaigns; `CompiledPlan` answers from `plan.index` (layout: herald.plan_format), read
through mmap with the standard library: its columns stay in the file, the due lookup is a
binary search over them, and only the deliveries a tick looks at become Python objects.
So a cold start with nothing due never parses YAML nor imports pydantic, ruamel, ftfy or
Jinja, and a million deliveries cost the function a few MB. A campaign file is loaded
only when one of its deliveries has to be rendered.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import threading
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from math import floor
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from herald import plan_format as fmt
from herald.delivery import DeliveryKey, MediaItem
from herald.plan_format import INDEX_NAME

if TYPE_CHECKING:
    from herald.plan import LoadedDelivery, LoadedPlan

__all__ = ["INDEX_NAME", "CompiledPlan", "StaleIndex", "load_compiled", "write_index"]

# The deliveries of the last window asked for are kept as objects (a tick's window moves by
# a minute, so the next tick builds only the few new ones); a wider window is not kept.
WINDOW_KEPT = 20_000


def accounts(plan: LoadedPlan) -> dict[str, dict[str, dict[str, Any]]]:
    """Every account the plan publishes from, by channel: its handle, user id and every
    setting its campaign gave it (a channel's adapter reads its own)."""
    from herald.plan_compiler import campaign_accounts

    found: dict[str, dict[str, dict[str, Any]]] = {}
    for campaign in plan.campaigns.values():
        for channel, by_id in campaign_accounts(campaign).items():
            found.setdefault(channel, {}).update(by_id)
    return found


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to make, and ticks make many
class CompiledDelivery:
    """A delivery known from the index; rendered by loading its campaign on first need."""

    key: DeliveryKey
    at: datetime
    deadline: datetime
    reply_to: str | None
    plan: CompiledPlan = field(repr=False, compare=False)

    @property
    def parent_key(self) -> DeliveryKey | None:
        return None if self.reply_to is None else self.key._replace(post=self.reply_to)

    def delivery(self) -> LoadedDelivery:
        return self.plan.resolve(self.key)

    def render(self) -> str:
        return self.delivery().render()

    def media(self) -> list[MediaItem]:
        return self.delivery().media()


class StaleIndex(Exception):
    """The index does not describe the campaigns beside it (or cannot be read)."""


class _Index:
    """The index file mapped read-only, each section a memoryview over the mapping."""

    def __init__(self, path: Path) -> None:
        try:
            with path.open("rb") as file:
                self.map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as error:  # ValueError: an empty file
            raise StaleIndex(f"{path}: {error}") from None
        view = memoryview(self.map)
        if len(view) < fmt.HEADER_BYTES or bytes(view[:8]) != fmt.MAGIC:
            raise StaleIndex(f"{path}: not a herald plan index")
        _, version, count = fmt.PREFIX.unpack_from(view)
        if version != fmt.VERSION or count != len(fmt.SECTIONS):
            raise StaleIndex(f"{path}: version {version}, expected {fmt.VERSION}")
        self.sections: dict[str, memoryview] = {}
        for number, name in enumerate(fmt.SECTIONS):
            offset, length = fmt.SECTION.unpack_from(
                view, fmt.PREFIX.size + number * fmt.SECTION.size
            )
            if offset + length > len(view) or offset % fmt.ALIGN:
                raise StaleIndex(f"{path}: cut short (section {name})")
            section = view[offset : offset + length]
            code = fmt.TYPECODES.get(name)
            self.sections[name] = section.cast(code) if code else section  # type: ignore[call-overload]
        self.meta: dict[str, Any] = json.loads(bytes(self.sections["meta"]))
        self.strings = _Strings(self.sections["string_offsets"], self.sections["strings"])

    def string(self, number: int) -> str:
        return self.strings[number]


class _Strings(dict[int, str]):
    """The string table, each string decoded on its first use and kept (up to a bound)."""

    def __init__(self, offsets: memoryview, blob: memoryview) -> None:
        super().__init__()
        self._offsets, self._blob = offsets, blob

    def __missing__(self, number: int) -> str:
        if len(self) > 4 * WINDOW_KEPT:
            self.clear()
        start, end = self._offsets[number], self._offsets[number + 1]
        text = self[number] = str(self._blob[start:end], "utf-8")
        return text


def changed_file(index: _Index, folder: Path) -> str | None:
    """What differs between the files under `folder` and those the index was compiled
    from, or None. Sizes and modification times first; a file's content is read only when
    its time differs (a copy, a checkout), and then its hash decides."""
    columns = index.sections
    recorded = {
        index.string(number): row for row, number in enumerate(columns["file_path"].tolist())
    }
    seen = 0
    skip = {INDEX_NAME, *fmt.OLD_INDEX_NAMES}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            relative = path.relative_to(folder).as_posix()
            if relative in skip or name.startswith(f".{INDEX_NAME}"):
                continue
            row = recorded.get(relative)
            if row is None:
                return f"{relative} is new"
            seen += 1
            stat = path.stat()
            if stat.st_size != columns["file_size"][row]:
                return f"{relative} changed"
            if stat.st_mtime_ns != columns["file_mtime"][row]:
                digest = columns["file_sha256"][row * fmt.HASH_BYTES : (row + 1) * fmt.HASH_BYTES]
                if hashlib.sha256(path.read_bytes()).digest() != bytes(digest):
                    return f"{relative} changed"
    if seen != len(recorded):
        return "a campaign file was removed"
    return None


class _Window:
    """The deliveries made objects so far, from position `first` of the plan on. The list
    only grows (a tick's window moves forward), so a view handed out earlier never changes;
    it is replaced by a new list when the window jumps, or has moved far past its start."""

    def __init__(self) -> None:
        self.made: tuple[int, list[CompiledDelivery]] = (0, [])


class _View(Sequence["CompiledDelivery"]):
    """Positions start..stop of a window's list: a lookup's answer, made without copying."""

    __slots__ = ("_items", "_start", "_stop")

    def __init__(self, items: list[CompiledDelivery], start: int, stop: int) -> None:
        self._items, self._start, self._stop = items, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    def __iter__(self) -> Iterator[CompiledDelivery]:
        return islice(self._items, self._start, self._stop)

    @overload
    def __getitem__(self, index: int) -> CompiledDelivery: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[CompiledDelivery]: ...
    def __getitem__(self, index: int | slice) -> CompiledDelivery | Sequence[CompiledDelivery]:
        if isinstance(index, slice):
            return self._items[self._start : self._stop][index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._items[self._start + index]


class CompiledPlan:
    """The plan from `plan.index`. Campaign files are loaded one at a time, when one of
    their deliveries is rendered, and checked to still match the index."""

    def __init__(self, folder: Path, index: _Index) -> None:
        self.folder = folder
        self._index = index
        self.refused: list[str] = list(index.meta.get("refused", []))
        self.accounts: dict[str, dict[str, dict[str, Any]]] = index.meta.get("accounts", {})
        columns = index.sections
        self._due, self._campaign = columns["due"], columns["campaign"]
        self._post, self._channel = columns["post"], columns["channel"]
        self._account, self._parent = columns["account"], columns["parent"]
        self._campaign_id, self._lateness = columns["campaign_id"], columns["campaign_lateness"]
        self._late: dict[int, timedelta] = {}
        self.deliveries: Sequence[CompiledDelivery] = _Deliveries(self)
        self._window = _Window()
        self._numbers: dict[str, int] | None = None  # campaign id -> its row, on first need
        self._loaded: dict[str, dict[DeliveryKey, LoadedDelivery]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._due)

    def between(self, start: datetime, end: datetime) -> Sequence[CompiledDelivery]:
        """Deliveries due in (start, end], in due order: a binary search over the due
        column; the objects made for earlier windows are reused."""
        # Due times are whole seconds: (start, end] holds the same ones as (⌊start⌋, ⌊end⌋],
        # and an int is compared faster than a float.
        low = bisect_right(self._due, floor(start.timestamp()))
        high = bisect_right(self._due, floor(end.timestamp()))
        first, items = self._window.made  # read once: another thread may replace it
        if first <= low and high <= first + len(items):  # the objects are made already
            return _View(items, low - first, high - first)
        if high - low > WINDOW_KEPT:
            return self._make(low, high)
        with self._lock:
            first, items = self._window.made
            made = first + len(items)
            if low < first or low > made:  # a jump: start a new list
                first, items, made = low, [], low
            elif low - first > max(len(items) // 2, 1024):  # drop what is long past
                first, items = low, items[low - first :]
            items.extend(self._make(made, high))
            self._window.made = (first, items)
        return _View(items, low - first, high - first)

    def row(self, position: int) -> CompiledDelivery:
        """The delivery at `position` in due order, as an object."""
        return self._make(position, position + 1)[0]

    def _make(self, start: int, stop: int) -> list[CompiledDelivery]:
        """The deliveries at positions start..stop, as objects (locals bound once: a tick
        makes the few that entered its window)."""
        strings, campaigns, names = self._index.strings, self._campaign, self._campaign_id
        posts, channels, accounts = self._post, self._channel, self._account
        due, parents, late, make = self._due, self._parent, self._late, CompiledDelivery
        made = []
        for position in range(start, stop):
            campaign = campaigns[position]
            key = DeliveryKey(
                strings[names[campaign]],
                strings[posts[position]],
                strings[channels[position]],
                strings[accounts[position]],
            )
            at = datetime.fromtimestamp(due[position], UTC)
            parent = parents[position]
            reply_to = None if parent < 0 else strings[posts[parent]]
            lateness = late.get(campaign)
            if lateness is None:
                lateness = late[campaign] = timedelta(seconds=self._lateness[campaign])
            made.append(make(key, at, at + lateness, reply_to, self))
        return made

    def resolve(self, key: DeliveryKey) -> LoadedDelivery:
        """The full delivery behind `key`, loading its campaign file if not yet loaded."""
        from herald.render import RenderError

        with self._lock:
            if key.campaign not in self._loaded:
                self._loaded[key.campaign] = self._load(key.campaign)
            found = self._loaded[key.campaign].get(key)
        if found is None:
            raise RenderError(f"{key} is in the compiled plan but not in its campaign file")
        return found

    def _file(self, campaign_id: str) -> str:
        from herald.render import RenderError

        sections, string = self._index.sections, self._index.string
        if self._numbers is None:
            ids = sections["campaign_id"]
            self._numbers = {string(ids[n]): n for n in range(len(ids))}
        number = self._numbers.get(campaign_id)
        if number is None:
            raise RenderError(f"campaign {campaign_id} is not in the compiled plan")
        return string(sections["campaign_file"][number])

    def _load(self, campaign_id: str) -> dict[DeliveryKey, LoadedDelivery]:
        from herald.campaign import load_campaign
        from herald.plan import deliveries
        from herald.render import RenderError

        result = load_campaign(self.folder / self._file(campaign_id))
        if result.campaign is None or result.campaign.id != campaign_id:
            problems = "; ".join(str(p) for p in result.errors) or "its id changed"
            raise RenderError(f"campaign {campaign_id} no longer loads: {problems}")
        return {d.key: d for d in deliveries(result.campaign)}


class _Deliveries(Sequence[CompiledDelivery]):
    """Every delivery of a compiled plan in due order, each made an object when asked for."""

    def __init__(self, plan: CompiledPlan) -> None:
        self._plan = plan

    def __len__(self) -> int:
        return len(self._plan)

    @overload
    def __getitem__(self, index: int) -> CompiledDelivery: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[CompiledDelivery]: ...
    def __getitem__(self, index: int | slice) -> CompiledDelivery | Sequence[CompiledDelivery]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1:
                return self._plan._make(start, stop) if stop > start else []
            return [self._plan.row(n) for n in range(start, stop, step)]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._plan.row(index)


def packaged_read_only(folder: Path, environ: Mapping[str, str] | None = None) -> bool:
    """Whether `folder` is the function's packaged, read-only copy in AWS Lambda (not sam
    local): `sam build` compiled its index from exactly these files, and nothing can have
    changed them since, so checking them again would protect no one."""
    environ = os.environ if environ is None else environ
    if not environ.get("AWS_LAMBDA_FUNCTION_NAME") or environ.get("AWS_SAM_LOCAL"):
        return False
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def load_compiled(folder: Path, *, check_files: bool = True) -> CompiledPlan:
    """The compiled plan of the campaigns in `folder`; StaleIndex when there is no index,
    it is of another version or not herald's, or (when `check_files`) the files changed
    since it was compiled."""
    index = _Index(folder / INDEX_NAME)
    if check_files:
        changed = changed_file(index, folder)
        if changed is not None:
            raise StaleIndex(
                f"{folder / INDEX_NAME}: the campaigns changed since it was compiled ({changed})"
            )
    return CompiledPlan(folder, index)


def write_index(folder: Path, plan: LoadedPlan, refused: Sequence[str] = ()) -> Path:
    """Write the index of an already loaded plan (herald.plan_compiler for the build)."""
    from herald.plan_compiler import write_plan

    return write_plan(folder, plan, refused)
