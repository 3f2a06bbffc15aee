"""`herald studio` in a real browser: the real command serves the preview on 127.0.0.1; a
file saved in the folder re-renders it, the open page updates itself, a new error appears at
its post with FILE:LINE, and Ctrl-C stops the command."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HERALD = [sys.executable, "-m", "herald.cli"]
NOW = "2021-02-01T00:00Z"  # before the campaign: no post is in the past
LAUNCH = "Today is {{ hashtag }}."


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """`herald studio` on a copy of campaigns/, on a free port: (url, folder, process)."""
    folder = tmp_path / "campaigns"
    shutil.copytree(ROOT / "campaigns", folder)
    process = subprocess.Popen(
        [*HERALD, "studio", str(folder), "--port", "0", "--now", NOW],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert found, line
    try:
        yield found.group(0), folder, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_studio_updates_the_open_page_when_a_file_is_saved(
    chromium: Browser, studio: tuple[str, Path, subprocess.Popen[str]], artifacts: Path
) -> None:
    url, folder, process = studio
    campaign = folder / "safer-internet-day-2021.yaml"
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(url) else route.abort(),
    )
    try:
        # Given the studio's page open in the browser
        page.goto(url, wait_until="load")
        page.wait_for_function("() => document.getElementById('studio-status') !== null")
        assert "Today is #SaferInternetDay." in page.inner_text("main")
        page.wait_for_timeout(300)  # the page's event stream is connected

        # When the launch post is edited and saved
        text = campaign.read_text(encoding="utf-8")
        assert LAUNCH in text
        saved = time.monotonic()
        campaign.write_text(text.replace(LAUNCH, "Today, it is {{ hashtag }}."), "utf-8")

        # Then the open page shows the new text by itself, without a reload
        page.wait_for_function(
            "() => document.querySelector('main').innerText.includes('Today, it is')",
            timeout=5000,
        )
        seconds = time.monotonic() - saved
        assert seconds < 3, f"the page took {seconds:.1f}s to update"

        # When a post is saved with a name that does not exist
        text = campaign.read_text(encoding="utf-8")
        campaign.write_text(text.replace("{{ hashtag }}", "{{ hashtg }}", 1), "utf-8")

        # Then the new error appears at its post, with its FILE:LINE
        page.wait_for_function(
            "() => document.querySelector('main').innerText.includes('hashtg')", timeout=5000
        )
        problems = page.inner_text("main .problems")
        assert "Error:" in problems
        assert "hashtg" in problems
        assert re.search(r"safer-internet-day-2021\.yaml:\d+", problems)
        page.screenshot(path=str(artifacts / "studio-1280.png"), full_page=True)
        assert errors == []
    finally:
        context.close()

    # When Ctrl-C is pressed / Then the studio stops, cleanly
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "re-rendered: safer-internet-day-2021.yaml" in out
    assert out.rstrip().endswith("herald studio: stopped.")
