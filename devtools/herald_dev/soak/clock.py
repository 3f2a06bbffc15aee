"""The soak's simulated clock, shared by the fakes it runs in its own process.

The engine is given each tick's simulated minute as `now`, as the Lambda is given the
schedule's time. The fake X stamps posts and rate-limit resets with this clock: the minute
being ticked, plus the wall time since its ticks began, never reaching the next minute. So a
post made during the tick of minute T is stamped T + the seconds the tick took, a 429's
`x-rate-limit-reset` is simulated epoch seconds, and the timeline's lag is simulated seconds.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

# The latest offset into a minute the clock shows: a tick that overruns stays in its minute.
MAX_OFFSET = 59.999


class SimClock:
    """Callable: the simulated time now (UTC)."""

    def __init__(self, minute: datetime) -> None:
        self._state = (minute, time.monotonic())

    def set(self, minute: datetime) -> None:
        """The ticks of `minute` start now."""
        self._state = (minute, time.monotonic())

    @property
    def minute(self) -> datetime:
        return self._state[0]

    def __call__(self) -> datetime:
        minute, since = self._state
        return minute + timedelta(seconds=min(time.monotonic() - since, MAX_OFFSET))
