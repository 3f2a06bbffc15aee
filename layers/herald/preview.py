"""Preview: every delivery in time order, exactly as it will be published."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from datetime import UTC
from decimal import Decimal
from typing import Any

from herald.channels.rules import RULES
from herald.pricing import Cost, x_cost
from herald.timeutil import format_utc
from herald.validate import Rendered
from herald.wording import plural


def ordered(rendered: Sequence[Rendered]) -> list[Rendered]:
    """Due order; at one time, channels in the registry's order (X first)."""
    return sorted(
        rendered,
        key=lambda r: (
            r.delivery.at,
            r.delivery.key.campaign,
            _CHANNEL_ORDER.get(r.delivery.key.channel, len(_CHANNEL_ORDER)),
            r.delivery.key.channel,
            r.delivery.key.account,
            r.delivery.post.id,
            r.delivery.part.number,
        ),
    )


_CHANNEL_ORDER = {name: number for number, name in enumerate(RULES)}


def cost(rendered: Sequence[Rendered]) -> Cost:
    return x_cost([r.has_url for r in rendered if r.delivery.key.channel == "x"])


def cost_lines(rendered: Sequence[Rendered]) -> list[str]:
    """The cost of publishing, one line per channel with deliveries (X's always): X's
    priced per post, each other channel's from its rules (`ChannelRules.price`)."""
    lines = [cost(rendered).describe()]
    for name, rules in RULES.items():
        mine = [r for r in rendered if r.delivery.key.channel == name]
        if name == "x" or not mine:
            continue
        total = sum((rules.price(r.has_url) for r in mine), Decimal(0))
        free = " (no charge per post)" if total == 0 else ""
        lines.append(f"{rules.title} cost: ${total:.2f} for {plural(len(mine), 'post')}{free}")
    return lines


def _media_path(item: Rendered, path: Any) -> str:
    base = item.delivery.campaign.path.parent.resolve()
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def as_json(rendered: Sequence[Rendered]) -> list[dict[str, Any]]:
    rows = []
    for item in ordered(rendered):
        d = item.delivery
        number, total = d.thread_position
        rows.append(
            {
                "campaign": d.key.campaign,
                "post": d.key.post,
                "channel": d.key.channel,
                "account": d.key.account,
                "handle": d.account.handle,
                "at": format_utc(d.at),
                "local": d.post.at_local.isoformat(),
                "timezone": d.campaign.timezone.key,
                "text": item.text,
                "reply_to": d.reply_to,
                "thread": {"part": number, "of": total},
                "media": [{"file": _media_path(item, m.path), "alt": m.alt} for m in d.part.media],
                "weighted_length": item.weighted_length,
                "limit": item.limit,
                "unit": item.unit,
                "has_url": item.has_url,
            }
        )
    return rows


def to_json(rendered: Sequence[Rendered]) -> str:
    return json.dumps(as_json(rendered), ensure_ascii=False, indent=2)


def to_table(rendered: Sequence[Rendered], width: int = 100) -> str:
    """A terminal table: one block per delivery, grouped by local day."""
    lines: list[str] = []
    day = None
    for item in ordered(rendered):
        d = item.delivery
        local = d.post.at_local
        if local.date() != day:
            day = local.date()
            lines.append("")
            lines.append(f"{local:%A %d %B %Y}".upper())
            lines.append("─" * min(width, 60))
        number, total = d.thread_position
        thread = f"  thread {number}/{total}" if total > 1 else ""
        reply = f" ↳ reply to {d.reply_to}" if d.reply_to else ""
        header = (
            f"{local:%H:%M %Z}  ({d.at.astimezone(UTC):%H:%MZ})"
            f"  {d.key.channel} @{d.account.handle}"
            f"  {d.key.campaign}/{d.key.post}{thread}{reply}"
            f"  [{item.weighted_length}/{item.limit}{_unit(item)}]"
        )
        lines.append(header)
        for paragraph in item.text.splitlines() or [""]:
            wrapped = textwrap.wrap(paragraph, width - 6) or [""]
            lines.extend(f"    │ {w}" for w in wrapped)
        for m in d.part.media:
            lines.append(f"    ▣ {_media_path(item, m.path)} — alt: {m.alt}")
    campaigns = sorted({r.delivery.key.campaign for r in rendered})
    lines.append("")
    lines.append(
        f"{len(rendered)} deliveries from {len(campaigns)} campaign(s): {', '.join(campaigns)}"
    )
    lines.extend(cost_lines(rendered))
    return "\n".join(lines).lstrip("\n")


def _unit(item: Rendered) -> str:
    """The unit after a length, when it is not characters (` graphemes` on Bluesky)."""
    return "" if item.unit == "characters" else f" {item.unit}"


def _cell(text: str) -> str:
    """Text for one cell of a Markdown table: one line, pipes escaped."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def to_markdown(rendered: Sequence[Rendered], problems: Sequence[Any] = (), width: int = 90) -> str:
    """A compact day-by-day table in GitHub Markdown (for a pull request's job summary): each
    delivery's local time, post, account, length against the limit and text, then the cost;
    the problems found, if any, first."""
    from herald.wording import day_label, plural

    items = ordered(rendered)
    campaigns = sorted({r.delivery.key.campaign for r in items})
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    lines = ["## herald preview", ""]
    summary = (
        f"{plural(len(items), 'delivery', 'deliveries')} from"
        f" {plural(len(campaigns), 'campaign')}"
        + (f" ({', '.join(campaigns)})" if campaigns else "")
        + f"; {plural(len(errors), 'error')}, {plural(len(warnings), 'warning')}."
    )
    lines.append(summary)
    for line in cost_lines(items):
        lines += ["", f"**{line}**"]
    if problems:
        lines += ["", "### Problems", ""]
        for problem in sorted(problems, key=lambda p: (not p.is_error, p.file, p.line)):
            kind = "Error" if problem.is_error else "Warning"
            lines.append(f"- **{kind}** `{problem.file}:{problem.line}`: {_cell(problem.message)}")
    day = None
    for item in items:
        d = item.delivery
        local = d.post.at_local
        if local.date() != day:
            day = local.date()
            lines += [
                "",
                f"### {day_label(day)}",
                "",
                "| Time | Post | Account | Length | Text |",
                "| --- | --- | --- | ---: | --- |",
            ]
        number, total = d.thread_position
        post = f"{d.key.campaign}/{d.key.post}" + (f" ({number}/{total})" if total > 1 else "")
        text = item.text if len(item.text) <= width else item.text[: width - 1].rstrip() + "…"
        over = " ⚠️" if item.weighted_length > item.limit else ""
        lines.append(
            f"| {local:%H:%M %Z} | `{post}` | {d.key.channel} @{_cell(d.account.handle)} |"
            f" {item.weighted_length}/{item.limit}{_unit(item)}{over} | {_cell(text)} |"
        )
    if not items:
        lines += ["", "Nothing to publish: no campaign without errors has a post."]
    return "\n".join(lines) + "\n"
