"""A fake AWS Secrets Manager over real HTTP on loopback, for tests and `sam local`.

The function reads its channel credentials with Powertools `parameters.get_secret`, and the
SDK is pointed elsewhere only by its standard `AWS_ENDPOINT_URL_SECRETS_MANAGER`. Locally
there is no Secrets Manager, so this serves the one call herald makes,
`secretsmanager.GetSecretValue`, in the service's JSON 1.1 protocol: enough for boto3 and
Powertools, unchanged, to read a secret.

It requires an `Authorization` header (every SDK request is signed) but does not check the
SigV4 signature. It never logs or echoes a secret's value. `fail_next` makes the next reads
fail as Secrets Manager does when throttled (ThrottlingException) or broken (500).

In a test:

    with FakeSecrets({"herald/x-credentials": json.dumps(secret)}) as fake:
        os.environ["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = fake.url

From a shell: `python -m herald_dev.fake_secrets --port 4566 --secret NAME=FILE [...]`.
Only the standard library is used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from herald_dev.loopback import LoopbackService, add_host_option, parse_hosts

GET_SECRET_VALUE = "secretsmanager.GetSecretValue"
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "eu-west-2"
NOT_FOUND_MESSAGE = "Secrets Manager can't find the specified secret."
_JSON = "application/x-amz-json-1.1"
_MAX_BODY = 64 * 1024


class SecretsFault(StrEnum):
    THROTTLING = "throttling"  # 400 ThrottlingException: Rate exceeded
    INTERNAL_ERROR = "internal_error"  # 500 InternalServiceError


_FAULT_ANSWERS: dict[SecretsFault, tuple[int, str, str]] = {
    SecretsFault.THROTTLING: (400, "ThrottlingException", "Rate exceeded"),
    SecretsFault.INTERNAL_ERROR: (
        500,
        "InternalServiceError",
        "An error occurred on the server side.",
    ),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSecrets


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 5  # a client that connects and says nothing cannot hold a thread for long
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:
        status, body = self.server.fake._answer(
            self.headers.get("X-Amz-Target"),
            self.headers.get("Authorization"),
            self._body(),
        )
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", _JSON)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, _MAX_BODY)) if length > 0 else b""

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:  # the request line only: values travel in bodies
            sys.stderr.write(f"fake Secrets Manager: {format % args}\n")


def _error(kind: str, message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"__type": kind, "message": message}


class FakeSecrets(LoopbackService):
    """The fake Secrets Manager. `secrets` maps a secret's name to its SecretString.

    Start it with `start()` or `with FakeSecrets(...) as fake:`; `url` is its endpoint.
    A secret is found by its name or by the ARN this fake reports for it.
    """

    server_class = _Server
    handler_class = _Handler
    thread_name = "fake-secrets"

    def __init__(
        self,
        secrets: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        extra_hosts: Sequence[str] = (),
        region: str = DEFAULT_REGION,
        verbose: bool = False,
    ) -> None:
        super().__init__(host, port, extra_hosts)
        self.region = region
        self.verbose = verbose
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}
        self._created = datetime.now(UTC).timestamp()
        self._calls = 0
        self._faults: list[SecretsFault] = []
        for name, value in (secrets or {}).items():
            self.put(name, value)

    # -- life cycle: herald_dev.loopback.LoopbackService --

    # -- secrets --

    def put(self, name: str, value: str) -> None:
        """Create or replace the secret `name` (its SecretString is `value`)."""
        if not name:
            raise ValueError("a secret needs a name")
        with self._lock:
            self._secrets[name] = value

    def delete(self, name: str) -> None:
        with self._lock:
            self._secrets.pop(name, None)

    @property
    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._secrets)

    # -- fault injection --

    def fail_next(self, kind: SecretsFault | str, times: int = 1) -> None:
        """Make the next `times` GetSecretValue requests fail as `kind`. The SDK retries
        some errors by itself: give a client with `max_attempts=1` to see each one."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.extend([SecretsFault(kind)] * times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def calls(self) -> int:
        """GetSecretValue requests answered, found or not, failed by a fault or not (to
        observe caching)."""
        with self._lock:
            return self._calls

    def arn(self, name: str) -> str:
        suffix = hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
        return f"arn:aws:secretsmanager:{self.region}:{ACCOUNT_ID}:secret:{name}-{suffix}"

    def __repr__(self) -> str:
        return f"FakeSecrets(names={self.names!r})"

    # -- the protocol --

    def _answer(
        self, target: str | None, authorization: str | None, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        if not authorization:
            return _error(
                "MissingAuthenticationTokenException", "Request is missing Authentication Token"
            )
        if target != GET_SECRET_VALUE:
            return _error("UnknownOperationException", f"Operation {target!r} is not supported")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return _error("SerializationException", "The request body is not valid JSON")
        secret_id = request.get("SecretId") if isinstance(request, dict) else None
        if not isinstance(secret_id, str) or not secret_id:
            return _error("InvalidParameterException", "SecretId is required")
        with self._lock:
            self._calls += 1
            fault = self._faults.pop(0) if self._faults else None
            found = self._find(secret_id)
        if fault is not None:
            status, kind, message = _FAULT_ANSWERS[fault]
            return status, {"__type": kind, "message": message}
        if found is None:
            return _error("ResourceNotFoundException", NOT_FOUND_MESSAGE)
        name, value = found
        return 200, {
            "ARN": self.arn(name),
            "Name": name,
            "SecretString": value,
            "VersionId": str(uuid.uuid5(uuid.NAMESPACE_URL, self.arn(name) + value)),
            "VersionStages": ["AWSCURRENT"],
            "CreatedDate": self._created,
        }

    def _find(self, secret_id: str) -> tuple[str, str] | None:
        if secret_id in self._secrets:
            return secret_id, self._secrets[secret_id]
        for name, value in self._secrets.items():
            if secret_id == self.arn(name):
                return name, value
        return None


def _parse_secret(option: str) -> tuple[str, Path]:
    name, sep, file = option.partition("=")
    if not sep or not name or not file:
        raise argparse.ArgumentTypeError(f"expected NAME=FILE, got {option!r}")
    return name, Path(file)


def main(argv: list[str] | None = None) -> int:
    """`python -m herald_dev.fake_secrets`: serve the fake until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m herald_dev.fake_secrets",
        description="Serve a fake AWS Secrets Manager (GetSecretValue only) until interrupted.",
    )
    add_host_option(parser)
    parser.add_argument("--port", type=int, default=4566, help="port (0: any free port)")
    parser.add_argument(
        "--secret",
        type=_parse_secret,
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="serve FILE's content as the secret NAME (repeatable)",
    )
    parser.add_argument("--region", default=DEFAULT_REGION, help="region used in secret ARNs")
    parser.add_argument("--verbose", action="store_true", help="log each request line on stderr")
    args = parser.parse_args(argv)
    secrets: dict[str, str] = {}
    for name, file in args.secret:
        try:
            secrets[name] = file.read_text(encoding="utf-8")
        except OSError as error:
            print(f"fake Secrets Manager: cannot read {file}: {error.strerror}", file=sys.stderr)
            return 2
    host, extra_hosts = parse_hosts(args.host)
    fake = FakeSecrets(
        secrets,
        host=host,
        port=args.port,
        extra_hosts=extra_hosts,
        region=args.region,
        verbose=args.verbose,
    ).start()
    names = ", ".join(fake.names) or "none"
    where = ", ".join(fake.urls)
    print(f"fake Secrets Manager listening on {where} (secrets: {names})", flush=True)
    fake.serve_until_stopped()
    return 0


if __name__ == "__main__":
    sys.exit(main())
