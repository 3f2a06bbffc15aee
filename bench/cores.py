"""Which cores a benchmark's processes run on. On AWS the function has its vCPU to itself:
DynamoDB and the social network run on other machines. Here their stand-ins (DynamoDB
Local's Java, a fake API's process) share the same few cores, so `apart` moves them onto a
core of their own while a measurement runs, and gives every process all cores back after."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def _threads(pid: int) -> list[int]:
    """The ids of every thread of process `pid` (none once it has ended)."""
    try:
        return [int(name) for name in os.listdir(Path("/proc") / str(pid) / "task")]
    except FileNotFoundError:
        return []


def pin(pid: int, cores: set[int]) -> None:
    """Every thread of process `pid` onto `cores`. A thread started later inherits the
    cores of the thread that starts it, so the whole process stays there."""
    for thread in _threads(pid):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(thread, cores)


def cores_of(pid: int) -> set[int]:
    """The cores every thread of process `pid` may run on (their union)."""
    found: set[int] = set()
    for thread in _threads(pid):
        with contextlib.suppress(ProcessLookupError):
            found |= os.sched_getaffinity(thread)
    return found


@contextmanager
def apart(services: Sequence[int]) -> Iterator[bool]:
    """The processes `services` on the last core, this process on the others, for the
    length of a `with` block; True when that was done. On a machine with one core nothing
    is moved, and it yields False."""
    every = sorted(os.sched_getaffinity(0))
    if len(every) < 2:
        yield False
        return
    for pid in services:
        pin(pid, {every[-1]})
    pin(os.getpid(), set(every[:-1]))
    try:
        yield True
    finally:
        for pid in (os.getpid(), *services):
            pin(pid, set(every))
