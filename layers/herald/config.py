"""The function's configuration: one frozen model, read once per cold start.

No silent defaults for resource names: a missing LEDGER_TABLE or CREDENTIALS_SECRET is an
error that names the variable, not a guess.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

DEFAULT_X_API_BASE_URL = "https://api.x.com"
DEFAULT_FACEBOOK_GRAPH_URL = "https://graph.facebook.com"
# A scheduled tick arrives within seconds of its time; an event minutes away from the clock
# is a mistake or a replay, and publishing from it would post early or late.
DEFAULT_EVENT_TOLERANCE = timedelta(minutes=5)


class ConfigError(Exception):
    """The environment is missing a setting the function needs."""


@dataclass(frozen=True)
class Settings:
    ledger_table: str
    credentials_secret: str
    x_api_base_url: str
    campaigns_dir: Path
    # How far an event's time may be from the clock before the tick is refused; None: any
    # (replaying old events locally, never in production).
    event_tolerance: timedelta | None = DEFAULT_EVENT_TOLERANCE
    # BLUESKY_SERVICE_URL: replaces every Bluesky account's service (tests, make local,
    # sam local); None: each account's own `service`.
    bluesky_service_url: str | None = None
    # MASTODON_BASE_URL, when set, replaces every Mastodon account's instance (tests, make
    # local, sam local); None: each account's own instance.
    mastodon_base_url: str | None = None
    facebook_graph_url: str = DEFAULT_FACEBOOK_GRAPH_URL  # FACEBOOK_GRAPH_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        missing = [name for name in ("LEDGER_TABLE", "CREDENTIALS_SECRET") if not env.get(name)]
        if missing:
            raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")
        campaigns = env.get("CAMPAIGNS_DIR") or str(packaged_campaigns(env))
        return cls(
            ledger_table=env["LEDGER_TABLE"],
            credentials_secret=env["CREDENTIALS_SECRET"],
            x_api_base_url=(env.get("X_API_BASE_URL") or DEFAULT_X_API_BASE_URL).rstrip("/"),
            campaigns_dir=Path(campaigns),
            event_tolerance=_tolerance(env.get("EVENT_TIME_TOLERANCE")),
            bluesky_service_url=_service_url("BLUESKY_SERVICE_URL", env),
            mastodon_base_url=(env.get("MASTODON_BASE_URL") or "").rstrip("/") or None,
            facebook_graph_url=(env.get("FACEBOOK_GRAPH_URL") or DEFAULT_FACEBOOK_GRAPH_URL).rstrip(
                "/"
            ),
        )


def _tolerance(raw: str | None) -> timedelta | None:
    """EVENT_TIME_TOLERANCE: seconds, or `off` to accept any event time (local replays)."""
    if raw is None or not raw.strip():
        return DEFAULT_EVENT_TOLERANCE
    if raw.strip().lower() == "off":
        return None
    try:
        seconds = int(raw)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise ConfigError(f"EVENT_TIME_TOLERANCE must be whole seconds or 'off', not {raw!r}")
    return timedelta(seconds=seconds)


def _service_url(name: str, env: Mapping[str, str]) -> str | None:
    """An optional http(s) address from the environment, without its trailing slash."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s):// address, not {raw!r}")
    return raw.rstrip("/")


def packaged_campaigns(env: Mapping[str, str]) -> Path:
    """The campaigns packaged with the function (LAMBDA_TASK_ROOT/campaigns, as `env` says),
    or the repository's campaigns/ folder when run from a checkout."""
    task_root = env.get("LAMBDA_TASK_ROOT")
    if task_root:
        return Path(task_root) / "campaigns"
    return Path(__file__).resolve().parents[2] / "campaigns"
