"""The ledger on DynamoDB: one item per delivery, every transition a conditional write.

Items: pk = campaign id, sk = `<post>#<channel>#<account>`; the pause switch lives under
pk = `#control`, sk = `pause#<scope>`. Times are stored as fixed-width UTC strings
(`format_utc`), so a string comparison in a condition is a time comparison. Reads are
Queries and BatchGetItems, never a Scan.

boto3 is imported lazily: the Lambda's idle tick never pays for it.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from herald.delivery import DeliveryKey
from herald.ledger import (
    Attempt,
    Pause,
    Record,
    State,
    absent_note,
    conflict,
    found_note,
    resend_note,
    sent_text,
    sort_key,
)
from herald.timeutil import format_utc, parse_utc

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The partition that holds the pause switch (campaign ids are slugs, never `#...`).
CONTROL_PARTITION = "#control"
PAUSE_PREFIX = "pause#"
# BatchGetItem takes at most 100 keys a call.
BATCH_GET_LIMIT = 100
# The client the adapter builds when none is injected: botocore's standard retry mode
# retries throttling (ProvisionedThroughputExceeded, ThrottlingException) with backoff.
RETRIES = {"mode": "standard", "max_attempts": 3}
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
# A busy tick writes from the engine's 16 account threads and its side workers (up to 32)
# at once; each keeps a connection of its own. (botocore's default pool of 10 would open
# and drop connections under that load: a TLS handshake each.)
MAX_CONNECTIONS = 48

_CLAIMABLE = (
    "attribute_not_exists(#pk)"
    " OR (#state = :claimed AND #lease_until <= :now)"
    " OR (#state = :failed AND #retryable = :true"
    " AND (attribute_not_exists(#not_before) OR #not_before <= :now))"
    " OR (#state = :skipped AND #due_at <> :due)"
)
_HELD = "#state = :{state} AND #claim_token = :token"
_NAME = re.compile(r"#(\w+)")
_VALUE = re.compile(r":(\w+)")
_READS = frozenset({"BatchGetItem", "Query", "GetItem"})

AttributeValue = dict[str, Any]


class LedgerUnavailable(RuntimeError):
    """DynamoDB kept some reads unprocessed after every retry: try again on the next tick."""


class DynamoLedger:
    """The `Ledger` on one DynamoDB table, through a low-level boto3 client."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        *,
        batch_tries: int = 5,
        batch_backoff: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not table_name:
            raise ValueError("the ledger needs a DynamoDB table name")
        self.table_name = table_name
        self._client = client
        self._batch_tries = batch_tries
        self._batch_backoff = batch_backoff
        self._sleep = sleep
        self._lock = threading.Lock()
        # Requests sent, by DynamoDB operation (UpdateItem, BatchGetItem...), for benchmarks.
        self.requests: Counter[str] = Counter()

    @property
    def client(self) -> DynamoDBClient:
        """The injected client, or one made on first use from the SDK's standard settings."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = _default_client()
        return self._client

    @property
    def reads(self) -> int:
        return sum(count for op, count in self.requests.items() if op in _READS)

    @property
    def writes(self) -> int:
        return sum(count for op, count in self.requests.items() if op not in _READS)

    # --- reads ----------------------------------------------------------------------

    def get_many(self, keys: list[DeliveryKey]) -> dict[DeliveryKey, Record]:
        unique = list(dict.fromkeys(keys))
        found: dict[DeliveryKey, Record] = {}
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            chunk = unique[start : start + BATCH_GET_LIMIT]
            for item in self._batch_get([_key(key) for key in chunk]):
                record = _record(item)
                found[record.key] = record
        return found

    def records(self, campaign: str) -> list[Record]:
        return [_record(item) for item in self._query(campaign)]

    def pauses(self) -> list[Pause]:
        return [_pause(item) for item in self._query(CONTROL_PARTITION)]

    # --- transitions ----------------------------------------------------------------

    def claim(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        lease_until: datetime,
        due_at: datetime,
        idempotency_key: str | None = None,
        *,
        attempt_text: str | None = None,
    ) -> Record | None:
        state = State.CLAIMED if attempt_text is None else State.ATTEMPTING
        return self._update(
            key,
            sets={
                **_identity(key),
                **({} if attempt_text is None else {"attempted_at": _time(now)}),
                "state": _s(state),
                "claim_token": _s(token),
                "lease_until": _time(lease_until),
                "due_at": _time(due_at),
                "updated_at": _time(now),
                "retryable": {"BOOL": False},
            },
            keeps={"idempotency_key": _s(idempotency_key)} if idempotency_key else {},
            removes=("not_before", "reason"),
            counts=("attempts",),
            condition=_CLAIMABLE,
            values=_claimable_values(now, due_at),
            refusal=None,
            note=Attempt(now, state, text=sent_text(attempt_text), key=idempotency_key),
            done=lambda old: old.state is state and old.claim_token == token,
        )

    def mark_attempting(
        self, key: DeliveryKey, token: str, now: datetime, text: str | None = None
    ) -> Record:
        return self._must(
            key,
            token,
            "mark it ATTEMPTING",
            "CLAIMED under this claim",
            sets={
                "state": _s(State.ATTEMPTING),
                "updated_at": _time(now),
                "attempted_at": _time(now),
            },
            condition=_HELD.format(state="claimed"),
            values={"claimed": _s(State.CLAIMED), "token": _s(token)},
            note=Attempt(now, State.ATTEMPTING, text=sent_text(text)),
        )

    def mark_sent(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        remote_id: str,
        remote_url: str,
        cid: str | None = None,
    ) -> Record:
        return self._must(
            key,
            token,
            "mark it SENT",
            "ATTEMPTING under this claim",
            sets={
                "state": _s(State.SENT),
                "updated_at": _time(now),
                "remote_id": _s(remote_id),
                "remote_url": _s(remote_url),
                **_cid(cid),
            },
            removes=("lease_until",),
            condition=_HELD.format(state="attempting"),
            values={"attempting": _s(State.ATTEMPTING), "token": _s(token)},
            note=Attempt(now, State.SENT, remote_id=remote_id),
        )

    def mark_failed(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        reason: str,
        retryable: bool,
        not_before: datetime | None = None,
    ) -> Record:
        sets = {
            "state": _s(State.FAILED),
            "updated_at": _time(now),
            "reason": _s(reason),
            "retryable": {"BOOL": retryable},
        }
        removes = ["lease_until"]
        if not_before is None:
            removes.append("not_before")
        else:
            sets["not_before"] = _time(not_before)
        return self._must(
            key,
            token,
            "mark it FAILED",
            "CLAIMED or ATTEMPTING under this claim",
            sets=sets,
            removes=removes,
            condition="#state IN (:claimed, :attempting) AND #claim_token = :token",
            values={
                "claimed": _s(State.CLAIMED),
                "attempting": _s(State.ATTEMPTING),
                "token": _s(token),
            },
            note=Attempt(now, State.FAILED, reason),
        )

    def mark_unknown(self, key: DeliveryKey, token: str, now: datetime, reason: str) -> Record:
        return self._must(
            key,
            token,
            "mark it UNKNOWN",
            "ATTEMPTING under this claim",
            sets={"state": _s(State.UNKNOWN), "updated_at": _time(now), "reason": _s(reason)},
            removes=("lease_until",),
            condition=_HELD.format(state="attempting"),
            values={"attempting": _s(State.ATTEMPTING), "token": _s(token)},
            note=Attempt(now, State.UNKNOWN, reason),
        )

    def skip(self, key: DeliveryKey, now: datetime, reason: str, due_at: datetime) -> Record | None:
        return self._update(
            key,
            sets={
                **_identity(key),
                "state": _s(State.SKIPPED),
                "updated_at": _time(now),
                "due_at": _time(due_at),
                "reason": _s(reason),
                "retryable": {"BOOL": False},
            },
            removes=("claim_token", "lease_until", "not_before"),
            condition=_CLAIMABLE,
            values=_claimable_values(now, due_at),
            refusal=None,
            note=Attempt(now, State.SKIPPED, reason),
        )

    def expire_attempt(self, key: DeliveryKey, now: datetime, reason: str) -> Record | None:
        return self._update(
            key,
            sets={"state": _s(State.UNKNOWN), "updated_at": _time(now), "reason": _s(reason)},
            removes=("lease_until",),
            condition="#state = :attempting AND #lease_until <= :now",
            values={"attempting": _s(State.ATTEMPTING), "now": _time(now)},
            refusal=None,
            note=Attempt(now, State.UNKNOWN, reason),
        )

    def note_absent(self, key: DeliveryKey, now: datetime) -> Record | None:
        return self._update(
            key,
            sets={},
            keeps={"absent_since": _time(now)},
            condition="#state = :unknown",
            values={"unknown": _s(State.UNKNOWN)},
            refusal=None,
            note=absent_note(now),
        )

    def reclaim_unknown(
        self,
        key: DeliveryKey,
        token: str,
        now: datetime,
        lease_until: datetime,
        absent_before: datetime,
        max_resends: int,
    ) -> Record | None:
        return self._update(
            key,
            sets={
                "state": _s(State.CLAIMED),
                "claim_token": _s(token),
                "lease_until": _time(lease_until),
                "updated_at": _time(now),
            },
            removes=("absent_since",),
            counts=("attempts", "resends"),
            condition="#state = :unknown AND #absent_since <= :before"
            " AND (attribute_not_exists(#resends) OR #resends < :most)",
            values={
                "unknown": _s(State.UNKNOWN),
                "before": _time(absent_before),
                "most": {"N": str(max_resends)},
            },
            refusal=None,
            note=resend_note(now),
            done=lambda old: old.state is State.CLAIMED and old.claim_token == token,
        )

    def resolve_unknown(
        self,
        key: DeliveryKey,
        now: datetime,
        remote_id: str,
        remote_url: str,
        cid: str | None = None,
    ) -> Record:
        return self._must(
            key,
            None,
            "resolve it as SENT",
            "UNKNOWN",
            sets={
                "state": _s(State.SENT),
                "updated_at": _time(now),
                "remote_id": _s(remote_id),
                "remote_url": _s(remote_url),
                **_cid(cid),
            },
            condition="#state = :unknown",
            values={"unknown": _s(State.UNKNOWN)},
            note=found_note(now, remote_id),
            done=lambda old: old.state is State.SENT and old.remote_id == remote_id,
        )

    def requeue(self, key: DeliveryKey, now: datetime, reason: str) -> Record:
        return self._must(
            key,
            None,
            "requeue it",
            "UNKNOWN or FAILED",
            sets={
                "state": _s(State.FAILED),
                "updated_at": _time(now),
                "reason": _s(reason),
                "retryable": {"BOOL": True},
                "not_before": _time(now),
            },
            removes=("lease_until",),
            condition="#state IN (:unknown, :failed)",
            values={"unknown": _s(State.UNKNOWN), "failed": _s(State.FAILED)},
            note=Attempt(now, State.FAILED, reason),
        )

    # --- the pause switch -----------------------------------------------------------

    def pause(self, scope: str, reason: str, now: datetime) -> Pause:
        """Pause a scope; pausing it again keeps the first `since` and takes the new reason."""
        self._count("UpdateItem")
        response = self.client.update_item(
            TableName=self.table_name,
            Key={"pk": _s(CONTROL_PARTITION), "sk": _s(PAUSE_PREFIX + scope)},
            UpdateExpression="SET #scope = :scope, #reason = :reason, "
            "#since = if_not_exists(#since, :since)",
            ExpressionAttributeNames={"#scope": "scope", "#reason": "reason", "#since": "since"},
            ExpressionAttributeValues={
                ":scope": _s(scope),
                ":reason": _s(reason),
                ":since": _time(now),
            },
            ReturnValues="ALL_NEW",
        )
        return _pause(response["Attributes"])

    def resume(self, scope: str) -> bool:
        self._count("DeleteItem")
        response = self.client.delete_item(
            TableName=self.table_name,
            Key={"pk": _s(CONTROL_PARTITION), "sk": _s(PAUSE_PREFIX + scope)},
            ReturnValues="ALL_OLD",
        )
        return bool(response.get("Attributes"))

    # --- plumbing -------------------------------------------------------------------

    def _must(
        self,
        key: DeliveryKey,
        token: str | None,
        action: str,
        expected: str,
        *,
        sets: Mapping[str, AttributeValue],
        condition: str,
        values: Mapping[str, AttributeValue],
        note: Attempt,
        removes: Iterable[str] = (),
        done: Callable[[Record], bool] | None = None,
    ) -> Record:
        """A transition that must happen: a lost condition raises LedgerConflict, unless the
        record already shows it done (by default: in the new state under this claim)."""
        target = State(sets["state"]["S"])
        record = self._update(
            key,
            sets=sets,
            removes=removes,
            condition=condition,
            values=values,
            refusal=(action, expected, token),
            note=note,
            done=done or (lambda old: old.state is target and old.claim_token == token),
        )
        assert record is not None  # a refusal raises
        return record

    def _update(
        self,
        key: DeliveryKey,
        *,
        sets: Mapping[str, AttributeValue],
        condition: str,
        values: Mapping[str, AttributeValue],
        refusal: tuple[str, str, str | None] | None,
        note: Attempt,
        keeps: Mapping[str, AttributeValue] | None = None,
        removes: Iterable[str] = (),
        counts: Iterable[str] = (),
        done: Callable[[Record], bool] | None = None,
    ) -> Record | None:
        """One conditional UpdateItem that also appends `note` to the history. `keeps` are
        set only where absent; `counts` are incremented. A lost condition returns None, or
        raises LedgerConflict when `refusal` (action, expected state, token) is given.

        botocore retries a write whose answer was lost; when the first try was applied, the
        retry loses its own condition. So a lost condition on a record that `done` says
        already shows this write is this write's success (D5 in docs/reliability.md)."""
        from botocore.exceptions import ClientError

        keeps = keeps or {}
        expression, used_values = _update_expression(sets, keeps, removes, counts)
        available = {**values, **sets, **keeps, **used_values, "note": _note(note)}
        used = expression + " " + condition
        self._count("UpdateItem")
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=_key(key),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={f"#{n}": n for n in sorted(set(_NAME.findall(used)))},
                ExpressionAttributeValues={
                    f":{v}": available[v] for v in sorted(set(_VALUE.findall(used)))
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item = cast("Mapping[str, Any] | None", error.response.get("Item"))
            old = _record(item) if item else None
            if old is not None and done is not None and done(old):
                return old
            if refusal is None:
                return None
            action, expected, token = refusal
            raise conflict(key, action, expected, token, old) from None
        return _record(response["Attributes"])

    def _batch_get(self, keys: list[dict[str, AttributeValue]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        pending: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(self._batch_tries):
            if attempt:
                self._sleep(min(self._batch_backoff * 2 ** (attempt - 1), 1.0))
            self._count("BatchGetItem")
            response = self.client.batch_get_item(RequestItems=pending)
            items.extend(response.get("Responses", {}).get(self.table_name, []))
            pending = dict(response.get("UnprocessedKeys") or {})
            if not pending.get(self.table_name, {}).get("Keys"):
                return items
        left = len(pending[self.table_name]["Keys"])
        raise LedgerUnavailable(
            f"DynamoDB left {left} ledger reads unprocessed after {self._batch_tries} tries "
            f"on table {self.table_name}"
        )

    def _query(self, partition: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": "pk"},
            "ExpressionAttributeValues": {":pk": _s(partition)},
            "ConsistentRead": True,
        }
        while True:
            self._count("Query")
            response = self.client.query(**arguments)
            items.extend(response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            arguments["ExclusiveStartKey"] = last

    def _count(self, operation: str) -> None:
        with self._lock:
            self.requests[operation] += 1


def client_settings() -> dict[str, Any]:
    """The botocore Config of the ledger's client (the benchmarks build theirs from it).
    The SDK's own check of each request against the API's model is off: herald builds
    every request in this module, DynamoDB checks it again, and the check was a tenth of
    each conditional write's CPU time in a busy tick. The User-Agent is given, not built:
    botocore builds its default one twice for every request (about 0.4 ms of CPU, an
    eighth of a conditional write's)."""
    import platform

    import botocore

    from herald import __version__

    return {
        "retries": dict(RETRIES),
        "connect_timeout": CONNECT_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
        "max_pool_connections": MAX_CONNECTIONS,
        "parameter_validation": False,
        "user_agent": (
            f"herald/{__version__} Botocore/{botocore.__version__} "
            f"Python/{platform.python_version()}"
        ),
    }


def _default_client() -> DynamoDBClient:
    import boto3
    from botocore.config import Config

    return boto3.client("dynamodb", config=Config(**client_settings()))


def _claimable_values(now: datetime, due_at: datetime) -> dict[str, AttributeValue]:
    return {
        "claimed": _s(State.CLAIMED),
        "failed": _s(State.FAILED),
        "skipped": _s(State.SKIPPED),
        "true": {"BOOL": True},
        "now": _time(now),
        "due": _time(due_at),
    }


def _update_expression(
    sets: Mapping[str, AttributeValue],
    keeps: Mapping[str, AttributeValue],
    removes: Iterable[str],
    counts: Iterable[str],
) -> tuple[str, dict[str, AttributeValue]]:
    """The UpdateExpression of a transition, and the constant values it uses."""
    assignments = [f"#{name} = :{name}" for name in sets]
    assignments += [f"#{name} = if_not_exists(#{name}, :{name})" for name in keeps]
    assignments += [f"#{name} = if_not_exists(#{name}, :zero) + :one" for name in counts]
    assignments.append("#history = list_append(if_not_exists(#history, :empty), :note)")
    expression = "SET " + ", ".join(assignments)
    removed = [f"#{name}" for name in removes if name not in sets]
    if removed:
        expression += " REMOVE " + ", ".join(removed)
    return expression, {"zero": {"N": "0"}, "one": {"N": "1"}, "empty": {"L": []}}


def _note(note: Attempt) -> AttributeValue:
    """A history entry as a one-item DynamoDB list, for list_append."""
    entry = {name: _s(value) for name, value in note.as_dict().items()}
    return {"L": [{"M": entry}]}


def _s(text: str) -> AttributeValue:
    return {"S": str(text)}


def _cid(cid: str | None) -> dict[str, AttributeValue]:
    """The remote_cid attribute to set, if the channel gave one."""
    return {} if cid is None else {"remote_cid": _s(cid)}


def _time(moment: datetime) -> AttributeValue:
    return {"S": format_utc(moment)}


def _key(key: DeliveryKey) -> dict[str, AttributeValue]:
    return {"pk": _s(key.campaign), "sk": _s(sort_key(key))}


def _identity(key: DeliveryKey) -> dict[str, AttributeValue]:
    return {
        "campaign": _s(key.campaign),
        "post": _s(key.post),
        "channel": _s(key.channel),
        "account": _s(key.account),
    }


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value["S"])


def _moment(item: Mapping[str, Any], name: str) -> datetime | None:
    text = _text(item, name)
    return None if text is None else parse_utc(text)


def _record(item: Mapping[str, Any]) -> Record:
    key = DeliveryKey(
        str(item["campaign"]["S"]),
        str(item["post"]["S"]),
        str(item["channel"]["S"]),
        str(item["account"]["S"]),
    )
    return Record(
        key=key,
        state=State(item["state"]["S"]),
        updated_at=parse_utc(item["updated_at"]["S"]),
        due_at=_moment(item, "due_at"),
        claim_token=_text(item, "claim_token"),
        lease_until=_moment(item, "lease_until"),
        not_before=_moment(item, "not_before"),
        retryable=bool(item.get("retryable", {}).get("BOOL", False)),
        reason=_text(item, "reason"),
        remote_id=_text(item, "remote_id"),
        remote_url=_text(item, "remote_url"),
        remote_cid=_text(item, "remote_cid"),
        attempts=int(item.get("attempts", {}).get("N", "0")),
        attempted_at=_moment(item, "attempted_at"),
        absent_since=_moment(item, "absent_since"),
        resends=int(item.get("resends", {}).get("N", "0")),
        idempotency_key=_text(item, "idempotency_key"),
        history=tuple(
            Attempt.from_dict({name: str(value["S"]) for name, value in entry["M"].items()})
            for entry in item.get("history", {}).get("L", [])
        ),
    )


def _pause(item: Mapping[str, Any]) -> Pause:
    return Pause(
        scope=str(item["scope"]["S"]),
        reason=str(item["reason"]["S"]),
        since=parse_utc(item["since"]["S"]),
    )
