"""`herald compile`'s work: load every campaign (on every core), merge their deliveries into
due order, and write the compiled plan's index (herald.plan_format) column by column.

Each campaign is loaded and checked in a worker process and comes back as a few compact
columns; the merge keeps only those (about 30 bytes a delivery), never a Python object per
delivery, so a million deliveries compile in a few hundred MB.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
from array import array
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from herald import plan_format as fmt
from herald.problems import Problem

if TYPE_CHECKING:
    from herald.campaign import Campaign
    from herald.plan import LoadedPlan

# Campaign files handed to a worker at a time: large enough that a worker's round trip is
# small beside the loading, small enough that both cores stay busy to the end.
CHUNK = 16


@dataclass
class CampaignRows:
    """One loaded campaign as the index needs it: its deliveries in their due order (within
    the campaign), each as its due second, part id, channel, account and parent's row."""

    id: str
    id_line: int
    file: str
    lateness: int  # seconds
    accounts: dict[str, dict[str, dict[str, Any]]]
    due: list[int] = field(default_factory=list)
    post: list[str] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)
    account: list[str] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)  # row within the campaign, -1 for none


@dataclass
class Loaded:
    """A campaign file's outcome in a worker: its rows when usable, and its problems."""

    path: Path
    rows: CampaignRows | None
    problems: list[Problem]


def campaign_accounts(campaign: Campaign) -> dict[str, dict[str, dict[str, Any]]]:
    """The campaign's accounts by channel: each one's handle, user id and every setting its
    campaign gave it (a channel's adapter reads its own)."""
    return {
        channel: {
            a.id: {**a.settings, "handle": a.handle, "user_id": a.user_id} for a in by_id.values()
        }
        for channel, by_id in campaign.accounts.items()
    }


def campaign_rows(campaign: Campaign, folder: Path) -> CampaignRows:
    """What the index keeps of `campaign`, whose files live under `folder`."""
    from herald.plan import deliveries, due_order

    rows = CampaignRows(
        campaign.id,
        campaign.document.line(["campaign"]),
        campaign.path.resolve().relative_to(folder.resolve()).as_posix(),
        int(campaign.max_lateness.total_seconds()),
        campaign_accounts(campaign),
    )
    ordered = sorted(deliveries(campaign), key=due_order)
    position = {d.key: n for n, d in enumerate(ordered)}
    for delivery in ordered:
        key = delivery.key
        rows.due.append(int(delivery.at.timestamp()))
        rows.post.append(key.post)
        rows.channel.append(key.channel)
        rows.account.append(key.account)
        parent = delivery.parent_key
        rows.parent.append(-1 if parent is None else position[parent])
    return rows


def _load(path: Path, folder: Path) -> Loaded:
    """Load one campaign file (in a worker process)."""
    from herald.campaign import load_campaign

    result = load_campaign(path)
    rows = None if result.campaign is None else campaign_rows(result.campaign, folder)
    return Loaded(path, rows, result.problems)


def _load_chunk(paths: Sequence[Path], folder: Path) -> list[Loaded]:
    return [_load(path, folder) for path in paths]


def load_all(folder: Path, workers: int | None = None) -> list[Loaded]:
    """Every campaign file under `folder`, loaded on `workers` processes (default: every
    core), in file order. Campaign ids must be unique across the folder."""
    from herald.yamlsource import walk_files

    paths = list(walk_files([folder]))
    workers = workers or os.cpu_count() or 1
    chunks = [paths[n : n + CHUNK] for n in range(0, len(paths), CHUNK)]
    if workers == 1 or len(chunks) <= 1:
        loaded = [item for chunk in chunks for item in _load_chunk(chunk, folder)]
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
            done = pool.map(_load_chunk, chunks, [folder] * len(chunks))
            loaded = [item for chunk in done for item in chunk]
    _refuse_duplicate_ids(loaded)
    return loaded


def _refuse_duplicate_ids(loaded: list[Loaded]) -> None:
    """A campaign id used twice: the later file is refused (herald.campaign.load_campaigns
    does the same for a loaded plan)."""
    seen: dict[str, Path] = {}
    for item in loaded:
        if item.rows is None:
            continue
        first = seen.setdefault(item.rows.id, item.path)
        if first != item.path:
            item.problems.append(
                Problem(
                    str(item.path),
                    item.rows.id_line,
                    f"campaign id '{item.rows.id}' is also used by {first}",
                )
            )
            item.rows = None


# ---- the index -------------------------------------------------------------------------------


class _Strings:
    """The string table: each distinct string once, numbered in order of first use."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        number = self.numbers.get(text)
        if number is None:
            number = self.numbers[text] = len(self.numbers)
        return number

    def sections(self) -> tuple[array[int], bytes]:
        offsets, blob, size = array("q", [0]), bytearray(), 0
        for text in self.numbers:  # dicts keep insertion order: the numbers' order
            data = text.encode("utf-8")
            blob += data
            size += len(data)
            offsets.append(size)
        return offsets, bytes(blob)


def _merged(campaigns: Sequence[CampaignRows]) -> Iterator[tuple[int, int, int]]:
    """(due, campaign number, row) of every delivery in the plan's due order: by due time,
    then campaign id, then the campaign's own order (channel, account, post, part)."""

    def rows(number: int, rows: CampaignRows) -> Iterator[tuple[int, int, int]]:
        return ((due, number, row) for row, due in enumerate(rows.due))

    return heapq.merge(*(rows(n, c) for n, c in enumerate(campaigns)))


def _columns(campaigns: Sequence[CampaignRows], strings: _Strings) -> dict[str, array[int]]:
    """The delivery columns, in due order (campaigns sorted by id)."""
    columns = {name: array(fmt.TYPECODES[name]) for name in fmt.SECTIONS[3:9]}
    due, camp, post = columns["due"], columns["campaign"], columns["post"]
    channel, account, parent = columns["channel"], columns["account"], columns["parent"]
    placed = [array("q", bytes(8 * len(c.due))) for c in campaigns]
    for position, (moment, number, row) in enumerate(_merged(campaigns)):
        rows = campaigns[number]
        placed[number][row] = position
        due.append(moment)
        camp.append(number)
        post.append(strings(rows.post[row]))
        channel.append(strings(rows.channel[row]))
        account.append(strings(rows.account[row]))
        up = rows.parent[row]
        parent.append(-1 if up < 0 else placed[number][up])  # a parent comes first
    return columns


def fingerprint(folder: Path) -> list[tuple[str, int, int, bytes]]:
    """Every file the campaigns are made of (indexes excluded): its path under `folder`,
    size, modification time (ns) and SHA-256, in path order."""
    found = []
    skip = {fmt.INDEX_NAME, *fmt.OLD_INDEX_NAMES}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root, name)
            relative = path.relative_to(folder).as_posix()
            if relative in skip or name.startswith(f".{fmt.INDEX_NAME}"):
                continue
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).digest()
            found.append((relative, stat.st_size, stat.st_mtime_ns, digest))
    return found


def write(
    folder: Path,
    campaigns: Iterable[CampaignRows],
    refused: Iterable[str] = (),
) -> Path:
    """Write `folder`'s index from its campaigns' rows, atomically (a reader never sees
    half a file)."""
    ordered = sorted(campaigns, key=lambda c: c.id)
    strings = _Strings()
    sections: dict[str, Any] = _columns(ordered, strings)
    sections["campaign_id"] = array("I", (strings(c.id) for c in ordered))
    sections["campaign_file"] = array("I", (strings(c.file) for c in ordered))
    sections["campaign_lateness"] = array("q", (c.lateness for c in ordered))
    files = fingerprint(folder)
    sections["file_path"] = array("I", (strings(f[0]) for f in files))
    sections["file_size"] = array("q", (f[1] for f in files))
    sections["file_mtime"] = array("q", (f[2] for f in files))
    sections["file_sha256"] = b"".join(f[3] for f in files)
    accounts: dict[str, dict[str, Any]] = {}
    for campaign in ordered:
        for channel, by_id in campaign.accounts.items():
            accounts.setdefault(channel, {}).update(by_id)
    meta = {"accounts": accounts, "refused": sorted(refused)}
    sections["meta"] = json.dumps(meta, separators=(",", ":"), sort_keys=True).encode()
    sections["string_offsets"], sections["strings"] = strings.sections()
    path = folder / fmt.INDEX_NAME
    partial = folder / f".{fmt.INDEX_NAME}.{os.getpid()}"
    try:
        with partial.open("wb") as out:
            _write_sections(out, [sections[name] for name in fmt.SECTIONS])
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    for old in fmt.OLD_INDEX_NAMES:  # an index of the old format would only mislead
        (folder / old).unlink(missing_ok=True)
    return path


def _write_sections(out: IO[bytes], sections: list[Any]) -> None:
    """The header, then each section padded to ALIGN, streamed to `out`."""
    out.write(bytes(fmt.HEADER_BYTES))
    places = []
    for section in sections:
        offset = out.tell()
        data = memoryview(section).cast("B")
        out.write(data)
        out.write(bytes(fmt.padding(len(data))))
        places.append((offset, len(data)))
    out.seek(0)
    out.write(fmt.PREFIX.pack(fmt.MAGIC, fmt.VERSION, len(sections)))
    for offset, length in places:
        out.write(fmt.SECTION.pack(offset, length))


def write_plan(folder: Path, plan: LoadedPlan, refused: Iterable[str] = ()) -> Path:
    """The index of an already loaded plan, whose campaigns live under `folder`."""
    return write(folder, (campaign_rows(c, folder) for c in plan.campaigns.values()), refused)
