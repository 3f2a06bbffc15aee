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
)

RULES: dict[str, ChannelRules] = {rules.name: rules for rules in (X, BLUESKY)}


def rules_for(channel: str) -> ChannelRules:
    """The rules of `channel`; KeyError for a name herald does not publish to (the
    campaign schema refuses those first)."""
    return RULES[channel]


def title(channel: str) -> str:
    """How people write the channel's name ('X', 'Bluesky'); the name itself if unknown."""
    rules = RULES.get(channel)
    return rules.title if rules is not None else channel
