"""`sam build` for this machine's architecture, from the same sources as template.yaml.

template.yaml builds for arm64 (Graviton). An arm64 layer cannot be imported, nor an arm64
container run, on an x86_64 machine without emulation; so for `sam local` and the packaged
tests the same sources are built from a copy of template.yaml in which only the
architectures (Architectures, CompatibleArchitectures, BuildArchitecture) are this
machine's, and the code paths are made absolute because the copy lives elsewhere.
template.yaml itself is never edited.

    .venv/bin/python -m herald_dev.host_build        (or: make build-host)

writes .aws-sam/host/template.yaml and builds into .aws-sam/host/build (cached in
.aws-sam/host/cache). Then:

    .venv/bin/sam local invoke -t .aws-sam/host/build/template.yaml PublisherFunction ...
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]  # devtools/herald_dev/ -> the repository
TEMPLATE = REPO_ROOT / "template.yaml"
SAM = REPO_ROOT / ".venv" / "bin" / "sam"
HOST_DIR = REPO_ROOT / ".aws-sam" / "host"
BUILD_DIR = HOST_DIR / "build"
BUILT_TEMPLATE = BUILD_DIR / "template.yaml"
# sam build's python3.13 workflow runs the python3.13 on PATH: the .venv's base interpreter.
LAMBDA_PYTHON = Path(sys.base_prefix) / "bin" / "python3.13"
HOST_ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64"}.get(
    platform.machine().lower(), platform.machine()
)


class HostBuildError(RuntimeError):
    """sam build failed; the message holds its output."""


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


def sam_env() -> dict[str, str]:
    """This environment, with the Lambda runtime's python3.13 first on PATH, no telemetry."""
    env = dict(os.environ)
    env["PATH"] = f"{LAMBDA_PYTHON.parent}{os.pathsep}{env.get('PATH', '')}"
    env["SAM_CLI_TELEMETRY"] = "0"
    return env


def sam_build(*options: str) -> None:
    """`sam build` with `options`, from the repository root; HostBuildError if it fails."""
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
        raise HostBuildError(
            f"sam build {' '.join(options)} failed:\n{result.stdout}\n{result.stderr}"
        )


def build(architecture: str = HOST_ARCHITECTURE) -> Path:
    """Build the host-architecture copy into .aws-sam/host/build; that folder."""
    from samcli.yamlhelper import yaml_dump

    HOST_DIR.mkdir(parents=True, exist_ok=True)
    template = HOST_DIR / "template.yaml"
    template.write_text(yaml_dump(host_template(architecture)), encoding="utf-8")
    sam_build(
        "--template-file",
        str(template),
        "--build-dir",
        str(BUILD_DIR),
        "--cache-dir",
        str(HOST_DIR / "cache"),
        "--cached",
        "--parallel",
    )
    return BUILD_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m herald_dev.host_build",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--architecture",
        default=HOST_ARCHITECTURE,
        choices=["x86_64", "arm64"],
        help=f"default: this machine's, {HOST_ARCHITECTURE}",
    )
    args = parser.parse_args(argv)
    try:
        built = build(args.architecture)
    except HostBuildError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"built for {args.architecture}: {built.relative_to(REPO_ROOT)}/template.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
