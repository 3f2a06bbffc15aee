"""The status page without a browser: the pause state first, reasons as text, the live
post linked."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from herald.pages.status import status_html, write_status
from tests.unit.page_sample import sample_status, write_campaign


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    return write_campaign(tmp_path)


def test_status_page_escapes_reasons_and_links_the_live_post(
    campaign: Path, tmp_path: Path
) -> None:
    # Given a paused ledger whose reasons hold markup
    report = sample_status(campaign, paused=True)

    # When the status page is written
    out = tmp_path / "status.html"
    write_status(out, report)
    page = out.read_text(encoding="utf-8")

    # Then the pause and its reason come first, reasons are text, SENT links to the post
    assert page.index("Publishing is paused for all campaigns") < page.index("<main")
    assert "incident &amp; &lt;review&gt;" in page
    assert "timed out &lt;after&gt; sending" in page
    assert '<a href="https://x.com/TestPolice/status/1">' in page
    assert "<script" not in page
    assert "What to check: it may have been published" in page


def test_status_page_says_running_when_nothing_is_paused(campaign: Path) -> None:
    # Given a ledger with no pause, When the page is made
    page = status_html(sample_status(campaign, paused=False))

    # Then it says publishing is running
    banner = page.split('role="status">')[1].split("</div>")[0]
    assert banner == "<p>Publishing is running: nothing is paused.</p>"
    assert "Publishing is paused" not in page


def test_status_page_lists_what_needs_a_person_and_links_only_web_addresses(
    campaign: Path,
) -> None:
    # Given a report with a post UNKNOWN and its reply MISSED, and a SENT post whose
    # recorded address is not a web address
    report = sample_status(campaign, paused=False)
    sent = report.rows[0]
    assert sent.record is not None
    record = replace(sent.record, remote_url="javascript:alert(1)")
    report.rows[0] = replace(sent, record=record, detail="javascript:alert(1)")

    # When the page is made
    page = status_html(report)

    # Then "Needs a person" links to those two, in due order, and nothing links to the
    # address that is not a web one
    needs = page.split("<h2>Needs a person (2)</h2>")[1].split("</ul>")[0]
    assert re.findall(r'href="#([^"]+)">(\w+)', needs) == [
        ("page-test--hello--x--force", "UNKNOWN"),
        ("page-test--hello-2--x--force", "MISSED"),
    ]
    assert 'id="page-test--hello--x--force"' in page
    assert 'href="javascript' not in page
    assert "Published (javascript:alert(1))." in page
