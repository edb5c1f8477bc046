"""The shop's users table in the local runtime: customer lookup by id (workflow/lookup.py).

`RuntimeOptions(users_table=NAME)` reads a table the user creates in the runtime (key `customerId`,
attributes `email` and `name`, as the context defaults); `sample_users=True` creates
`ordermail-<env>-sample-users` with the customers below (plus `locale`) and reads that. Either way
the state machine is rendered with the lookup states and IAM is enforced from a template
synthesized with the same `usersTable` context, so the role's GetItem on that table is evaluated
like every other call.
"""

from __future__ import annotations

from typing import Any, Final

import boto3

from tasks import names
from workflow.context import UsersTable, load_config_from_mapping

from .options import RuntimeOptions

# Made-up customers (example.com is reserved for documentation); c-1003 has no address on purpose,
# so the demo can show an unknown_customer order.
SAMPLE_CUSTOMERS: Final[tuple[dict[str, str], ...]] = (
    {"customerId": "c-1001", "email": "ada.example@example.com", "name": "Ada Example", "locale": "en-GB"},
    {"customerId": "c-1002", "email": "jo.muster@example.com", "name": "Jo Muster", "locale": "de-DE"},
    {"customerId": "c-1003", "name": "No Address"},
)


def sample_table_name(env: str) -> str:
    return f"{names.SERVICE_NAME}-{env}-sample-users"


def lookup_context(options: RuntimeOptions) -> dict[str, str] | None:
    """The cdk context the runtime's stack is synthesized and rendered with (None: no lookup)."""
    if options.sample_users:
        return {"usersTable": sample_table_name(options.env), "usersLocaleAttribute": "locale"}
    if options.users_table:
        return {"usersTable": options.users_table}
    return None


def users_config(options: RuntimeOptions) -> UsersTable | None:
    context = lookup_context(options)
    return None if context is None else load_config_from_mapping(context).users_table


def iam_template(options: RuntimeOptions) -> dict[str, Any] | None:
    """The synthesized template with the lookup's context; None leaves the default template."""
    context = lookup_context(options)
    if context is None:
        return None
    from .iam.template import synthesized_template  # cached by content: a warm start does not synthesize

    return synthesized_template(options.env, context)


def create_sample_table(options: RuntimeOptions, *, endpoint_url: str | None = None) -> None:
    """The sample users table, when asked for (the runtime's own setup, not a stack principal's call)."""
    if not options.sample_users:
        return
    ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint_url)
    table = sample_table_name(options.env)
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "customerId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "customerId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for customer in SAMPLE_CUSTOMERS:
        ddb.put_item(TableName=table, Item={key: {"S": value} for key, value in customer.items()})
