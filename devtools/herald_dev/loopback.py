"""The life cycle shared by herald's fake services (X API, Secrets Manager): stdlib threading
HTTP servers on background threads, on 127.0.0.1 unless told otherwise.

A fake may also answer on more addresses (`extra_hosts`, on the same port): `make local`
adds the Docker bridge's gateway, so the Lambda container of `sam local` reaches it."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

LOOPBACK = "127.0.0.1"


class LoopbackService:
    """Start, stop and address a fake. Subclasses name their server and handler classes;
    each server reaches the fake through its `fake` attribute."""

    server_class: ClassVar[type[ThreadingHTTPServer]]
    handler_class: ClassVar[type[BaseHTTPRequestHandler]]
    thread_name: ClassVar[str] = "fake"

    def __init__(self, host: str, port: int, extra_hosts: Sequence[str] = ()) -> None:
        self.host = host
        self.port = port
        self.extra_hosts = tuple(extra_hosts)
        self._servers: list[Any] = []
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """The base URL on `host`, the first address."""
        return self.urls[0]

    @property
    def urls(self) -> list[str]:
        """The base URL on every address it answers on, `host` first."""
        if not self._servers:
            raise RuntimeError(f"the {self.thread_name} service is not started")
        return [f"http://{s.server_address[0]!s}:{s.server_address[1]}" for s in self._servers]

    def start(self) -> Self:
        if self._servers:
            return self
        try:
            port = self._serve(self.host, self.port)
            for host in self.extra_hosts:
                self._serve(host, port)
        except OSError:
            self.stop()
            raise
        return self

    def _serve(self, host: str, port: int) -> int:
        """Serve on (host, port) from a new thread; the port it got."""
        server: Any = self.server_class((host, port), self.handler_class)
        server.fake = self
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.thread_name}@{host}",
            daemon=True,
        )
        self._servers.append(server)
        self._threads.append(thread)
        thread.start()
        return int(server.server_address[1])

    def _before_shutdown(self) -> None:
        """Wake anything that would keep a handler thread busy (default: nothing)."""

    def stop(self) -> None:
        servers, self._servers = self._servers, []
        threads, self._threads = self._threads, []
        if not servers:
            return
        self._before_shutdown()
        for server in servers:
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=10)

    def serve_until_stopped(self) -> None:
        """For a command line: wait until SIGTERM or Ctrl-C, then stop."""
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def add_host_option(parser: argparse.ArgumentParser) -> None:
    """`--host ADDRESS`, repeatable, for a fake's command line; read it with `parse_hosts()`."""
    parser.add_argument(
        "--host",
        action="append",
        metavar="ADDRESS",
        help=f"an address to listen on; repeat it for more (default: {LOOPBACK} only)",
    )


def parse_hosts(option: list[str] | None) -> tuple[str, tuple[str, ...]]:
    """The `--host` values as (host, extra_hosts); 127.0.0.1 when none was given."""
    chosen = option or [LOOPBACK]
    return chosen[0], tuple(chosen[1:])
