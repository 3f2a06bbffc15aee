"""The images herald publishes: one table of kinds, told by a file's first bytes, used alike
by the campaign check and the X channel (and the fake X), so what validates publishes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from herald.campaign import load_campaign
from herald.media import HEAD_BYTES, IMAGE_KINDS, image_type

KINDS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}

CAMPAIGN = """\
campaign: pictures
title: Pictures
timezone: Europe/London
accounts:
  x:
    herald: {handle: HeraldDemo}
posts:
  - id: one
    at: 2021-03-01 09:00
    text: A picture
    media:
      - file: picture.img
        alt: A grey dot
"""  # the file is on line 12


def image_bytes(kind: str) -> bytes:
    """A real 1x1 image of `kind`, as Pillow writes it."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (128, 128, 128)).save(buffer, kind)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_x_takes_is_told_by_its_first_bytes(kind: str) -> None:
    # Given a real image of a kind X takes
    head = image_bytes(kind)[:HEAD_BYTES]
    # When its kind is asked from its first bytes / Then it is that image type
    assert image_type(head) == KINDS[kind]


def test_both_gif_versions_are_gifs() -> None:
    # Given the headers of GIF 87a and 89a files / Then both are GIFs
    assert image_type(b"GIF87a\x01\x00\x01\x00") == "image/gif"
    assert image_type(b"GIF89a\x01\x00\x01\x00") == "image/gif"


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"just text",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"\x89PNG",
        b"BM6\x00\x00\x00",
        b"%PDF-1.7",
    ],
    ids=["empty", "text", "a WAV sound", "a cut-off PNG header", "a BMP", "a PDF"],
)
def test_other_files_are_no_image_herald_publishes(head: bytes) -> None:
    # Given the start of a file that is not a PNG, JPEG, GIF or WebP image
    # When its kind is asked / Then there is none
    assert image_type(head) is None


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_campaign_with_any_kind_x_takes_loads(tmp_path: Path, kind: str) -> None:
    # Given a campaign whose image is a real image of a kind X takes (any file name)
    (tmp_path / "picture.img").write_bytes(image_bytes(kind))
    path = tmp_path / "pictures.yaml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    # When it is loaded / Then it loads without a problem
    result = load_campaign(path)
    assert result.problems == []
    assert result.campaign is not None


def test_a_campaign_with_an_image_of_another_kind_names_the_kinds_x_takes(
    tmp_path: Path,
) -> None:
    # Given a campaign whose image is a BMP
    (tmp_path / "picture.img").write_bytes(image_bytes("BMP"))
    path = tmp_path / "pictures.yaml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    # When it is loaded / Then it is refused at the file's line, naming the kinds
    result = load_campaign(path)
    assert result.campaign is None
    assert [(p.line, p.message) for p in result.errors] == [
        (12, f"post 'one', image 1: media file picture.img is not a {IMAGE_KINDS} image")
    ]
    assert IMAGE_KINDS == "PNG, JPEG, GIF or WebP"
