"""What a Bluesky post embeds: its images (uploaded blobs, with alt text and their aspect
ratio, sent as they are: herald never resizes or re-encodes an image), or a link card.

The aspect ratio lets the Bluesky app lay an image out before it loads; it is read from the
image's own header (PNG, GIF, WebP, JPEG), and left out when the header does not say.
A link card (`app.bsky.embed.external`) names the link, a title and a description; herald
fetches nothing from the web for it, so its title is the link's site and its description
the link itself.
"""

from __future__ import annotations

import struct
from typing import Any
from urllib.parse import urlsplit

MAX_IMAGE_BYTES = 2_000_000
MAX_IMAGES = 4


def images_embed(blobs: list[tuple[dict[str, Any], str, bytes]]) -> dict[str, Any]:
    """The `app.bsky.embed.images` of uploaded images: (blob ref, alt text, content) each."""
    images = []
    for blob, alt, content in blobs:
        image: dict[str, Any] = {"image": blob, "alt": alt}
        size = image_size(content)
        if size is not None:
            image["aspectRatio"] = {"width": size[0], "height": size[1]}
        images.append(image)
    return {"$type": "app.bsky.embed.images", "images": images}


def link_card(uri: str) -> dict[str, Any]:
    """The `app.bsky.embed.external` card of a link."""
    site = urlsplit(uri).hostname or uri
    return {
        "$type": "app.bsky.embed.external",
        "external": {"uri": uri, "title": site.removeprefix("www."), "description": uri},
    }


def image_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels from an image's header; None if it does not tell."""
    try:
        size = _size(content)
    except (struct.error, IndexError, ValueError):
        return None
    return size if size is not None and size[0] > 0 and size[1] > 0 else None


def _size(content: bytes) -> tuple[int, int] | None:
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    if content[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", content[6:10])
        return int(width), int(height)
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return _webp_size(content)
    if content[:3] == b"\xff\xd8\xff":
        return _jpeg_size(content)
    return None


def _webp_size(content: bytes) -> tuple[int, int] | None:
    chunk = content[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(content[24:27], "little") + 1
        height = int.from_bytes(content[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(content[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", content[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    return None


_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(content: bytes) -> tuple[int, int] | None:
    """The size in the first start-of-frame segment, walking the segments from the start."""
    position = 2
    while position + 4 <= len(content):
        if content[position] != 0xFF:
            return None
        marker = content[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", content[position + 2 : position + 4])
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", content[position + 5 : position + 9])
            return int(width), int(height)
        position += 2 + int(length)
    return None
