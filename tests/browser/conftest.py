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
from herald.html import write_preview, write_status
from herald.ledger import ALL_CAMPAIGNS, DeliveryKey, Ledger
from herald.plan import Plan, load_plan_strict
from herald.status import collect
from herald.validate import validate

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

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
SENT_URL = "https://x.com/HertsPolice/status/1358812345678901249"
PAUSED_AT = datetime(2021, 2, 9, 11, 50, tzinfo=UTC)
PAUSE_REASON = "Major incident in Hertfordshire: scheduled posts stopped by the duty comms officer"
FAILED_REASON = "X answered 403: the app may not post for this account (check its permissions)"
UNKNOWN_REASON = "no answer from X within 10 s after sending: the post may have been created"
LATE_REASON = "late: 17 minutes after it was due; the campaign allows 15 minutes"
PAUSED_REASON = f"paused: {PAUSE_REASON}"


@dataclass(frozen=True)
class PageFile:
    path: Path
    texts: list[str]  # every post's text as published
    image_alts: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)  # post id -> messages
    cost: str = ""


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


def record_sample_outcomes(ledger: Ledger, plan: Plan) -> datetime:
    """Write a ledger state with every outcome a person must read on the status page:
    SENT, FAILED with its reason, UNKNOWN, SKIPPED (paused, late), MISSED (past due with
    no record), SCHEDULED, and a pause of all campaigns. Returns the moment to report at."""
    by_post = {d.key.post: d for d in plan.deliveries}

    def attempt(post: str) -> tuple[DeliveryKey, str, datetime]:
        delivery = by_post[post]
        moment = delivery.at + timedelta(seconds=4)
        token = f"token-{post}"
        lease = moment + timedelta(minutes=2)
        assert ledger.claim(delivery.key, token, moment, lease, delivery.at) is not None
        ledger.mark_attempting(delivery.key, token, moment)
        return delivery.key, token, moment + timedelta(seconds=2)

    sent, token, moment = attempt("lead-up")
    ledger.mark_sent(sent, token, moment, SENT_URL.rsplit("/", 1)[1], SENT_URL)
    failed, token, moment = attempt("launch")
    ledger.mark_failed(failed, token, moment, FAILED_REASON, retryable=False)
    unknown, token, moment = attempt("cost-advice")
    ledger.mark_unknown(unknown, token, moment + timedelta(seconds=10), UNKNOWN_REASON)
    for post in ("cost-advice.2", "cost-advice.3"):
        late = by_post[post]
        ledger.skip(late.key, late.at + timedelta(minutes=17), LATE_REASON, late.at)
    ledger.pause(ALL_CAMPAIGNS, PAUSE_REASON, PAUSED_AT)
    for delivery in plan.deliveries:
        if delivery.post.id == "how-to-report":
            moment = delivery.at + timedelta(seconds=3)
            ledger.skip(delivery.key, moment, PAUSED_REASON, delivery.at)
    # 'partnership' (15:00) has no record at 16:00: MISSED. Later posts are SCHEDULED.
    return STATUS_NOW


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
def status_page(tmp_path_factory: pytest.TempPathFactory) -> PageFile:
    from herald.ledger.sqlite import SqliteLedger

    plan = load_plan_strict([CAMPAIGN])
    folder = tmp_path_factory.mktemp("status")
    with SqliteLedger(folder / "ledger.sqlite3") as ledger:
        now = record_sample_outcomes(ledger, plan)
        report = collect(plan, ledger, now)
    path = folder / "status.html"
    write_status(path, report)
    return PageFile(path, [d.render() for d in plan.deliveries])


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
