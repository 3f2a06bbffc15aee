"""The images a post carries: which kinds herald publishes, told by their first bytes.

X takes PNG, JPEG, GIF and WebP images, and so does herald. The campaign check
(herald.campaign), the X channel (herald.channels.x) and the development fake of X all
recognise an image by this one table, so what validates is what publishes.
"""

from __future__ import annotations

import re

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
