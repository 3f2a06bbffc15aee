"""UTC timestamps as herald stores and prints them: ISO 8601 with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_utc(moment: datetime) -> str:
    """`2021-02-09T08:00:00Z`; fixed width, so stored strings compare in time order."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: herald only handles aware times")
    return moment.astimezone(UTC).strftime(_FORMAT)


def parse_utc(text: str) -> datetime:
    """Parse an ISO 8601 time with an offset or `Z` into an aware UTC datetime."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; write it in UTC with a trailing Z")
    return value.astimezone(UTC)


def network_time(value: object) -> datetime | None:
    """A time as a network's API answers it (`2021-02-09T08:00:00.000Z`, `...+0000`, an
    offset, or none, meaning UTC), as an aware UTC datetime; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)
