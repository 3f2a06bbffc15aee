"""What the fakes of X, Mastodon and the Facebook Graph API share: one HTTP request parsed
(query, form, multipart, JSON), injected faults, the request log and counts, a timeline that
lags its writes, the `/__control/` endpoints another process uses to steer a fake, and the
command line that serves one.

`FakeServer` is what every fake shares, whatever its kinds of fault (the fake X API has
its own). A fake subclasses it, or `StrictFake` for the faults below, and names its routes
(`routes`), how a request is authenticated (`authenticate`), what each endpoint does
(`process`) and how the service answers a rate limit or a server error (`fault_response`).
`StrictFake`'s faults are the ways a network fails a client:

- `drop_after_commit`: the request is carried out, then the connection closes unanswered;
- `server_error`: a 5xx before anything is done;
- `server_error_after_commit`: the request is carried out, then a 5xx;
- `timeout` / `timeout_after_commit`: no answer for `seconds` (the client's read timeout),
  before or after the request is carried out;
- `drop`: the connection closes at once, nothing done;
- `rate_limit`: the service's own rate-limit answer;
- `html_page`: a proxy's HTML error page (502) in front of the service, nothing done.

Only the standard library is used, so a fake cannot share a bug with the client's stack.
"""

from __future__ import annotations

import argparse
import contextlib
import email.parser
import email.policy
import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TypedDict
from urllib.parse import parse_qsl, urlsplit

from herald_dev.loopback import LoopbackService, add_host_option, parse_hosts

ANY_ENDPOINT = "*"

PROXY_ERROR_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class FaultKind(StrEnum):
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    SERVER_ERROR_AFTER_COMMIT = "server_error_after_commit"
    DROP = "drop"
    DROP_AFTER_COMMIT = "drop_after_commit"
    TIMEOUT = "timeout"
    TIMEOUT_AFTER_COMMIT = "timeout_after_commit"
    HTML_PAGE = "html_page"

    @property
    def commits(self) -> bool:
        """Whether the request is carried out before the fault shows."""
        return self in (
            FaultKind.SERVER_ERROR_AFTER_COMMIT,
            FaultKind.DROP_AFTER_COMMIT,
            FaultKind.TIMEOUT_AFTER_COMMIT,
        )

    @property
    def unanswered(self) -> bool:
        """Whether the client gets no answer at all."""
        return self in (
            FaultKind.DROP,
            FaultKind.DROP_AFTER_COMMIT,
            FaultKind.TIMEOUT,
            FaultKind.TIMEOUT_AFTER_COMMIT,
        )


@dataclass
class BaseFault:
    """An injected failure for the next `remaining` requests to `endpoint`: what every
    fake's faults have. `status` picks the error status, `seconds` how long a hang holds.
    A fake's own fault says how the request goes: whether it is carried out first
    (`commits`), whether the client gets no answer (`unanswered`) and whether the answer
    is held back for `seconds` (`hangs`)."""

    endpoint: str
    kind: StrEnum
    remaining: int = 1
    status: int | None = None
    seconds: float = 10.0

    @property
    def commits(self) -> bool:
        raise NotImplementedError

    @property
    def unanswered(self) -> bool:
        raise NotImplementedError

    @property
    def hangs(self) -> bool:
        raise NotImplementedError


@dataclass
class Fault(BaseFault):
    """A `StrictFake`'s fault: `status` picks the 5xx; `seconds` is how long a timeout
    holds; `code` and `reset_in` shape a rate limit (the service's error code, seconds until
    it lifts)."""

    kind: FaultKind
    code: int | None = None
    reset_in: float = 60.0

    @property
    def commits(self) -> bool:
        return self.kind.commits

    @property
    def unanswered(self) -> bool:
        return self.kind.unanswered

    @property
    def hangs(self) -> bool:
        return self.kind in (FaultKind.TIMEOUT, FaultKind.TIMEOUT_AFTER_COMMIT)


@dataclass
class Request:
    """One HTTP request as a fake sees it. `form` holds url-encoded and multipart fields
    (each name's values in order), `files` the multipart files: name → (filename,
    content type, bytes)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Any  # case-insensitive: .get(name)
    body: bytes
    form: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    json: Any = None

    def param(self, name: str) -> str | None:
        """The last value of `name` among the form, the JSON body and the query."""
        values = self.params(name)
        return values[-1] if values else None

    def params(self, name: str) -> list[str]:
        found = [v for k, v in self.form if k == name]
        if isinstance(self.json, dict) and name in self.json:
            value = self.json[name]
            found += [str(v) for v in value] if isinstance(value, list) else [str(value)]
        found += [v for k, v in self.query if k == name]
        return found

    def names(self) -> set[str]:
        names = {k for k, _ in self.form} | {k for k, _ in self.query}
        if isinstance(self.json, dict):
            names |= set(self.json)
        return names


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able, or str for text/html
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedRequest:
    at: datetime
    method: str
    path: str
    endpoint: str | None
    account: str | None
    status: int | None  # None: no answer was sent (timeout, drop)
    fault: str | None

    def to_json(self) -> dict[str, Any]:
        value = asdict(self)
        value["at"] = iso_z(self.at)
        return value


def iso_z(moment: datetime) -> str:
    """2026-11-30T08:00:00.123Z"""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def parse_request(method: str, target: str, headers: Any, body: bytes) -> Request:
    """`headers`: the handler's (an email.message.Message, case-insensitive)."""
    split = urlsplit(target)
    request = Request(
        method=method,
        path=split.path,
        query=parse_qsl(split.query, keep_blank_values=True),
        headers=headers,
        body=body,
    )
    content_type = headers.get("Content-Type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        request.form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    elif content_type.startswith("multipart/form-data"):
        _parse_multipart(request, content_type)
    elif content_type.startswith("application/json") and body:
        try:
            request.json = json.loads(body)
        except ValueError:
            request.json = None
    return request


def multipart_parts(content_type: str, body: bytes) -> Iterator[tuple[str, str | None, str, bytes]]:
    """The named parts of a multipart body: (name, filename or None, content type, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    )
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            yield name, part.get_filename(), part.get_content_type(), payload


def _parse_multipart(request: Request, content_type: str) -> None:
    for name, filename, part_type, payload in multipart_parts(content_type, request.body):
        if filename is not None:
            request.files[name] = (filename, part_type, payload)
        else:
            request.form.append((name, payload.decode("utf-8", "replace")))


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # stop() joins every handler: timeouts are bounded and interruptible
    block_on_close = True
    fake: FakeServer[Any]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 5  # a client that connects and says nothing cannot hold a thread for long
    protocol_version = "HTTP/1.0"  # one request per connection, unless the fake keeps them

    def setup(self) -> None:
        super().setup()
        if self.server.fake.keep_alive:  # HTTP/1.1: the client may send the next request
            self.protocol_version = "HTTP/1.1"
            # headers and body leave at once, not held for the client's delayed ACK
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
            self.server.fake.connection_opened(self.connection)

    def finish(self) -> None:
        self.server.fake.connection_closed(self.connection)  # a no-op unless kept
        super().finish()

    def do_GET(self) -> None:
        self.server.fake.handle(self)

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        fake = self.server.fake
        if fake.verbose:
            sys.stderr.write(f"{fake.log_name or fake.thread_name}: {format % args}\n")


Route = tuple[str, Any, str]  # (method, compiled path pattern, endpoint name)


class ServerOptions(TypedDict, total=False):
    """The keywords a fake's constructor passes on to `FakeServer`'s: where it listens, its
    clock, how long a hang may hold at most, and whether it logs each request on stderr."""

    host: str
    port: int
    extra_hosts: Sequence[str]
    clock: Callable[[], datetime] | None
    max_hang: float
    verbose: bool
    keep_alive: bool


class FakeServer[F: BaseFault](LoopbackService):
    """A fake service over real HTTP, with faults of type `F`; see the module's docstring."""

    server_class = _Server
    handler_class = _Handler
    routes: ClassVar[tuple[Route, ...]] = ()
    log_name: ClassVar[str] = ""  # what a request's line on stderr starts with (thread_name)
    # fail_next(endpoint, kind, times, **options): the fake's own, for `POST /__control/faults`
    fail_next: Callable[..., None]

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        extra_hosts: Sequence[str] = (),
        clock: Callable[[], datetime] | None = None,
        max_hang: float = 60.0,
        verbose: bool = False,
        keep_alive: bool = False,
    ) -> None:
        super().__init__(host, port, extra_hosts)
        # Keep each connection open for the client's next request, as the real services
        # do (HTTP/1.1); off, each request has a connection of its own (HTTP/1.0).
        self.keep_alive = keep_alive
        self._connections: set[socket.socket] = set()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.max_hang = max_hang
        self.verbose = verbose
        self.lock = threading.RLock()
        self._wake = threading.Event()
        self.reset()

    # -- what a fake provides --

    def authenticate(self, request: Request, endpoint: str) -> Any:
        """The principal making the request, or the Response refusing it."""
        raise NotImplementedError

    def process(
        self, endpoint: str, params: Mapping[str, str], request: Request, who: Any
    ) -> Response:
        raise NotImplementedError

    def fault_response(self, fault: F, who: Any) -> Response:
        """The answer for a fault that is answered (a rate limit, a server error, ...)."""
        raise NotImplementedError

    def decorate(self, response: Response, endpoint: str, who: Any) -> Response:
        """Headers every answer to an authenticated request carries (rate-limit state)."""
        return response

    def account_of(self, who: Any) -> str | None:
        return None

    def control(self, method: str, path: str, request: Any) -> Response | None:
        """A fake's own `/__control/` endpoints (None: not one of them)."""
        return None

    def reset_state(self) -> None:
        """Forget what was published (the accounts stay)."""

    def posts_json(self) -> list[dict[str, Any]]:
        """What `GET /__control/posts` lists: every post made, oldest first."""
        raise NotImplementedError

    def before_route(self) -> None:
        """Runs before each request that is not a control one is routed (a delay)."""

    def no_route(self, request: Request) -> Response:
        """The answer to a request no route takes."""
        return Response(404, {"error": f"no route for {request.method} {request.path}"})

    def next_fault(self, endpoint: str, who: Any) -> F | None:
        """The fault that fails this authenticated request, if any: the oldest injected
        for its endpoint (or for any)."""
        with self.lock:
            for fault in self._faults:
                if fault.endpoint in (endpoint, ANY_ENDPOINT):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def fault_answer(self, fault: F, endpoint: str, who: Any) -> Response:
        """The answer to a request an answered fault fails."""
        return self.decorate(self.fault_response(fault, who), endpoint, who)

    def listed_endpoints(self) -> list[str]:
        """The endpoints an error about an unknown one lists, in that order."""
        return sorted({endpoint_name for _, _, endpoint_name in self.routes})

    # -- life cycle --

    def _before_shutdown(self) -> None:
        self._wake.set()
        if not self.keep_alive:
            return
        with self.lock:  # a kept connection waiting for its next request ends now
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RD)

    def connection_opened(self, connection: socket.socket) -> None:
        with self.lock:
            self._connections.add(connection)

    def connection_closed(self, connection: socket.socket) -> None:
        with self.lock:
            self._connections.discard(connection)

    # -- inspection and steering --

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received, oldest first (a copy)."""
        with self.lock:
            return list(self._log)

    @property
    def counts(self) -> dict[str, int]:
        """Requests received per endpoint, whatever their outcome."""
        with self.lock:
            return dict(self._counts)

    def check_target(self, endpoint: str, times: int) -> None:
        """Refuse, with ValueError, a fault for an unknown endpoint or fewer than 1 time."""
        known = {endpoint_name for _, _, endpoint_name in self.routes}
        if endpoint != ANY_ENDPOINT and endpoint not in known:
            listed = ", ".join(self.listed_endpoints())
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {listed}")
        if times < 1:
            raise ValueError("times must be at least 1")

    def queue_fault(self, fault: F) -> None:
        """Fail requests with `fault` after the faults injected before it."""
        with self.lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def set_timeline_lag(self, seconds: float) -> None:
        """Leave a post out of the account's timeline until `seconds` of the fake's clock
        after it was made, as real timelines lag their writes."""
        with self.lock:
            self.timeline_lag = max(seconds, 0.0)

    def visible_since(self) -> float:
        """The newest creation time (epoch seconds) a timeline shows by now."""
        return self.clock().timestamp() - self.timeline_lag

    def reset(self) -> None:
        """Forget posts, media, faults, the request log and counters; keep the accounts."""
        with self.lock:
            self._reset_common()
            self.reset_state()

    def _reset_common(self) -> None:
        self._wake.set()  # ends any timeout still running from before
        self._wake = threading.Event()
        self._faults: list[F] = []
        self._log: list[LoggedRequest] = []
        self._counts: dict[str, int] = {}
        self.timeline_lag = 0.0

    def pause(self, seconds: float) -> None:
        """Wait `seconds`, or until the fake is reset or stopped."""
        with self.lock:
            wake = self._wake
        wake.wait(seconds)

    # -- one request --

    def handle(self, handler: _Handler) -> None:
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = handler.rfile.read(length) if length > 0 else b""
        request = parse_request(handler.command, handler.path, handler.headers, body)
        if request.path.startswith("/__control/"):
            self._send(handler, self._control(request))
            return
        self.before_route()
        endpoint, params = self._route(request.method, request.path)
        if endpoint is None:
            response = self.no_route(request)
            self._record(request, None, None, response.status, None)
            self._send(handler, response)
            return
        self._count(endpoint)
        who = self.authenticate(request, endpoint)
        if isinstance(who, Response):
            self._record(request, endpoint, None, who.status, None)
            self._send(handler, who)
            return
        fault = self.next_fault(endpoint, who)
        if fault is None:
            response = self.decorate(self.process(endpoint, params, request, who), endpoint, who)
            self._record(request, endpoint, who, response.status, None)
            self._send(handler, response)
            return
        self._fail(handler, fault, endpoint, params, request, who)

    def _fail(
        self,
        handler: _Handler,
        fault: F,
        endpoint: str,
        params: Mapping[str, str],
        request: Request,
        who: Any,
    ) -> None:
        if fault.commits:
            self.process(endpoint, params, request, who)
        if fault.unanswered:
            self._record(request, endpoint, who, None, fault.kind.value)
            if fault.hangs:
                self.pause(fault.seconds)
            handler.close_connection = True  # the socket closes with no answer at all
            return
        response = self.fault_answer(fault, endpoint, who)
        self._record(request, endpoint, who, response.status, fault.kind.value)
        self._send(handler, response)

    def _route(self, method: str, path: str) -> tuple[str | None, dict[str, str]]:
        for route_method, pattern, endpoint in self.routes:
            match = pattern.fullmatch(path)
            if match and method == route_method:
                return endpoint, match.groupdict()
        return None, {}

    def _count(self, endpoint: str) -> None:
        with self.lock:
            self._counts[endpoint] = self._counts.get(endpoint, 0) + 1

    def _record(
        self,
        request: Request,
        endpoint: str | None,
        who: Any,
        status: int | None,
        fault: str | None,
    ) -> None:
        account = self.account_of(who) if who is not None else None
        entry = LoggedRequest(
            self.clock(), request.method, request.path, endpoint, account, status, fault
        )
        with self.lock:
            self._log.append(entry)

    def _send(self, handler: _Handler, response: Response) -> None:
        if isinstance(response.body, str):
            data, content_type = response.body.encode(), "text/html; charset=utf-8"
        elif response.body is None:
            data, content_type = b"", None
        else:
            data, content_type = (
                json.dumps(response.body).encode(),
                "application/json; charset=utf-8",
            )
        try:
            handler.send_response(response.status)
            if content_type:
                handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            for name, value in response.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its read timeout): nothing to tell it

    # -- control endpoints --

    def _control(self, request: Request) -> Response:
        """`POST /__control/faults` {endpoint, kind, times, and `fail_next`'s options};
        `DELETE /__control/faults`; `POST /__control/timeline_lag` {seconds};
        `POST /__control/reset`; `GET /__control/requests`, `/counts`, `/posts`; and the
        fake's own."""
        try:
            body = json.loads(request.body) if request.body else {}
        except ValueError:
            return Response(400, {"error": "body is not JSON"})
        method, path = request.method, request.path
        try:
            if (method, path) == ("POST", "/__control/faults"):
                options = {k: v for k, v in body.items() if k not in ("endpoint", "kind")}
                self.fail_next(body["endpoint"], body["kind"], **options)
                return Response(204)
            if (method, path) == ("DELETE", "/__control/faults"):
                self.clear_faults()
                return Response(204)
            if (method, path) == ("POST", "/__control/timeline_lag"):
                self.set_timeline_lag(float(body["seconds"]))
                return Response(204)
            if (method, path) == ("POST", "/__control/reset"):
                self.reset()
                return Response(204)
            if (method, path) == ("GET", "/__control/requests"):
                return Response(200, [r.to_json() for r in self.requests])
            if (method, path) == ("GET", "/__control/counts"):
                return Response(200, self.counts)
            if (method, path) == ("GET", "/__control/posts"):
                return Response(200, self.posts_json())
            own = self.control(method, path, body)
            if own is not None:
                return own
        except (KeyError, TypeError, ValueError) as error:
            return Response(400, {"error": f"{type(error).__name__}: {error}"})
        return Response(404, {"error": f"no control {method} {path}"})


class StrictFake(FakeServer[Fault]):
    """A strict fake service failing the ways `FaultKind` lists; see the module's docstring."""

    def fail_next(
        self,
        endpoint: str,
        kind: FaultKind | str,
        times: int = 1,
        *,
        status: int | None = None,
        seconds: float = 10.0,
        code: int | None = None,
        reset_in: float = 60.0,
    ) -> None:
        """Make the next `times` authenticated requests to `endpoint` (or `ANY_ENDPOINT`)
        fail as `kind`, in the order faults were injected."""
        self.check_target(endpoint, times)
        fault_kind = FaultKind(kind)
        if status is not None and not 500 <= status <= 599:
            raise ValueError("a server error is a 5xx status")
        fault = Fault(
            endpoint,
            fault_kind,
            times,
            status=status,
            seconds=min(max(seconds, 0.0), self.max_hang),
            code=code,
            reset_in=reset_in,
        )
        self.queue_fault(fault)

    def fault_answer(self, fault: Fault, endpoint: str, who: Any) -> Response:
        """A proxy's error page for HTML_PAGE; else the service's own answer."""
        if fault.kind is FaultKind.HTML_PAGE:
            return Response(fault.status or 502, PROXY_ERROR_PAGE)
        return super().fault_answer(fault, endpoint, who)


CONTROL_HELP = """\
control (from any process, no token needed):
  POST   /__control/faults   {{"endpoint": "{endpoint}", "kind": "drop_after_commit",
                             "times": 1, "status": 503, "seconds": 5, "code": 32,
                             "reset_in": 60}}
         kinds: {kinds}
         endpoints: {endpoints}, *
  DELETE /__control/faults   clear faults
  POST   /__control/timeline_lag  {{"seconds": 5}}
  POST   /__control/reset    forget posts, media, faults, the log and counters
  GET    /__control/posts | /__control/requests | /__control/counts
"""


def control_help(routes: Sequence[Route]) -> str:
    endpoints = [endpoint for _, _, endpoint in routes]
    return CONTROL_HELP.format(
        endpoint=endpoints[0],
        kinds=", ".join(k.value for k in FaultKind),
        endpoints=", ".join(endpoints),
    )


def fake_parser(
    prog: str, description: str, epilog: str, *, port: int, credentials_help: str
) -> argparse.ArgumentParser:
    """The command line every fake starts with: `--host`, `--port` (defaulting to `port`)
    and `--credentials FILE`. The fake adds its own options, then `serve_from_cli` adds
    `--verbose` and serves."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_host_option(parser)
    parser.add_argument("--port", type=int, default=port, help="port (0: any free port)")
    parser.add_argument("--credentials", metavar="FILE", help=credentials_help)
    return parser


def serve_from_cli(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    *,
    name: str,
    section: str,
    banner: str,
    build: Callable[[argparse.Namespace, dict[str, Any], dict[str, Any]], LoopbackService],
) -> int:
    """Parse `argv`, load the credentials file, make the fake with `build(args, secret,
    common)` (`common`: the host, port, extra hosts and verbosity to pass it), then serve it
    until interrupted. `section` is the fake's part of the secret, whose accounts the
    `banner` line lists; `name` prefixes a credentials error, which exits with 2."""
    from herald.credentials import CredentialsError, load_credentials_file

    parser.add_argument("--verbose", action="store_true", help="log each request on stderr")
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="keep each connection open for the next request (HTTP/1.1), as the real API does",
    )
    args = parser.parse_args(argv)
    try:
        secret = load_credentials_file(args.credentials) if args.credentials else {}
    except CredentialsError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    host, extra_hosts = parse_hosts(args.host)
    common = {
        "host": host,
        "port": args.port,
        "extra_hosts": extra_hosts,
        "verbose": args.verbose,
        "keep_alive": args.keep_alive,
    }
    fake = build(args, secret, common).start()
    accounts = ", ".join(sorted(secret.get(section) or {})) or "none"
    print(f"{banner} listening on {', '.join(fake.urls)} (accounts: {accounts})", flush=True)
    fake.serve_until_stopped()
    return 0
