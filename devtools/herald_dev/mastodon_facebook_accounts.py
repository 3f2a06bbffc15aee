"""The sample Mastodon and Facebook Page accounts and their secret, shared by the tests, the
demo and the fakes they start.

The secret's values are distinct and greppable: tests assert that none of them ever reaches a
log, the ledger or an error message. Each `*_SECRET` has the shape of its channel's part of
the function's secret.
"""

from __future__ import annotations

from typing import Any

MASTODON_ACCOUNTS: dict[str, dict[str, str]] = {
    "hertspolice": {"handle": "@hertspolice@police.example", "instance": "https://police.example"},
}

MASTODON_SECRET: dict[str, Any] = {
    "mastodon": {"hertspolice": {"access_token": "mt-hertspolice-5b8e21d4"}},
}

FACEBOOK_PAGES: dict[str, dict[str, str]] = {
    "hertspolice": {"page_id": "123456789012345", "name": "Hertfordshire Constabulary"},
}

FACEBOOK_SECRET: dict[str, Any] = {
    "facebook": {"hertspolice": {"page_access_token": "EAAG-hertspolice-page-93c1f0"}},
}
