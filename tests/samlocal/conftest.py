"""Fixtures for the sam local tests: the function run by `sam local` in its Lambda container.

- `DOCKER`: what `herald_dev.docker_host.probe()` found at collection: whether containers
  can run here (the tests are skipped, with the reason, when they cannot) and the Docker
  bridge's address the services also listen on.
- `lambda_image` (session): the stand-in for the Lambda python3.13 image that
  scripts/lambda_image.sh builds offline (no container registry is reachable here), or finds
  already built; its name, for `--invoke-image ... --skip-pull-image`. The script starts in
  the background at the end of collection when a selected test needs the image.
- `local_services`: `make local`'s own script, scripts/local.sh, run with an env file that
  is env.json with free ports, so a developer's `make local` can stay up; stopped after the
  test. Its output holds the `sam local invoke` line it prints.
- `sam_environment()`: the environment for the SAM CLI: dummy AWS keys (passed on to the
  container), eu-west-2, no AWS config files, no telemetry.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from herald_dev.docker_host import probe
from herald_dev.dynamodb_local import free_port
from herald_dev.host_build import REPO_ROOT, sam_env
from herald_dev.process_group import stop_group
from tests.fixtures.host_build import BUILD_TIMINGS

DOCKER = probe()
LAMBDA_IMAGE_SCRIPT = REPO_ROOT / "scripts" / "lambda_image.sh"
LOCAL_SCRIPT = REPO_ROOT / "scripts" / "local.sh"
SERVICE_URLS = (
    "AWS_ENDPOINT_URL_DYNAMODB",
    "X_API_BASE_URL",
    "MASTODON_BASE_URL",
    "FACEBOOK_GRAPH_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "BLUESKY_SERVICE_URL",
)
REGION = "eu-west-2"
READY = "Local services are up"


def sam_environment() -> dict[str, str]:
    env = sam_env()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    env.update(
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


class ImageBuild:
    """scripts/lambda_image.sh in the background. Started as soon as tests that need it are
    selected, the first build (minutes) overlaps the tiers that run before this one."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.output = Path(tempfile.gettempdir()) / f"herald-lambda-image-{os.getpid()}"

    def start(self) -> None:
        if self.process is not None:
            return
        with (
            self.output.with_suffix(".out").open("wb") as stdout,
            self.output.with_suffix(".err").open("wb") as stderr,
        ):
            self.process = subprocess.Popen(
                [str(LAMBDA_IMAGE_SCRIPT)],
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )

    def image(self, timeout: float = 900) -> str:
        """Wait for the build (or the look-up of the built image); the image's name."""
        self.start()
        assert self.process is not None
        waiting = time.monotonic()
        self.process.wait(timeout)
        stdout, stderr = (self._read(".out"), self._read(".err"))
        if self.process.returncode != 0:
            pytest.fail(f"scripts/lambda_image.sh failed:\n{stderr[-3000:]}")
        built = re.search(r"built \S+ in (\d+)s", stderr)
        what = "built, in the background" if built else "already built"
        waited = time.monotonic() - waiting
        BUILD_TIMINGS[f"stand-in Lambda image ({what}): waited for it"] = waited
        if built:
            BUILD_TIMINGS["stand-in Lambda image: its build"] = float(built.group(1))
        return stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        """End a build no test waited for (the session stopped early); remove its output."""
        if self.process is not None and self.process.poll() is None:
            stop(self.process)
        for suffix in (".out", ".err"):
            self.output.with_suffix(suffix).unlink(missing_ok=True)

    def _read(self, suffix: str) -> str:
        return self.output.with_suffix(suffix).read_text(encoding="utf-8", errors="replace")


IMAGE_BUILD = ImageBuild()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what they will
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = any("lambda_image" in getattr(item, "fixturenames", ()) for item in items)
    if wanted and DOCKER.problem is None and not config.option.collectonly:
        IMAGE_BUILD.start()


def pytest_sessionfinish() -> None:
    IMAGE_BUILD.stop()


@pytest.fixture(scope="session")
def lambda_image() -> str:
    return IMAGE_BUILD.image()


@dataclass
class LocalServices:
    """scripts/local.sh running with `env_file`; `ports` by env.json variable."""

    process: subprocess.Popen[bytes]
    env_file: Path
    log: Path
    ports: dict[str, int]

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def control(self, what: str, service: str = "X_API_BASE_URL") -> Any:
        """GET /__control/<what> of a fake (posts, requests, counts): the fake X, or the
        one at `service` (MASTODON_BASE_URL, FACEBOOK_GRAPH_URL)."""
        url = f"http://127.0.0.1:{self.ports[service]}/__control/{what}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)


def env_file_with_free_ports(folder: Path) -> tuple[Path, dict[str, int]]:
    """env.json with every service's port replaced by a free one: the file and the ports."""
    env = json.loads((REPO_ROOT / "env.json").read_text(encoding="utf-8"))
    variables = env["PublisherFunction"]
    ports = {}
    for name in SERVICE_URLS:
        url = urlsplit(variables[name])
        ports[name] = free_port()
        variables[name] = url._replace(netloc=f"{url.hostname}:{ports[name]}").geturl()
    path = folder / "env.json"
    path.write_text(json.dumps(env, indent=2), encoding="utf-8")
    return path, ports


@pytest.fixture
def local_services(tmp_path: Path) -> Iterator[LocalServices]:
    env_file, ports = env_file_with_free_ports(tmp_path)
    log = tmp_path / "local.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(LOCAL_SCRIPT), str(env_file)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    services = LocalServices(process, env_file, log, ports)
    try:
        wait_until_ready(services, timeout=180)
        yield services
    finally:
        stop(process)
        print(f"scripts/local.sh said:\n{services.output}")  # shown when a test fails


def wait_until_ready(services: LocalServices, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while READY not in services.output:
        if services.process.poll() is not None:
            pytest.fail(f"scripts/local.sh stopped:\n{services.output}")
        if time.monotonic() > deadline:
            pytest.fail(f"scripts/local.sh was not ready in {timeout:.0f}s:\n{services.output}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """TERM the process group (the script stops what it started), KILL if it lingers."""
    stop_group(process, timeout)
