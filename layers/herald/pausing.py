"""The incident switch, as people use it: which campaign a pause names (never a typo that
stops nothing), and what a pause holds or a resume frees: how many upcoming deliveries, and
when the next one is due."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from herald.ledger import ALL_CAMPAIGNS, Ledger, Pause
from herald.plan import LoadedDelivery, LoadedPlan
from herald.wording import plural


class UnknownCampaign(ValueError):
    """A pause or resume named a campaign that no campaign file has."""


def known_campaign(name: str, known: Iterable[str]) -> str:
    """`name` if it is one of the `known` campaign ids; else UnknownCampaign with a sentence
    that names the nearest."""
    names = sorted(set(known))
    if name in names:
        return name
    nearest = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    if nearest:
        hint = f"did you mean '{nearest[0]}'?"
    elif names:
        hint = f"the campaigns are: {', '.join(names)}"
    else:
        hint = "there is no campaign at all here (see --campaigns)"
    raise UnknownCampaign(f"no campaign is called '{name}' ({hint})")


def covers(pause_scope: str, campaign: str) -> bool:
    return pause_scope in (ALL_CAMPAIGNS, campaign)


@dataclass(frozen=True)
class Upcoming:
    """Deliveries not yet published and still inside their window, in due order."""

    deliveries: list[LoadedDelivery]

    @property
    def next(self) -> LoadedDelivery | None:
        return self.deliveries[0] if self.deliveries else None

    def describe(self, verb: str) -> str:
        """`This holds 4 upcoming deliveries; the next was due at ...`."""
        count = len(self.deliveries)
        if not count:
            return f"This {verb} no upcoming delivery."
        first = self.deliveries[0]
        local = first.at.astimezone(first.campaign.timezone)
        return (
            f"This {verb} {plural(count, 'upcoming delivery', 'upcoming deliveries')};"
            f" the next is {first.key.campaign}/{first.key.post}, due"
            f" {local:%Y-%m-%d %H:%M %Z} ({first.at:%H:%MZ})."
        )


def upcoming(
    plan: LoadedPlan,
    ledger: Ledger,
    now: datetime,
    campaigns: Sequence[str],
    paused: Iterable[Pause] = (),
) -> Upcoming:
    """The deliveries of `campaigns` that may still go out (not final, inside their window),
    leaving out those that another of the `paused` scopes still holds."""
    chosen = set(campaigns)
    others = [p.scope for p in paused]
    candidates = [
        d
        for d in plan.deliveries
        if d.key.campaign in chosen
        and d.deadline >= now
        and not any(covers(scope, d.key.campaign) for scope in others)
    ]
    records = ledger.get_many([d.key for d in candidates]) if candidates else {}
    waiting = []
    for delivery in candidates:
        record = records.get(delivery.key)
        if record is None or not record.is_final(delivery.at):
            waiting.append(delivery)
    return Upcoming(sorted(waiting, key=lambda d: (d.at, d.key.campaign, d.key.post)))


def scope_words(scope: str) -> str:
    return "all campaigns" if scope == ALL_CAMPAIGNS else f"campaign {scope}"


def resume_command(scope: str, ledger_args: str = "") -> str:
    """The exact command that lifts a pause on `scope`."""
    what = "--all" if scope == ALL_CAMPAIGNS else f"--campaign {scope}"
    return f"herald resume {what}{ledger_args}"
