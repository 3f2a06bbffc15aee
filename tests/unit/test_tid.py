"""Bluesky record keys (TIDs) as atproto specifies them: 13 base32-sortable characters, time
then clock id, always increasing from one maker."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.channels import tid


def test_the_spec_examples_are_tids_and_bad_ones_are_not() -> None:
    # atproto's TID spec: valid and invalid examples
    for good in ("3jzfcijpj2z2a", "7777777777777", "3zzzzzzzzzzzz", "2222222222222"):
        assert tid.is_tid(good), good
    for bad in ("3jzfcijpj2z21", "0000000000000", "3JZFCIJPJ2Z2A", "3jzfcijpj2z2aa", "3jzfcijpj2z2",
                "zzzzzzzzzzzzz", "3jzf-cij-pj2z-2a"):  # fmt: skip
        assert not tid.is_tid(bad), bad


def test_zero_and_the_largest_time_encode_at_the_ends_of_the_alphabet() -> None:
    assert tid.encode(0, 0) == "2222222222222"
    assert tid.encode((1 << 53) - 1, 1023) == "bzzzzzzzzzzzz"  # the top bit is zero


@given(st.integers(0, (1 << 53) - 1), st.integers(0, 1023))
def test_encoding_round_trips_and_keeps_the_order_of_times(micros: int, clock: int) -> None:
    key = tid.encode(micros, clock)
    assert len(key) == 13 and tid.is_tid(key)
    assert tid.decode(key) == (micros, clock)
    if micros > 0:
        assert tid.encode(micros - 1, clock) < key


def test_a_clock_never_repeats_a_key_even_within_one_microsecond() -> None:
    clock = tid.TidClock(clock_id=7)
    keys = [clock.next(now_micros=1_700_000_000_000_000) for _ in range(5)]
    assert keys == sorted(keys) and len(set(keys)) == 5
    assert [tid.decode(k)[1] for k in keys] == [7] * 5


def test_a_clock_reads_the_wall_clock_in_microseconds() -> None:
    micros, _ = tid.decode(tid.TidClock().next())
    assert 1_750_000_000_000_000 < micros < 4_000_000_000_000_000


def test_out_of_range_parts_are_refused() -> None:
    with pytest.raises(ValueError, match="clock id"):
        tid.encode(1, 1024)
    with pytest.raises(ValueError, match="time"):
        tid.encode(-1, 0)
    with pytest.raises(ValueError, match="not a TID"):
        tid.decode("nope")
