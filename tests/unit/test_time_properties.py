"""Property tests for time arithmetic: local wall-clock times across DST changes, and the
plan's look-back window.

The oracle for local times does not use `fold`: a wall time exists when some UTC instant
shows it on the zone's clocks, and is ambiguous when two do. The instants are found by
trying every offset the zone uses within two days of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from herald import yamlsource
from herald.campaign import Account, Campaign, Part, Post, parse_local_time
from herald.plan import LoadedDelivery, LoadedPlan, deliveries
from herald.timeutil import network_time

ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia"]

naive_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.none()
)


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """The UTC instants (to the minute) at which the zone's offset changed, 2000-2030."""
    zone = ZoneInfo(zone_name)
    found = []
    day = datetime(2000, 1, 1, tzinfo=UTC)
    while day.year < 2031:
        after = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
            low, high = day, after  # the change is in (low, high]: narrow it to a minute
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(second=0, microsecond=0))
        day = after
    return tuple(found)


def near_transitions(zone_name: str) -> st.SearchStrategy[datetime]:
    """Wall times within 90 minutes of a clock change: where gaps and repeats are."""
    zone = ZoneInfo(zone_name)
    return st.tuples(st.sampled_from(transitions(zone_name)), st.integers(-90, 90)).map(
        lambda pair: (pair[0].astimezone(zone) + timedelta(minutes=pair[1])).replace(tzinfo=None)
    )


def utc_instants_showing(naive: datetime, zone: ZoneInfo) -> set[datetime]:
    """Every UTC instant at which the clocks in `zone` read `naive` (brute force)."""
    offsets = set()
    start = naive.replace(tzinfo=UTC) - timedelta(days=2)
    for quarter in range(4 * 24 * 4 + 1):  # every 15 minutes over four days
        moment = start + timedelta(minutes=15 * quarter)
        offsets.add(moment.astimezone(zone).utcoffset())
    candidates = {naive.replace(tzinfo=UTC) - offset for offset in offsets if offset is not None}
    return {c for c in candidates if c.astimezone(zone).replace(tzinfo=None) == naive}


@pytest.mark.parametrize("zone_name", ZONES)
@settings(max_examples=300, deadline=None)
@given(naive=naive_times)
@example(naive=datetime(2021, 3, 28, 1, 30))  # London: spring-forward gap
@example(naive=datetime(2021, 10, 31, 1, 30))  # London: repeated hour
@example(naive=datetime(2021, 3, 14, 2, 30))  # New York: gap
@example(naive=datetime(2021, 11, 7, 1, 30))  # New York: repeated hour
@example(naive=datetime(2021, 10, 3, 2, 15))  # Lord Howe: 30-minute gap
@example(naive=datetime(2021, 4, 4, 1, 45))  # Lord Howe: repeated 30 minutes
@example(naive=datetime(2011, 12, 30, 12, 0))  # Apia: the day that did not happen
@example(naive=datetime(2021, 4, 4, 3, 30))  # Apia: repeated hour (its last DST)
def test_local_time_is_accepted_exactly_when_it_names_one_moment(
    zone_name: str, naive: datetime
) -> None:
    # Given any wall-clock time in a zone / Then it is accepted exactly when it names one
    # moment (see check_local_time)
    check_local_time(zone_name, naive)


def check_local_time(zone_name: str, naive: datetime) -> None:
    """The property: accepted and round-tripping, or refused exactly when the wall time
    does not exist or is ambiguous, with a message saying which."""
    # Given a wall-clock time in a zone, and the UTC instants that show it there
    zone = ZoneInfo(zone_name)
    instants = utc_instants_showing(naive, zone)
    # When herald parses it
    try:
        local, utc = parse_local_time(naive, zone)
    except ValueError as error:
        # Then a refusal happens only for a time that does not exist or is ambiguous,
        # and says which
        assert len(instants) != 1, f"{naive} in {zone_name} was refused: {error}"
        expected = "does not exist" if not instants else "happens twice"
        assert expected in str(error)
        assert zone_name in str(error)
        return
    # Then an accepted time names exactly one moment, and round-trips to the same wall time
    assert instants == {utc}
    assert utc.tzinfo is UTC
    assert local.replace(tzinfo=None) == naive
    assert utc.astimezone(zone).replace(tzinfo=None) == naive
    assert local == utc


@pytest.mark.parametrize("zone_name", ZONES)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_near_clock_changes_times_are_accepted_exactly_when_they_name_one_moment(
    zone_name: str, data: st.DataObject
) -> None:
    # Given a wall time close to one of the zone's clock changes (in a gap, a repeated
    # stretch, or just outside either)
    naive = data.draw(near_transitions(zone_name))
    # Then the same property holds as for any time
    check_local_time(zone_name, naive)


def test_transitions_cover_gaps_and_repeats() -> None:
    # Given the clock changes the strategy samples from / Then each zone has both kinds,
    # so the property above meets gaps and repeated times, not only ordinary ones
    for zone_name in ZONES:
        zone = ZoneInfo(zone_name)
        kinds = set()
        for instant in transitions(zone_name):
            before = (instant - timedelta(minutes=1)).astimezone(zone).utcoffset()
            after = instant.astimezone(zone).utcoffset()
            assert before is not None and after is not None
            kinds.add("gap" if after > before else "repeat")
        assert kinds == {"gap", "repeat"}, zone_name


@pytest.mark.parametrize("zone_name", ZONES)
@settings(max_examples=100, deadline=None)
@given(naive=naive_times)
def test_text_and_datetime_forms_agree(zone_name: str, naive: datetime) -> None:
    # Given a wall time written as text (to the second), and the same time as a datetime
    naive = naive.replace(microsecond=0)
    zone = ZoneInfo(zone_name)
    written = naive.strftime("%Y-%m-%d %H:%M:%S")
    # When both are parsed / Then both are accepted with the same moment, or both refused
    outcomes: list[datetime | str] = []
    for value in (written, naive):
        try:
            outcomes.append(parse_local_time(value, zone)[1])
        except ValueError as error:
            outcomes.append(str(error))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(
    ("value", "zone_name"),
    [
        ("9999-12-31 23:59", "America/New_York"),  # UTC would be in the year 10000
        ("0001-01-01 00:00", "Asia/Tokyo"),  # UTC would be in the year 0
        ("0000-01-01 00:00", "Europe/London"),
        ("2021-02-29 09:00", "Europe/London"),
    ],
)
def test_times_out_of_range_are_sentences_not_crashes(value: str, zone_name: str) -> None:
    # Given a date at the edge of the calendar, or past it / When it is parsed
    # Then it is refused with a sentence (ValueError), never OverflowError
    with pytest.raises(ValueError, match=r"is not a date|too far in the past or the future"):
        parse_local_time(value, ZoneInfo(zone_name))


# ---- the plan's look-back window -------------------------------------------------------------

BASE = datetime(2021, 3, 28, 0, 0, tzinfo=UTC)


def campaign_at(index: int, minutes: list[int], accounts: int) -> Campaign:
    """A campaign with one single-part post per due time (minutes after BASE)."""
    zone = ZoneInfo("Europe/London")
    posts = tuple(
        Post(
            id=f"p{n}",
            at_local=(BASE + timedelta(minutes=m)).astimezone(zone),
            at=BASE + timedelta(minutes=m),
            channels=("x",),
            parts=(Part(f"p{n}", 1, "text", (), n + 1),),
            line=n + 1,
        )
        for n, m in enumerate(minutes)
    )
    path = Path(f"c{index}.yaml")
    return Campaign(
        id=f"c{index}",
        title=f"Campaign {index}",
        path=path,
        timezone=zone,
        release=None,
        release_path=None,
        max_lateness=timedelta(minutes=15),
        accounts={"x": {f"a{i}": Account(f"a{i}", f"A{i}", None, None) for i in range(accounts)}},
        variables={},
        posts=tuple(sorted(posts, key=lambda p: p.at)),
        document=yamlsource.Document(path, {}),
    )


campaign_specs = st.lists(
    st.tuples(st.lists(st.integers(0, 120), max_size=12), st.integers(1, 2)), max_size=4
)
window_ends = st.integers(-5, 125).map(lambda m: BASE + timedelta(minutes=m))
odd_moments = st.integers(-300, 7500).map(lambda s: BASE + timedelta(seconds=s))


def keys(items: list[LoadedDelivery] | tuple[LoadedDelivery, ...]) -> list[tuple[str, ...]]:
    return sorted(tuple(d.key) for d in items)


@settings(max_examples=300, deadline=None)
@given(specs=campaign_specs, a=window_ends | odd_moments, b=window_ends | odd_moments)
def test_between_equals_the_brute_force_filter(
    specs: list[tuple[list[int], int]], a: datetime, b: datetime
) -> None:
    # Given campaigns with random due times (many at the same minute) and a random window
    campaigns = [campaign_at(i, minutes, accounts) for i, (minutes, accounts) in enumerate(specs)]
    everything = [d for c in campaigns for d in deliveries(c)]
    plan = LoadedPlan(campaigns)
    # When the plan is asked for the deliveries due in (a, b]
    found = plan.between(a, b)
    # Then it is exactly those a brute-force filter finds, in due order
    expected = [d for d in everything if a < d.at <= b]
    assert keys(list(found)) == keys(expected)
    assert [d.at for d in found] == sorted(d.at for d in found)
    assert plan.any_between(a, b) == bool(expected)
    later = [d for d in everything if d.at > a]
    following = plan.next_after(a)
    if later:
        assert following is not None
        assert following.at == min(d.at for d in later)
    else:
        assert following is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2021-02-09T08:00:00.000Z", datetime(2021, 2, 9, 8, 0, tzinfo=UTC)),  # X, Mastodon
        ("2021-02-09T08:00:00+0000", datetime(2021, 2, 9, 8, 0, tzinfo=UTC)),  # Facebook
        ("2021-02-09T09:00:00+01:00", datetime(2021, 2, 9, 8, 0, tzinfo=UTC)),
        ("2021-02-09T08:00:00", datetime(2021, 2, 9, 8, 0, tzinfo=UTC)),  # no offset: UTC
        ("yesterday", None),
        (None, None),
        (1612857600, None),
    ],
)
def test_a_networks_time_is_read_as_utc_or_not_at_all(written: object, expected: object) -> None:
    assert network_time(written) == expected
