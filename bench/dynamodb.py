"""DynamoDB Local for the benchmarks: started with scripts/dynamodb_local.py, one table
created from template.yaml's LedgerTable."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from bench.common import REPO_ROOT


def launcher() -> ModuleType:
    name = "herald_scripts_dynamodb_local"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts/dynamodb_local.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@contextmanager
def dynamodb_table() -> Iterator[tuple[Any, str]]:
    """A DynamoDB client on a fresh DynamoDB Local, and a new ledger table's name."""
    import boto3
    from botocore.config import Config

    from herald.ledger.table import create_table, table_definition_from_template

    with launcher().running() as server:
        client = boto3.client(
            "dynamodb",
            endpoint_url=server.endpoint,
            region_name="eu-west-2",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32),
        )
        table = f"herald-bench-{uuid.uuid4().hex[:8]}"
        create_table(client, table, table_definition_from_template(REPO_ROOT / "template.yaml"))
        yield client, table
