"""The demo's Bluesky edition of a campaign: the campaign as written, with a Bluesky account
added as the README tells a comms officer to add one."""

from __future__ import annotations

from pathlib import Path

from herald.plan import load_plan_strict
from herald_dev.bluesky_edition import with_bluesky

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"
SID = "safer-internet-day-2021.yaml"


def test_the_sid_edition_publishes_every_post_to_bluesky_too(tmp_path: Path) -> None:
    edition = with_bluesky(CAMPAIGNS, tmp_path / "c", SID)
    plan = load_plan_strict([edition])
    original = load_plan_strict([CAMPAIGNS / SID])
    by_channel = {
        c: [d.key.post for d in plan.deliveries if d.key.channel == c] for c in ("x", "bluesky")
    }
    on_x = [d.key.post for d in original.deliveries if d.key.channel == "x"]
    assert by_channel["x"] == by_channel["bluesky"] == on_x
    written = edition.read_text(encoding="utf-8")
    assert "    hertspolice: {handle: hertspolice.bsky.social}\n" in written
    assert "  channels: [x, mastodon, facebook, bluesky]\n" in written
    assert written.startswith("# Safer Internet Day 2021")  # its comments kept


def test_an_edition_for_bluesky_alone_with_a_link_card(tmp_path: Path) -> None:
    edition = with_bluesky(
        CAMPAIGNS, tmp_path / "c", SID, handle="a.test", link_card=True, channels=["bluesky"]
    )
    plan = load_plan_strict([edition])
    assert {d.key.channel for d in plan.deliveries} == {"bluesky"}
    account = plan.campaigns["safer-internet-day-2021"].accounts["bluesky"]["hertspolice"]
    assert account.settings == {
        "handle": "a.test",
        "service": "https://bsky.social",
        "link_card": True,
    }
