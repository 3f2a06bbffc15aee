"""Validation: everything about a set of campaigns that can be known before publishing.

Beyond the schema (herald.campaign): every template renders, through the same function
the publisher uses; every text fits each of its channel's limits as that channel counts it
(herald.channels.rules); a post carries no more images than its channel takes; no account
would publish the same text twice (X refuses duplicates); no `TODO` placeholder is left.
Warnings: posts already in the past; texts that differ only in a date.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from herald.campaign import Campaign, LoadResult, load_campaigns
from herald.channels.rules import ChannelRules, Measure, rules_for, title
from herald.plan import LoadedDelivery, deliveries
from herald.problems import Problem, Severity
from herald.render import RenderError


@dataclass(frozen=True)
class Rendered:
    """A delivery with its text as the channel will receive it."""

    delivery: LoadedDelivery
    text: str
    weighted_length: int  # the channel's first measure of the text (X: weighted length)
    limit: int
    has_url: bool
    unit: str = "characters"


@dataclass
class Report:
    results: list[LoadResult]
    rendered: list[Rendered] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def campaigns(self) -> list[Campaign]:
        broken = {p.file for p in self.errors}
        return [
            r.campaign
            for r in self.results
            if r.campaign is not None and str(r.campaign.path) not in broken
        ]

    def rendered_for(self, campaigns: Sequence[Campaign]) -> list[Rendered]:
        ids = {c.id for c in campaigns}
        return [r for r in self.rendered if r.delivery.key.campaign in ids]


def _problem(delivery: LoadedDelivery, message: str, line: int | None = None) -> Problem:
    """A problem with a delivery, at the line of the template its channel publishes."""
    where = line or delivery.part.line_for(delivery.key.channel)
    return Problem(delivery.campaign.name, where, message)


def _label(delivery: LoadedDelivery) -> str:
    number, total = delivery.thread_position
    thread = f" (thread part {number} of {total})" if total > 1 else ""
    return f"post '{delivery.post.id}'{thread}"


def _render_all(campaign: Campaign, problems: list[Problem]) -> list[Rendered]:
    rendered = []
    for delivery in deliveries(campaign):
        try:
            text = delivery.render()
        except RenderError as error:
            line = delivery.part.line_for(delivery.key.channel, 1 + error.line_offset)
            problems.append(_problem(delivery, f"{_label(delivery)}: {error}", line))
            continue
        if not text:
            problems.append(_problem(delivery, f"{_label(delivery)} renders to empty text"))
            continue
        rules = rules_for(delivery.key.channel)
        measures = rules.measure(text, delivery.account.settings)
        _check_text(delivery, text, rules, measures, problems)
        _check_media(delivery, rules, problems)
        first = measures[0]
        rendered.append(
            Rendered(delivery, text, first.value, first.limit, rules.has_url(text), first.unit)
        )
    return rendered


def _check_text(
    delivery: LoadedDelivery,
    text: str,
    rules: ChannelRules,
    measures: list[Measure],
    problems: list[Problem],
) -> None:
    """Every length over its limit is an error, said in the channel's units; then any
    other reason the channel would refuse the text."""
    over = [m for m in measures if m.over]
    for measure in over:
        problems.append(
            _problem(
                delivery,
                f"{_label(delivery)} is {measure.value:,} {measure.unit} on {rules.title}"
                f" (limit {measure.limit:,})",
            )
        )
    refusal = None if over else rules.refusal(text)
    if refusal is not None:
        problems.append(_problem(delivery, f"{_label(delivery)} {refusal}"))


def _check_media(delivery: LoadedDelivery, rules: ChannelRules, problems: list[Problem]) -> None:
    """At most the channel's number of images, and alt text no longer than it takes."""
    media, most = delivery.part.media, rules.media.max_count
    if len(media) > most:
        problems.append(
            _problem(
                delivery,
                f"{_label(delivery)} has {len(media)} images; {rules.title} takes at most {most}",
                media[most].line,
            )
        )
    _check_media_bytes(delivery, rules, problems)
    longest = rules.media.max_alt
    for item in media:
        if longest is not None and len(item.alt) > longest:
            problems.append(
                _problem(
                    delivery,
                    f"{_label(delivery)}: the alt text of {item.path.name} is {len(item.alt):,}"
                    f" characters; {rules.title} takes at most {longest:,}",
                    item.line,
                )
            )


def _check_media_bytes(
    delivery: LoadedDelivery, rules: ChannelRules, problems: list[Problem]
) -> None:
    """Each image no larger than the channel takes (files that cannot be read are the
    campaign loader's to report)."""
    biggest = rules.media.max_bytes
    if biggest is None:
        return
    for item in delivery.part.media:
        try:
            size = item.path.stat().st_size
        except OSError:
            continue
        if size > biggest:
            problems.append(
                _problem(
                    delivery,
                    f"{_label(delivery)}: {item.path.name} is {size:,} bytes; {rules.title}"
                    f" takes images of at most {biggest:,} bytes (herald never resizes them)",
                    item.line,
                )
            )


_DATE_WORDS = re.compile(
    r"\b(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b"
    r"|\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b"
    r"|\b(?:today|tomorrow|yesterday|tonight)\b"
    r"|\b\d{1,4}(?:st|nd|rd|th)?\b(?:[-/.]\d{1,4}){0,2}",
    re.IGNORECASE,
)


def _without_dates(text: str) -> str:
    return " ".join(_DATE_WORDS.sub("<date>", text).split())


def _cross_checks(rendered: list[Rendered], problems: list[Problem], now: datetime) -> None:
    by_text: dict[tuple[str, str, str], Rendered] = {}
    by_shape: dict[tuple[str, str, str], Rendered] = {}
    for item in rendered:
        key = item.delivery.key
        account = (key.channel, key.account)
        exact = (*account, item.text)
        if exact in by_text:
            first = by_text[exact].delivery
            line = first.part.line_for(key.channel)
            same_file = first.campaign.name == item.delivery.campaign.name
            where = f"line {line}" if same_file else f"{first.campaign.name}:{line}"
            rules = rules_for(key.channel)
            same = f"{_label(item.delivery)} has the same text as {_label(first)} ({where});"
            if rules.refuses_duplicates:
                message = f"{same} {rules.title} refuses duplicates from one account"
                problems.append(_problem(item.delivery, message))
            else:
                message = f"{same} {rules.title} would publish it twice"
                line = item.delivery.part.line_for(key.channel)
                problems.append(
                    Problem(item.delivery.campaign.name, line, message, Severity.WARNING)
                )
            continue
        by_text[exact] = item
        shape = (*account, _without_dates(item.text))
        if shape in by_shape:
            first = by_shape[shape].delivery
            problems.append(
                Problem(
                    item.delivery.campaign.name,
                    item.delivery.part.line_for(key.channel),
                    f"{_label(item.delivery)} differs from {_label(first)} only in a date:"
                    " is one of them a copy that was not finished?",
                    Severity.WARNING,
                )
            )
        else:
            by_shape[shape] = item


def _past_warnings(campaign: Campaign, problems: list[Problem], now: datetime) -> None:
    past = [p for p in campaign.posts if p.at + campaign.max_lateness < now]
    if not past:
        return
    if len(past) == len(campaign.posts):
        first = campaign.posts[0]
        problems.append(
            Problem(
                campaign.name,
                first.line,
                f"all {len(past)} posts are in the past (the first was due"
                f" {first.at_local:%Y-%m-%d %H:%M %Z}): publishing will send none of them;"
                " `herald simulate` replays them",
                Severity.WARNING,
            )
        )
        return
    for post in past:
        problems.append(
            Problem(
                campaign.name,
                post.line,
                f"post '{post.id}' is in the past ({post.at_local:%Y-%m-%d %H:%M %Z}):"
                " it will not be published",
                Severity.WARNING,
            )
        )


_PLACEHOLDER = re.compile(r"\bTODO\b")


def _placeholders(campaign: Campaign, rendered: list[Rendered], problems: list[Problem]) -> None:
    """A `TODO` that `herald draft` left (or an author wrote) is an error until replaced:
    in the title, an account's handle or name, a post's text or an image's alt text."""
    doc = campaign.document
    if _PLACEHOLDER.search(campaign.title):
        problems.append(doc.problem(["title"], "the title is still a placeholder (TODO)"))
    for channel, accounts in campaign.accounts.items():
        for account in accounts.values():
            for name in ("handle", "name"):
                value = getattr(account, name) or ""
                if _PLACEHOLDER.search(value):
                    problems.append(
                        doc.problem(
                            ["accounts", channel, account.id, name],
                            f"account '{account.id}' on {title(channel)}: its"
                            f" {name} is still a placeholder ({value}); put the real one",
                        )
                    )
    for item in rendered:
        d = item.delivery
        if _PLACEHOLDER.search(item.text):
            problems.append(_problem(d, f"{_label(d)} still has a placeholder (TODO) in its text"))
        for media in d.part.media:
            if _PLACEHOLDER.search(media.alt):
                problems.append(
                    _problem(d, f"{_label(d)}: alt text is still a placeholder (TODO)", media.line)
                )


def validate(paths: Sequence[Path], now: datetime) -> Report:
    """Check every campaign under `paths`; one broken file never hides another's problems."""
    results = load_campaigns(paths)
    report = Report(results)
    for result in results:
        report.problems.extend(result.problems)
    if not results:
        shown = ", ".join(str(p) for p in paths)
        report.problems.append(Problem(shown, 1, "no campaign files (*.yaml) found here"))
    for result in results:
        campaign = result.campaign or result.checked  # a refused file's posts that passed
        if campaign is None:
            continue
        rendered = _render_all(campaign, report.problems)
        report.rendered.extend(rendered)
        _placeholders(campaign, rendered, report.problems)
        _past_warnings(campaign, report.problems, now)
    _cross_checks(report.rendered, report.problems, now)
    report.problems = sorted(set(report.problems), key=lambda p: (p.file, p.line, p.message))
    return report
