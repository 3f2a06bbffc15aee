"""The compiled plan: the index of every delivery that `herald compile` writes at build time.

The engine only asks "what is due between these two moments" and, for what it publishes,
"render this" (herald.delivery.Plan). `LoadedPlan` (herald.plan) answers from loaded
campaigns; `CompiledPlan` answers from `plan.json`, an index that `herald compile` writes
next to the packaged campaigns.
Loading the index needs only the standard library, so a cold start with nothing due never
parses YAML nor imports pydantic, ruamel, ftfy or Jinja. A campaign file is loaded only
when one of its deliveries has to be rendered.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from herald.delivery import DeliveryKey, MediaItem, due_between

if TYPE_CHECKING:
    from herald.plan import LoadedDelivery, LoadedPlan

INDEX_NAME = "plan.json"
INDEX_VERSION = 1


def digest(folder: Path) -> str:
    """A fingerprint of every file the campaigns are made of (the index itself excluded):
    an index is used only for exactly the files it was compiled from."""
    hashed = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != INDEX_NAME):
        hashed.update(str(path.relative_to(folder)).encode() + b"\0")
        hashed.update(hashlib.sha256(path.read_bytes()).digest())
    return hashed.hexdigest()


def compile_index(plan: LoadedPlan, folder: Path, refused: Iterable[str] = ()) -> dict[str, Any]:
    """The index of `plan`, whose campaigns live under `folder`."""
    return {
        "version": INDEX_VERSION,
        "digest": digest(folder),
        "campaigns": {
            c.id: {
                "file": str(c.path.resolve().relative_to(folder.resolve())),
                "max_lateness": c.max_lateness.total_seconds(),
            }
            for c in plan.campaigns.values()
        },
        "deliveries": [
            [
                int(d.at.timestamp()),
                d.key.campaign,
                d.key.post,
                d.key.channel,
                d.key.account,
                d.reply_to,
            ]
            for d in plan.deliveries
        ],
        "accounts": accounts(plan),
        "refused": sorted(refused),
    }


def accounts(plan: LoadedPlan) -> dict[str, dict[str, dict[str, Any]]]:
    """Every account the plan publishes from, by channel: its handle, user id and every
    setting its campaign gave it (a channel's adapter reads its own)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for campaign in plan.campaigns.values():
        for channel, by_id in campaign.accounts.items():
            for account in by_id.values():
                found.setdefault(channel, {})[account.id] = {
                    **account.settings,
                    "handle": account.handle,
                    "user_id": account.user_id,
                }
    return found


@dataclass(frozen=True, slots=True)
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


class CompiledPlan:
    """The plan from `plan.json`. Campaign files are loaded one at a time, when one of their
    deliveries is rendered, and checked to still match the index."""

    def __init__(self, folder: Path, index: dict[str, Any]) -> None:
        self.folder = folder
        self.refused: list[str] = list(index.get("refused", []))
        self.accounts: dict[str, dict[str, dict[str, Any]]] = index.get("accounts", {})
        self._files = {cid: c["file"] for cid, c in index["campaigns"].items()}
        lateness = {
            cid: timedelta(seconds=c["max_lateness"]) for cid, c in index["campaigns"].items()
        }
        rows = []
        for stamp, campaign, post, channel, account, reply_to in index["deliveries"]:
            at = datetime.fromtimestamp(stamp, UTC)
            key = DeliveryKey(campaign, post, channel, account)
            rows.append(CompiledDelivery(key, at, at + lateness[campaign], reply_to, self))
        self.deliveries: Sequence[CompiledDelivery] = tuple(rows)
        self._times = [e.at for e in self.deliveries]
        self._loaded: dict[str, dict[DeliveryKey, LoadedDelivery]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.deliveries)

    def between(self, start: datetime, end: datetime) -> Sequence[CompiledDelivery]:
        return self.deliveries[due_between(self._times, start, end)]

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

    def _load(self, campaign_id: str) -> dict[DeliveryKey, LoadedDelivery]:
        from herald.campaign import load_campaign
        from herald.plan import deliveries
        from herald.render import RenderError

        result = load_campaign(self.folder / self._files[campaign_id])
        if result.campaign is None or result.campaign.id != campaign_id:
            problems = "; ".join(str(p) for p in result.errors) or "its id changed"
            raise RenderError(f"campaign {campaign_id} no longer loads: {problems}")
        return {d.key: d for d in deliveries(result.campaign)}


def load_compiled(folder: Path) -> CompiledPlan:
    """The compiled plan of the campaigns in `folder`; StaleIndex when there is no index,
    it is of another version, or the files changed since it was compiled."""
    path = folder / INDEX_NAME
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StaleIndex(f"{path}: {error}") from None
    if index.get("version") != INDEX_VERSION:
        raise StaleIndex(f"{path}: version {index.get('version')}, expected {INDEX_VERSION}")
    if index.get("digest") != digest(folder):
        raise StaleIndex(f"{path}: the campaigns changed since it was compiled")
    return CompiledPlan(folder, index)


def write_index(folder: Path, plan: LoadedPlan, refused: Iterable[str] = ()) -> Path:
    path = folder / INDEX_NAME
    index = compile_index(plan, folder, refused)
    path.write_text(json.dumps(index, separators=(",", ":")), encoding="utf-8")
    return path
