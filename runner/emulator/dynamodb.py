"""DynamoDB as CloudTrail and IAM see it: item-level calls are data events, which CloudTrail's event
history never holds, and what IAM is asked for a call (`asks`, on the tables it names).
"""

from __future__ import annotations

from collections.abc import Iterator

from .access import Ask
from .model import Behaviour, Call, Reply

# CloudTrail logs these as data events (CloudTrail User Guide, "Logging data events": AWS::DynamoDB::Table
# and AWS::DynamoDB::Stream); LookupEvents shows management events only.
DATA_EVENTS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "BatchWriteItem", "Query", "Scan",
    "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction",
    "GetRecords", "GetShardIterator",
})


def _tables(call: Call) -> Iterator[str]:
    params = call.params
    if params.get("TableName"):
        yield str(params["TableName"])
    yield from (str(name) for name in params.get("RequestItems") or {})
    for item in params.get("TransactItems") or []:
        for part in dict(item).values():
            if isinstance(part, dict) and part.get("TableName"):
                yield str(part["TableName"])


def table_arn(call: Call, name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{call.region}:{call.account_id}:table/{name}"


def asks(call: Call) -> list[Ask]:
    """dynamodb:<Operation> on every table the call names (a batch or a transaction names several);
    ListTables and the like on "*". Table resource policies are not modelled."""
    action = f"dynamodb:{call.operation}"
    tables = list(dict.fromkeys(_tables(call)))
    return [Ask(action, table_arn(call, name)) for name in tables] or [Ask(action)]


def _resources(call: Call, reply: Reply) -> list[dict[str, str]]:
    return [{"accountId": call.account_id, "type": "AWS::DynamoDB::Table", "ARN": table_arn(call, name)}
            for name in dict.fromkeys(_tables(call))]


BEHAVIOUR = Behaviour(service="dynamodb", data_events=DATA_EVENTS, resources=_resources)
