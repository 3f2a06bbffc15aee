"""Preview: every delivery in time order, exactly as it will be published."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from herald.channels.rules import account_label
from herald.pricing import Cost, x_cost
from herald.timeutil import format_utc
from herald.validate import Rendered


def ordered(rendered: Sequence[Rendered]) -> list[Rendered]:
    return sorted(
        rendered,
        key=lambda r: (
            r.delivery.at,
            r.delivery.key.campaign,
            r.delivery.key.channel,
            r.delivery.key.account,
            r.delivery.post.id,
            r.delivery.part.number,
        ),
    )


def cost(rendered: Sequence[Rendered]) -> Cost:
    return x_cost([r.has_url for r in rendered if r.delivery.key.channel == "x"])


def free_channels(rendered: Sequence[Rendered]) -> str | None:
    """The line for the channels whose APIs charge nothing per post (Mastodon, Facebook
    Pages), e.g. "Mastodon and Facebook APIs: no charge (12 posts)"; None if there are
    none among these deliveries."""
    from herald.channels.rules import RULES, rules_for

    free: dict[str, int] = {}
    for item in rendered:
        rules = rules_for(item.delivery.key.channel)
        if rules.name != "x" and rules.price(item.has_url) == 0:
            free[rules.title] = free.get(rules.title, 0) + 1
    if not free:
        return None
    order = [rules.title for rules in RULES.values()]  # as the registry lists them
    titles = sorted(free, key=order.index)
    names = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]
    apis = "API" if len(titles) == 1 else "APIs"
    return f"{names} {apis}: no charge ({sum(free.values())} posts)"


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
            f"  {d.key.channel} {account_label(d.key.channel, d.account.handle)}"
            f"  {d.key.campaign}/{d.key.post}{thread}{reply}"
            f"  [{item.weighted_length}/{item.limit}{_unit(item)}]"
        )
        lines.append(header)
        for paragraph in item.text.splitlines() or [""]:
            wrapped = textwrap.wrap(paragraph, width - 6) or [""]
            lines.extend(f"    │ {w}" for w in wrapped)
        for m in d.part.media:
            lines.append(f"    ▣ {_media_path(item, m.path)} — alt: {m.alt}")
    summary = cost(rendered)
    campaigns = sorted({r.delivery.key.campaign for r in rendered})
    lines.append("")
    lines.append(
        f"{len(rendered)} deliveries from {len(campaigns)} campaign(s): {', '.join(campaigns)}"
    )
    lines.append(summary.describe())
    free = free_channels(rendered)
    if free:
        lines.append(free)
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
    lines += [summary, "", f"**{cost(items).describe()}**"]
    free = free_channels(items)
    if free:
        lines += ["", free]
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
            f"| {local:%H:%M %Z} | `{post}` | {d.key.channel}"
            f" {_cell(account_label(d.key.channel, d.account.handle))} |"
            f" {item.weighted_length}/{item.limit}{_unit(item)}{over} | {_cell(text)} |"
        )
    if not items:
        lines += ["", "Nothing to publish: no campaign without errors has a post."]
    return "\n".join(lines) + "\n"
