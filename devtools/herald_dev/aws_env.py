"""The AWS SDK environment of a process that must never reach AWS: dummy credentials, the
region herald runs in, no shared config or credentials file, no instance metadata.

Tests set it with monkeypatch (the `aws_sandbox` fixture); subprocess environments are built
with `sandboxed(...)`. Either way every other `AWS_*` variable of the caller's environment
(a profile, a session token, an endpoint left over from `make local`) is dropped, so what a
test reaches is only what it names: add `AWS_ENDPOINT_URL_<SERVICE>` for a local service.
`sandbox_client(...)` is a boto3 client with the same credentials and region.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, cast

REGION = "eu-west-2"
# Any credentials will do for the fakes and DynamoDB Local; these keep the SDK from looking
# for real ones.
ACCESS_KEY = "testing"
SECRET_KEY = "testing"


def sandbox_env() -> dict[str, str]:
    """The SDK's standard variables for the sandbox (set all of them, and no other AWS_*)."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def is_aws_variable(name: str) -> bool:
    """A variable the AWS SDK reads (the sandbox replaces all of them)."""
    return name.startswith("AWS_")


def sandboxed(environ: Mapping[str, str], **variables: str) -> dict[str, str]:
    """A subprocess environment: `environ` without its AWS_* variables, the sandbox's, then
    `variables` (endpoints, the function's settings, ...)."""
    kept = {name: value for name, value in environ.items() if not is_aws_variable(name)}
    return {**kept, **sandbox_env(), **variables}


def sandbox_client(service: str, endpoint: str, **config: Any) -> Any:
    """A boto3 client for `service` on a local `endpoint`, with the sandbox's credentials
    and region; `config` goes to botocore's Config."""
    import boto3
    from botocore.config import Config

    # boto3's stubs type a client by its service's literal name; here it is any service.
    make = cast(Callable[..., Any], boto3.client)
    return make(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        config=Config(**config),
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
