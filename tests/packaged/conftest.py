"""Fixtures for the packaged tests: the artifacts `sam build` produces, and a stand-in for
what the Lambda python3.13 runtime provides.

- `real_build` (session): `sam build` of template.yaml as is (arm64), into .aws-sam/build.
- `host_build` (session): the same sources built for this machine's architecture (x86_64),
  from a copy of template.yaml whose only changes are the architectures and absolute code
  paths, into .aws-sam/packaged/build (cached between runs in .aws-sam/packaged/cache).
- `lambda_runtime` (session): boto3, at the .venv's version, and its dependencies installed
  into a folder of their own (.aws-sam/packaged/runtime-boto3-<version>): what the runtime
  puts on the path besides the function and its layers.

Build and install times are printed at the end of the session.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
SAM = REPO_ROOT / ".venv" / "bin" / "sam"
# sam build's python3.13 workflow needs a python3.13 on PATH; this is the one the suite uses.
LAMBDA_PYTHON = Path("/root/.pyenv/versions/3.13.0/bin/python")
PACKAGED_DIR = REPO_ROOT / ".aws-sam" / "packaged"
HOST_ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64"}.get(
    platform.machine().lower(), platform.machine()
)

TIMINGS: dict[str, float] = {}


def sam_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{LAMBDA_PYTHON.parent}{os.pathsep}{env.get('PATH', '')}"
    env["SAM_CLI_TELEMETRY"] = "0"
    return env


def sam_build(*options: str) -> None:
    result = subprocess.run(
        [str(SAM), "build", *options],
        cwd=REPO_ROOT,
        env=sam_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if result.returncode != 0:
        pytest.fail(f"sam build {' '.join(options)} failed:\n{result.stdout}\n{result.stderr}")


def host_template(architecture: str = HOST_ARCHITECTURE) -> dict[str, Any]:
    """template.yaml with every architecture set to `architecture` and its code paths made
    absolute (the copy lives elsewhere); nothing else changes."""
    from samcli.yamlhelper import parse_yaml_file

    template = parse_yaml_file(str(TEMPLATE))
    resources = template["Resources"]
    layer, function = resources["HeraldLayer"], resources["PublisherFunction"]
    layer["Metadata"]["BuildArchitecture"] = architecture
    layer["Properties"]["CompatibleArchitectures"] = [architecture]
    layer["Properties"]["ContentUri"] = str(REPO_ROOT / layer["Properties"]["ContentUri"])
    function["Properties"]["Architectures"] = [architecture]
    function["Properties"]["CodeUri"] = str(REPO_ROOT / function["Properties"]["CodeUri"])
    return template


@pytest.fixture(scope="session")
def real_build() -> Path:
    """`sam build` of the real template (arm64, cached per samconfig.toml); the build dir."""
    started = time.monotonic()
    sam_build()
    TIMINGS["sam build (template.yaml, arm64)"] = time.monotonic() - started
    return REPO_ROOT / ".aws-sam" / "build"


@pytest.fixture(scope="session")
def host_build() -> Path:
    """The same sources and pinned requirements built for this machine's architecture."""
    from samcli.yamlhelper import yaml_dump

    PACKAGED_DIR.mkdir(parents=True, exist_ok=True)
    template = PACKAGED_DIR / "template.yaml"
    template.write_text(yaml_dump(host_template()), encoding="utf-8")
    build_dir = PACKAGED_DIR / "build"
    started = time.monotonic()
    sam_build(
        "--template-file",
        str(template),
        "--build-dir",
        str(build_dir),
        "--cache-dir",
        str(PACKAGED_DIR / "cache"),
        "--cached",
        "--parallel",
    )
    TIMINGS[f"sam build (host copy, {HOST_ARCHITECTURE})"] = time.monotonic() - started
    return build_dir


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
        TIMINGS[f"pip install boto3=={boto3_version} (first run only)"] = time.monotonic() - started
    return target


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("packaged build timings")
        for what, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{seconds:6.1f}s  {what}")
