"""The ledger table's definition, read from `template.yaml`, so tests and infrastructure agree.

Tests and `make local` create their tables from the `AWS::DynamoDB::Table` resource that
the SAM template deploys; nobody writes the key schema twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The logical id of the ledger table in template.yaml.
LEDGER_RESOURCE = "LedgerTable"

_TABLE_TYPE = "AWS::DynamoDB::Table"
_INDEX_FIELDS = ("IndexName", "KeySchema", "Projection")


@dataclass(frozen=True)
class Intrinsic:
    """A CloudFormation short-form function (`!Ref X`, `!Sub ...`), kept as a value."""

    tag: str
    value: Any


def load_template(template_path: str | Path) -> dict[str, Any]:
    """The template as plain data; CloudFormation's short tags load as `Intrinsic` values."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import SafeConstructor
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    class CloudFormationConstructor(SafeConstructor):
        """A safe constructor that also accepts `!Ref`, `!Sub`, `!GetAtt`, `!If`..."""

    def construct_intrinsic(constructor: Any, tag_suffix: str, node: Any) -> Intrinsic:
        if isinstance(node, MappingNode):
            value: Any = constructor.construct_mapping(node, deep=True)
        elif isinstance(node, SequenceNode):
            value = constructor.construct_sequence(node, deep=True)
        else:
            value = constructor.construct_scalar(node)
        return Intrinsic(f"!{tag_suffix}", value)

    CloudFormationConstructor.add_multi_constructor("!", construct_intrinsic)
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = CloudFormationConstructor
    data = yaml.load(Path(template_path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{template_path}: not a CloudFormation template (no mapping at the top)")
    return data


def table_definition_from_template(
    template_path: str | Path, resource: str = LEDGER_RESOURCE
) -> dict[str, Any]:
    """The `create_table` arguments (all but TableName) for one table of the template."""
    template = load_template(template_path)
    resources = template.get("Resources") or {}
    table = resources.get(resource)
    if not isinstance(table, dict) or table.get("Type") != _TABLE_TYPE:
        raise ValueError(f"{template_path}: no {_TABLE_TYPE} resource named {resource}")
    properties = table.get("Properties") or {}
    where = f"{template_path}: {resource}"

    billing = _literal(properties.get("BillingMode", "PAY_PER_REQUEST"), f"{where} BillingMode")
    definition: dict[str, Any] = {
        "AttributeDefinitions": _literal(
            properties.get("AttributeDefinitions"), f"{where} AttributeDefinitions"
        ),
        "KeySchema": _literal(properties.get("KeySchema"), f"{where} KeySchema"),
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        definition["ProvisionedThroughput"] = _literal(
            properties.get("ProvisionedThroughput"), f"{where} ProvisionedThroughput"
        )
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = _literal(properties.get(kind) or [], f"{where} {kind}")
        if indexes:
            definition[kind] = [_index(index, billing, kind) for index in indexes]
    if not definition["AttributeDefinitions"] or not definition["KeySchema"]:
        raise ValueError(f"{where} has no AttributeDefinitions or no KeySchema")
    return definition


def create_table(
    client: DynamoDBClient, name: str, definition: dict[str, Any], timeout: float = 60.0
) -> None:
    """Create the table and wait until it is ACTIVE."""
    client.create_table(TableName=name, **definition)
    delay = 1
    client.get_waiter("table_exists").wait(
        TableName=name,
        WaiterConfig={"Delay": delay, "MaxAttempts": max(1, int(timeout / delay))},
    )


def delete_table(client: DynamoDBClient, name: str, timeout: float = 60.0) -> None:
    """Delete the table and wait until it is gone."""
    client.delete_table(TableName=name)
    delay = 1
    client.get_waiter("table_not_exists").wait(
        TableName=name,
        WaiterConfig={"Delay": delay, "MaxAttempts": max(1, int(timeout / delay))},
    )


def _index(index: dict[str, Any], billing: str, kind: str) -> dict[str, Any]:
    fields = [*_INDEX_FIELDS]
    if billing == "PROVISIONED" and kind == "GlobalSecondaryIndexes":
        fields.append("ProvisionedThroughput")
    return {field: index[field] for field in fields if field in index}


def _literal(value: Any, where: str) -> Any:
    """The value, refusing CloudFormation functions: the table's shape must be literal."""
    if isinstance(value, Intrinsic):
        raise ValueError(f"{where} uses {value.tag}; the ledger table's shape must be literal")
    if isinstance(value, dict):
        return {key: _literal(item, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item, where) for item in value]
    return value
