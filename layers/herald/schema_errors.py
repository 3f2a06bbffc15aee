"""A campaign file's schema errors as sentences, each at the line it is about.

pydantic reports where a value is wrong as a path of keys and indexes and says what is
wrong in its own words. Here the path becomes what a reader sees in the file ("post
'launch', image 2") and the error a sentence that says what to write instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import date
from typing import Any

from herald import yamlsource
from herald.campaign_schema import ACCOUNT_SPECS, CHANNELS, MAX_ALT_CHARS, SPECS
from herald.problems import Problem

# pydantic's "this value has the wrong type" errors, and what each type is called in a sentence
_EXPECTED = {
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "datetime_type": "a date and time",
    "bool_type": "yes or no (true or false)",
    "int_type": "a whole number",
}


def schema_problems(doc: yamlsource.Document, errors: Sequence[Any]) -> list[Problem]:
    """pydantic's errors as sentences at their lines. Where a value may take several
    shapes (a thread item is text or a mapping), only the errors of the shape the author
    evidently meant are kept; if no shape fits, one sentence lists them all."""
    by_loc: dict[tuple[str | int, ...], list[Any]] = {}
    for error in _without_misspelt_keys(doc.data, errors):
        by_loc.setdefault(tuple(_clean_loc(doc.data, error)), []).append(error)
    problems = []
    for loc_key, group in by_loc.items():
        loc = list(loc_key)
        deeper = any(
            len(other) > len(loc_key) and other[: len(loc_key)] == loc_key for other in by_loc
        )
        wrong_type = [e for e in group if e["type"] in _EXPECTED]
        others = [e for e in group if e["type"] not in _EXPECTED]
        if wrong_type and (deeper or others):
            group = others
        elif len(wrong_type) > 1:
            problems.append(doc.problem(loc, _no_shape_fits(doc.data, loc, wrong_type)))
            continue
        for error in group:
            where, message = _schema_message(doc.data, loc, error)
            problems.append(doc.problem(where, message))
    return problems


def _without_misspelt_keys(data: Any, errors: Sequence[Any]) -> list[Any]:
    """A misspelt key is one problem, not two: where a mapping has an unknown key close to
    a required key it lacks ('txet' for 'text'), the unknown key's message says "did you
    mean" and the missing key's is dropped."""
    unknown: dict[tuple[Any, ...], list[str]] = {}
    for error in errors:
        if error["type"] == "extra_forbidden" and error["loc"]:
            unknown.setdefault(tuple(error["loc"][:-1]), []).append(str(error["loc"][-1]))
    kept = []
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "missing" and loc:
            near = difflib.get_close_matches(str(loc[-1]), unknown.get(loc[:-1], []), n=1)
            if near:
                continue
        kept.append(error)
    return kept


def _no_shape_fits(data: Any, loc: list[str | int], wrong_type: list[Any]) -> str:
    """One sentence for a value that is none of the shapes it may take."""
    expected = " or ".join(dict.fromkeys(_EXPECTED[e["type"]] for e in wrong_type))
    value = wrong_type[0].get("input")
    shown = "empty" if value is None else f"not {describe(value)}"
    return _sentence(data, loc, f"should be {expected}, {shown}")


# ---- one error, one sentence ----------------------------------------------------------------

Placed = tuple[list[str | int], str]  # the location a sentence is reported at, and the sentence


def _schema_message(data: Any, loc: list[str | int], error: Any) -> Placed:
    kind = error["type"]
    value = error.get("input")
    last = loc[-1] if loc else None
    if kind == "missing":
        return _missing(data, loc)
    if kind == "extra_forbidden":
        return _unknown_key(data, loc)
    if kind == "invalid_key":
        return loc, f"the key {last!r} is not a word: write keys as words (in quotes: '{last}')"
    if kind == "string_pattern_mismatch":
        return _not_a_name(data, loc, value)
    if kind == "string_too_short":
        return loc, _sentence(data, loc, "is empty")
    if kind == "string_too_long":
        return _too_long(data, loc, value, error.get("ctx") or {})
    if kind == "too_short":
        if loc == ["posts"]:
            return loc, "the campaign has no posts"
        return loc, _sentence(data, loc, "is empty")
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
        if value is None:
            return loc, _sentence(data, loc, f"is empty: it should be {expected}")
        return loc, _sentence(data, loc, f"should be {expected}, not {describe(value)}")
    message = str(error["msg"])
    return loc, _sentence(data, loc, "is wrong: " + message[0].lower() + message[1:])


def _missing(data: Any, loc: list[str | int]) -> Placed:
    """A required key is absent: said at the mapping it belongs in."""
    parent, last = loc[:-1], loc[-1] if loc else None
    if last == "alt":
        return parent, (
            f"{where_text(data, parent)} has no alt text: describe the image for people"
            " who cannot see it (alt: ...)"
        )
    return parent, f"{where_text(data, parent)} has no '{last}', which is required"


def _unknown_key(data: Any, loc: list[str | int]) -> Placed:
    key = str(loc[-1] if loc else None)
    if loc[:-1] == ["accounts"]:
        return loc, (
            f"accounts: '{key}' is not a channel herald publishes to ({', '.join(CHANNELS)})"
        )
    known = _SPEC_FIELDS.get(_model_for(loc[:-1]), [])
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"
    return loc, f"unknown key '{key}' in {where_text(data, loc[:-1])}{hint}"


# What an account setting with a pattern should look like, by (channel, key).
_ACCOUNT_PATTERN_HINTS = {
    ("bluesky", "handle"): "is not a Bluesky handle: write the account's full handle, "
    "a domain name such as hertspolice.bsky.social",
    ("bluesky", "service"): "is not a service address: write it as https://host "
    "(the default is https://bsky.social)",
}

# Account settings written in a set shape, and how to write each (Mastodon, Facebook).
_ACCOUNT_SHAPES = {
    "instance": "is not an instance address: write its base URL, like https://mastodon.social",
    "handle": "is not a Mastodon handle: write it like @press@police.example",
    "page_id": 'is not a Facebook Page id: write the Page\'s number, like "123456789"',
}


def _not_a_name(data: Any, loc: list[str | int], value: Any) -> Placed:
    """A channel or an id that does not match its pattern."""
    prefix = f"{where_text(data, loc[:-1])}: " if loc[:-1] else ""
    if _is_channel_place(loc):
        return loc, (
            f"{prefix}'{value}' is not a channel herald publishes to ({', '.join(CHANNELS)})"
        )
    last = loc[-1] if loc else None
    hint = _ACCOUNT_PATTERN_HINTS.get((str(loc[1]) if len(loc) == 4 else "", str(last)))
    if hint is not None:
        return loc, f"{prefix}'{value}' {hint}"
    if str(last) in _ACCOUNT_SHAPES:
        return loc, f"{prefix}'{value}' {_ACCOUNT_SHAPES[str(last)]}"
    noun = {"campaign": "campaign id", "id": "post id"}.get(str(last), "id")
    return loc, f"{prefix}'{value}' is not a valid {noun}: use lowercase letters, digits, - and _"


def _too_long(data: Any, loc: list[str | int], value: Any, ctx: dict[str, Any]) -> Placed:
    limit = int(ctx.get("max_length", MAX_ALT_CHARS))
    if loc and loc[-1] == "alt":
        return loc, (
            f"{where_text(data, loc[:-1])}: the alt text is {len(str(value)):,} characters;"
            f" X takes at most {limit:,}"
        )
    return loc, _sentence(data, loc, f"is {len(str(value)):,} characters (at most {limit:,})")


def _is_channel_place(loc: Sequence[str | int]) -> bool:
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    return (
        bool(parents)
        and parents[-1] in ("channels", "overrides", "accounts")
        and (parents[-1] != "accounts" or len(loc) == 2)
    )


def _model_for(loc: Sequence[Any]) -> str:
    path = [p for p in loc if not isinstance(p, int)]
    if not path:
        return "CampaignSpec"
    last = path[-1]
    parent = path[-2] if len(path) >= 2 else None
    if last == "posts":
        return "PostSpec"
    if last == "media":
        return "MediaSpec"
    if last == "thread":
        return "ThreadPartSpec"
    if last == "defaults":
        return "DefaultsSpec"
    if last == "accounts":
        return "AccountsSpec"
    if len(path) >= 3 and path[-3] == "accounts" and str(parent) in ACCOUNT_SPECS:
        return ACCOUNT_SPECS[str(parent)].__name__
    return ""


_SPEC_FIELDS = {model.__name__: list(model.model_fields) for model in SPECS}


# ---- where, in the reader's words ----------------------------------------------------------


def _clean_loc(data: Any, error: Any) -> list[str | int]:
    """pydantic's location with its own markers (union branches such as 'str' or
    'ThreadPartSpec', '[key]') taken out: only keys and indexes that are in the file,
    plus, for a missing key, the key's name."""
    raw = list(error["loc"])
    loc: list[str | int] = []
    node = data
    for index, part in enumerate(raw):
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if present:
            loc.append(part)
            node = node[part]
        elif error["type"] == "missing" and index == len(raw) - 1:
            loc.append(part)
    return loc


def _labels(data: Any, loc: Sequence[str | int]) -> list[str]:
    """A location as the things a reader sees in the file: "post 'launch'", 'image 2',
    "'alt'"; the last label names the value itself."""
    labels: list[str] = []
    node = data
    parent_key: str | int | None = None
    for index, part in enumerate(loc):
        child = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            child = node[part]
        if isinstance(part, int) and parent_key == "posts":
            post_id = child.get("id") if isinstance(child, dict) else None
            labels[-1:] = [f"post '{post_id}'" if isinstance(post_id, str) else f"post {part + 1}"]
        elif isinstance(part, int) and parent_key == "thread":
            labels[-1:] = [f"thread item {part + 1}"]
        elif isinstance(part, int) and parent_key == "media":
            labels[-1:] = [f"image {part + 1}"]
        elif isinstance(part, int) and parent_key == "channels":
            pass  # the value is named in the message
        elif isinstance(part, int):
            labels.append(f"item {part + 1}")
        elif index == 2 and loc[0] == "accounts":
            labels[-2:] = [f"{loc[1]} account '{part}'"]
        else:
            labels.append(f"'{part}'")
        node, parent_key = child, part
    return labels


def _subject(data: Any, loc: Sequence[str | int]) -> tuple[str, str]:
    """(where it is, what it is): ("post 'launch', image 2", "'alt'")."""
    labels = _labels(data, loc)
    if not labels:
        return "", "the campaign"
    return ", ".join(labels[:-1]), labels[-1]


def _sentence(data: Any, loc: Sequence[str | int], predicate: str) -> str:
    where, what = _subject(data, loc)
    return f"{where}: {what} {predicate}" if where else f"{what} {predicate}"


def where_text(data: Any, loc: Sequence[str | int]) -> str:
    """A location as a phrase: "post 'launch', image 2", or 'the campaign'."""
    labels = _labels(data, loc)
    return ", ".join(labels) if labels else "the campaign"


def describe(value: Any) -> str:
    """A value as a sentence names it: 'the number 5', 'a list', 'the text 'x''."""
    if isinstance(value, bool):
        return f"the yes/no value {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return f"the text '{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, date):
        return f"the date {value}"
    return f"a {type(value).__name__}"
