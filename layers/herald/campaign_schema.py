"""The shape of a campaign file: pydantic models, unknown keys refused.

The shape only: herald.campaign checks what the values mean (times, files, ids) and
builds the campaign; herald.schema_errors puts a shape's errors into sentences.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_ALT_CHARS = 1000  # the least any channel takes (X)

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", min_length=1, max_length=64)
]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# A Bluesky handle is a domain name, written with or without its @ (atproto handle syntax).
BLUESKY_HANDLE = (
    r"^@?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class XAccountSpec(_Strict):
    handle: NonEmpty
    name: str | None = None
    user_id: str | None = None


class BlueskyAccountSpec(_Strict):
    """A Bluesky account: its handle (a domain name, e.g. hertspolice.bsky.social), the
    service it lives on, and whether a post with a link and no image gets a link card."""

    handle: Annotated[str, StringConstraints(pattern=BLUESKY_HANDLE)]
    service: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+/?$")] = (
        "https://bsky.social"
    )
    name: str | None = None
    link_card: bool = False


class MastodonAccountSpec(_Strict):
    """A Mastodon account: `@user@domain`, its instance's base URL, and the instance's
    `max_characters` when it is not Mastodon's 500."""

    handle: Annotated[str, StringConstraints(pattern=r"^@?[A-Za-z0-9_]+(@[A-Za-z0-9.-]+)?$")]
    instance: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+/?$")]
    max_characters: Annotated[int, Field(ge=1, le=100_000)] = 500
    name: str | None = None


class FacebookAccountSpec(_Strict):
    """A Facebook Page: its numeric id (written with or without quotes) and its name."""

    page_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,30}$")]
    name: str | None = None

    @field_validator("page_id", mode="before")
    @classmethod
    def _digits(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class AccountsSpec(_Strict):
    """The accounts a campaign publishes from, by channel: one field per channel herald
    publishes to, each with its own account shape. The field names are the channel names."""

    x: dict[Slug, XAccountSpec] = Field(default_factory=dict)
    bluesky: dict[Slug, BlueskyAccountSpec] = Field(default_factory=dict)
    mastodon: dict[Slug, MastodonAccountSpec] = Field(default_factory=dict)
    facebook: dict[Slug, FacebookAccountSpec] = Field(default_factory=dict)


# The networks herald publishes to, in the order people see them (herald.channels.rules
# has each one's rules).
CHANNELS: tuple[str, ...] = tuple(AccountsSpec.model_fields)
# The account shape of each channel (AccountsSpec's fields), for messages about its keys.
ACCOUNT_SPECS: dict[str, type[BaseModel]] = {
    "x": XAccountSpec,
    "bluesky": BlueskyAccountSpec,
    "mastodon": MastodonAccountSpec,
    "facebook": FacebookAccountSpec,
}
Channel = Annotated[str, StringConstraints(pattern=rf"^({'|'.join(CHANNELS)})$")]


class MediaSpec(_Strict):
    file: NonEmpty
    alt: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ALT_CHARS)]


class ThreadPartSpec(_Strict):
    text: NonEmpty
    media: list[MediaSpec] = Field(default_factory=list)


class PostSpec(_Strict):
    id: Slug
    at: Any  # checked by parse_local_time, which says what is wrong in a sentence
    text: NonEmpty
    media: list[MediaSpec] = Field(default_factory=list)
    thread: list[NonEmpty | ThreadPartSpec] = Field(default_factory=list)
    overrides: dict[Channel, NonEmpty] = Field(default_factory=dict)
    channels: list[Channel] | None = None


class DefaultsSpec(_Strict):
    channels: list[Channel] | None = None


class CampaignSpec(_Strict):
    campaign: Slug
    title: NonEmpty
    timezone: NonEmpty
    release: str | None = None
    max_lateness: Any = None  # checked by parse_duration
    accounts: AccountsSpec
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    variables: dict[str, Any] = Field(default_factory=dict)
    posts: Annotated[list[PostSpec], Field(min_length=1)]


SPECS: tuple[type[BaseModel], ...] = (
    CampaignSpec,
    PostSpec,
    MediaSpec,
    ThreadPartSpec,
    DefaultsSpec,
    AccountsSpec,
    *ACCOUNT_SPECS.values(),
)
