"""Draw the README's screenshots of the two pages (docs/preview.png, docs/status.png).

The Safer Internet Day preview, as a comms officer sees it the week before; and its status
page on the afternoon of the day, over the sample ledger the browser tests use
(`herald_dev.sample_outcomes`: every kind of outcome, publishing paused). Headless Debian
Chromium through Playwright (`herald_dev.chromium`), 800 px wide, the first 1000 px of each
page, reduced to a 256-colour palette with Pillow.

    .venv/bin/python scripts/screenshots.py [OUT_DIR]      (default: docs/)

Needs `apt-get install chromium` and the playwright package (no `playwright install`).
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from herald.ledger.sqlite import SqliteLedger
from herald.pages.preview import write_preview
from herald.pages.status import write_status
from herald.plan import load_plan_strict
from herald.status import collect
from herald.validate import validate
from herald_dev.chromium import headless_chromium
from herald_dev.fake_x import FakeX
from herald_dev.sample_outcomes import record_sample_outcomes
from herald_dev.x_accounts import X_ACCOUNTS, X_SECRET

REPO = Path(__file__).resolve().parent.parent
CAMPAIGN = Path("campaigns/safer-internet-day-2021.yaml")
WEEK_BEFORE = datetime(2021, 2, 1, 9, 0, tzinfo=UTC)
WIDTH, HEIGHT = 800, 1000


def write_pages(folder: Path) -> tuple[Path, Path]:
    """The two pages, made from the campaign as the CLI makes them."""
    report = validate([CAMPAIGN], WEEK_BEFORE)
    if report.errors:
        raise SystemExit("\n".join(str(p) for p in report.errors))
    preview = folder / "preview.html"
    write_preview(preview, report, report.rendered_for(report.campaigns))
    plan = load_plan_strict([CAMPAIGN])
    with (
        FakeX(X_SECRET, accounts=X_ACCOUNTS) as fake,
        SqliteLedger(folder / "ledger.sqlite3") as ledger,
    ):
        run = record_sample_outcomes(ledger, plan, fake)
        status_report = collect(plan, ledger, run.now)
    status = folder / "status.html"
    write_status(status, status_report)
    return preview, status


def shoot(pages: dict[Path, Path]) -> None:
    """Screenshot each page (source -> PNG) at WIDTH, cropped to HEIGHT."""
    with headless_chromium() as browser:
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        page = context.new_page()
        for source, target in pages.items():
            page.goto(source.resolve().as_uri(), wait_until="load")
            full: int = page.evaluate("document.documentElement.scrollHeight")
            page.screenshot(
                path=str(target),
                clip={"x": 0, "y": 0, "width": WIDTH, "height": min(HEIGHT, full)},
            )


def optimise(path: Path) -> None:
    """A 256-colour palette PNG: a fraction of the size, and the text stays sharp."""
    from PIL import Image

    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)


def main(argv: list[str]) -> int:
    out = Path(argv[0]).resolve() if argv else REPO / "docs"
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(REPO)  # file names on the pages read relative to the repository
    with tempfile.TemporaryDirectory() as temporary:
        preview, status = write_pages(Path(temporary))
        targets = {preview: out / "preview.png", status: out / "status.png"}
        shoot(targets)
    for target in targets.values():
        optimise(target)
        print(
            f"wrote {target.relative_to(REPO) if target.is_relative_to(REPO) else target}"
            f" ({target.stat().st_size // 1024} KiB)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
