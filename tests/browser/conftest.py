"""Browser fixtures: Debian's Chromium, headless, driven by Playwright, and the two pages.

The browser is `herald_dev.chromium`'s (the system Chromium; Playwright never downloads one).
Every page is opened from a file:// URL in a fresh context; `open_page` records console
errors and every request, and aborts any request that would leave the file (a page must
need nothing but itself).

- `chromium`: the session's browser.
- `open_page(path, width)`: a context manager yielding an `Opened` (page, requests, errors).
- `preview_page`: the Safer Internet Day preview page, written once per session.
- `status_page`: its status page, over the sample ledger of `herald_dev.sample_outcomes`
  (every kind of outcome; scripts/screenshots.py draws the same one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from herald import preview
from herald.pages.preview import write_preview
from herald.pages.status import write_status
from herald.plan import load_plan_strict
from herald.status import collect
from herald.validate import validate
from herald_dev.chromium import headless_chromium
from herald_dev.sample_outcomes import SampleRun, record_sample_outcomes

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from herald_dev.fake_x import FakeX

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = REPO / "campaigns" / "safer-internet-day-2021.yaml"
ARTIFACTS = REPO / "tests" / "artifacts"
# The morning of the day: three posts are already in the past, so the preview shows a
# warning next to each of them.
PREVIEW_NOW = datetime(2021, 2, 9, 11, 0, tzinfo=UTC)


@dataclass(frozen=True)
class PageFile:
    path: Path
    texts: list[str]  # every post's text as published
    image_alts: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)  # post id -> messages
    cost: str = ""
    run: SampleRun | None = None  # the simulated run behind a status page


@dataclass
class Opened:
    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def outside(self) -> list[str]:
        """Requests for anything but the page itself and data: URIs."""
        own = self.page.url
        return [u for u in self.requests if u != own and not u.startswith("data:")]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    with headless_chromium() as browser:
        yield browser


@pytest.fixture
def open_page(chromium: Browser) -> Callable[[Path, int], AbstractContextManager[Opened]]:
    @contextmanager
    def opened(path: Path, width: int) -> Iterator[Opened]:
        context = chromium.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        seen = Opened(page)
        page.on("request", lambda request: seen.requests.append(request.url))
        page.on(
            "console",
            lambda message: seen.errors.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(("file:", "data:"))
                else route.abort()
            ),
        )
        try:
            page.goto(path.resolve().as_uri(), wait_until="load")
            yield seen
        finally:
            context.close()

    return opened


@pytest.fixture(scope="session")
def preview_page(tmp_path_factory: pytest.TempPathFactory) -> PageFile:
    report = validate([CAMPAIGN], PREVIEW_NOW)
    assert not report.errors, report.errors
    rendered = report.rendered_for(report.campaigns)
    path = tmp_path_factory.mktemp("pages") / "preview.html"
    write_preview(path, report, rendered)
    alts = [m.alt for r in rendered for m in r.delivery.part.media]
    problems: dict[str, list[str]] = {}
    for problem in report.problems:
        for item in rendered:
            lines = {item.delivery.part.line, item.delivery.post.line}
            if problem.file == item.delivery.campaign.name and problem.line in lines:
                problems.setdefault(item.delivery.post.id, []).append(problem.message)
                break
    return PageFile(
        path, [r.text for r in rendered], alts, problems, preview.cost(rendered).describe()
    )


@pytest.fixture(scope="session")
def status_page(tmp_path_factory: pytest.TempPathFactory, fake_x_server: FakeX) -> PageFile:
    from herald.ledger.sqlite import SqliteLedger

    plan = load_plan_strict([CAMPAIGN])
    folder = tmp_path_factory.mktemp("status")
    fake_x_server.reset()
    try:
        with SqliteLedger(folder / "ledger.sqlite3") as ledger:
            run = record_sample_outcomes(ledger, plan, fake_x_server)
            report = collect(plan, ledger, run.now)
    finally:
        fake_x_server.reset()
    path = folder / "status.html"
    write_status(path, report)
    return PageFile(path, [d.render() for d in plan.deliveries], run=run)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
