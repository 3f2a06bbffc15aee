"""Fixtures for the packaged tests: the artifacts `sam build` produces, and a stand-in for
what the Lambda python3.13 runtime provides.

- `real_build` (session): `sam build` of template.yaml as is (arm64), into .aws-sam/build.
- `host_build` (session, tests/fixtures/host_build.py): the same sources built for this
  machine's architecture (x86_64) by `herald_dev.host_build`, from a copy of template.yaml
  whose only changes are the architectures and absolute code paths, into .aws-sam/host/build.
- `lambda_runtime` (session): boto3, at the .venv's version, and its dependencies installed
  into a folder of their own (.aws-sam/packaged/runtime-boto3-<version>): what the runtime
  puts on the path besides the function and its layers.

Build and install times are printed at the end of the session.
"""

from __future__ import annotations

import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from herald_dev.host_build import LAMBDA_PYTHON, REPO_ROOT, TEMPLATE, HostBuildError, sam_build
from tests.fixtures.host_build import BUILD_TIMINGS

__all__ = ["LAMBDA_PYTHON", "REPO_ROOT", "TEMPLATE"]  # what the tests import from here

PACKAGED_DIR = REPO_ROOT / ".aws-sam" / "packaged"


@pytest.fixture(scope="session")
def real_build() -> Path:
    """`sam build` of the real template (arm64, cached per samconfig.toml); the build dir."""
    started = time.monotonic()
    try:
        sam_build()
    except HostBuildError as error:
        pytest.fail(str(error))
    BUILD_TIMINGS["sam build (template.yaml, arm64)"] = time.monotonic() - started
    return REPO_ROOT / ".aws-sam" / "build"


@pytest.fixture(scope="session")
def lambda_runtime() -> Path:
    """boto3 as the runtime provides it, in a folder of its own; installed once, then kept."""
    boto3_version = version("boto3")
    target = PACKAGED_DIR / f"runtime-boto3-{boto3_version}"
    done = target / ".installed"
    if not done.exists():
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--upgrade",
                "--target",
                str(target),
                f"boto3=={boto3_version}",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if result.returncode != 0:
            pytest.fail(f"cannot install boto3=={boto3_version}:\n{result.stderr}")
        done.touch()
        BUILD_TIMINGS[f"pip install boto3=={boto3_version} (first run only)"] = (
            time.monotonic() - started
        )
    return target
