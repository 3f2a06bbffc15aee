"""Shared test set-up: fixture plugins for the real components the suite starts."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.aws",
    "tests.fixtures.dynamodb_local",
    "tests.fixtures.x_api",
    "tests.fixtures.mastodon_facebook",
    "tests.fixtures.secrets_manager",
    "tests.fixtures.host_build",
    "tests.fixtures.bluesky_pds",
]
