"""Channels by name, each built on its first use: nothing of a network's client is imported
until a delivery for that network is due (an idle tick builds none)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from threading import Lock

from herald.channels import Channel


class LazyChannels(Mapping[str, Channel]):
    """A mapping of channel name to channel whose values are made by `factories` once, on
    first access, under a lock (accounts publish concurrently)."""

    def __init__(self, factories: Mapping[str, Callable[[], Channel]]) -> None:
        self._factories = dict(factories)
        self._built: dict[str, Channel] = {}
        self._lock = Lock()

    def __getitem__(self, name: str) -> Channel:
        built = self._built.get(name)
        if built is not None:
            return built
        with self._lock:
            if name not in self._built:
                self._built[name] = self._factories[name]()
            return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    @property
    def built(self) -> frozenset[str]:
        """The names of the channels made so far."""
        return frozenset(self._built)

    def __repr__(self) -> str:
        return f"LazyChannels({sorted(self._factories)!r}, built={sorted(self._built)!r})"
