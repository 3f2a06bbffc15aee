"""The fake Secrets Manager answers boto3, Powertools Parameters and herald's credentials
provider as Secrets Manager would, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from herald.credentials import CredentialsError, SecretsManagerCredentials
from herald_dev.aws_env import REGION, sandbox_client
from herald_dev.fake_secrets import NOT_FOUND_MESSAGE, FakeSecrets
from herald_dev.x_accounts import X_SECRET, X_SECRET_NAME
from tests.integration.conftest import serving

pytestmark = pytest.mark.integration


def client(endpoint: str) -> Any:
    return sandbox_client("secretsmanager", endpoint)


def test_boto3_reads_a_secret_by_name_and_by_arn(fake_secrets: FakeSecrets) -> None:
    # Given the fake holding the X test secret
    secretsmanager = client(fake_secrets.url)

    # When boto3 asks for it by name, then by the ARN it was told
    by_name = secretsmanager.get_secret_value(SecretId=X_SECRET_NAME)
    by_arn = secretsmanager.get_secret_value(SecretId=by_name["ARN"])

    # Then both answers carry the secret as Secrets Manager shapes it
    assert json.loads(by_name["SecretString"]) == X_SECRET
    assert by_name["Name"] == X_SECRET_NAME
    assert by_name["ARN"].startswith(
        f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{X_SECRET_NAME}-"
    )
    assert by_name["VersionStages"] == ["AWSCURRENT"]
    assert by_name["VersionId"]
    assert by_name["CreatedDate"].year >= 2024
    assert by_arn["SecretString"] == by_name["SecretString"]


def test_an_unknown_secret_is_resource_not_found(fake_secrets: FakeSecrets) -> None:
    from botocore.exceptions import ClientError

    # Given the fake, which holds no secret of this name
    secretsmanager = client(fake_secrets.url)

    # When boto3 asks for it
    with pytest.raises(ClientError) as raised:
        secretsmanager.get_secret_value(SecretId="herald/missing")

    # Then it fails as Secrets Manager fails
    error = raised.value.response["Error"]
    assert error["Code"] == "ResourceNotFoundException"
    assert error["Message"] == NOT_FOUND_MESSAGE
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_powertools_get_secret_follows_the_standard_endpoint_variable(
    secrets_manager_env: str,
) -> None:
    from aws_lambda_powertools.utilities import parameters

    # Given AWS_ENDPOINT_URL_SECRETS_MANAGER pointing at the fake (and nothing else changed)
    # When Powertools reads the secret, as the function does
    value = parameters.get_secret(X_SECRET_NAME, transform="json")

    # Then it gets the JSON object stored there
    assert value == X_SECRET


def test_herald_credentials_come_from_the_fake(secrets_manager_env: str) -> None:
    # Given herald's production credentials provider, on the standard endpoint variable
    provider = SecretsManagerCredentials(X_SECRET_NAME)

    # When it is asked for an account's keys, and for a secret that does not exist
    keys = provider.for_account("x", "hertspolice")
    with pytest.raises(CredentialsError) as raised:
        SecretsManagerCredentials("herald/missing").for_account("x", "hertspolice")

    # Then the keys are those of the secret, and the failure names the AWS error, no value
    assert keys.access_token == X_SECRET["x"]["hertspolice"]["access_token"]
    assert "ResourceNotFoundException" in str(raised.value)
    assert "herald/missing" in str(raised.value)


def test_an_unsigned_request_is_refused(fake_secrets: FakeSecrets) -> None:
    # Given a request with the right target and body but no Authorization header
    request = urllib.request.Request(
        fake_secrets.url,
        data=json.dumps({"SecretId": X_SECRET_NAME}).encode(),
        headers={
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "Content-Type": "application/x-amz-json-1.1",
        },
        method="POST",
    )

    # When it is sent
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)

    # Then it is refused, and the secret's value is not in the answer
    body = raised.value.read().decode()
    assert raised.value.code == 400
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    assert "hertspolice" not in body


def test_the_command_line_serves_a_file_and_never_prints_it(tmp_path: Path) -> None:
    # Given a credentials file
    secret_file = tmp_path / "credentials.json"
    secret_file.write_text(json.dumps(X_SECRET), encoding="utf-8")

    # When the fake is started from the command line on a free port
    secret = f"herald/local/credentials={secret_file}"
    with serving("herald_dev.fake_secrets", "--secret", secret) as served:
        endpoint = served.banner.split(" listening on ")[1].split()[0]
        answer = client(endpoint).get_secret_value(SecretId="herald/local/credentials")

    # Then it serves the file's content, names the secret, and prints no value
    assert json.loads(answer["SecretString"]) == X_SECRET
    assert "herald/local/credentials" in served.banner
    assert "hertspolice-" not in served.banner + served.errors
    assert served.returncode == 0
