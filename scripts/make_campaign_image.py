"""Draw the Safer Internet Day 2021 campaign image (campaigns/media/safer-internet-day-2021.png).

An original, simple graphic: a shield with a padlock over a globe of connected dots, and the
day's name, date and theme. Run it again after changing the words; the alt text in
campaigns/safer-internet-day-2021.yaml must say what the image shows.

    .venv/bin/python scripts/make_campaign_image.py [OUT.png]

Needs Pillow (a development tool only; the Lambda never draws images).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 675
OUT = Path(__file__).resolve().parent.parent / "campaigns" / "media" / "safer-internet-day-2021.png"

NAVY = (11, 31, 77)
TEAL = (0, 112, 140)
WHITE = (255, 255, 255)
YELLOW = (255, 204, 0)
PALE = (190, 220, 235)

LINES = (
    ("Safer Internet Day", 72, WHITE, True),
    ("Tuesday 9 February 2021", 44, YELLOW, True),
    ("Together for a better internet", 40, WHITE, False),
)
FOOTER = "Hertfordshire Constabulary  \u00b7  Hertfordshire Safeguarding Children Partnership"


def font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans where the system has it, else Pillow's own scalable default font."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu"):
        path = Path(folder) / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def background() -> Image.Image:
    """A diagonal navy-to-teal gradient."""
    image = Image.new("RGB", (WIDTH, HEIGHT), NAVY)
    pixels = image.load()
    assert pixels is not None
    for y in range(HEIGHT):
        for x in range(WIDTH):
            t = min(1.0, (x / WIDTH) * 0.6 + (y / HEIGHT) * 0.4)
            pixels[x, y] = tuple(round(a + (b - a) * t) for a, b in zip(NAVY, TEAL, strict=True))
    return image


def globe(draw: ImageDraw.ImageDraw, cx: int, cy: int, r: int) -> None:
    """A globe drawn as a ring of meridians and parallels, with connected dots on it."""
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=PALE, width=3)
    for k in (0.35, 0.7):
        draw.ellipse((cx - r * k, cy - r, cx + r * k, cy + r), outline=PALE, width=2)
    for k in (-0.5, 0.0, 0.5):
        half = r * math.sqrt(1 - k * k)
        draw.line((cx - half, cy + k * r, cx + half, cy + k * r), fill=PALE, width=2)
    dots = [
        (cx + r * math.cos(a) * 0.82, cy + r * math.sin(a) * 0.82)
        for a in (0.3, 1.2, 2.1, 2.9, 3.8, 4.6, 5.5)
    ]
    for (x1, y1), (x2, y2) in zip(dots, dots[2:] + dots[:2], strict=True):
        draw.line((x1, y1, x2, y2), fill=YELLOW, width=2)
    for x, y in dots:
        draw.ellipse((x - 9, y - 9, x + 9, y + 9), fill=YELLOW, outline=NAVY, width=2)


def shield(draw: ImageDraw.ImageDraw, cx: int, cy: int, size: int) -> None:
    """A shield with a padlock on it, centred on the globe."""
    w, h = size, size * 1.2
    top = cy - h / 2
    outline = [
        (cx - w / 2, top + h * 0.12),
        (cx, top),
        (cx + w / 2, top + h * 0.12),
        (cx + w / 2, top + h * 0.5),
        (cx, top + h),
        (cx - w / 2, top + h * 0.5),
    ]
    draw.polygon(outline, fill=WHITE, outline=NAVY, width=5)
    body = (cx - w * 0.24, cy - h * 0.02, cx + w * 0.24, cy + h * 0.28)
    draw.arc(
        (cx - w * 0.16, cy - h * 0.25, cx + w * 0.16, cy + h * 0.08),
        start=180,
        end=360,
        fill=NAVY,
        width=12,
    )
    draw.line((cx - w * 0.16, cy - h * 0.085, cx - w * 0.16, cy), fill=NAVY, width=12)
    draw.line((cx + w * 0.16, cy - h * 0.085, cx + w * 0.16, cy), fill=NAVY, width=12)
    draw.rounded_rectangle(body, radius=10, fill=NAVY)
    draw.ellipse((cx - 11, cy + h * 0.09 - 11, cx + 11, cy + h * 0.09 + 11), fill=YELLOW)
    draw.rectangle((cx - 4, cy + h * 0.09, cx + 4, cy + h * 0.2), fill=YELLOW)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    image = background()
    draw = ImageDraw.Draw(image)
    globe(draw, 290, 320, 215)
    shield(draw, 290, 320, 190)

    x, y, room = 555, 170, WIDTH - 555 - 45
    for text, size, colour, bold in LINES:
        face = font(size, bold)
        while draw.textlength(text, font=face) > room and size > 12:
            size -= 2
            face = font(size, bold)
        draw.text((x, y), text, font=face, fill=colour)
        y += round(size * 1.5)
    draw.line((x, y + 10, x + room, y + 10), fill=YELLOW, width=4)

    small = font(22, False)
    footer_width = draw.textlength(FOOTER, font=small)
    draw.text(((WIDTH - footer_width) / 2, HEIGHT - 60), FOOTER, font=small, fill=PALE)

    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, "PNG", optimize=True)
    print(f"wrote {out} ({WIDTH}x{HEIGHT})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
