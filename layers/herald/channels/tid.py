"""Bluesky record keys: TIDs (timestamp identifiers), which herald chooses itself so that a
post's key is known, and stored, before the post is created.

A TID is 13 characters of base32-sortable text: 53 bits of microseconds since the Unix epoch,
then 10 bits of clock id, the top bit zero (atproto's "Record Key" and "TID" specs). Keys made
by one process only ever increase, so two deliveries claimed in the same microsecond still
get different keys.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
LENGTH = 13
_PATTERN = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_CLOCK_BITS = 10
_MAX_MICROS = (1 << 53) - 1


def encode(micros: int, clock_id: int) -> str:
    """The TID of a time (microseconds since the epoch) and a clock id (0..1023)."""
    if not 0 <= micros <= _MAX_MICROS:
        raise ValueError(f"a TID's time is 0..2**53-1 microseconds, not {micros}")
    if not 0 <= clock_id < 1 << _CLOCK_BITS:
        raise ValueError(f"a TID's clock id is 0..1023, not {clock_id}")
    value = (micros << _CLOCK_BITS) | clock_id
    characters = []
    for _ in range(LENGTH):
        characters.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(characters))


def decode(tid: str) -> tuple[int, int]:
    """(microseconds since the epoch, clock id) of a TID; ValueError if it is not one."""
    if not is_tid(tid):
        raise ValueError(f"{tid!r} is not a TID")
    value = 0
    for character in tid:
        value = (value << 5) | ALPHABET.index(character)
    return value >> _CLOCK_BITS, value & ((1 << _CLOCK_BITS) - 1)


def is_tid(text: str) -> bool:
    return bool(_PATTERN.match(text))


class TidClock:
    """Makes TIDs from the wall clock, each greater than the one before, with one random
    clock id for the clock's life (as atproto's own TID makers do)."""

    def __init__(self, clock_id: int | None = None) -> None:
        self.clock_id = secrets.randbelow(1 << _CLOCK_BITS) if clock_id is None else clock_id
        self._last = 0
        self._lock = threading.Lock()

    def next(self, now_micros: int | None = None) -> str:
        micros = time.time_ns() // 1000 if now_micros is None else now_micros
        with self._lock:
            micros = max(micros, self._last + 1)
            self._last = micros
        return encode(micros, self.clock_id)
