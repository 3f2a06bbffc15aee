"""Media stays inside the campaign's folder. Only that folder is packaged with the function,
so a media file outside it (`../outside.png`, an absolute path, a link in media/ that
points out) is refused by `herald validate` at its FILE:LINE; and at run time such a file
is never read: its delivery FAILS for good, saying why. No network: the X channel runs
on an in-memory transport."""

from __future__ import annotations

import io
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from requests.adapters import BaseAdapter

from herald.campaign import load_campaign
from herald.channels import OutcomeKind
from herald.channels.x import XChannel
from herald.cli import main
from herald.credentials import StaticCredentials
from herald.delivery import DeliveryKey, MediaItem
from herald.engine import Engine
from herald.ledger import State
from herald.ledger.sqlite import SqliteLedger
from herald.plan import load_plan_strict
from herald.validate import validate

HERALD = Path(sys.executable).with_name("herald")
NOW = datetime(2031, 1, 1, tzinfo=UTC)
NOW_ISO = "2031-01-01T00:00:00Z"
DUE = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)  # the post's time (London is on UTC then)
PACKAGED = "only files under it are packaged with the function"
SECRET = {
    "x": {
        "hertspolice": {
            "consumer_key": "media-ck-1",
            "consumer_secret": "media-cs-2",
            "access_token": "media-at-3",
            "access_token_secret": "media-ats-4",
        }
    }
}

CAMPAIGN = """\
campaign: launch
title: Launch
timezone: Europe/London
accounts:
  x:
    hertspolice: {handle: HertsPolice}
posts:
  - id: launch
    at: 2031-03-01 09:00
    text: We are live
    media:
      - file: FILE
        alt: The launch poster
"""  # the file is on line 12


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class Site:
    """A checkout: campaigns/ (the packaged folder) with media/poster.png, a link
    media/link.png to outside.png, which lies next to campaigns/, outside it."""

    root: Path
    campaigns: Path
    outside: Path

    def campaign(self, text: str, name: str = "launch.yaml") -> Path:
        path = self.campaigns / name
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def site(tmp_path: Path) -> Site:
    campaigns = tmp_path / "campaigns"
    (campaigns / "media").mkdir(parents=True)
    (campaigns / "media" / "poster.png").write_bytes(png())
    outside = tmp_path / "outside.png"
    outside.write_bytes(png())
    (campaigns / "media" / "link.png").symlink_to(outside)
    return Site(tmp_path, campaigns, outside)


@dataclass(frozen=True)
class Escape:
    """A way out of the campaign's folder: the file as written, and how validate says it
    leaves (the words between the file and the folder's name)."""

    name: str
    written: str
    leaves: str  # "{outside}" stands for the outside file's real path

    def file(self, site: Site) -> str:
        return self.written.replace("{root}", str(site.root))

    def sentence(self, site: Site, folder: str) -> str:
        leaves = self.leaves.replace("{outside}", str(site.outside.resolve()))
        return f"post 'launch', image 1: media file {self.file(site)} {leaves} {folder}"

    def __str__(self) -> str:
        return self.name


ESCAPES = [
    Escape("relative ..", "../outside.png", "is outside the campaign's folder"),
    Escape(
        "absolute path",
        "{root}/outside.png",
        "is an absolute path: write it relative to the campaign's folder",
    ),
    Escape(
        "link pointing out", "media/link.png", "links to {outside}, outside the campaign's folder"
    ),
]


def expected(escape: Escape, site: Site, folder: str) -> str:
    """The whole sentence validate prints for `escape`, the folder shown as `folder`."""
    separator = ";" if escape.name == "absolute path" else ":"
    return f"{escape.sentence(site, folder)}{separator} {PACKAGED}"


# ---- herald validate ------------------------------------------------------------------------


@pytest.mark.parametrize("escape", ESCAPES, ids=str)
def test_validate_refuses_a_media_file_outside_the_campaigns_folder(
    site: Site, escape: Escape
) -> None:
    # Given a campaign whose image is outside its folder, though the file is a real image
    path = site.campaign(CAMPAIGN.replace("FILE", escape.file(site)))
    # When it is validated
    report = validate([path], NOW)
    # Then one error, at the file's line, says it is outside the folder and why that matters
    folder = f"{site.campaigns}/"
    assert [(p.file, p.line, p.message) for p in report.errors] == [
        (str(path), 12, expected(escape, site, folder))
    ]
    assert report.campaigns == []


@pytest.mark.parametrize("escape", ESCAPES, ids=str)
def test_cli_validate_prints_file_line_for_a_media_file_outside(
    site: Site,
    escape: Escape,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a comms officer in the checkout, and a campaign whose image is outside its folder
    site.campaign(CAMPAIGN.replace("FILE", escape.file(site)))
    monkeypatch.chdir(site.root)
    # When they validate the campaigns folder
    code = main(["validate", "campaigns", "--now", NOW_ISO])
    # Then exit 1, and stderr says FILE:LINE: the sentence, naming the folder as typed
    out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        f"campaigns/launch.yaml:12: {expected(escape, site, 'campaigns/')}",
        "1 error; nothing was published.",
    ]
    assert out == ""


def test_installed_herald_validate_reports_all_three_escapes_at_their_lines(site: Site) -> None:
    # Given one post with three images, each leaving the campaign's folder another way
    media = "".join(
        f"      - file: {escape.file(site)}\n        alt: Poster {n}\n"
        for n, escape in enumerate(ESCAPES, start=1)
    )
    site.campaign(CAMPAIGN.split("      - file:")[0] + media)
    # When the installed command validates the campaigns folder
    proc = subprocess.run(
        [str(HERALD), "validate", "campaigns", "--now", NOW_ISO],
        cwd=site.root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then exit 1 without a traceback, each image refused at its own line
    lines = proc.stderr.splitlines()
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    for line, (n, escape) in zip((12, 14, 16), enumerate(ESCAPES, start=1), strict=True):
        sentence = expected(escape, site, "campaigns/").replace("image 1", f"image {n}")
        assert f"campaigns/launch.yaml:{line}: {sentence}" in lines, proc.stderr
    assert lines[-1] == "3 errors; nothing was published."


def test_an_outside_file_in_a_thread_part_is_refused_at_its_line(site: Site) -> None:
    # Given a thread whose second part carries an image from outside the folder
    path = site.campaign(
        CAMPAIGN.replace("FILE", "media/poster.png")
        + "    thread:\n"
        + "      - text: And the details\n"
        + "        media:\n"
        + "          - {file: ../outside.png, alt: Details}\n"
    )
    # When it is loaded / Then the thread part's image is refused at its line
    result = load_campaign(path)
    assert result.campaign is None
    assert [(p.line, p.message) for p in result.errors] == [
        (
            17,
            "post 'launch', thread item 1, image 1: media file ../outside.png is"
            f" outside the campaign's folder {site.campaigns}/: {PACKAGED}",
        )
    ]


def test_an_outside_file_is_reported_beside_a_schema_error(site: Site) -> None:
    # Given a campaign with a schema error (an image without alt text) and, in another
    # post, an image outside the folder
    path = site.campaign(
        CAMPAIGN.replace("FILE", "media/poster.png").replace("        alt: The launch poster\n", "")
        + "  - id: later\n"
        + "    at: 2031-03-02 09:00\n"
        + "    text: Later\n"
        + "    media: [{file: ../outside.png, alt: Later}]\n"
    )
    # When it is loaded / Then one run reports both, each at its line
    assert [(p.line, p.message) for p in load_campaign(path).errors] == [
        (
            12,
            "post 'launch', image 1 has no alt text: describe the image for people who cannot"
            " see it (alt: ...)",
        ),
        (
            16,
            "post 'later', image 1: media file ../outside.png is outside the campaign's folder"
            f" {site.campaigns}/: {PACKAGED}",
        ),
    ]


def test_an_outside_file_that_does_not_exist_is_outside_not_missing(site: Site) -> None:
    # Given an image named outside the folder that is not there either
    path = site.campaign(CAMPAIGN.replace("FILE", "../nowhere/missing.png"))
    # When it is loaded / Then it is refused for leaving the folder (it would never be
    # packaged wherever it was), not sent looking for outside the folder
    [problem] = load_campaign(path).errors
    assert "is outside the campaign's folder" in problem.message
    assert "does not exist" not in problem.message


@pytest.mark.parametrize(
    "written",
    ["media/poster.png", "./media/../media/poster.png", "media/inner-link.png"],
    ids=["plain", "a detour that stays inside", "a link to a file inside"],
)
def test_files_under_the_campaigns_folder_are_accepted(site: Site, written: str) -> None:
    # Given an image under the folder: plainly, by a detour, or through a link inside
    (site.campaigns / "media" / "inner-link.png").symlink_to(site.campaigns / "media/poster.png")
    path = site.campaign(CAMPAIGN.replace("FILE", written))
    # When it is validated / Then it is valid
    report = validate([path], NOW)
    assert report.errors == []
    assert len(report.campaigns) == 1


# ---- at run time -----------------------------------------------------------------------------


class Transport(BaseAdapter):
    """Answers X's three calls with success and records every request: no network."""

    ANSWERS: Mapping[str, tuple[int, str]] = {
        "/2/media/upload": (200, '{"data": {"id": "77", "media_key": "3_77"}}'),
        "/2/media/metadata": (200, '{"data": {"id": "77"}}'),
        "/2/tweets": (201, '{"data": {"id": "1001", "text": "We are live"}}'),
    }

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        path = urllib.parse.urlparse(request.url or "").path
        self.sent.append(path)
        status, body = self.ANSWERS[path]
        answer = requests.Response()
        answer.status_code = status
        answer.raw = io.BytesIO(body.encode())
        answer.headers["content-type"] = "application/json"
        answer.request = request
        return answer

    def close(self) -> None:
        pass


def channel_on(transport: Transport) -> XChannel:
    return XChannel(
        {"hertspolice": {"handle": "HertsPolice"}},
        StaticCredentials(SECRET),
        base_url="http://x.example.test",
        transport=transport,
        clock=lambda: DUE,
    )


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file read through Path.read_bytes during the test, by its real path."""
    seen: list[Path] = []
    read_bytes = Path.read_bytes

    def recording(self: Path) -> bytes:
        seen.append(self.resolve())
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", recording)
    return seen


@pytest.mark.parametrize(
    "written",
    ["../outside.png", "{root}/outside.png", "media/link.png"],
    ids=["relative ..", "absolute path", "link pointing out"],
)
def test_at_run_time_a_file_outside_the_folder_fails_for_good_unread(
    site: Site, written: str, reads: list[Path]
) -> None:
    # Given an image to publish that is outside its campaign's folder
    item = MediaItem(Path(written.replace("{root}", str(site.root))), "Poster", site.campaigns)
    transport = Transport()
    # When the X channel publishes a post with it
    outcome = channel_on(transport).publish("hertspolice", "We are live", None, [item])
    # Then it FAILED for good, saying why; nothing was sent, and the file was not read
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert f"outside the campaign's folder {site.campaigns}" in (outcome.reason or "")
    assert "herald publishes only files under it, and did not read this one" in (
        outcome.reason or ""
    )
    assert transport.sent == []
    assert site.outside.resolve() not in reads


def test_at_run_time_a_file_inside_the_folder_is_uploaded(site: Site) -> None:
    # Given an image under its campaign's folder
    item = MediaItem(site.campaigns / "media" / "poster.png", "Poster", site.campaigns)
    transport = Transport()
    # When the X channel publishes a post with it
    outcome = channel_on(transport).publish("hertspolice", "We are live", None, [item])
    # Then it is uploaded, described and posted
    assert outcome.kind is OutcomeKind.SENT, outcome.reason
    assert transport.sent == ["/2/media/upload", "/2/media/metadata", "/2/tweets"]


def test_a_delivery_whose_image_comes_to_point_outside_fails_for_good_unread(
    site: Site, reads: list[Path]
) -> None:
    # Given a valid campaign, loaded, whose image is then replaced by a link pointing out
    plan = load_plan_strict([site.campaign(CAMPAIGN.replace("FILE", "media/poster.png"))])
    poster = site.campaigns / "media" / "poster.png"
    poster.unlink()
    poster.symlink_to(site.outside)
    ledger = SqliteLedger(site.root / "ledger.sqlite3")
    transport = Transport()
    engine = Engine(plan, ledger, {"x": channel_on(transport)})
    # When the minute it is due ticks
    engine.tick(DUE)
    # Then the delivery FAILED for good with the reason in the ledger, nothing was sent,
    # and the outside file was not read
    key = DeliveryKey("launch", "launch", "x", "hertspolice")
    record = ledger.get_many([key])[key]
    assert (record.state, record.retryable) == (State.FAILED, False)
    assert (
        f"media file {poster} links to {site.outside.resolve()}, outside the campaign's folder"
        f" {site.campaigns}" in (record.reason or "")
    )
    assert transport.sent == []
    assert site.outside.resolve() not in reads


def test_a_deliverys_images_carry_the_campaigns_folder(site: Site) -> None:
    # Given a loaded campaign with an image
    plan = load_plan_strict([site.campaign(CAMPAIGN.replace("FILE", "media/poster.png"))])
    # When its delivery's media are listed / Then each is bound to the campaign's folder
    [delivery] = plan.deliveries
    assert delivery.media() == [
        MediaItem(
            (site.campaigns / "media" / "poster.png").resolve(), "The launch poster", site.campaigns
        )
    ]
