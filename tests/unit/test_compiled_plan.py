"""The compiled plan: the same deliveries as the loaded plan, used only while it matches."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from herald.compiled_plan import CompiledPlan, StaleIndex, load_compiled, write_index
from herald.plan import load_plan_strict
from herald.runtime import load_plan_for

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def campaigns(tmp_path: Path) -> Path:
    folder = tmp_path / "campaigns"
    shutil.copytree(REPO / "campaigns", folder)
    return folder


def compiled(folder: Path) -> CompiledPlan:
    write_index(folder, load_plan_strict([folder]))
    return load_compiled(folder)


def test_the_compiled_plan_has_every_delivery_of_the_loaded_one(campaigns: Path) -> None:
    # Given the Safer Internet Day campaign, loaded and compiled
    plan = load_plan_strict([campaigns])
    index = compiled(campaigns)
    # When both are asked for the whole campaign
    start, end = datetime(2021, 2, 1, tzinfo=UTC), datetime(2021, 3, 1, tzinfo=UTC)
    full, light = plan.between(start, end), index.between(start, end)
    # Then they hold the same deliveries, in the same order, due and late at the same times
    assert [d.key for d in light] == [d.key for d in full]
    assert [(d.at, d.deadline, d.parent_key) for d in light] == [
        (d.at, d.deadline, d.parent_key) for d in full
    ]
    # and render the same text and media
    assert [d.render() for d in light] == [d.render() for d in full]
    assert [d.media() for d in light] == [d.media() for d in full]


def test_an_index_is_refused_once_any_campaign_file_changes(campaigns: Path) -> None:
    # Given a compiled plan
    compiled(campaigns)
    # When the campaign file is edited afterwards
    path = campaigns / "safer-internet-day-2021.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    # Then the index no longer loads, and the function falls back to loading the campaigns
    with pytest.raises(StaleIndex, match="changed since it was compiled"):
        load_compiled(campaigns)
    schedule, accounts, refused = load_plan_for(campaigns)
    assert not isinstance(schedule, CompiledPlan)
    assert accounts["x"] == {
        "hertspolice": {
            "handle": "HertsPolice",
            "name": "Hertfordshire Constabulary",
            "user_id": None,
        }
    }
    assert set(accounts) == {"x", "mastodon", "facebook"}
    assert refused == []


def test_without_an_index_the_campaigns_are_loaded(campaigns: Path) -> None:
    # Given no plan.json / When the function loads its schedule / Then it loads the campaigns
    with pytest.raises(StaleIndex):
        load_compiled(campaigns)
    schedule, _, _ = load_plan_for(campaigns)
    assert len(schedule.between(datetime(2021, 2, 1, tzinfo=UTC), datetime(2021, 3, 1, tzinfo=UTC)))


def test_a_refused_campaign_fails_the_compile_and_is_never_dropped(campaigns: Path) -> None:
    # Given a second campaign with an error beside the valid one
    (campaigns / "broken.yaml").write_text("campaign: broken\ntitle: B\n", encoding="utf-8")
    # When compiled with the CLI
    done = subprocess.run(
        [sys.executable, "-m", "herald.cli", "compile", str(campaigns)],
        capture_output=True,
        text=True,
        check=False,
    )
    # Then the build fails, naming the broken file, and writes no index
    assert done.returncode == 1, done.stderr
    assert "broken.yaml:1:" in done.stderr
    # And a function started from these files anyway loads the valid campaign and names the
    # broken one (the audit counts it MISSED): it is not silently dropped
    schedule, _, refused = load_plan_for(campaigns)
    assert not isinstance(schedule, CompiledPlan)
    assert (
        len(schedule.between(datetime(2021, 2, 1, tzinfo=UTC), datetime(2021, 3, 1, tzinfo=UTC)))
        == 33  # 13 on X, 13 on Mastodon, 7 on Facebook (a Page post per thread)
    )
    assert refused and "broken.yaml" in refused[0]


def test_an_idle_cold_start_loads_no_campaign_parser_and_no_tracer(campaigns: Path) -> None:
    # Given the packaged layout: campaigns with their compiled plan
    compiled(campaigns)
    script = f"""
import sys
from datetime import datetime, UTC
from pathlib import Path
from herald.runtime import load_plan_for
from herald.engine import Engine
schedule, _, _ = load_plan_for(Path({str(campaigns)!r}))
engine = Engine(schedule, None, {{}})
now = datetime(2026, 11, 29, 12, tzinfo=UTC)
assert not engine.has_work(now)
engine.tick(now)
heavy = ("pydantic", "ruamel", "ftfy", "jinja2", "tweepy", "boto3", "aws_xray_sdk")
print(sorted(m for m in heavy if m in sys.modules))
"""
    # When a fresh interpreter loads the schedule and runs an idle tick
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    # Then none of the heavy libraries was imported
    assert out.stdout.strip() == "[]"
