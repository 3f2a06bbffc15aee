"""The function's settings: `Settings.from_env(env)` reads the variables it is given and
nothing else, refuses to guess a missing resource name, and finds the packaged campaigns."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from herald.config import ConfigError, Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"LEDGER_TABLE": "herald-ledger", "CREDENTIALS_SECRET": "herald/x-credentials"}


def test_the_settings_are_read_from_the_variables_given() -> None:
    # Given every variable the function reads
    env = {
        **REQUIRED,
        "X_API_BASE_URL": "http://127.0.0.1:8787/",
        "CAMPAIGNS_DIR": "/var/task/campaigns",
    }
    # When the settings are read
    settings = Settings.from_env(env)
    # Then each comes from its variable, the base URL without its trailing slash
    assert settings == Settings(
        ledger_table="herald-ledger",
        credentials_secret="herald/x-credentials",
        x_api_base_url="http://127.0.0.1:8787",
        campaigns_dir=Path("/var/task/campaigns"),
    )


def test_the_x_api_is_x_unless_told_otherwise() -> None:
    # Given no X_API_BASE_URL, or an empty one
    for env in (REQUIRED, {**REQUIRED, "X_API_BASE_URL": ""}):
        # When the settings are read / Then the X API is X's
        assert Settings.from_env(env).x_api_base_url == "https://api.x.com"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CREDENTIALS_SECRET": "s"}, "LEDGER_TABLE"),
        ({"LEDGER_TABLE": "t"}, "CREDENTIALS_SECRET"),
        ({"LEDGER_TABLE": "", "CREDENTIALS_SECRET": "s"}, "LEDGER_TABLE"),
        ({}, "LEDGER_TABLE, CREDENTIALS_SECRET"),
    ],
)
def test_a_missing_resource_name_is_an_error_that_names_it(env: dict[str, str], named: str) -> None:
    # Given a resource name missing or empty / When the settings are read
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    # Then the error names every missing variable, and guesses no default
    assert str(raised.value) == f"missing environment variable(s): {named}"


def test_the_packaged_campaigns_are_found_from_the_task_root_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the process runs somewhere else than the env it was handed says
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/elsewhere")
    # When the settings are read from an env with Lambda's task root and no CAMPAIGNS_DIR
    settings = Settings.from_env({**REQUIRED, "LAMBDA_TASK_ROOT": "/x"})
    # Then the campaigns are those packaged beside the function in that env
    assert settings.campaigns_dir == Path("/x/campaigns")


def test_without_a_task_root_the_campaigns_are_the_checkouts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the process's own environment has a task root, the env handed over has none
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/elsewhere")
    # When the settings are read / Then the campaigns are the repository's campaigns/
    assert Settings.from_env(REQUIRED).campaigns_dir == REPO_ROOT / "campaigns"


def test_campaigns_dir_wins_over_the_task_root() -> None:
    # Given both CAMPAIGNS_DIR and Lambda's task root / When the settings are read
    settings = Settings.from_env({**REQUIRED, "LAMBDA_TASK_ROOT": "/x", "CAMPAIGNS_DIR": "/c"})
    # Then CAMPAIGNS_DIR is used
    assert settings.campaigns_dir == Path("/c")


def test_without_an_env_the_process_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the process's environment holds the settings
    for name, value in {**REQUIRED, "CAMPAIGNS_DIR": "/c", "X_API_BASE_URL": ""}.items():
        monkeypatch.setenv(name, value)
    # When the settings are read with no env given / Then they are the process's
    assert Settings.from_env() == Settings.from_env({**REQUIRED, "CAMPAIGNS_DIR": "/c"})
    # And without LEDGER_TABLE there, the error names it
    monkeypatch.delenv("LEDGER_TABLE")
    with pytest.raises(ConfigError, match="LEDGER_TABLE"):
        Settings.from_env()


def test_the_settings_cannot_change_once_read() -> None:
    # Given settings read once per cold start / When code tries to change one
    settings = Settings.from_env(REQUIRED)
    # Then it cannot
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.ledger_table = "another"  # type: ignore[misc]  # the point: it is frozen
