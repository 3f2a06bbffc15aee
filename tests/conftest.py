"""Shared test set-up: fixture plugins for the real components the suite starts."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.dynamodb_local",
    "tests.fixtures.fake_x",
    "tests.fixtures.fake_secrets",
]
