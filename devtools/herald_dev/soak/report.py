"""What the soak found: every delivery judged from the ledger and from the fake X's posts.

A post on the fake X is matched to its delivery by account and text (herald refuses two
deliveries of one text from one account, and so does X). For each delivery:

- published within its window: the ledger says SENT with the id of its post on X, and the
  tick that made that post ran at or before its deadline (due + max_lateness);
- lateness: the post's creation time on X minus the due time, in simulated seconds;
- a duplicate is a second post of the same delivery on X; while the fake X refuses a text its
  account already posted (as X does), a re-send that X refused is counted apart;
- lost: no ledger record at all once its deadline has passed.

Only deliveries whose deadline had passed by the last minute ticked are judged (all of them,
unless `--max-seconds` ran out first).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from herald_dev.soak.run import SoakRun

if TYPE_CHECKING:
    from herald.delivery import DeliveryKey
    from herald.ledger import Record
    from herald.plan import LoadedDelivery
    from herald_dev.fake_x import PublishedPost

TARGET_SHARE = 0.995


@dataclass
class Findings:
    deliveries: int = 0  # judged: past their deadline by the last minute ticked
    unjudged: int = 0  # still inside their window when the soak stopped
    in_window: int = 0
    lateness: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # final state, "on X" or not
    duplicates: int = 0
    lost: int = 0
    wrong_record: int = 0  # SENT with an id that is not this delivery's post
    wrong_parent: int = 0  # a reply posted under another post than its parent's
    unexpected_posts: int = 0  # posts on X no delivery explains
    missed: list[str] = field(default_factory=list)  # not published in window: why

    @property
    def share(self) -> float:
        return self.in_window / self.deliveries if self.deliveries else 0.0


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    wanted: str
    met: bool


def analyse(run: SoakRun) -> Findings:
    findings = Findings()
    last = run.stats.last_minute
    by_text = {(key.account, text): key for key, text in run.texts.items()}
    posts_of: dict[DeliveryKey, list[PublishedPost]] = {}
    for post in sorted(run.posts, key=lambda p: p.created_at):
        key = by_text.get((post.account, post.text))
        if key is None:
            findings.unexpected_posts += 1
        else:
            posts_of.setdefault(key, []).append(post)
    for delivery in run.plan.deliveries:
        if last is None or delivery.deadline >= last:
            findings.unjudged += 1
            continue
        findings.deliveries += 1
        _judge(delivery, run.records.get(delivery.key), posts_of, findings)
    return findings


def _judge(
    delivery: LoadedDelivery,
    record: Record | None,
    posts_of: dict[DeliveryKey, list[PublishedPost]],
    findings: Findings,
) -> None:
    found = posts_of.get(delivery.key, [])
    findings.duplicates += max(len(found) - 1, 0)
    if delivery.parent_key is not None and found:
        parents = {p.id for p in posts_of.get(delivery.parent_key, [])}
        findings.wrong_parent += sum(1 for p in found if p.reply_to not in parents)
    state = record.state.value if record is not None else "no record"
    findings.outcomes[f"{state}, {'on X' if found else 'not on X'}"] += 1
    if record is None:
        findings.lost += 1
        findings.missed.append(f"{delivery.key} due {_hm(delivery.at)}: no record")
        return
    if record.state.value == "SENT" and record.remote_id not in {p.id for p in found}:
        findings.wrong_record += 1
    first = found[0] if found else None
    if record.state.value == "SENT" and first is not None and record.remote_id == first.id:
        tick = first.created_at.replace(second=0, microsecond=0)
        if tick <= delivery.deadline:
            findings.in_window += 1
            findings.lateness.append((first.created_at - delivery.at).total_seconds())
            return
    reason = f". {record.reason}" if record.reason else ""
    findings.missed.append(f"{delivery.key} due {_hm(delivery.at)}: {state}{reason}")


def targets(run: SoakRun, findings: Findings) -> list[Target]:
    stats = run.stats
    share = f"{findings.share:.2%} ({findings.in_window} / {findings.deliveries})"
    return [
        Target(
            "duplicates: a delivery posted more than once on X",
            str(findings.duplicates),
            "0",
            findings.duplicates == 0,
        ),
        Target(
            "re-sends of a post already on X (X refused them as duplicate content)",
            str(run.duplicate_refusals),
            "0",
            run.duplicate_refusals == 0,
        ),
        Target(
            "lost: past its deadline with no ledger record",
            str(findings.lost),
            "0",
            findings.lost == 0,
        ),
        Target(
            "published within max_lateness",
            share,
            f"≥ {TARGET_SHARE:.1%}",
            findings.share >= TARGET_SHARE,
        ),
        Target(
            "SENT records that name another post, or none on X",
            str(findings.wrong_record),
            "0",
            findings.wrong_record == 0,
        ),
        Target(
            "replies posted under another post than their parent",
            str(findings.wrong_parent),
            "0",
            findings.wrong_parent == 0,
        ),
        Target(
            "posts on X that no delivery explains",
            str(findings.unexpected_posts),
            "0",
            findings.unexpected_posts == 0,
        ),
        Target(
            "minutes ticked, of the whole span",
            f"{stats.minutes} / {stats.span}",
            "all",
            stats.complete,
        ),
    ]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction in 0..1); 0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _hm(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%MZ")
