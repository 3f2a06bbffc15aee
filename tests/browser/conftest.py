"""Browser fixtures: Debian's Chromium, headless, driven by Playwright, and the two pages.

Chromium is the system one (`apt-get install chromium`, /usr/bin/chromium); Playwright never
downloads a browser of its own. Every page is opened from a file:// URL in a fresh context;
`open_page` records console errors and every request, and aborts any request that would
leave the file (a page must need nothing but itself).

- `chromium`: the session's browser.
- `open_page(path, width)`: a context manager yielding an `Opened` (page, requests, errors).
- `preview_page`: the Safer Internet Day preview page, written once per session.
- `status_page`: its status page, over a SQLite ledger holding every kind of outcome.

`record_sample_outcomes` is also used by scripts/screenshots.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from herald import preview
from herald.ledger import ALL_CAMPAIGNS, Ledger, Record
from herald.pages.preview import write_preview
from herald.pages.status import write_status
from herald.plan import LoadedPlan, load_plan_strict
from herald.status import collect
from herald.validate import validate

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from herald_dev.fake_x import FakeX

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = REPO / "campaigns" / "safer-internet-day-2021.yaml"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = os.environ.get("HERALD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The morning of the day: three posts are already in the past, so the preview shows a
# warning next to each of them.
PREVIEW_NOW = datetime(2021, 2, 9, 11, 0, tzinfo=UTC)
# The afternoon of the day: some posts out, some not, and publishing paused.
STATUS_NOW = datetime(2021, 2, 9, 16, 0, tzinfo=UTC)
PAUSED_AT = datetime(2021, 2, 9, 11, 50, tzinfo=UTC)
PAUSE_REASON = "Major incident in Hertfordshire: scheduled posts stopped by the duty comms officer"


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


@dataclass(frozen=True)
class SampleRun:
    """What a simulated day with faults left in the ledger, read back from it."""

    now: datetime
    sent_url: str
    failed_reason: str
    unknown_reason: str
    late_reason: str
    paused_reason: str


def record_sample_outcomes(ledger: Ledger, plan: LoadedPlan, fake: FakeX) -> SampleRun:
    """Run the real engine through the fake X API over the campaign's first two days, with
    faults: X refuses the launch post (403), answers the 10:00 thread's first post with a
    500 (UNKNOWN: not on the account, so it stays UNKNOWN and its replies go late), then a
    person pauses everything at 11:50 (the noon thread is held, then SKIPPED (paused)), and
    the publisher stops at 14:00 (the 15:00 post is MISSED at 16:00)."""
    from herald.engine import Engine
    from herald.simulate import minutes
    from herald_dev.fake_x import TWEETS, FaultKind
    from tests.fixtures.x_api import x_channel_for

    engine = Engine(plan, ledger, {"x": x_channel_for(fake)})

    def run(start: datetime, end: datetime) -> None:
        for minute in minutes(start, end):
            engine.tick(minute)

    day = datetime(2021, 2, 9, tzinfo=UTC)
    run(day - timedelta(days=1), day + timedelta(hours=7, minutes=59))
    fake.fail_next(TWEETS, FaultKind.FORBIDDEN)
    run(day + timedelta(hours=8), day + timedelta(hours=9, minutes=59))
    fake.fail_next(TWEETS, FaultKind.SERVER_ERROR)
    run(day + timedelta(hours=10), PAUSED_AT - timedelta(minutes=1))
    ledger.pause(ALL_CAMPAIGNS, PAUSE_REASON, PAUSED_AT)
    run(PAUSED_AT, day + timedelta(hours=14))

    def record(post: str) -> Record:
        key = next(d.key for d in plan.deliveries if d.key.post == post)
        return ledger.get_many([key])[key]

    return SampleRun(
        now=STATUS_NOW,
        sent_url=record("lead-up").remote_url or "",
        failed_reason=record("launch").reason or "",
        unknown_reason=record("cost-advice").reason or "",
        late_reason=record("cost-advice.2").reason or "",
        paused_reason=record("how-to-report").reason or "",
    )


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


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
