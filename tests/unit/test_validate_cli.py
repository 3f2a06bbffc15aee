"""`herald validate` and `herald preview` on good input: exit codes, where output goes, and
the JSON contract other tools rely on. (Bad input: test_campaign_bad_input.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from herald.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "campaigns"
HERALD = Path(sys.executable).with_name("herald")
BEFORE = "2021-01-01T00:00:00Z"  # before every post of the valid campaign
AFTER = "2022-01-01T00:00:00Z"  # after all of them


@pytest.fixture(autouse=True)
def in_campaigns_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the campaigns folder, as a comms officer would, with relative paths."""
    monkeypatch.chdir(DATA)


def test_valid_campaign_exits_0_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the valid campaign, validated before its posts are due
    # When it is validated
    code = main(["validate", "valid", "--now", BEFORE])
    # Then exit 0, a one-line summary on stdout, nothing on stderr
    out, err = capsys.readouterr()
    assert code == 0
    assert out == "1 campaign(s) valid: 5 deliveries.\n"
    assert err == ""


def test_past_posts_are_warnings_that_quiet_hides(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the valid campaign, validated after all its posts were due
    # When it is validated, then validated quietly
    loud = main(["validate", "valid", "--now", AFTER])
    _, loud_err = capsys.readouterr()
    quiet = main(["validate", "valid", "--now", AFTER, "--quiet"])
    _, quiet_err = capsys.readouterr()
    # Then both exit 0; the warning names the file and line; quiet prints none
    assert (loud, quiet) == (0, 0)
    assert loud_err.startswith("valid/demo-day-2021.yaml:15: warning: all 3 posts are in the past")
    assert quiet_err == ""


def test_preview_json_lists_every_delivery_in_time_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the valid campaign
    # When it is previewed as JSON
    code = main(["preview", "valid", "--json", "--now", BEFORE])
    out, err = capsys.readouterr()
    rows = json.loads(out)
    # Then exit 0, and one object per delivery, in time order, with the agreed fields
    assert code == 0
    assert err == ""
    assert [(r["post"], r["at"], r["reply_to"]) for r in rows] == [
        ("launch", "2021-03-27T09:00:00Z", None),
        ("advice", "2021-03-29T08:00:00Z", None),
        ("advice.2", "2021-03-29T08:00:00Z", "advice"),
        ("advice.3", "2021-03-29T08:00:00Z", "advice.2"),
        ("wrap-up", "2021-10-30T17:30:00Z", None),
    ]
    assert {(r["campaign"], r["channel"], r["account"]) for r in rows} == {
        ("demo-day-2021", "x", "herald")
    }
    by_post = {r["post"]: r for r in rows}
    assert by_post["launch"]["text"] == "Today is Demo Day 2021 #DemoDay"
    assert by_post["launch"]["media"] == [{"file": "media/tiny.png", "alt": "A single grey pixel"}]
    assert by_post["advice"]["text"] == "Three tips on X #DemoDay"  # the X override
    assert by_post["advice.3"]["media"] == [{"file": "media/tiny.png", "alt": "Another grey pixel"}]
    assert by_post["wrap-up"]["text"] == "Thank you for joining Demo Day 2021.\nSee you next year."


def test_preview_table_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the valid campaign / When it is previewed as a table
    code = main(["preview", "valid", "--now", BEFORE])
    out, _ = capsys.readouterr()
    # Then exit 0, with local and UTC times side by side
    assert code == 0
    assert "09:00 BST  (08:00Z)" in out
    assert "5 deliveries from 1 campaign(s): demo-day-2021" in out


def test_folder_without_campaigns_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an empty folder / When it is validated
    code = main(["validate", str(tmp_path)])
    # Then exit 1: finding nothing to check is not success
    _, err = capsys.readouterr()
    assert code == 1
    assert f"{tmp_path}:1: no campaign files (*.yaml) found here" in err


def test_missing_file_is_an_error_at_line_1(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a name that does not exist / When it is validated
    code = main(["validate", "nowhere.yaml"])
    # Then exit 1 with FILE:LINE
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("nowhere.yaml:1: no such file\n")


def test_installed_herald_validates_the_valid_campaign() -> None:
    # Given the installed command / When it validates the valid campaign
    proc = subprocess.run(
        [str(HERALD), "validate", "valid", "--now", BEFORE],
        cwd=DATA,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then exit 0 and the summary
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "1 campaign(s) valid: 5 deliveries.\n"
    assert proc.stderr == ""
