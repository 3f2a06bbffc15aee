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


MAX_REPEAT = 10_000  # items or characters `*` may make; no post needs more
MAX_POWER_BITS = 10_000  # how big `**` may make a number


@cache
def environment() -> ImmutableSandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Environment(ImmutableSandboxedEnvironment):
        """The sandbox, which also refuses `'a' * 10**9` and `9**9**9`: a template must
        not be able to exhaust memory or hang `herald validate`."""

        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            from jinja2.exceptions import SecurityError

            if operator == "*" and _too_many(left, right):
                raise SecurityError(f"'*' would make more than {MAX_REPEAT:,} items")
            if operator == "**" and _too_big(left, right):
                raise SecurityError("'**' would make a number too big to print")
            return super().call_binop(context, operator, left, right)

    return Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@cache
def _compiled(source: str) -> Any:
    return environment().from_string(source)


def _too_many(left: Any, right: Any) -> bool:
    """Whether `left * right` repeats a text or list past MAX_REPEAT."""
    for sized, times in ((left, right), (right, left)):
        if isinstance(sized, str | list | tuple) and isinstance(times, int):
            return len(sized) * times > MAX_REPEAT
    return False


def _too_big(base: Any, power: Any) -> bool:
    """Whether `base ** power` (integers) passes MAX_POWER_BITS."""
    if not (isinstance(base, int) and isinstance(power, int)) or abs(base) < 2 or power < 1:
        return False
    return abs(base).bit_length() * power > MAX_POWER_BITS


def context(campaign: Campaign, post: Post, part: Part) -> dict[str, Any]:
    """The names a template can use: its campaign's variables, `release` (when the campaign
    names one), `campaign`, `post`."""
    names: dict[str, Any] = dict(campaign.variables)
    if campaign.release is not None:
        names["release"] = campaign.release.context()
    return {
        **names,
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

    names = context(campaign, post, part)
    try:
        template = _compiled(source(part, channel))
        text = template.render(names)
    except TemplateSyntaxError as error:
        raise RenderError(
            f"the template cannot be read: {error.message}", (error.lineno or 1) - 1
        ) from None
    except UndefinedError as error:
        raise RenderError(_undefined(error, names)) from None
    except SecurityError as error:
        raise RenderError(
            f"the template does something templates may not do: {str(error).rstrip('.')}"
        ) from None
    except TemplateError as error:
        raise RenderError(f"the template failed: {error}") from None
    except RecursionError:
        raise RenderError("the template calls itself without end") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as error:
        raise RenderError(f"the template failed: {error}") from None
    return text.strip()


def _undefined(error: Exception, names: dict[str, Any]) -> str:
    import difflib

    message = str(error)
    if message == "'release' is undefined":
        return "the template uses release, but the campaign names no release (release: ...)"
    if message.startswith("'") and message.endswith("' is undefined"):
        name = message[1 : -len("' is undefined")]
        close = difflib.get_close_matches(name, list(names), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else " (add it under variables:)"
        return f"the template uses '{name}', which is not defined{hint}"
    if " has no attribute " in message:
        name = message.split(" has no attribute ")[1]
        return f"the template uses {name}, which is not defined there"
    return f"the template uses something that is not defined: {message}"
