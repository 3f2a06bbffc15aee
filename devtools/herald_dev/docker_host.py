"""Where the Lambda container of `sam local` reaches the local services on this machine.

`sam local invoke ... --add-host host.docker.internal:host-gateway` names the Docker host's
address on the default bridge network (docker0's, 172.17.0.1 unless configured otherwise)
inside the container. On Linux with Docker Engine that is an address of this machine, and
the services must listen there as well as on 127.0.0.1; it is a private bridge, not a public
interface. On Docker Desktop the bridge lives in Docker's VM, and `host.docker.internal`
reaches this machine's 127.0.0.1 by itself: nothing more to listen on.

    .venv/bin/python -m herald_dev.docker_host [--shell]

prints that address (an empty line when there is none to add), or with `--shell` the lines
`gateway=...` and `docker_problem=...` for a shell's `eval`; `docker_problem` says why
`sam local` cannot start a container here (empty when it can).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import shlex
import shutil
import socket
import struct
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

NO_DOCKER = "Docker is not installed (there is no `docker` command)"
NOT_RUNNING = "Docker is not running (`docker info` gets no answer from the daemon)"
_SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address


@dataclass(frozen=True)
class DockerHost:
    """`gateway`: the address to listen on besides 127.0.0.1 (None: none needed or none
    found); `problem`: why no container can run here, as a clause (None: they can)."""

    gateway: str | None
    problem: str | None


def probe(timeout: float = 15.0) -> DockerHost:
    """Ask the Docker CLI whether containers can run, and where they reach this machine."""
    docker = shutil.which("docker")
    if docker is None:
        return DockerHost(None, NO_DOCKER)
    if _docker(docker, ["info", "--format", "{{.ServerVersion}}"], timeout) is None:
        return DockerHost(None, NOT_RUNNING)
    inspected = _docker(docker, ["network", "inspect", "bridge", "--format", "{{json .}}"], timeout)
    network = json.loads(inspected) if inspected else {}
    gateway = bridge_gateway(network)
    return DockerHost(gateway if gateway and is_local_address(gateway) else None, None)


def bridge_gateway(network: dict[str, Any]) -> str | None:
    """The default bridge's IPv4 gateway, from `docker network inspect bridge`: its IPAM
    Gateway, or (older engines leave that out) the address of its interface, docker0."""
    for config in (network.get("IPAM") or {}).get("Config") or []:
        gateway = config.get("Gateway")
        if gateway and ipaddress.ip_address(gateway).version == 4:
            return str(gateway)
    name = (network.get("Options") or {}).get("com.docker.network.bridge.name", "docker0")
    return interface_address(name)


def interface_address(name: str) -> str | None:
    """The IPv4 address of the network interface `name` on this machine (Linux), or None."""
    try:
        import fcntl
    except ImportError:  # not a Unix: no such interface here
        return None
    request = struct.pack("256s", name.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        try:
            answer = fcntl.ioctl(probe_socket.fileno(), _SIOCGIFADDR, request)
        except OSError:  # no such interface, or it has no IPv4 address
            return None
    return socket.inet_ntoa(answer[20:24])


def is_local_address(address: str) -> bool:
    """Whether `address` belongs to this machine (a socket can listen on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        try:
            probe_socket.bind((address, 0))
        except OSError:
            return False
    return True


def _docker(docker: str, arguments: list[str], timeout: float) -> str | None:
    """The stdout of a docker CLI command, or None when it fails or hangs."""
    try:
        result = subprocess.run(
            [docker, *arguments], capture_output=True, text=True, check=False, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m herald_dev.docker_host",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--shell", action="store_true", help="print gateway= and docker_problem=")
    args = parser.parse_args(argv)
    host = probe()
    if args.shell:
        print(f"gateway={shlex.quote(host.gateway or '')}")
        print(f"docker_problem={shlex.quote(host.problem or '')}")
    else:
        print(host.gateway or "")
        if host.problem:
            print(host.problem, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
