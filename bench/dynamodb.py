"""DynamoDB Local for the benchmarks: started with `herald_dev.dynamodb_local`, one table
created from template.yaml's LedgerTable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from herald_dev.dynamodb_local import TEMPLATE, make_client, running


@contextmanager
def dynamodb_table() -> Iterator[tuple[Any, str, int]]:
    """A DynamoDB client on a fresh DynamoDB Local, configured as the function's ledger
    client is, a new ledger table's name, and the process id of DynamoDB Local's Java."""
    from herald.ledger.dynamodb import client_settings
    from herald.ledger.table import create_table, table_definition_from_template

    with running() as server:
        client = make_client(server.endpoint, **client_settings())  # the function's settings
        table = f"herald-bench-{uuid.uuid4().hex[:8]}"
        create_table(client, table, table_definition_from_template(TEMPLATE))
        yield client, table, server.process.pid
