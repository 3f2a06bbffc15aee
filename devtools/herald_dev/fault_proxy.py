"""A TCP proxy in front of a real HTTP server (the Bluesky PDS) that can lose a request's
answer on purpose: the faults a network causes and a fake cannot prove against the real
server.

    with FaultProxy("127.0.0.1", pds.port) as proxy:
        proxy.fail_next("com.atproto.repo.createRecord", DROP_AFTER_FORWARD)
        ...  # a client pointed at proxy.url

Kinds of fault, each for the next request whose path contains the text given:
- `drop_after_forward`: the request reaches the server, which answers (the record is
  written); the proxy then closes the client's connection without a byte of the answer;
- `drop_before_forward`: the proxy closes the client's connection once it has read the
  request; the server never sees it;
- `hold_after_forward`: as `drop_after_forward`, but the answer is held back for `hold`
  seconds first (a client's read timeout fires; the record is written all the same).

It speaks HTTP/1.1 with Content-Length bodies (what `requests` sends), one connection to the
server per client connection, on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO, Self

from herald_dev.loopback import LOOPBACK

DROP_AFTER_FORWARD = "drop_after_forward"
DROP_BEFORE_FORWARD = "drop_before_forward"
HOLD_AFTER_FORWARD = "hold_after_forward"
KINDS = (DROP_AFTER_FORWARD, DROP_BEFORE_FORWARD, HOLD_AFTER_FORWARD)
_HEAD_LIMIT = 64 * 1024


@dataclass
class _Fault:
    path_part: str
    kind: str
    times: int
    hold: float


class FaultProxy:
    """The proxy: `url` to point a client at, `fail_next()` to arm a fault, `seen` (a Counter
    of request paths without their query) and `faults_done` to check what happened."""

    def __init__(self, upstream_host: str, upstream_port: int, host: str = LOOPBACK) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._server = _Server((host, 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._stopping = threading.Event()
        self.seen: Counter[str] = Counter()
        self.faults_done: list[tuple[str, str]] = []  # (kind, path)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(
        self, path_part: str, kind: str = DROP_AFTER_FORWARD, times: int = 1, hold: float = 5.0
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(KINDS)}")
        with self._lock:
            self._faults.append(_Fault(path_part, kind, times, hold))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.seen.clear()
            self.faults_done.clear()

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            self.seen[path.split("?", 1)[0]] += 1
            for fault in self._faults:
                if fault.path_part in path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    self.faults_done.append((fault.kind, path))
                    return fault
        return None

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy


class _Handler(socketserver.BaseRequestHandler):
    """One client connection: requests read one by one and passed on; answers relayed back
    by a second thread, unless the request's fault says otherwise."""

    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        client: socket.socket = self.request
        try:
            upstream = socket.create_connection(proxy.upstream, timeout=10)
        except OSError:
            return
        upstream.settimeout(None)
        state = _Relay(client, upstream, proxy._stopping)
        relay = threading.Thread(target=state.answers_back, daemon=True)
        relay.start()
        try:
            self._requests(client, upstream, state)
        finally:
            state.close()
            relay.join(timeout=15)

    def _requests(self, client: socket.socket, upstream: socket.socket, state: _Relay) -> None:
        reader = client.makefile("rb")
        while True:
            request = _read_request(reader)
            if request is None:
                return
            path, raw = request
            fault = self.server.proxy._take_fault(path)
            if fault is not None and fault.kind == DROP_BEFORE_FORWARD:
                return
            if fault is not None:
                state.lose_next(fault.hold if fault.kind == HOLD_AFTER_FORWARD else 0.0)
            upstream.sendall(raw)


class _Relay:
    """The answers' way back, and the switch that loses the next one."""

    def __init__(
        self, client: socket.socket, upstream: socket.socket, stopping: threading.Event
    ) -> None:
        self.client = client
        self.upstream = upstream
        self.stopping = stopping
        self._lose: float | None = None

    def lose_next(self, hold: float) -> None:
        self._lose = hold

    def answers_back(self) -> None:
        try:
            while chunk := self.upstream.recv(65536):
                if self._lose is not None:
                    self.stopping.wait(self._lose)  # the answer exists; the client never sees it
                    return
                self.client.sendall(chunk)
        except OSError:
            return
        finally:
            self.close()

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


def _read_request(reader: BinaryIO) -> tuple[str, bytes] | None:
    """The next request on the connection: its path and its bytes; None when it closed."""
    head = b""
    try:
        while not head.endswith(b"\r\n\r\n"):
            line = reader.readline(_HEAD_LIMIT)
            if not line or len(head) > _HEAD_LIMIT:
                return None
            head += line
    except OSError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    path = parts[1] if len(parts) > 1 else ""
    length = 0
    for header in lines[1:]:
        name, _, value = header.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = reader.read(length) if length else b""
    return path, head + body
