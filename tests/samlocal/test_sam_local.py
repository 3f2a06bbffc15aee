"""`sam local` for real: the host-architecture build of the function, in its Lambda container,
against the services `make local` starts, as a developer on Linux with Docker Engine runs it.

`make local`'s script (scripts/local.sh) starts DynamoDB Local, the fake X API and the fake
Secrets Manager on 127.0.0.1 and the Docker bridge's gateway, and prints a `sam local invoke`
line; that line is run as printed, plus `--invoke-image <stand-in> --skip-pull-image`
because no container registry is reachable here (scripts/lambda_image.sh builds the
stand-in; SAM adds its runtime interface emulator and the layer on top). The function finds
the services as `host.docker.internal`, which `--add-host host.docker.internal:host-gateway`
maps to the gateway. Then `sam local start-lambda` is invoked the way the AWS CLI's
`aws lambda invoke --endpoint-url ...` does it (the same API call, made with boto3).

The container tests are skipped, with the reason, on a machine that cannot run containers
at all; the test of where make local listens runs everywhere.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from herald_dev.docker_host import interface_address
from herald_dev.dynamodb_local import free_port
from herald_dev.host_build import REPO_ROOT, SAM
from tests.samlocal.conftest import DOCKER, REGION, LocalServices, sam_environment

pytestmark = [
    pytest.mark.samlocal,
    pytest.mark.timeout(1200),  # the first build of the stand-in image takes minutes
]
needs_containers = pytest.mark.skipif(
    DOCKER.problem is not None,
    reason=f"sam local cannot start a container on this machine: {DOCKER.problem}",
)

SCHEDULER_EVENT = "events/scheduler.json"
ENVELOPE_EVENT = "events/scheduled-event.json"
LAUNCH_TEXT = "Today is #SaferInternetDay."
LOCAL_CREDENTIALS = REPO_ROOT / "scripts" / "local-credentials.json"


@dataclass
class Invocation:
    result: dict[str, Any]  # what the handler returned
    documents: list[dict[str, Any]]  # the JSON lines of the container's output
    output: str  # everything sam printed


def printed_invoke_command(output: str) -> list[str]:
    """The `sam local invoke` command make local printed, continuation lines joined."""
    lines = [line.strip() for line in output.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith(".venv/bin/sam local invoke"))
    text = ""
    for line in lines[start:]:
        text += line
        if not text.endswith("\\"):
            break
        text = text[:-1] + " "
    return shlex.split(text)


def with_event(command: list[str], event: str) -> list[str]:
    changed = list(command)
    changed[changed.index("-e") + 1] = event
    return changed


def invoke(command: list[str], image: str) -> Invocation:
    """Run the command with the stand-in image; what the function returned and logged."""
    process = subprocess.run(
        [*command, "--invoke-image", image, "--skip-pull-image"],
        cwd=REPO_ROOT,
        env=sam_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    output = f"{process.stdout}\n{process.stderr}"
    assert process.returncode == 0, f"sam local invoke failed:\n{output}"
    payload = [line for line in process.stdout.splitlines() if line.strip()][-1]
    documents = [json.loads(line) for line in process.stderr.splitlines() if line.startswith("{")]
    return Invocation(json.loads(payload), documents, output)


def credential_values() -> list[str]:
    secret = json.loads(LOCAL_CREDENTIALS.read_text(encoding="utf-8"))
    return [
        value
        for channel in secret.values()
        for account in channel.values()
        for value in account.values()
    ]


def test_make_local_listens_on_loopback_and_the_docker_bridge_only(
    local_services: LocalServices,
) -> None:
    # Given make local's services, up
    ports = list(local_services.ports.values())

    # When each IPv4 address of this machine is tried on each service's port
    addresses = {interface_address(name) for _, name in socket.if_nameindex()} - {None}
    answering = {
        address: [port for port in ports if answers(str(address), port)] for address in addresses
    }

    # Then every service answers on 127.0.0.1 and on the Docker bridge's gateway, and none
    # on any other address (a public interface among them)
    expected = {"127.0.0.1", *([DOCKER.gateway] if DOCKER.gateway else [])}
    assert {address: found for address, found in answering.items() if found} == {
        address: ports for address in expected
    }


def answers(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((address, port)) == 0


@needs_containers
def test_the_printed_sam_local_invoke_publishes_the_launch_post_once(
    host_build: Path, lambda_image: str, local_services: LocalServices
) -> None:
    # Given the services make local started, and the sam local invoke line it printed, which
    # runs the host-architecture build with the local env file
    command = printed_invoke_command(local_services.output)
    assert REPO_ROOT / command[command.index("-t") + 1] == host_build / "template.yaml"
    assert command[command.index("--env-vars") + 1] == str(local_services.env_file)
    assert {"-e", SCHEDULER_EVENT} <= set(command)

    # When it runs (08:00 on 9 February 2021, when the launch post is due)
    first = invoke(command, lambda_image)

    # Then the function published the launch post to the fake X, the fake Mastodon and the
    # fake Facebook Page, from inside the container
    assert first.result["Published"] == 3
    posts = local_services.control("posts")
    assert [post["account"] for post in posts] == ["hertspolice"]
    assert posts[0]["text"].startswith(LAUNCH_TEXT)
    assert posts[0]["media"] and posts[0]["media"][0]["alt"]
    [status] = local_services.control("posts", "MASTODON_BASE_URL")
    assert status["text"].startswith(LAUNCH_TEXT) and status["media"][0]["description"]
    [page_post] = local_services.control("posts", "FACEBOOK_GRAPH_URL")
    assert page_post["message"].startswith(LAUNCH_TEXT) and page_post["photos"][0]["alt_text"]
    # and the container's output holds the function's JSON log line of the tick
    ticks = [doc for doc in first.documents if doc.get("message") == "tick"]
    assert [tick["summary"] for tick in ticks] == [first.result]
    assert ticks[0]["service"] == "herald"
    assert ticks[0]["function_name"] == "PublisherFunction"
    # and its metrics, in the embedded metric format, in the namespace herald
    metrics = [doc for doc in first.documents if "_aws" in doc]
    namespaces = [d["Namespace"] for m in metrics for d in m["_aws"]["CloudWatchMetrics"]]
    assert namespaces == ["herald"]
    published = metrics[0]["Published"]  # one value per post, as a list when several
    assert (sum(published) if isinstance(published, list) else published) == 3

    # When the same minute is invoked again, as the EventBridge envelope
    second = invoke(with_event(command, ENVELOPE_EVENT), lambda_image)

    # Then it published nothing more: the ledger in DynamoDB Local remembered the post
    assert second.result["now"] == first.result["now"]
    assert second.result.get("Published", 0) == 0
    assert len(local_services.control("posts")) == 1
    assert local_services.control("counts").get("POST /2/tweets") == 1
    assert len(local_services.control("posts", "MASTODON_BASE_URL")) == 1
    assert len(local_services.control("posts", "FACEBOOK_GRAPH_URL")) == 1
    # and no credential ever reached sam's output
    leaked = [v for v in credential_values() if v in first.output + second.output]
    assert leaked == []


@contextmanager
def start_lambda(template: Path, env_file: Path, image: str, log: Path) -> Iterator[str]:
    """`sam local start-lambda` on a free port of 127.0.0.1 until the block ends; its URL."""
    port = free_port()
    command = [
        str(SAM), "local", "start-lambda", "-t", str(template),
        "--env-vars", str(env_file), "--add-host", "host.docker.internal:host-gateway",
        "--invoke-image", image, "--skip-pull-image", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=sam_environment(), stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while not answers_http(port):
            assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "sam local start-lambda did not start in 120s"
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
        print(f"sam local start-lambda said:\n{log.read_text(errors='replace')}")


def answers_http(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def lambda_invoke(client: Any, event: str) -> dict[str, Any]:
    """What `aws lambda invoke --function-name PublisherFunction --payload fileb://EVENT`
    sends; the function's result."""
    response = client.invoke(
        FunctionName="PublisherFunction", Payload=(REPO_ROOT / event).read_bytes()
    )
    assert "FunctionError" not in response, response["Payload"].read()
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


@needs_containers
def test_start_lambda_and_lambda_invoke_give_the_same_result(
    host_build: Path, lambda_image: str, local_services: LocalServices, tmp_path: Path
) -> None:
    import boto3
    from botocore.config import Config

    # Given sam local start-lambda serving the host-architecture build, with make local's
    # services and env file
    template = host_build / "template.yaml"
    log = tmp_path / "start-lambda.log"
    with start_lambda(template, local_services.env_file, lambda_image, log) as url:
        client = boto3.client(
            "lambda",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(read_timeout=300, retries={"max_attempts": 1}),
        )

        # When the Lambda API is invoked twice with the sample events, as the AWS CLI would
        first = lambda_invoke(client, SCHEDULER_EVENT)
        second = lambda_invoke(client, ENVELOPE_EVENT)

    # Then the result is that of sam local invoke: the launch post published once on each
    assert first["Published"] == 3
    assert second.get("Published", 0) == 0
    posts = local_services.control("posts")
    assert [post["text"][: len(LAUNCH_TEXT)] for post in posts] == [LAUNCH_TEXT]
