"""What IAM authorizes for one AWS request moto serves: the IAM action(s), resource ARN(s) and condition keys.

IAM action names are not always the API's (SESv2 `SendEmail` is `ses:SendEmail`; a DynamoDB
`BatchGetItem` is authorized on each table it reads; a `Query` on an index on
`table/<t>/index/<i>`). Only the calls this stack's principals make are mapped precisely; any
other action is evaluated as `<prefix>:<Action>` on `*`, which a least-privilege policy denies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

# moto's response-class service name → the IAM service prefix
PREFIXES = {
    "dynamodb": "dynamodb", "sqs": "sqs", "sns": "sns", "sesv2": "ses", "ses": "ses", "awslambda": "lambda",
    "lambda": "lambda", "stepfunctions": "states", "kms": "kms", "logs": "logs", "cloudwatch": "cloudwatch",
    "events": "events", "xray": "xray", "sts": "sts", "iam": "iam", "cloudformation": "cloudformation",
}
# DynamoDB TransactWriteItems members → the action each is authorized as.
_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
_LAMBDA_FUNCTION = re.compile(r"/20\d\d-\d\d-\d\d/functions/([^/]+)")


@dataclass(frozen=True)
class Check:
    """One authorization AWS makes: `action` on `resource` with these condition keys."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = field(default=())


def _json_body(response: Any) -> dict[str, Any]:
    body = response.body
    if isinstance(body, dict):  # moto's DynamoDB handler has parsed it already
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _param(response: Any, name: str) -> str | None:
    values = response.querystring.get(name)
    return str(values[0]) if values else None


def _table_arn(table: str, region: str, account: str) -> str:
    return table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{table}"


def queue_arn(queue_url: str, region: str, account: str) -> str:
    if queue_url.startswith("arn:"):
        return queue_url
    parts = [part for part in urlsplit(queue_url).path.split("/") if part]
    owner, name = (parts[-2], parts[-1]) if len(parts) >= 2 else (account, parts[-1] if parts else "")
    return f"arn:aws:sqs:{region}:{owner}:{name}"


def function_arn(name: str, region: str, account: str) -> str:
    name = unquote(name)
    if name.startswith("arn:"):
        parts = name.split(":")
        return ":".join(parts[:7])  # a qualified ARN (…:function:f:alias) is authorized as well on the function
    return f"arn:aws:lambda:{region}:{account}:function:{name.split(':')[0]}"


def checks_for(response: Any, *, region: str, account: str) -> list[Check]:
    """The authorizations AWS makes for this request (an empty list: nothing to check)."""
    service = str(getattr(response, "service_name", "") or "")
    action = response._get_action()
    prefix = PREFIXES.get(service, service)
    if service == "dynamodb":
        return _dynamodb(action, _json_body(response), region, account)
    if service == "sqs":
        body = _json_body(response) if response.body and str(response.body).lstrip().startswith("{") else {}
        url = body.get("QueueUrl") or _param(response, "QueueUrl")
        if url:
            return [Check(f"sqs:{action}", queue_arn(str(url), region, account))]
        name = body.get("QueueName") or _param(response, "QueueName")
        return [Check(f"sqs:{action}", f"arn:aws:sqs:{region}:{account}:{name}" if name else "*")]
    if service == "sns":
        arn = _param(response, "TopicArn") or _param(response, "TargetArn") or _param(response, "SubscriptionArn")
        return [Check(f"sns:{action}", arn or "*")]
    if service == "sesv2" and action == "SendEmail":
        return _ses_send(_json_body(response), region, account)
    if service == "awslambda":
        match = _LAMBDA_FUNCTION.search(response.path or "")
        iam_action = "lambda:InvokeFunction" if action == "Invoke" else f"lambda:{action}"
        return [Check(iam_action, function_arn(match.group(1), region, account) if match else "*")]
    if service == "dynamodbstreams":
        return [_stream_check(action, _json_body(response), region, account)]
    if service == "events" and action == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in _json_body(response).get("Entries", [])}
        return [Check("events:PutEvents", _bus_arn(bus, region, account)) for bus in sorted(buses)]
    if service == "stepfunctions":
        body = _json_body(response)
        arn = body.get("stateMachineArn") or body.get("executionArn") or "*"
        return [Check(f"states:{action}", str(arn))]
    return [Check(f"{prefix}:{action}", "*")]


def _stream_check(action: str, body: dict[str, Any], region: str, account: str) -> Check:
    # A stream call is authorized as dynamodb:<action> on the stream ARN; GetRecords names only
    # its iterator, which (in moto, as on AWS in substance) belongs to one stream: "<arn>|…".
    arn = body.get("StreamArn") or str(body.get("ShardIterator", "")).split("|", 1)[0]
    if action == "ListStreams":
        arn = "*"
    return Check(f"dynamodb:{action}", str(arn) if str(arn).startswith("arn:") else "*")


def _bus_arn(bus: str, region: str, account: str) -> str:
    return bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}"


def _dynamodb(action: str, body: dict[str, Any], region: str, account: str) -> list[Check]:
    if action in ("BatchGetItem", "BatchWriteItem"):
        return [Check(f"dynamodb:{action}", _table_arn(t, region, account)) for t in body.get("RequestItems", {})]
    if action in ("TransactWriteItems", "TransactGetItems"):
        checks = []
        for item in body.get("TransactItems", []):
            for member, operation in item.items():
                table = operation.get("TableName", "")
                checks.append(Check(f"dynamodb:{_TRANSACT_ACTIONS.get(member, member)}",
                                    _table_arn(table, region, account)))
        return checks
    table = body.get("TableName")
    if not table:
        return [Check(f"dynamodb:{action}", "*")]
    arn = _table_arn(str(table), region, account)
    if body.get("IndexName"):
        arn = f"{arn}/index/{body['IndexName']}"
    return [Check(f"dynamodb:{action}", arn)]


def _ses_send(body: dict[str, Any], region: str, account: str) -> list[Check]:
    """SESv2 SendEmail is authorized on the sending identity and on the configuration set used."""
    sender = str(body.get("FromEmailAddress") or "")
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    identity = body.get("FromEmailAddressIdentityArn") or (
        f"arn:aws:ses:{region}:{account}:identity/{address.rpartition('@')[2]}" if address else "*"
    )
    context = (("ses:FromAddress", address),)
    checks = [Check("ses:SendEmail", str(identity), context)]
    if body.get("ConfigurationSetName"):
        checks.append(Check("ses:SendEmail",
                            f"arn:aws:ses:{region}:{account}:configuration-set/{body['ConfigurationSetName']}", context))
    return checks
