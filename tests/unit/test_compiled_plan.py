"""The compiled plan: the same deliveries as the loaded plan, used only while it matches."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from herald import plan_format as fmt
from herald.compiled_plan import (
    CompiledPlan,
    StaleIndex,
    load_compiled,
    packaged_read_only,
    write_index,
)
from herald.plan import load_plan_strict
from herald.plan_compiler import load_all, write
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


# ---- the compact index ---------------------------------------------------------------------

THREADS = """\
campaign: {id}
title: Threads
timezone: Europe/London
max_lateness: {lateness}
accounts:
  x:
    first: {{handle: First}}
    second: {{handle: Second}}
posts:
  - id: a
    at: 2027-03-01 09:00
    text: "{id} a"
    thread: ["{id} a two", "{id} a three"]
  - id: b
    at: 2027-03-01 09:00
    text: "{id} b"
  - id: c
    at: 2027-03-02 10:30
    text: "{id} c"
"""


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """Three campaigns with threads, two accounts, different lateness, colliding times."""
    folder = tmp_path / "many"
    (folder / "nested").mkdir(parents=True)
    for name, lateness in (("zeta", "5m"), ("alpha", "15m"), ("nested/mid", "1h")):
        text = THREADS.format(id=name.split("/")[-1], lateness=lateness)
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def keys_and_times(deliveries: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [(d.key, d.at, d.deadline, d.parent_key) for d in deliveries]


def test_the_index_holds_the_loaded_plan_in_its_order_with_threads_and_lateness(
    many: Path,
) -> None:
    # Given campaigns whose deliveries share due times across campaigns and accounts
    loaded = load_plan_strict([many])
    # When compiled on two worker processes, and read back
    loaded_rows = load_all(many, workers=2)
    write(many, [item.rows for item in loaded_rows if item.rows is not None])
    index = load_compiled(many)
    # Then every delivery is there, in the loaded plan's order, with its deadline and parent
    assert len(index) == len(loaded) == 3 * 2 * 5
    assert keys_and_times(index.deliveries) == keys_and_times(loaded.deliveries)
    assert index.accounts == {
        "x": {
            "first": {"handle": "First", "user_id": None},
            "second": {"handle": "Second", "user_id": None},
        }
    }


def test_compiling_on_every_core_writes_the_same_bytes_as_in_one_process(many: Path) -> None:
    # Given the same folder compiled in one process from a loaded plan
    path = write_index(many, load_plan_strict([many]))
    in_process = path.read_bytes()
    # When it is compiled again on two worker processes
    write(many, [item.rows for item in load_all(many, workers=2) if item.rows is not None])
    # Then the index is byte for byte the same
    assert path.read_bytes() == in_process


def test_windows_move_minute_by_minute_and_jump_with_the_same_answers(many: Path) -> None:
    # Given a compiled plan and the loaded one
    loaded = load_plan_strict([many])
    write_index(many, loaded)
    index = load_compiled(many)
    start = datetime(2027, 3, 1, 8, 50, tzinfo=UTC)
    moments = [start + timedelta(minutes=n) for n in range(0, 26 * 60, 7)]
    moments += [start + timedelta(days=2), start, start + timedelta(hours=25, minutes=40)]
    answers = []
    for now in moments:
        # When asked for the look-back window, forwards, then jumping back and forth
        window = index.between(now - timedelta(hours=24), now)
        answers.append(window)
        # Then it answers as the loaded plan does
        expected = loaded.between(now - timedelta(hours=24), now)
        assert keys_and_times(window) == keys_and_times(expected)
    # and an answer given earlier never changes afterwards
    for now, window in zip(moments, answers, strict=True):
        expected = loaded.between(now - timedelta(hours=24), now)
        assert keys_and_times(list(window)) == keys_and_times(expected)
        assert len(window) == len(expected)
        if expected:
            assert window[-1].key == expected[-1].key and window[0].key == expected[0].key


def test_a_foreign_or_other_version_index_falls_back_to_the_campaigns(campaigns: Path) -> None:
    # Given an index of another version, and then a file that is no index at all
    path = write_index(campaigns, load_plan_strict([campaigns]))
    data = bytearray(path.read_bytes())
    data[8:12] = (fmt.VERSION + 1).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    # When the function loads its plan / Then it refuses the index, saying why
    with pytest.raises(StaleIndex, match=f"version {fmt.VERSION + 1}, expected {fmt.VERSION}"):
        load_compiled(campaigns)
    path.write_bytes(b'{"version": 1, "deliveries": []}')
    with pytest.raises(StaleIndex, match="not a herald plan index"):
        load_compiled(campaigns)
    data[8:12] = fmt.VERSION.to_bytes(4, "little")
    path.write_bytes(data[: fmt.HEADER_BYTES + 16])
    with pytest.raises(StaleIndex, match="cut short"):
        load_compiled(campaigns)
    # and loads the campaigns instead
    schedule, _, _ = load_plan_for(campaigns)
    assert not isinstance(schedule, CompiledPlan)
    assert len(schedule.between(datetime(2021, 2, 1, tzinfo=UTC), datetime(2021, 3, 1, tzinfo=UTC)))


def test_a_file_touched_but_unchanged_keeps_the_index_a_changed_one_does_not(
    campaigns: Path,
) -> None:
    # Given a compiled plan
    total = len(load_plan_strict([campaigns]))
    write_index(campaigns, load_plan_strict([campaigns]))
    path = campaigns / "safer-internet-day-2021.yaml"
    text = path.read_text(encoding="utf-8")
    # When a file is copied over with the same content (a new modification time)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    # Then the index still holds (its content is hashed, and matches)
    assert len(load_compiled(campaigns)) == total
    # When one character changes, the size staying the same
    path.write_text(text.replace("Safer Internet Day", "Safer Internet Dax", 1), encoding="utf-8")
    # Then it is stale
    with pytest.raises(StaleIndex, match=r"safer-internet-day-2021\.yaml changed"):
        load_compiled(campaigns)
    path.write_text(text, encoding="utf-8")
    assert len(load_compiled(campaigns)) == total
    # And a new file, or a removed one, makes it stale too
    (campaigns / "another.yaml").write_text("campaign: another\n", encoding="utf-8")
    with pytest.raises(StaleIndex, match=r"another\.yaml is new"):
        load_compiled(campaigns)
    (campaigns / "another.yaml").unlink()
    (campaigns / "media" / "safer-internet-day-2021.png").unlink()
    with pytest.raises(StaleIndex, match="removed"):
        load_compiled(campaigns)


def test_the_packaged_read_only_campaigns_in_lambda_are_not_checked_again(
    campaigns: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a compiled plan, then an edit the index does not know of
    total = len(load_plan_strict([campaigns]))
    write_index(campaigns, load_plan_strict([campaigns]))
    (campaigns / "notes.txt").write_text("an edit\n", encoding="utf-8")
    lambda_env = {"AWS_LAMBDA_FUNCTION_NAME": "publisher"}
    # Then outside Lambda, in sam local, or on a writable folder, the files are checked
    assert not packaged_read_only(campaigns, {})
    assert not packaged_read_only(campaigns, {**lambda_env, "AWS_SAM_LOCAL": "true"})
    assert not packaged_read_only(campaigns, lambda_env)
    schedule, _, _ = load_plan_for(campaigns)
    assert not isinstance(schedule, CompiledPlan)
    # When the folder is on a read-only file system in Lambda (as /var/task is)
    real = os.statvfs(campaigns)

    class ReadOnly:
        f_flag = real.f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda path: ReadOnly())
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "publisher")
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    assert packaged_read_only(campaigns)
    # Then the index is used as built, without reading the files
    schedule, _, _ = load_plan_for(campaigns)
    assert isinstance(schedule, CompiledPlan) and len(schedule) == total


def test_a_campaign_id_used_twice_fails_the_compile(many: Path) -> None:
    # Given two files with the same campaign id
    text = (many / "alpha.yaml").read_text(encoding="utf-8")
    (many / "nested" / "copy.yaml").write_text(text, encoding="utf-8")
    # When compiled with the CLI
    done = subprocess.run(
        [sys.executable, "-m", "herald.cli", "compile", str(many)],
        capture_output=True,
        text=True,
        check=False,
    )
    # Then it fails at the second file's id, and writes no index
    assert done.returncode == 1
    assert f"{many / 'nested' / 'copy.yaml'}:1: campaign id 'alpha' is also used by" in done.stderr
    assert not (many / fmt.INDEX_NAME).exists()
