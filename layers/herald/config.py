"""The function's configuration: one frozen model, read once per cold start.

No silent defaults for resource names: a missing LEDGER_TABLE or CREDENTIALS_SECRET is an
error that names the variable, not a guess.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_X_API_BASE_URL = "https://api.x.com"


class ConfigError(Exception):
    """The environment is missing a setting the function needs."""


@dataclass(frozen=True)
class Settings:
    ledger_table: str
    credentials_secret: str
    x_api_base_url: str
    campaigns_dir: Path

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
        )


def packaged_campaigns(env: Mapping[str, str]) -> Path:
    """The campaigns packaged with the function (LAMBDA_TASK_ROOT/campaigns, as `env` says),
    or the repository's campaigns/ folder when run from a checkout."""
    task_root = env.get("LAMBDA_TASK_ROOT")
    if task_root:
        return Path(task_root) / "campaigns"
    return Path(__file__).resolve().parents[2] / "campaigns"
