"""An HTTP proxy in front of DynamoDB Local that fails a seeded random share of requests.

Two faults, the ways DynamoDB and the network fail a ledger write:

- `throttle`: answered at once with DynamoDB's 400 `ProvisionedThroughputExceededException`
  body, without forwarding (nothing was applied); botocore retries it with backoff.
- `lost_ack`: forwarded to DynamoDB Local, which applies it, then the connection is closed
  without relaying the answer; botocore retries it, and a conditional write's retry then
  finds its own first try already applied.

The workers reach it through the SDK's standard `AWS_ENDPOINT_URL_DYNAMODB`, as the Lambda
reaches DynamoDB. It listens on 127.0.0.1 and forwards only to the upstream it is given.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from herald_dev.loopback import LoopbackService

THROTTLE = "throttle"
LOST_ACK = "lost_ack"
FAULT_KINDS = (THROTTLE, LOST_ACK)

THROTTLE_BODY = {
    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "message": "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API.",
}
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "date",  # send_response() writes its own Date and Server
        "server",
    }
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not hold up stop()
    block_on_close = False
    fake: DynamoDBProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A killed worker resets its connections: not worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore uses DynamoDB
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stall
    timeout = 30

    def do_POST(self) -> None:
        self.server.fake._handle(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        return None


class DynamoDBProxy(LoopbackService):
    """Start with `start()` or `with DynamoDBProxy(upstream, rate=0.05, seed=1) as proxy:`;
    point clients at `proxy.url`. `counts` and `faults` say what went through."""

    server_class = _Server
    handler_class = _Handler
    thread_name = "dynamodb-proxy"

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        seed: int = 0,
        kinds: tuple[str, ...] = FAULT_KINDS,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        split = urlsplit(upstream)
        if split.scheme != "http" or not split.hostname or split.port is None:
            raise ValueError(f"the upstream is http://HOST:PORT, not {upstream!r}")
        if not 0.0 <= rate <= 1.0 or not set(kinds) <= set(FAULT_KINDS) or not kinds:
            raise ValueError(f"rate is 0..1 and kinds some of {', '.join(FAULT_KINDS)}")
        self._upstream = (split.hostname, split.port)
        self._rate = rate
        self._kinds = kinds
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self.counts: dict[str, int] = {}  # requests by operation (UpdateItem, Query...)
        self.faults: dict[str, int] = {}  # faults by "kind operation"

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._rate = rate

    def _handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length > 0 else b""
        target = handler.headers.get("X-Amz-Target") or ""
        fault = self._draw(target.rpartition(".")[2] or "?")
        if fault == THROTTLE:
            data = json.dumps(THROTTLE_BODY).encode()
            self._send(handler, 400, [("Content-Type", "application/x-amz-json-1.0")], data)
            return
        try:
            status, headers, data = self._forward(handler, body)
        except OSError:
            handler.close_connection = True  # the upstream is gone: so is the answer
            return
        if fault == LOST_ACK:
            handler.close_connection = True  # applied upstream; the answer never arrives
            return
        self._send(handler, status, headers, data)

    def _draw(self, operation: str) -> str | None:
        with self._lock:
            self.counts[operation] = self.counts.get(operation, 0) + 1
            if self._rate <= 0 or self._rng.random() >= self._rate:
                return None
            kind = self._rng.choice(self._kinds)
            name = f"{kind} {operation}"
            self.faults[name] = self.faults.get(name, 0) + 1
            return kind

    def _forward(self, handler: _Handler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed
            connection = self._connection(fresh=attempt == 2)
            try:
                connection.request(handler.command, handler.path, body, headers)
                response = connection.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                if attempt == 2:
                    raise OSError("DynamoDB Local did not answer the proxy") from None
                continue
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, kept, data
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, fresh: bool) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "upstream", None)
        if connection is None or fresh:
            host, port = self._upstream
            connection = http.client.HTTPConnection(host, port, timeout=30)
            self._local.upstream = connection
        return connection

    @staticmethod
    def _send(handler: _Handler, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        try:
            handler.send_response(status)
            for name, value in headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up (a killed worker)
