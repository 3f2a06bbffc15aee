"""Shared test set-up: fixture plugins for the real components the suite starts."""

from __future__ import annotations

import os

from hypothesis import settings

# CI runs the property tests on the same examples every time, so a landing is judged on
# what was tested; a developer's runs draw new examples and keep finding what CI cannot.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

pytest_plugins = [
    "tests.fixtures.aws",
    "tests.fixtures.dynamodb_local",
    "tests.fixtures.x_api",
    "tests.fixtures.mastodon_facebook",
    "tests.fixtures.secrets_manager",
    "tests.fixtures.host_build",
    "tests.fixtures.bluesky_pds",
]
