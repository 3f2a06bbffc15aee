"""`make local`'s Bluesky: the reference PDS beside the other local services, with the
account the docs name, whose app password is in the local secret where the function reads
it, and the command make local prints to see what was posted."""

from __future__ import annotations

import json
import re
import shlex
import subprocess

import pytest

from herald.channels import OutcomeKind
from herald.channels.bluesky import BlueskyChannel
from herald.credentials import StaticCredentials
from herald_dev.aws_env import sandbox_client
from herald_dev.bluesky_accounts import xrpc
from herald_dev.host_build import REPO_ROOT
from tests.samlocal.conftest import LocalServices

LOCAL_CREDENTIALS = REPO_ROOT / "scripts" / "local-credentials.json"
HANDLE = "hertspolice.bsky.social"

pytestmark = pytest.mark.samlocal


def test_make_local_holds_a_bluesky_account_the_function_can_post_from(
    local_services: LocalServices,
) -> None:
    # Given make local's services, up
    ports = local_services.ports
    service = f"http://127.0.0.1:{ports['BLUESKY_SERVICE_URL']}"
    secrets = sandbox_client(
        "secretsmanager", f"http://127.0.0.1:{ports['AWS_ENDPOINT_URL_SECRETS_MANAGER']}"
    )

    # When the local secret is read as the function reads it
    value = secrets.get_secret_value(SecretId="herald/local/credentials")["SecretString"]
    secret = json.loads(value)

    # Then it holds the X keys as before and the Bluesky account's app password, which logs
    # in to the local PDS as the account the docs name; make local never printed it
    assert secret["x"] == json.loads(LOCAL_CREDENTIALS.read_text(encoding="utf-8"))["x"]
    keys = secret["bluesky"]["hertspolice"]
    login = xrpc(
        service,
        "com.atproto.server.createSession",
        body={"identifier": keys["identifier"], "password": keys["app_password"]},
    )
    assert login["handle"] == HANDLE
    assert keys["app_password"] not in local_services.output

    # And a post herald's channel makes there is listed by the command make local printed
    channel = BlueskyChannel(
        {"hertspolice": {"handle": HANDLE}}, StaticCredentials(secret), service_url=service
    )
    sent = channel.publish("hertspolice", "Hello from make local #SaferInternetDay", None, [])
    assert sent.kind is OutcomeKind.SENT, sent.reason
    printed = re.search(r"^\s*(curl -s '[^']*listRecords[^']*')$", local_services.output, re.M)
    assert printed is not None, local_services.output
    listed = subprocess.run(
        shlex.split(printed.group(1)), capture_output=True, text=True, check=True, timeout=30
    )
    records = json.loads(listed.stdout)["records"]
    assert [r["value"]["text"] for r in records] == ["Hello from make local #SaferInternetDay"]
    assert records[0]["uri"] == sent.remote_id
