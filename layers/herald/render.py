"""Rendering: the one function that turns a post into the text a channel will publish.

`validate` and `preview` call it; so does the publisher. What is checked is what is sent.
Jinja2 runs sandboxed (no reaching into Python internals), with StrictUndefined (a missing
name is an error, never an empty string) and without autoescape (posts are not HTML).

Rendering is bounded, so that no template can hang `herald validate` or exhaust the
function's memory (512 MB) at every attempt:

- the text a template writes is counted as it is written, wherever it goes (the output,
  a `{% set %}` block, a macro), and so is every text or list a filter, a call, an operator,
  `~` or a slice makes; no one of them may pass MAX_OUTPUT, and all of them together may
  not pass MAX_MADE;
- where the size of a result follows from the arguments (a width, a count, a separator times
  the items, a replacement times its occurrences, a `%` or `{:...}` width), it is checked
  before the result is made;
- the clock is checked at every loop iteration, call, filter, operator and write: a text may
  take MAX_SECONDS to render.

A template that passes a limit raises RenderError with a sentence naming the limit.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2.compiler import CodeGenerator
    from jinja2.runtime import Context
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter

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
MAX_POWER_BITS = 10_000  # how big `**` (or `*` of two numbers) may make a number
# The longest post any network herald targets allows is 63,206 characters (Facebook); a
# hundred thousand characters is more than a post can need and a few hundred kilobytes of
# memory. It bounds the output, and every text or list a template makes on the way.
MAX_OUTPUT = 100_000
# All the text and list items a template makes while rendering, written or not: ten times
# the longest output, a few megabytes at most.
MAX_MADE = 10 * MAX_OUTPUT
# A post renders in milliseconds; a template still running after a second never ends.
MAX_SECONDS = 1.0


# ---- the budget of one render ----------------------------------------------------------------


@dataclass
class _Budget:
    """What one render may still spend: its deadline, and what it has made so far."""

    deadline: float
    made: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderError(f"the template took over {MAX_SECONDS:g} s to render")

    def make(self, amount: int) -> None:
        self.tick()
        self.made += amount
        if self.made > MAX_MADE:
            raise RenderError(
                f"the template makes over {MAX_MADE:,} characters of text while rendering"
                f" (a post is at most {MAX_OUTPUT:,})"
            )


class _Unbounded(_Budget):
    """Outside a render (Jinja used directly): sizes are still checked, time and totals not."""

    def tick(self) -> None:
        pass

    def make(self, amount: int) -> None:
        pass


_BUDGET: ContextVar[_Budget | None] = ContextVar("herald_render_budget", default=None)
_UNBOUNDED = _Unbounded(0.0)


def _budget() -> _Budget:
    """The budget of the render under way."""
    return _BUDGET.get() or _UNBOUNDED


def _at_most(size: int, kind: str = "text") -> None:
    """Refuse to make a text (or list) of `size` characters (items) past MAX_OUTPUT."""
    if size > MAX_OUTPUT:
        unit = "characters" if kind == "text" else "items"
        raise RenderError(f"the template would make a {kind} of more than {MAX_OUTPUT:,} {unit}")


def _made(value: Any) -> Any:
    """Count a text or list just made against the budget; refuse it past MAX_OUTPUT."""
    if isinstance(value, str | bytes):
        _at_most(len(value))
        _budget().make(len(value))
    elif isinstance(value, list | tuple | dict | set | frozenset):
        _at_most(len(value), "list")
        _budget().make(len(value))
    return value


def _size(value: Any, limit: int = MAX_OUTPUT) -> int:
    """About how many characters `value` prints as; see `_shape`."""
    return _shape(value, limit)[0]


_CONTAINERS = (list, tuple, dict, set, frozenset)


def _scalar_size(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 1
    return 32  # a number, a date, an object: a few dozen characters at most


def _shape(value: Any, limit: int = MAX_OUTPUT) -> tuple[int, int]:
    """About how many characters `value` prints as, and how deeply it nests. Counting stops
    soon after `limit`, so measuring costs O(limit) whatever the value: lists can share
    their items, so a list made in a few steps can print to gigabytes."""
    if not isinstance(value, _CONTAINERS):
        return _scalar_size(value), 0
    size, depth = 0, 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack and size <= limit:
        container, level = stack.pop()
        depth = max(depth, level)
        members: Iterable[Any] = container
        size += 2 + 2 * len(container)  # brackets, and ", " between members
        if isinstance(container, dict):
            members = itertools.chain.from_iterable(container.items())
            size += 2 * len(container)  # ": " between a key and its value
        for member in itertools.islice(members, max(limit - size, 0) + 1):
            if isinstance(member, _CONTAINERS):
                stack.append((member, level + 1))
            else:  # a text prints in quotes
                size += _scalar_size(member) + 2 * isinstance(member, str | bytes)
    return size, depth


def _text_size(items: Iterable[Any]) -> int:
    """What `items` print as one after another (as `join` writes them), stopping soon
    after MAX_OUTPUT."""
    total = 0
    for item in items:
        total += _size(item, MAX_OUTPUT - total)
        if total > MAX_OUTPUT:
            break
    return total


def _items(value: Any) -> list[Any]:
    """`value`'s items as a list, refused past MAX_OUTPUT items."""
    items = list(itertools.islice(iter(value), MAX_OUTPUT + 1))
    _at_most(len(items), "list")
    return items


def _ticking(iterable: Any) -> Iterator[Any]:
    """The items of a loop, checking the clock at each: loops inside loops multiply."""
    budget = _budget()
    for item in iterable:
        budget.tick()
        yield item


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _lines(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value.splitlines()) + 1
    return _size(value) + 1


# ---- results that follow from their arguments, checked before they are made ------------------


def _occurrences(text: Any, old: Any) -> int:
    """How many times `old` is in `text` (an empty `old` is between every two characters)."""
    if type(text) in (str, bytes) and type(old) is type(text):
        return int(text.count(old)) if old else len(text) + 1
    return _size(text) + 1


def _replaced(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    times = _occurrences(text, old)
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    _at_most(_size(text) + times * _size(new))


def _center(value: Any, width: Any = 80) -> None:
    _at_most(max(_size(value), _int(width)))


def _indent(s: Any, width: Any = 4, first: Any = False, blank: Any = False) -> None:
    pad = len(width) if isinstance(width, str) else _int(width)
    _at_most(_size(s) + pad * _lines(s))


def _join(value: Any, d: Any = "", attribute: Any = None) -> None:
    _at_most(_size(d) * max(len(value) - 1, 0) + _text_size(value))


def _replace(s: Any, old: Any, new: Any, count: Any = None) -> None:
    _replaced(s, old, new, -1 if count is None else count)


def _wordwrap(s: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None,
              break_on_hyphens: Any = True) -> None:  # fmt: skip
    size = _size(s)
    breaks = 2 * size // max(_int(width), 1) + _lines(s)
    _at_most(size + breaks * (1 if wrapstring is None else _size(wrapstring)))


_PRINTF = re.compile(r"%(?:\([^)]*+\))?[#0 +\-]*+(\*|\d++)?(?:\.(\*|\d*+))?[hlL]?(.?)", re.S)


def _printf(template: str, values: Any) -> None:
    """Refuse `template % values` whose widths or precisions would pass MAX_OUTPUT."""
    positional = list(values) if isinstance(values, tuple) else [values]
    total, taken = len(template) + _size(values), 0
    for match in _PRINTF.finditer(template):
        width, precision, kind = match.groups()
        if kind == "%":
            continue
        for part in (width, precision):
            if part == "*":
                total += abs(_int(positional[taken])) if taken < len(positional) else 0
                taken += 1
            elif part:
                total += int(part)
        taken += 1
    _at_most(total)


def _format(value: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(value, str):
        _printf(value, kwargs or args)


_SPEC = re.compile(r"(?:.?[<>=^])?[+\- ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?", re.S)


def _spec_width(spec: str) -> int:
    """The width plus the precision a `{:...}` format spec asks for."""
    match = _SPEC.match(spec)
    width, precision = match.groups() if match else ("", "")
    return int(width or 0) + int(precision or 0)


def _batch(value: Any, linecount: Any, fill_with: Any = None) -> None:
    if fill_with is not None:
        _at_most(_int(linecount), "list")


def _slice(value: Any, slices: Any, fill_with: Any = None) -> None:
    _at_most(_int(slices), "list")


def _tojson(value: Any, indent: Any = None) -> None:
    size, depth = _shape(value)
    pad = len(indent) if isinstance(indent, str) else _int(indent)
    _at_most(size * (1 + pad * depth))


def _pprint(value: Any) -> None:
    size, depth = _shape(value)
    _at_most(size * (1 + depth))


def _urlize(value: Any, trim_url_limit: Any = None, nofollow: Any = False, target: Any = None,
            rel: Any = None, extra_schemes: Any = None) -> None:  # fmt: skip
    text = value if isinstance(value, str) else ""
    links = sum(1 for word in text.split() if "." in word or "@" in word or ":" in word)
    _at_most(2 * _size(value) + links * (64 + _size(target) + _size(rel)))


def _sum(iterable: Any, attribute: Any = None, start: Any = 0) -> None:
    if isinstance(start, int | float | complex):
        return
    size = _size(start) + _text_size(iterable)
    _at_most(size)
    if len(iterable) * size > 100 * MAX_OUTPUT:  # each `+` copies all so far
        raise RenderError(f"the template would take over {MAX_SECONDS:g} s to render")


def _lipsum(n: Any = 5, html: Any = True, min: Any = 20, max: Any = 100) -> Any:
    """Jinja's `lipsum`, refused when it could write more than MAX_OUTPUT characters."""
    from jinja2.utils import generate_lorem_ipsum

    _at_most(_int(n) * (_int(max) * _LONGEST_LOREM_WORD + 16))
    return generate_lorem_ipsum(n, html, min, max)


_LONGEST_LOREM_WORD = 15  # "condimentum", capitalised, with ", " after it, and room to spare

# Filters whose result can be far bigger than their arguments, with the check for each (it
# takes the filter's own arguments, after the context Jinja passes).
_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "batch": _batch,
    "center": _center,
    "format": _format,
    "indent": _indent,
    "join": _join,
    "pprint": _pprint,
    "replace": _replace,
    "slice": _slice,
    "sum": _sum,
    "tojson": _tojson,
    "urlize": _urlize,
    "wordwrap": _wordwrap,
}
# Filters that take their input apart (or return it) rather than print it: a big list passed
# to these is not made into text. Every other filter prints its arguments, so a list or
# mapping given to one is measured first.
_SHAPE_FILTERS = frozenset(
    {
        *("abs", "attr", "batch", "count", "d", "default", "dictsort", "first", "float"),
        *("filesizeformat", "groupby", "int", "items", "join", "last", "length", "list"),
        *("map", "max", "min", "random", "reject", "rejectattr", "reverse", "round"),
        *("select", "selectattr", "slice", "sort", "sum", "unique"),
    }
)
_MATERIALIZED = frozenset({"join", "sum"})  # filters that read all their input anyway


def _checked_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` (the filter `name`), checking the clock, its arguments and its result."""
    check = _FILTER_CHECKS.get(name)
    lead = 0 if getattr(function, "jinja_pass_arg", None) is None else 1
    prints = name not in _SHAPE_FILTERS

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        if name in _MATERIALIZED and len(args) > lead:
            args = (*args[:lead], _items(args[lead]), *args[lead + 1 :])
        if prints:
            for value in (*args[lead:], *kwargs.values()):
                if not isinstance(value, str):
                    _at_most(_size(value))
        if check is not None:
            with contextlib.suppress(TypeError):  # wrong arguments: the filter says so itself
                check(*args[lead:], **kwargs)
        return _made(function(*args, **kwargs))

    return checked


def _str_join(separator: Any, iterable: Any) -> None:
    _at_most(len(separator) * max(len(iterable) - 1, 0) + _text_size(iterable))


def _expandtabs(text: Any, tabsize: Any = 8) -> None:
    _at_most(len(text) + text.count("\t" if isinstance(text, str) else b"\t") * _int(tabsize))


def _translate(text: Any, table: Any) -> None:
    if isinstance(table, dict):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        _at_most(len(text) * longest)


# Methods of texts whose result can be far bigger than the text; widths and counts given to
# any method of a text or a number are refused past MAX_OUTPUT before this.
_METHOD_CHECKS: dict[str, Callable[..., None]] = {
    "expandtabs": _expandtabs,
    "join": _str_join,
    "replace": _replaced,
    "translate": _translate,
}


def _checked_call(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Check a call of a method of a text or a number before it is made; the arguments to
    make it with (an iterable `join` reads is read once, here)."""
    owner = getattr(function, "__self__", None)
    if not isinstance(owner, str | bytes | int | float):
        return args
    for value in (*args, *kwargs.values()):
        if isinstance(value, int):
            _at_most(abs(value))
    name = getattr(function, "__name__", "")
    if not isinstance(owner, str | bytes) or name not in _METHOD_CHECKS:
        return args
    if name == "join" and args:
        args = (_items(args[0]), *args[1:])
    with contextlib.suppress(TypeError):  # wrong arguments: the method says so itself
        _METHOD_CHECKS[name](owner, *args, **kwargs)
    return args


def _check_binop(operator: str, left: Any, right: Any) -> None:
    from jinja2.exceptions import SecurityError

    if operator == "*" and _too_many(left, right):
        raise SecurityError(f"'*' would make more than {MAX_REPEAT:,} items")
    if operator == "*" and _too_big_product(left, right):
        raise SecurityError("'*' would make a number too big to print")
    if operator == "**" and _too_big(left, right):
        raise SecurityError("'**' would make a number too big to print")
    sized = (str, bytes, list, tuple)
    if operator == "+" and isinstance(left, sized) and isinstance(right, sized):
        _at_most(len(left) + len(right), "text" if isinstance(left, str | bytes) else "list")
    if operator == "%" and isinstance(left, str):
        _printf(left, right)


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


def _too_big_product(left: Any, right: Any) -> bool:
    """Whether `left * right` (integers) passes MAX_POWER_BITS."""
    if not (isinstance(left, int) and isinstance(right, int)):
        return False
    return left.bit_length() + right.bit_length() > MAX_POWER_BITS


# ---- what the compiled template calls: loops, writes and `~` ---------------------------------

_LOOP = "herald:loop"  # names no template can write (a filter name is a word)
_WRITE = "herald:write"
_WRITTEN = "herald:written"
_CONCAT = "herald:concat"


def _loop(context: Context, iterable: Any) -> Iterator[Any]:
    return _ticking(iterable)


def _write(context: Context, value: Any) -> Any:
    """A value the template writes (to its output, or into a block or macro)."""
    size = _size(value)
    if size > MAX_OUTPUT:
        raise RenderError(f"the template's output is over {MAX_OUTPUT:,} characters")
    _budget().make(size)
    return value


def _written(context: Context, size: int) -> str:
    """Literal text the template writes, `size` characters of it."""
    _budget().make(size)
    return ""


def _concat(context: Context, values: list[Any]) -> Any:
    """`a ~ b ~ ...`, measured before it is joined."""
    from jinja2.runtime import markup_join, str_join

    _at_most(_text_size(values))
    escaping = context.eval_ctx.volatile or context.eval_ctx.autoescape
    return _made((markup_join if escaping else str_join)(values))


def _generator_class() -> type[CodeGenerator]:
    """Jinja's code generator, which first rewrites the parsed template so that every loop
    iterates through `_loop`, every write goes through `_write` (and its literal text is
    counted by `_written`), and every `~` is `_concat`."""
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator
    from jinja2.visitor import NodeTransformer

    class Measure(NodeTransformer):
        def __init__(self, environment: Any) -> None:
            self.environment = environment

        def through(self, node: nodes.Node, name: str) -> nodes.Filter:
            wrapped = nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)
            wrapped.set_environment(self.environment)
            return wrapped

        def visit_For(self, node: nodes.For) -> nodes.Node:
            self.generic_visit(node)
            node.iter = self.through(node.iter, _LOOP)
            return node

        def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
            self.generic_visit(node)
            try:  # made of constants: Jinja joins it while compiling, as it always has
                node.as_const(nodes.EvalContext(self.environment))
            except nodes.Impossible:
                return self.through(nodes.List(node.nodes, lineno=node.lineno), _CONCAT)
            return node

        def visit_Output(self, node: nodes.Output) -> nodes.Node:
            self.generic_visit(node)
            literal = sum(len(c.data) for c in node.nodes if isinstance(c, nodes.TemplateData))
            node.nodes = [
                c if isinstance(c, nodes.TemplateData) else self.through(c, _WRITE)
                for c in node.nodes
            ]
            if literal:
                node.nodes.append(self.through(nodes.Const(literal, lineno=node.lineno), _WRITTEN))
            return node

    class Generator(CodeGenerator):
        def visit_Template(self, node: nodes.Template, frame: Any = None) -> None:
            Measure(self.environment).visit(node)
            super().visit_Template(node, frame)

    return Generator


@cache
def _formatter_classes() -> tuple[type[SandboxedFormatter], type[SandboxedFormatter]]:
    """The sandbox's `str.format` formatters (plain, and escaping for Markup), checking each
    field's width before it is formatted and the text made so far after."""
    from jinja2.sandbox import SandboxedFormatter
    from markupsafe import EscapeFormatter

    class Formatter(SandboxedFormatter):
        made = 0

        def vformat(self, format_string: Any, args: Any, kwargs: Any) -> str:
            self.made = 0
            return super().vformat(format_string, args, kwargs)

        def format_field(self, value: Any, format_spec: str) -> Any:
            _at_most(_size(value) + _spec_width(format_spec))
            text = super().format_field(value, format_spec)
            self.made += len(text)
            _at_most(self.made)
            return text

    class EscapingFormatter(Formatter, EscapeFormatter):
        pass

    return Formatter, EscapingFormatter


def _format_method(environment: Any, method: Any) -> Callable[..., str]:
    """`text.format` or `text.format_map`, sandboxed and bounded."""
    from markupsafe import Markup

    plain, escaping = _formatter_classes()
    text = method.__self__
    formatter = (
        escaping(environment, escape=text.escape)
        if isinstance(text, Markup)
        else plain(environment)
    )
    is_map = method.__name__ == "format_map"

    def formatted(*args: Any, **kwargs: Any) -> str:
        if is_map:
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument, a mapping")
            kwargs, args = args[0], ()
        return type(text)(formatter.vformat(text, args, kwargs))

    return functools.update_wrapper(formatted, method)


@cache
def environment() -> ImmutableSandboxedEnvironment:
    from jinja2 import StrictUndefined, pass_context
    from jinja2.runtime import LoopContext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Environment(ImmutableSandboxedEnvironment):
        """The sandbox, bounded: every operator, call, filter, slice, loop and write is
        checked against the render's budget (see the module's docstring)."""

        intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
        code_generator_class = _generator_class()

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self.filters = {name: _checked_filter(name, f) for name, f in self.filters.items()}
            for name, function in (
                (_LOOP, _loop),
                (_WRITE, _write),
                (_WRITTEN, _written),
                (_CONCAT, _concat),
            ):  # pass_context: so that Jinja never runs them while compiling
                self.filters[name] = pass_context(function)
            self.globals["lipsum"] = _lipsum

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _budget().tick()
            _check_binop(operator, left, right)
            return _made(super().call_binop(context, operator, left, right))

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            _budget().tick()
            if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
                args = (_ticking(args[0]), *args[1:])
            args = _checked_call(__obj, args, kwargs)
            return _made(super().call(__context, __obj, *args, **kwargs))

        def getitem(self, obj: Any, argument: Any) -> Any:
            value = super().getitem(obj, argument)
            return _made(value) if isinstance(argument, slice) else value

        def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
            if super().wrap_str_format(value) is None:  # not a text's format or format_map
                return None
            return _format_method(self, value)

    return Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@cache
def _compiled(source: str) -> Any:
    return environment().from_string(source)


def _generate(template: Any, names: dict[str, Any]) -> str:
    """The template's output, refused as soon as it passes MAX_OUTPUT characters."""
    budget = _budget()
    chunks: list[str] = []
    size = 0
    stream = template.generate(names)
    try:
        for chunk in stream:
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise RenderError(f"the template's output is over {MAX_OUTPUT:,} characters")
            budget.tick()
            chunks.append(chunk)
    finally:
        stream.close()
    return "".join(chunks)


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
    environment()  # made (and Jinja imported) before the clock starts
    token = _BUDGET.set(_Budget(time.monotonic() + MAX_SECONDS))
    try:
        text = _generate(_compiled(source(part, channel)), names)
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
    except MemoryError:  # a limit above failed to foresee it: still a sentence, never a crash
        raise RenderError("the template needs more memory than a post may use") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as error:
        raise RenderError(f"the template failed: {error}") from None
    finally:
        _BUDGET.reset(token)
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
