"""Customer lookup by id (context usersTable): the states it adds to the ASL and the read it grants.

The states exist only when usersTable is set, so the default deployment pays no transition or
request for them (cost rule). With it set:

    Validate ─(needsLookup?)─ NeedsCustomerLookup ─yes→ LookupCustomer (dynamodb:getItem, projected)
                                    │ no                     → ValidateCustomer (the same Lambda, with the item)
                                    └────────────→ Prepare ←─┘

Validate is told `customerLookup: true`, so an order with a customerId and no customerEmail comes
back as `{needsLookup, orderId, customerId}` once the rest of it is valid. ValidateCustomer hands
the GetItem output and the projected attribute names to the same Lambda, which validates the
customer like an inline one (reason `unknown_customer`) and returns the usual `validated`.
Claim additionally stores `recipient`: the request kept in the ledger is the body as sent (only the
id), so the status views cannot derive the address from it. A replay or resend republishes that
body and looks the customer up again (their current address).

A failed GetItem (access denied, table missing, throttled past the retries) fails the execution
before Claim: the Pipe gives the message back to the queue, which redelivers it and finally moves
it to the dead-letter queue. The order is never recorded INVALID for the table's fault.

A table in another account needs a resource-based policy on that table allowing this stack's state
machine role dynamodb:GetItem (and kms:Decrypt on its key through the key policy); the stack cannot
create that, so it is documented (README "Customer lookup"), not built.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any, Final

from workflow.context import UsersTable

if TYPE_CHECKING:  # the local runtime renders the ASL with this module and no CDK loaded
    from aws_cdk import aws_iam as iam
    from constructs import Construct

NEEDS_LOOKUP: Final = "NeedsCustomerLookup"
LOOKUP: Final = "LookupCustomer"
VALIDATE_CUSTOMER: Final = "ValidateCustomer"
_CLAIMS: Final = ("Claim", "ClaimResend")
_DYNAMODB_RETRYABLE: Final = [
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.InternalServerError",
]


def projected_attributes(users: UsersTable) -> dict[str, str]:
    """Role → attribute name: what GetItem projects and the Lambda reads (locale "" when not read)."""
    return {"email": users.email_attribute, "name": users.name_attribute, "locale": users.locale_attribute or ""}


def with_customer_lookup(definition: str, users: UsersTable | None, *, table: str | None = None) -> str:
    """The ASL text with the lookup states when `users` is set (unchanged otherwise).

    `table` replaces the table name or ARN GetItem reads (the local runtime's table).
    """
    if users is None:
        return definition
    asl = json.loads(definition)
    states: dict[str, Any] = asl["States"]
    validate = states["Validate"]
    after_validate = validate["Next"]

    validate["Parameters"]["Payload"]["customerLookup"] = True
    validate["Next"] = NEEDS_LOOKUP
    states[NEEDS_LOOKUP] = {
        "Comment": "Validate asks for the users table only for an order with a customerId and no customerEmail.",
        "Type": "Choice",
        "Choices": [{"Variable": "$.validation.validated.needsLookup", "IsPresent": True, "Next": LOOKUP}],
        "Default": after_validate,
    }
    roles = projected_attributes(users)
    read = {role: name for role, name in roles.items() if name}
    states[LOOKUP] = {
        "Comment": "Only the customer's address, name and locale: nothing else of the shop's user record.",
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {
            "TableName": table or users.table,
            "Key": {users.key: {"S.$": "$.validation.validated.customerId"}},
            "ProjectionExpression": ", ".join(f"#{role}" for role in read),
            "ExpressionAttributeNames": {f"#{role}": name for role, name in read.items()},
        },
        "ResultPath": "$.customer",
        "Retry": [
            {"ErrorEquals": _DYNAMODB_RETRYABLE, "IntervalSeconds": 1, "MaxAttempts": 4, "BackoffRate": 2,
             "MaxDelaySeconds": 8, "JitterStrategy": "FULL"}
        ],
        "Next": VALIDATE_CUSTOMER,
    }
    second = copy.deepcopy(validate)
    second["Comment"] = "Validate again with the looked-up customer (unknown_customer when there is none)."
    second["Parameters"]["Payload"] = {
        "records.$": "$.records",
        "executionArn.$": "$$.Execution.Id",
        "customer.$": "$.customer",
        "attributes": roles,
    }
    second["Next"] = after_validate
    states[VALIDATE_CUSTOMER] = second

    for name in _CLAIMS:
        parameters = states[name]["Parameters"]
        expression: str = parameters["UpdateExpression"]
        set_part, add, rest = expression.partition(" ADD ")
        if not add or not set_part.startswith("SET "):  # the recipient goes into the SET clause
            raise ValueError(f"{name}: expected 'SET … ADD …' in its UpdateExpression, got {expression[:60]!r}")
        parameters["UpdateExpression"] = f"{set_part}, #recipient = :recipient{add}{rest}"
        parameters["ExpressionAttributeNames"]["#recipient"] = "recipient"
        parameters["ExpressionAttributeValues"][":recipient"] = {"S.$": "$.validated.recipient"}
    return json.dumps(asl, indent=2, ensure_ascii=False)


def users_table_arn(scope: Construct, users: UsersTable) -> str:
    from aws_cdk import ArnFormat, Stack

    if users.table.startswith("arn:"):
        return users.table
    return Stack.of(scope).format_arn(
        service="dynamodb", resource="table", resource_name=users.table, arn_format=ArnFormat.SLASH_RESOURCE_NAME
    )


def grant_customer_lookup(role: iam.IGrantable, scope: Construct, users: UsersTable) -> None:
    """Read-only, one table: GetItem on it (no Query/Scan, no index), and Decrypt on its own key."""
    from aws_cdk import Arn, ArnFormat
    from aws_cdk import aws_iam as iam

    role.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(sid="ReadCustomers", actions=["dynamodb:GetItem"], resources=[users_table_arn(scope, users)])
    )
    if users.key_arn:
        region = Arn.split(users.key_arn, ArnFormat.SLASH_RESOURCE_NAME).region
        role.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptCustomers",
                actions=["kms:Decrypt"],
                resources=[users.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
            )
        )
