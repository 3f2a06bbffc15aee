"""A whole campaign through the engine: DynamoDB Local, and the fake X API, Mastodon and
Facebook Graph API over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from herald import simulate
from herald.channels import Channel
from herald.channels.x import XChannel
from herald.engine import Engine, Event
from herald.ledger import State
from herald.ledger.dynamodb import DynamoLedger
from herald.plan import LoadedPlan
from herald_dev.fake_facebook import FakeFacebook
from herald_dev.fake_mastodon import FakeMastodon
from herald_dev.fake_x import FakeX
from tests.integration.conftest import assert_published_once, plan_of, tweet_calls

pytestmark = pytest.mark.integration

START = datetime(2021, 2, 8, 0, 0, tzinfo=UTC)
END = datetime(2021, 2, 11, 0, 0, tzinfo=UTC)


def test_safer_internet_day_publishes_every_delivery_once(
    sid_plan: LoadedPlan,
    ledger: DynamoLedger,
    fake_x: FakeX,
    fake_mastodon: FakeMastodon,
    fake_facebook: FakeFacebook,
    make_x_channel: Callable[..., XChannel],
    make_mastodon_channel: Callable[..., Channel],
    make_facebook_channel: Callable[..., Channel],
) -> None:
    # Given the Safer Internet Day campaign, the DynamoDB ledger, X, Mastodon and the Page
    channel = make_x_channel()
    channels = {
        "x": channel,
        "mastodon": make_mastodon_channel(),
        "facebook": make_facebook_channel(),
    }
    timeline = simulate.Timeline()
    # When every minute from 8 to 11 February ticks
    summaries = simulate.run(sid_plan, ledger, channels, START, END, observer=timeline)
    # Then all 4,321 ticks ran, and each of the 33 deliveries was published once, on time:
    # 13 on X, 13 on Mastodon, and 7 on the Page (each thread one post)
    assert len(summaries) == 4321
    assert len(sid_plan) == 33
    assert [r.event for r in timeline.results] == [Event.PUBLISHED] * 33
    assert all(r.lateness == 0 for r in timeline.results)
    on_x = [d for d in sid_plan.deliveries if d.key.channel == "x"]
    assert tweet_calls(fake_x) == 13
    assert_published_once(fake_x, sid_plan, [d.key for d in on_x])
    # And on Mastodon, each part is a status once, replying to the part before it, with alt text
    toots = {s.text: s for s in fake_mastodon.statuses}
    assert len(toots) == len(fake_mastodon.statuses) == 13
    for delivery in (d for d in sid_plan.deliveries if d.key.channel == "mastodon"):
        status = toots[delivery.render()]
        parent = sid_plan.get(delivery.parent_key) if delivery.parent_key else None
        assert status.in_reply_to_id == (toots[parent.render()].id if parent else None)
        assert [m.description for m in status.media] == [m.alt for m in delivery.part.media]
    # And on the Page, each post once, a thread as its parts joined, the image with its alt
    pages = {p.message: p for p in fake_facebook.posts}
    assert len(pages) == len(fake_facebook.posts) == 7
    for delivery in (d for d in sid_plan.deliveries if d.key.channel == "facebook"):
        on_page = pages[delivery.render()]
        assert [p.alt_text for p in on_page.photos] == [m.alt for m in delivery.part.media]
    assert any(text.count("\n\n") >= 4 for text in pages)  # how-to-report: five parts
    # And each thread part replies to the part before it, in order
    by_text = {p.text: p for p in fake_x.posts}
    for delivery in on_x:
        post = by_text[delivery.render()]
        if delivery.parent_key is None:
            assert post.reply_to is None
        else:
            parent = sid_plan.get(delivery.parent_key)
            assert parent is not None
            assert post.reply_to == by_text[parent.render()].id
            assert by_text[parent.render()].created_at <= post.created_at
    # And the launch image went up with its alt text
    launch = next(d for d in on_x if d.key.post == "launch")
    [image] = by_text[launch.render()].media
    assert image.alt == launch.part.media[0].alt
    assert image.content_type == "image/png"
    # And every record is SENT with its network's id and URL, at the first attempt
    records = ledger.records("safer-internet-day-2021")
    assert len(records) == 33
    for record in records:
        recorded = sid_plan.get(record.key)
        assert recorded is not None
        assert record.state is State.SENT
        assert record.attempts == 1
        if record.key.channel == "x":
            post = by_text[recorded.render()]
            assert record.remote_id == post.id
            assert record.remote_url == f"https://x.com/HertsPolice/status/{post.id}"
        elif record.key.channel == "mastodon":
            status_id = toots[recorded.render()].id
            assert record.remote_id == status_id
            assert record.remote_url == f"https://police.example/@hertspolice/{status_id}"
        else:
            page_post = pages[recorded.render()]
            assert (record.remote_id, record.remote_url) == (page_post.id, page_post.permalink_url)
    # And the audit finds nothing missing
    assert Engine(sid_plan, ledger, channels).audit(END) == []


def test_after_a_two_hour_outage_only_what_is_still_in_time_goes_out(
    sid_plan: LoadedPlan,
    ledger: DynamoLedger,
    fake_x: FakeX,
    make_x_channel: Callable[..., XChannel],
    make_mastodon_channel: Callable[..., Channel],
    make_facebook_channel: Callable[..., Channel],
) -> None:
    # Given no tick ran from 10:00 to 12:10 on 9 February (on X, and Mastodon and the Page)
    channels = {
        "x": make_x_channel(),
        "mastodon": make_mastodon_channel(),
        "facebook": make_facebook_channel(),
    }
    engine = Engine(sid_plan, ledger, channels, simulate.Timeline())
    outage = (datetime(2021, 2, 9, 10, 0, tzinfo=UTC), datetime(2021, 2, 9, 12, 10, tzinfo=UTC))
    timeline = engine.observer
    assert isinstance(timeline, simulate.Timeline)
    # When the ticks before and after it run
    for minute in simulate.minutes(START, END):
        if not outage[0] <= minute < outage[1]:
            engine.tick(minute)
    # Then the 12:00 thread went out at 12:10, inside its 15 minutes, in order
    events = {r.key.post: r for r in timeline.results if r.key.channel == "x"}
    on_x = [d for d in sid_plan.deliveries if d.key.channel == "x"]
    report = [d.key.post for d in on_x if d.key.post.startswith("how-to-report")]
    assert len(report) == 5
    for post in report:
        assert events[post].event is Event.PUBLISHED
        assert events[post].at == outage[1]
        assert events[post].lateness == 600
    # And the 10:00 thread is SKIPPED (late), with the reason, and never published
    advice = [d for d in on_x if d.key.post.startswith("cost-advice")]
    assert len(advice) == 3
    records = ledger.get_many([d.key for d in advice])
    for delivery in advice:
        assert events[delivery.key.post].event is Event.SKIPPED_LATE
        assert records[delivery.key].state is State.SKIPPED
        assert "late" in (records[delivery.key].reason or "")
    advice_texts = {d.render() for d in advice}
    assert not advice_texts & {p.text for p in fake_x.posts}
    # And everything else went out once, and the audit is empty
    published = [d.key for d in on_x if d not in advice]
    assert_published_once(fake_x, sid_plan, published)
    assert tweet_calls(fake_x) == 10
    assert engine.audit(END) == []


LONG_THREAD = """\
campaign: long-thread
title: Long thread
timezone: Europe/London
accounts:
  x:
    hertspolice: {handle: HertsPolice}
posts:
  - id: advice
    at: 2021-02-09 08:00
    text: "Online safety advice, part 1"
    thread: [PARTS]
""".replace("PARTS", ", ".join(f'"Online safety advice, part {n}"' for n in range(2, 12)))


def test_a_thread_of_eleven_parts_goes_out_in_order_in_one_tick(
    tmp_path: Path,
    ledger: DynamoLedger,
    fake_x: FakeX,
    make_x_channel: Callable[..., XChannel],
) -> None:
    # Given a thread of eleven parts due at 08:00
    plan = plan_of(tmp_path, LONG_THREAD)
    engine = Engine(plan, ledger, {"x": make_x_channel()})
    # When 08:00 ticks
    summary = engine.tick(datetime(2021, 2, 9, 8, 0, tzinfo=UTC))
    # Then every part went out in that tick, in order, none held back for its parent
    assert [r.detail for r in summary.results if r.event is Event.DEFERRED] == []
    assert summary.counts["Published"] == 11
    assert [p.text for p in fake_x.posts] == [
        f"Online safety advice, part {n}" for n in range(1, 12)
    ]
