"""Rendering: the one function that turns a post into the text a channel will publish.

`validate` and `preview` call it; so does the publisher. What is checked is what is sent.
Jinja2 runs sandboxed (no reaching into Python internals), with StrictUndefined (a missing
name is an error, never an empty string) and without autoescape (posts are not HTML).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from herald.campaign import Campaign, Part, Post


class RenderError(Exception):
    """A template could not be rendered; the message is a sentence for the author."""

    def __init__(self, message: str, line_offset: int = 0) -> None:
        super().__init__(message)
        self.line_offset = line_offset


@dataclass(frozen=True)
class PostView:
    """What templates see as `post`."""

    id: str
    at: Any  # the local, aware datetime
    part: int


@cache
def environment() -> ImmutableSandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


@cache
def _compiled(source: str) -> Any:
    return environment().from_string(source)


def context(campaign: Campaign, post: Post, part: Part) -> dict[str, Any]:
    """The names a template can use: its campaign's variables, `release`, `campaign`, `post`."""
    release = campaign.release.context() if campaign.release is not None else {}
    return {
        **campaign.variables,
        "release": release,
        "campaign": {"id": campaign.id, "title": campaign.title, "timezone": campaign.timezone.key},
        "post": PostView(post.id, post.at_local, part.number),
    }


def source(part: Part, channel: str) -> str:
    """The template a channel publishes for a part: its override on that channel, if any."""
    return part.overrides.get(channel, part.text)


def render(campaign: Campaign, post: Post, part: Part, channel: str) -> str:
    """The exact text `channel` will publish for this part of `post`."""
    from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    try:
        template = _compiled(source(part, channel))
        text = template.render(context(campaign, post, part))
    except TemplateSyntaxError as error:
        raise RenderError(f"template error: {error.message}", (error.lineno or 1) - 1) from None
    except UndefinedError as error:
        raise RenderError(_undefined(error)) from None
    except SecurityError as error:
        raise RenderError(
            f"the template reaches for something templates may not use ({error})"
        ) from None
    except TemplateError as error:
        raise RenderError(f"template error: {error}") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as error:
        raise RenderError(f"the template failed: {error}") from None
    return text.strip()


def _undefined(error: Exception) -> str:
    message = str(error)
    if message.startswith("'") and message.endswith("' is undefined"):
        return f"the template uses {message[: -len(' is undefined')]}, which is not defined"
    if " has no attribute " in message:
        name = message.split(" has no attribute ")[1]
        return f"the template uses {name}, which is not defined there"
    return f"the template uses something that is not defined: {message}"
