"""What each channel accepts, checkable before publishing: the one registry of channels.

Validation, preview, the cost line and the plan read a channel's rules from `RULES`; the
channel's adapter (herald.channels.<name>) is never imported for them, so nothing of a
network's client loads to validate or on an idle tick. A channel's name here is the one
campaigns write (`accounts.<name>`, `channels: [<name>]`, `overrides.<name>`).

To add a channel: its account shape in herald.campaign_schema, its `ChannelRules` here, its
adapter in herald.channels, and its factory in herald.runtime (README: "Adding a channel").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

# An account's settings as the campaign wrote them (handle, and the channel's own: an
# instance's max_characters, a Page's id), for rules that depend on the account.
AccountSettings = Mapping[str, Any]


@dataclass(frozen=True)
class Measure:
    """One of a text's lengths as a channel counts it, against that channel's limit."""

    value: int
    limit: int
    unit: str  # how people say what is counted: "characters", "graphemes", "bytes"

    @property
    def over(self) -> bool:
        return self.value > self.limit


@dataclass(frozen=True)
class MediaRules:
    """The images a channel takes with one post."""

    max_count: int
    max_bytes: int | None = None  # per image; None: the channel's upload checks it
    alt_required: bool = True  # herald always asks for alt text; the schema refuses none
    max_alt: int | None = None  # characters of alt text


@dataclass(frozen=True)
class ChannelRules:
    """A channel's rules, as validation and preview apply them.

    `measure(text, account)` gives the text's lengths, the first being the one shown
    beside the text ([length/limit]); every one over its limit is an error. `refusal`
    says why the channel would refuse the text for other reasons (None: it would not).
    `price(has_url)` is what one post costs on its API. A channel without `threads`
    publishes a post's thread as one post, its parts joined by a blank line.
    """

    name: str
    title: str  # how people write the network's name
    measure: Callable[[str, AccountSettings], list[Measure]]
    media: MediaRules
    threads: bool = True
    refusal: Callable[[str], str | None] = lambda text: None
    price: Callable[[bool], Decimal] = lambda has_url: Decimal(0)
    has_url: Callable[[str], bool] = lambda text: "://" in text
    # The network refuses the same text twice from one account (validation: an error);
    # otherwise the same text twice is only a warning: it would be published twice.
    refuses_duplicates: bool = True
    # How an account is written ("@" before a handle; nothing before a Page's name), and
    # the address of its profile from its handle and settings (None: not known).
    handle_prefix: str = "@"
    profile: Callable[[str, AccountSettings], str | None] = lambda handle, account: None
    # Where a hashtag and a mention in a post link to on this network (None: not linked).
    hashtag_link: Callable[[str, AccountSettings], str | None] = lambda tag, account: None
    mention_link: Callable[[str, AccountSettings], str | None] = lambda handle, account: None


def _x_measure(text: str, account: AccountSettings) -> list[Measure]:
    from herald import textcount

    return [Measure(textcount.weighted_length(text), textcount.X_LIMIT, "characters")]


def _x_refusal(text: str) -> str | None:
    from herald import textcount

    return None if textcount.count(text).valid else "has characters X does not accept"


def _x_price(has_url: bool) -> Decimal:
    from herald.pricing import X_API

    return X_API.post_with_url if has_url else X_API.post


def _x_has_url(text: str) -> bool:
    from herald import textcount

    return bool(textcount.urls(text))


X = ChannelRules(
    name="x",
    title="X",
    measure=_x_measure,
    media=MediaRules(max_count=4, max_alt=1000),
    refusal=_x_refusal,
    price=_x_price,
    has_url=_x_has_url,
    profile=lambda handle, account: f"https://x.com/{handle}",
    hashtag_link=lambda tag, account: f"https://x.com/hashtag/{quote(tag)}",
    mention_link=lambda handle, account: f"https://x.com/{handle}",
)


def _bluesky_measure(text: str, account: AccountSettings) -> list[Measure]:
    from herald.channels import bluesky_length as length

    return [
        Measure(length.graphemes(text), length.MAX_GRAPHEMES, "graphemes"),
        Measure(length.utf8_bytes(text), length.MAX_BYTES, "bytes"),
    ]


def _bluesky_has_url(text: str) -> bool:
    from herald.channels.bluesky_facets import first_link

    return first_link(text) is not None


# Bluesky: 300 graphemes and 3,000 UTF-8 bytes; images of at most 2,000,000 bytes, with
# non-empty alt text (the server would take an empty one); no charge per post.
BLUESKY = ChannelRules(
    name="bluesky",
    title="Bluesky",
    measure=_bluesky_measure,
    media=MediaRules(max_count=4, max_bytes=2_000_000),
    has_url=_bluesky_has_url,
    refuses_duplicates=False,
    profile=lambda handle, account: f"https://bsky.app/profile/{handle}",
    hashtag_link=lambda tag, account: f"https://bsky.app/hashtag/{quote(tag)}",
    mention_link=lambda handle, account: f"https://bsky.app/profile/{handle}",
)


def _mastodon_measure(text: str, account: AccountSettings) -> list[Measure]:
    from herald import mastodon_text

    limit = int(account.get("max_characters") or mastodon_text.DEFAULT_MAX_CHARACTERS)
    return [Measure(mastodon_text.status_length(text), limit, "characters")]


def _mastodon_has_url(text: str) -> bool:
    from herald import mastodon_text

    return bool(mastodon_text.urls(text))


def _on_instance(account: AccountSettings, path: str) -> str | None:
    """An address on a Mastodon account's instance, None when the account names none."""
    instance = str(account.get("instance") or "").rstrip("/")
    return f"{instance}/{path}" if instance else None


# Mastodon counts graphemes, a URL as 23 and a remote mention as its @user part, against
# the instance's max_characters (the account's `max_characters`, else 500). Its API is free.
MASTODON = ChannelRules(
    name="mastodon",
    title="Mastodon",
    measure=_mastodon_measure,
    media=MediaRules(max_count=4, max_bytes=16 * 1024 * 1024, max_alt=1500),
    has_url=_mastodon_has_url,
    refuses_duplicates=False,  # Mastodon takes the same text twice
    profile=lambda handle, account: _on_instance(account, f"@{handle.partition('@')[0]}"),
    hashtag_link=lambda tag, account: _on_instance(account, f"tags/{quote(tag)}"),
    mention_link=lambda handle, account: _on_instance(account, f"@{handle}"),
)

FACEBOOK_MESSAGE_LIMIT = 63_206


def _facebook_measure(text: str, account: AccountSettings) -> list[Measure]:
    # Counted in UTF-16 code units, at least the characters Facebook could count: a text
    # that fits this fits however Facebook counts (its own count is not documented).
    units = len(text.encode("utf-16-le")) // 2
    return [Measure(units, FACEBOOK_MESSAGE_LIMIT, "characters")]


# A Page has no threads: a post's thread is published as one post, its parts joined by a
# blank line with every part's images, at most 10 (herald's bound; Facebook's own is not
# documented). Photos under 10 MB. Its API is free.
FACEBOOK = ChannelRules(
    name="facebook",
    title="Facebook",
    measure=_facebook_measure,
    media=MediaRules(max_count=10, max_bytes=10 * 1024 * 1024 - 1),
    threads=False,
    handle_prefix="",
    profile=lambda handle, account: (
        f"https://www.facebook.com/{account['page_id']}" if account.get("page_id") else None
    ),
    hashtag_link=lambda tag, account: f"https://www.facebook.com/hashtag/{quote(tag)}",
)

RULES: dict[str, ChannelRules] = {rules.name: rules for rules in (X, BLUESKY, MASTODON, FACEBOOK)}


def rules_for(channel: str) -> ChannelRules:
    """The rules of `channel`; KeyError for a name herald does not publish to (the
    campaign schema refuses those first)."""
    return RULES[channel]


def title(channel: str) -> str:
    """How people write the channel's name ('X', 'Bluesky'); the name itself if unknown."""
    rules = RULES.get(channel)
    return rules.title if rules is not None else channel


def account_label(channel: str, handle: str) -> str:
    """An account as people write it on its channel: '@HertsPolice', '@press@police.example',
    or a Facebook Page's name."""
    rules = RULES.get(channel)
    prefix = rules.handle_prefix if rules is not None else "@"
    return f"{prefix}{handle}"
