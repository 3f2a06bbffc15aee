"""The shape of a campaign file: pydantic models, unknown keys refused.

The shape only: herald.campaign checks what the values mean (times, files, ids) and
builds the campaign; herald.schema_errors puts a shape's errors into sentences.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CHANNELS = ("x",)  # networks herald publishes to
MAX_ALT_CHARS = 1000

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", min_length=1, max_length=64)
]
Channel = Annotated[str, StringConstraints(pattern=r"^(x)$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountSpec(_Strict):
    handle: NonEmpty
    name: str | None = None
    user_id: str | None = None


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
    accounts: dict[Channel, dict[Slug, AccountSpec]]
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    variables: dict[str, Any] = Field(default_factory=dict)
    posts: Annotated[list[PostSpec], Field(min_length=1)]


SPECS: tuple[type[BaseModel], ...] = (
    CampaignSpec,
    PostSpec,
    MediaSpec,
    ThreadPartSpec,
    DefaultsSpec,
    AccountSpec,
)
