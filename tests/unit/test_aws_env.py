"""The AWS sandbox environment the tests, the benchmarks and their subprocesses share: dummy
credentials and herald's region, nothing the caller's shell had for AWS."""

from __future__ import annotations

import os

import boto3
import pytest

from herald_dev.aws_env import ACCESS_KEY, REGION, sandbox_client, sandbox_env, sandboxed

LEFT_OVER = {
    "AWS_PROFILE": "production",
    "AWS_SESSION_TOKEN": "a-real-token",
    "AWS_ENDPOINT_URL": "https://example.invalid",
    "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
}


def test_a_subprocess_environment_keeps_no_aws_variable_of_the_caller() -> None:
    # Given a shell with a profile, a session token and endpoints left over, and other settings
    environ = {**LEFT_OVER, "PATH": "/usr/bin", "LANG": "C.UTF-8"}
    # When the sandbox is built from it, with an endpoint of the test's own
    env = sandboxed(environ, AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:4566")
    # Then the caller's AWS variables are gone, the rest is kept, the sandbox's are set
    assert not set(LEFT_OVER) & set(env)
    assert env["PATH"] == "/usr/bin" and env["LANG"] == "C.UTF-8"
    assert {k: env[k] for k in sandbox_env()} == sandbox_env()
    assert env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] == "http://127.0.0.1:4566"
    # And no file or metadata service can supply other credentials or another region
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION == "eu-west-2"


def test_the_fixture_gives_the_sdk_the_dummy_credentials_and_region(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    # Given a shell with a profile and a session token
    for name, value in LEFT_OVER.items():
        monkeypatch.setenv(name, value)
    # When a test asks for the sandbox
    request.getfixturevalue("aws_sandbox")
    # Then the variables left over are gone, and boto3 finds the sandbox's keys and region
    assert not set(LEFT_OVER) & set(os.environ)
    session = boto3.Session()
    credentials = session.get_credentials()
    assert credentials is not None and credentials.access_key == ACCESS_KEY
    assert credentials.token is None
    assert session.region_name == REGION


def test_a_client_on_a_local_endpoint_has_the_sandbox_credentials_and_region() -> None:
    # Given a local endpoint / When a client is made for it, with a setting of botocore's
    client = sandbox_client("secretsmanager", "http://127.0.0.1:4566", read_timeout=2)
    # Then it is on that endpoint, in the sandbox's region, with its keys and the setting
    assert client.meta.endpoint_url == "http://127.0.0.1:4566"
    assert client.meta.region_name == REGION
    assert client._request_signer._credentials.access_key == ACCESS_KEY
    assert client.meta.config.read_timeout == 2
