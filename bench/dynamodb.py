"""DynamoDB Local for the benchmarks: started with scripts/dynamodb_local.py, one table
created from template.yaml's LedgerTable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.fixtures.dynamodb_local import TEMPLATE, launcher


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
        create_table(client, table, table_definition_from_template(TEMPLATE))
        yield client, table
