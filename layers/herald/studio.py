"""The studio: a live preview while writing. `herald studio campaigns/` serves the preview
page on 127.0.0.1 and re-renders it when a file in the folder is saved (file events from
the operating system through watchfiles, not polling); the open page updates itself over
server-sent events (aiohttp). Every campaign that loads is shown, the ones with errors too,
with each problem at its post and its FILE:LINE. Ctrl-C stops it.

watchfiles and aiohttp are CLI dependencies, imported here when the studio starts; nothing
of this runs on Lambda.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_CSP_PAGE = "default-src 'none'; img-src data:; style-src 'unsafe-inline';"
_CSP_LIVE = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline';"
    " script-src 'unsafe-inline'; connect-src 'self';"
)

# Replaces the page's header and main with the newest when the server says it changed;
# keeps the reader's scroll position.
_LIVE_SCRIPT = """
<div id="studio-status" class="muted" role="status" aria-live="polite"
  style="position:fixed;right:.5rem;bottom:.5rem;padding:.25rem .5rem;border-radius:.25rem;
  background:#ffffff;border:1px solid #536471;font-size:.85rem">Live preview: updates when a
  file is saved (rendered {rendered})</div>
<script>
(() => {{
  const status = document.getElementById("studio-status");
  const swap = async (version) => {{
    if (version === document.body.dataset.version) return;
    const response = await fetch("/", {{cache: "no-store"}});
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const selector of ["header.page", "main"]) {{
      const fresh = page.querySelector(selector);
      const old = document.querySelector(selector);
      if (fresh && old) old.replaceWith(fresh);
    }}
    document.title = page.title;
    document.body.dataset.version = page.body.dataset.version;
    status.textContent = page.getElementById("studio-status").textContent;
  }};
  const events = new EventSource("/events");
  events.onmessage = (event) => swap(event.data);
  events.onerror = () => {{ status.textContent = "Live preview: the studio has stopped"; }};
}})();
</script>
"""


def studio_page(paths: Sequence[Path], now: datetime, version: int) -> str:
    """The preview page of every campaign under `paths` that loads (with errors or not),
    each problem at its post with FILE:LINE, and the script that keeps it live."""
    from herald.pages.preview import preview_html
    from herald.validate import validate

    report = validate(paths, now)
    page = preview_html(report, [*report.rendered, *_unrendered(report)])
    if _CSP_PAGE not in page or "<body" not in page:  # pragma: no cover - template changed
        raise RuntimeError("the preview page's frame is not the one the studio knows")
    page = page.replace(_CSP_PAGE, _CSP_LIVE, 1)
    page = page.replace("<body ", f'<body data-version="{version}" ', 1)
    script = _LIVE_SCRIPT.format(rendered=html.escape(f"{datetime.now(UTC):%H:%M:%SZ}"))
    return page.replace("</body>", f"{script}</body>", 1)


def _unrendered(report: Any) -> list[Any]:
    """The deliveries of loaded campaigns whose template does not render, shown as their
    template, so that the error appears at its post rather than apart."""
    from herald.channels.rules import rules_for
    from herald.plan import deliveries
    from herald.validate import Rendered

    done = {r.delivery.key for r in report.rendered}
    shown = []
    for result in report.results:
        if result.campaign is None:
            continue
        for delivery in deliveries(result.campaign):
            if delivery.key in done:
                continue
            part = delivery.part
            template = part.overrides.get(delivery.key.channel, part.text)
            first = rules_for(delivery.key.channel).measure("", delivery.account.settings)[0]
            shown.append(
                Rendered(
                    delivery, f"(cannot be rendered) {template}", 0, first.limit, False, first.unit
                )
            )
    return shown


class Studio:
    """The page of the moment and the browsers waiting to hear it changed."""

    def __init__(self, paths: Sequence[Path], now: Callable[[], datetime]) -> None:
        self.paths = list(paths)
        self.now = now
        self.version = 0
        self.page = ""
        self.listeners: set[asyncio.Queue[int | None]] = set()

    async def rebuild(self) -> None:
        self.version += 1
        self.page = await asyncio.to_thread(studio_page, self.paths, self.now(), self.version)
        for queue in list(self.listeners):
            queue.put_nowait(self.version)

    async def watch(self, changed: Callable[[set[str]], None]) -> None:
        """Rebuild whenever a file under the paths is saved (operating-system file events)."""
        from watchfiles import awatch

        async for changes in awatch(*self.paths, debounce=150, step=25):
            names = {Path(name).name for _, name in changes if Path(name).exists()}
            await self.rebuild()
            changed(names)

    def close(self) -> None:
        for queue in list(self.listeners):
            queue.put_nowait(None)


def application(studio: Studio) -> Any:
    """The aiohttp application: `/` is the page, `/events` tells it when it changed."""
    from aiohttp import web

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text=studio.page,
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[int | None] = asyncio.Queue()
        studio.listeners.add(queue)
        try:
            await response.write(f"data: {studio.version}\n\n".encode())
            while (version := await queue.get()) is not None:
                await response.write(f"data: {version}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            studio.listeners.discard(queue)
        return response

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/events", events)
    return app


async def serve(
    paths: Sequence[Path],
    host: str,
    port: int,
    say: Callable[[str], None],
    now: Callable[[], datetime] | None = None,
) -> None:
    """Serve the studio until cancelled (Ctrl-C): `say` hears where, and every change."""
    from aiohttp import web

    studio = Studio(paths, now or (lambda: datetime.now(UTC)))
    await studio.rebuild()
    runner = web.AppRunner(application(studio), shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    say(f"herald studio: http://{host}:{bound}/ (re-renders when a file is saved; Ctrl-C stops)")

    def changed(names: set[str]) -> None:
        say(f"{datetime.now().astimezone():%H:%M:%S} re-rendered: {', '.join(sorted(names))}")

    watcher = asyncio.create_task(studio.watch(changed))
    try:
        await watcher
    finally:
        watcher.cancel()
        studio.close()
        await runner.cleanup()
