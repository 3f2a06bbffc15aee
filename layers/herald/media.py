"""The images a post carries: which kinds herald publishes, and where their files may be.

X takes PNG, JPEG, GIF and WebP images, and so does herald. The campaign check
(herald.campaign), the X channel (herald.channels.x) and the development fake of X all
tell an image's kind by this one table, so what validates is what publishes.

A media file must be under its campaign's folder: `herald validate` refuses one that is
not, and a channel reads media only through `read_media`, which refuses it too.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from herald.delivery import MediaItem

IMAGE_KINDS = "PNG, JPEG, GIF or WebP"  # as a sentence names the kinds below
HEAD_BYTES = 12  # the start of a file that tells every kind below

_SIGNATURES: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    ("image/png", re.compile(rb"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", re.compile(rb"\xff\xd8\xff")),
    ("image/gif", re.compile(rb"GIF8[79]a")),
    ("image/webp", re.compile(rb"RIFF.{4}WEBP", re.DOTALL)),  # RIFF, the size, WEBP
)


def image_type(head: bytes) -> str | None:
    """The media type of an image whose file starts with `head`, or None when it is not an
    image herald publishes."""
    return next((kind for kind, signature in _SIGNATURES if signature.match(head)), None)


# ---- where a media file may be ----------------------------------------------------------------
#
# Only a campaign's folder is packaged with the function, so a post may carry only files
# under the folder of its campaign file. Links are followed before the check: a link in
# the folder that points out of it is outside too.


class UnusableMedia(Exception):
    """A media file that cannot be published with its post; the message says why."""


def escape(folder: Path, path: Path) -> str | None:
    """How the file at `path` (absolute, or relative to `folder`) leaves `folder`, as the
    start of a phrase naming the folder ("is outside the campaign's folder", "links to X,
    outside the campaign's folder"); None when it is under it."""
    target = (folder / path).resolve()
    if target.is_relative_to(folder.resolve()):
        return None
    written = Path(os.path.normpath(folder.absolute() / path))
    if written.is_relative_to(Path(os.path.normpath(folder.absolute()))):
        return f"links to {target}, outside the campaign's folder"
    return "is outside the campaign's folder"


def read_media(item: MediaItem) -> tuple[bytes, str]:
    """The content and image type of a media file, read only from under its campaign's
    folder. UnusableMedia when it is outside that folder (then it is not read at all),
    cannot be read, or is no image herald publishes."""
    path = item.path
    if item.folder is not None:
        outside = escape(item.folder, path)
        if outside is not None:
            raise UnusableMedia(
                f"media file {path} {outside} {item.folder}: herald publishes only files"
                " under it, and did not read this one"
            )
        path = (item.folder / path).resolve()  # what was checked, not a link that may move
    try:
        content = path.read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UnusableMedia(f"cannot read media file {item.path}: {reason}") from None
    kind = image_type(content)
    if kind is None:
        raise UnusableMedia(f"media file {item.path.name} is not a {IMAGE_KINDS} image")
    return content, kind
