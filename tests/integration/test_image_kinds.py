"""The image kinds herald publishes are the kinds X takes: the X channel uploads each kind
the campaign check accepts, with its image type, and the fake X (like X) accepts them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from herald.channels import OutcomeKind
from herald.channels.x import XChannel
from herald.delivery import MediaItem
from herald_dev.fake_x import MEDIA_UPLOAD, FakeX

pytestmark = pytest.mark.integration

KINDS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


def image_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (128, 128, 128)).save(buffer, kind)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_is_uploaded_with_its_type_and_posted(
    fake_x: FakeX, x_channel: XChannel, tmp_path: Path, kind: str
) -> None:
    # Given a real image of a kind X takes, in a file whose name says nothing of its kind
    path = tmp_path / "picture.img"
    path.write_bytes(image_bytes(kind))
    # When a post with it is published
    outcome = x_channel.publish(
        "hertspolice", f"A {kind} picture", None, [MediaItem(path, "A grey dot")]
    )
    # Then it is SENT, with the image recorded under the type its bytes say
    assert outcome.kind is OutcomeKind.SENT, outcome.reason
    [post] = fake_x.posts
    assert [(m.content_type, m.alt) for m in post.media] == [(KINDS[kind], "A grey dot")]


def test_a_file_of_another_kind_fails_for_good_before_any_upload(
    fake_x: FakeX, x_channel: XChannel, tmp_path: Path
) -> None:
    # Given a BMP named like a PNG
    path = tmp_path / "picture.png"
    path.write_bytes(image_bytes("BMP"))
    # When a post with it is published
    outcome = x_channel.publish("hertspolice", "A bitmap", None, [MediaItem(path, "A dot")])
    # Then it FAILED for good, naming the file and the kinds X takes, and nothing was sent
    assert (outcome.kind, outcome.retryable) == (OutcomeKind.FAILED, False)
    assert outcome.reason == "media file picture.png is not a PNG, JPEG, GIF or WebP image"
    assert fake_x.counts.get(MEDIA_UPLOAD, 0) == 0
    assert fake_x.posts == []
