"""The policy evaluator against the AWS evaluation rules the stack relies on (no template here)."""

from __future__ import annotations

from typing import Any

import pytest

from ordermail.emulator.iam.evaluate import (
    Decision,
    DecisionCache,
    PolicyError,
    Request,
    access_denied_message,
    compile_policy,
    evaluate,
)

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"
CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/session-1"
OTHER_CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/other/session-1"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/ledger"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:orders"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(
    action: str,
    resource: str,
    identity: list[dict[str, Any]],
    resource_policy: dict[str, Any] | None = None,
    principal: str = CALLER,
    **context: Any,
) -> Decision:
    return evaluate(Request(principal, action, resource, context), identity, resource_policy)


# --- actions and resources -----------------------------------------------------------------


def test_no_policy_is_an_implicit_deny_with_awss_reason() -> None:
    decision = decide("dynamodb:GetItem", TABLE, [])
    assert decision == Decision(False, "because no identity-based policy allows the dynamodb:GetItem action")


def test_action_wildcards_and_case_insensitive_actions() -> None:
    identity = [policy(allow(["dynamodb:Get*", "sqs:?eleteMessage"], [TABLE, QUEUE]))]
    assert decide("dynamodb:GetItem", TABLE, identity).allowed
    assert decide("DynamoDB:getitem", TABLE, identity).allowed
    assert decide("sqs:DeleteMessage", QUEUE, identity).allowed
    assert not decide("dynamodb:PutItem", TABLE, identity).allowed
    assert not decide("sqs:DeleteMessageBatch", QUEUE, identity).allowed  # `?` is one character, no more


def test_resources_are_case_sensitive_and_exact() -> None:
    identity = [policy(allow("dynamodb:GetItem", TABLE))]
    assert decide("dynamodb:GetItem", TABLE, identity).allowed
    assert not decide("dynamodb:GetItem", TABLE.replace("ledger", "Ledger"), identity).allowed
    # The table ARN does not cover its indexes.
    assert not decide(
        "dynamodb:Query", f"{TABLE}/index/byStatus", [policy(allow("dynamodb:Query", TABLE))]
    ).allowed


def test_index_wildcard_and_slash_star() -> None:
    identity = [policy(allow("dynamodb:Query", f"{TABLE}/index/*"))]
    assert decide("dynamodb:Query", f"{TABLE}/index/byStatus", identity).allowed
    assert not decide("dynamodb:Query", TABLE, identity).allowed
    assert not decide("dynamodb:Query", f"{TABLE}x/index/byStatus", identity).allowed
    assert not decide("dynamodb:Query", f"{TABLE}/INDEX/byStatus", identity).allowed  # wildcards keep case
    logs = [policy(allow("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/f:*"))]
    assert decide(
        "logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:s", logs
    ).allowed
    assert not decide(
        "logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/g:log-stream:s", logs
    ).allowed


def test_explicit_deny_overrides_allow_in_any_order() -> None:
    identity = [policy(allow("dynamodb:*", "*")), policy(deny("dynamodb:DeleteItem", TABLE))]
    decision = decide("dynamodb:DeleteItem", TABLE, identity)
    assert decision == Decision(False, "with an explicit deny in an identity-based policy")
    assert decide("dynamodb:GetItem", TABLE, identity).allowed
    assert not decide("dynamodb:DeleteItem", TABLE, list(reversed(identity))).allowed


def test_not_action_and_not_resource() -> None:
    identity = [policy({"Effect": "Allow", "NotAction": "dynamodb:Delete*", "Resource": TABLE})]
    assert decide("dynamodb:PutItem", TABLE, identity).allowed
    assert not decide("dynamodb:DeleteItem", TABLE, identity).allowed
    not_resource = [policy({"Effect": "Allow", "Action": "sqs:*", "NotResource": QUEUE})]
    assert decide("sqs:SendMessage", QUEUE + "-dlq", not_resource).allowed
    assert not decide("sqs:SendMessage", QUEUE, not_resource).allowed


# --- conditions ----------------------------------------------------------------------------


SEND = "ses:SendEmail"
IDENTITY_ARN = f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/shop.example"


def test_ses_from_address_string_equals() -> None:
    identity = [
        policy(
            allow(
                SEND, IDENTITY_ARN, Condition={"StringEquals": {"ses:FromAddress": "no-reply@shop.example"}}
            )
        )
    ]
    assert decide(SEND, IDENTITY_ARN, identity, **{"ses:FromAddress": "no-reply@shop.example"}).allowed
    assert not decide(SEND, IDENTITY_ARN, identity, **{"ses:FromAddress": "ceo@shop.example"}).allowed
    assert not decide(SEND, IDENTITY_ARN, identity).allowed  # missing key: a positive operator is false
    # Condition keys are case-insensitive, values are not.
    assert decide(SEND, IDENTITY_ARN, identity, **{"SES:fromaddress": "no-reply@shop.example"}).allowed
    assert not decide(SEND, IDENTITY_ARN, identity, **{"ses:FromAddress": "No-Reply@shop.example"}).allowed


def test_string_like_and_ignore_case() -> None:
    like = [policy(allow(SEND, "*", Condition={"StringLike": {"ses:FromAddress": "*@shop.example"}}))]
    assert decide(SEND, IDENTITY_ARN, like, **{"ses:FromAddress": "a@shop.example"}).allowed
    assert not decide(SEND, IDENTITY_ARN, like, **{"ses:FromAddress": "a@shop.example.evil"}).allowed
    ignore = [
        policy(allow(SEND, "*", Condition={"StringEqualsIgnoreCase": {"ses:FromAddress": "A@shop.example"}}))
    ]
    assert decide(SEND, IDENTITY_ARN, ignore, **{"ses:FromAddress": "a@SHOP.example"}).allowed


def test_string_not_equals_is_true_for_a_missing_key_and_false_on_a_match() -> None:
    identity = [
        policy(allow(SEND, "*", Condition={"StringNotEquals": {"ses:FromAddress": "x@shop.example"}}))
    ]
    assert decide(SEND, IDENTITY_ARN, identity, **{"ses:FromAddress": "y@shop.example"}).allowed
    assert not decide(SEND, IDENTITY_ARN, identity, **{"ses:FromAddress": "x@shop.example"}).allowed
    assert decide(SEND, IDENTITY_ARN, identity).allowed  # AWS: a negated operator matches a missing key


def test_if_exists_makes_a_missing_key_true_but_still_checks_a_present_one() -> None:
    identity = [
        policy(allow(SEND, "*", Condition={"StringEqualsIfExists": {"ses:FromAddress": "x@shop.example"}}))
    ]
    assert decide(SEND, IDENTITY_ARN, identity).allowed
    assert decide(SEND, IDENTITY_ARN, identity, **{"ses:FromAddress": "x@shop.example"}).allowed
    assert not decide(SEND, IDENTITY_ARN, identity, **{"ses:FromAddress": "y@shop.example"}).allowed


def test_null_tests_presence() -> None:
    must_be_set = [policy(allow(SEND, "*", Condition={"Null": {"ses:FromAddress": "false"}}))]
    assert decide(SEND, IDENTITY_ARN, must_be_set, **{"ses:FromAddress": "x@shop.example"}).allowed
    assert not decide(SEND, IDENTITY_ARN, must_be_set).allowed
    must_be_missing = [policy(allow(SEND, "*", Condition={"Null": {"ses:FromAddress": "true"}}))]
    assert decide(SEND, IDENTITY_ARN, must_be_missing).allowed
    assert not decide(SEND, IDENTITY_ARN, must_be_missing, **{"ses:FromAddress": "x@shop.example"}).allowed


def test_arn_like_and_arn_equals_compare_per_segment() -> None:
    condition = {"ArnLike": {"aws:SourceArn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:*"}}
    identity = [policy(allow("lambda:InvokeFunction", "*", Condition=condition))]
    good = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:flow"
    assert decide("lambda:InvokeFunction", "*", identity, **{"aws:SourceArn": good}).allowed
    assert not decide(
        "lambda:InvokeFunction",
        "*",
        identity,
        **{"aws:SourceArn": "arn:aws:states:us-east-1:999999999999:stateMachine:flow"},
    ).allowed
    equals = [policy(allow("sqs:SendMessage", "*", Condition={"ArnEquals": {"aws:SourceArn": TOPIC}}))]
    assert decide("sqs:SendMessage", QUEUE, equals, **{"aws:SourceArn": TOPIC}).allowed
    assert not decide("sqs:SendMessage", QUEUE, equals, **{"aws:SourceArn": TOPIC + "-other"}).allowed
    not_like = [policy(allow("sqs:SendMessage", "*", Condition={"ArnNotLike": {"aws:SourceArn": TOPIC}}))]
    assert not decide("sqs:SendMessage", QUEUE, not_like, **{"aws:SourceArn": TOPIC}).allowed


def test_for_all_values_and_for_any_value() -> None:
    all_values = [
        policy(
            allow(
                "dynamodb:GetItem",
                "*",
                Condition={"ForAllValues:StringEquals": {"dynamodb:Attributes": ["orderId", "status"]}},
            )
        )
    ]
    assert decide("dynamodb:GetItem", TABLE, all_values, **{"dynamodb:Attributes": ["orderId"]}).allowed
    assert not decide(
        "dynamodb:GetItem", TABLE, all_values, **{"dynamodb:Attributes": ["orderId", "email"]}
    ).allowed
    assert decide("dynamodb:GetItem", TABLE, all_values).allowed  # ForAllValues holds for an empty set
    any_value = [
        policy(
            allow(
                "dynamodb:GetItem",
                "*",
                Condition={"ForAnyValue:StringEquals": {"dynamodb:Attributes": ["email"]}},
            )
        )
    ]
    assert decide(
        "dynamodb:GetItem", TABLE, any_value, **{"dynamodb:Attributes": ["orderId", "email"]}
    ).allowed
    assert not decide("dynamodb:GetItem", TABLE, any_value, **{"dynamodb:Attributes": ["orderId"]}).allowed
    assert not decide("dynamodb:GetItem", TABLE, any_value).allowed


def test_every_condition_of_a_statement_must_hold() -> None:
    condition = {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:*:{ACCOUNT}:alarm:*"},
    }
    resource_policy = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": TOPIC,
            "Condition": condition,
        }
    )
    alarm = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:x"
    assert decide(
        "sns:Publish",
        TOPIC,
        [],
        resource_policy,
        principal="cloudwatch.amazonaws.com",
        **{"aws:SourceAccount": ACCOUNT, "aws:SourceArn": alarm},
    ).allowed
    assert not decide(
        "sns:Publish",
        TOPIC,
        [],
        resource_policy,
        principal="cloudwatch.amazonaws.com",
        **{"aws:SourceAccount": "999999999999", "aws:SourceArn": alarm},
    ).allowed


def test_unsupported_operator_fails_when_compiled() -> None:
    with pytest.raises(PolicyError, match="NumericLessThan"):
        compile_policy(policy(allow("sqs:*", "*", Condition={"NumericLessThan": {"sqs:x": "1"}})))
    with pytest.raises(PolicyError, match="not a literal"):
        compile_policy(policy(allow("sqs:*", {"Ref": "Queue"})))


# --- resource policies ---------------------------------------------------------------------


SSL_DENY = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "sqs:*",
    "Resource": QUEUE,
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
FROM_TOPIC = {
    "Effect": "Allow",
    "Principal": {"Service": "sns.amazonaws.com"},
    "Action": "sqs:SendMessage",
    "Resource": QUEUE,
    "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}},
}


def test_secure_transport_deny_in_a_resource_policy() -> None:
    identity = [policy(allow("sqs:SendMessage", QUEUE))]
    queue_policy = policy(SSL_DENY, FROM_TOPIC)
    denied = decide("sqs:SendMessage", QUEUE, identity, queue_policy, **{"aws:SecureTransport": "false"})
    assert denied == Decision(False, "with an explicit deny in a resource-based policy")
    assert decide("sqs:SendMessage", QUEUE, identity, queue_policy, **{"aws:SecureTransport": "true"}).allowed
    # Bool compares booleans, whatever the JSON spelling.
    as_bool = policy({**SSL_DENY, "Condition": {"Bool": {"aws:SecureTransport": False}}})
    assert not decide("sqs:SendMessage", QUEUE, identity, as_bool, **{"aws:SecureTransport": "False"}).allowed


def test_service_principal_with_source_arn_on_a_queue_policy() -> None:
    queue_policy = policy(SSL_DENY, FROM_TOPIC)
    tls = {"aws:SecureTransport": "true"}
    assert decide(
        "sqs:SendMessage",
        QUEUE,
        [],
        queue_policy,
        principal="sns.amazonaws.com",
        **{**tls, "aws:SourceArn": TOPIC},
    ).allowed
    assert not decide(
        "sqs:SendMessage",
        QUEUE,
        [],
        queue_policy,
        principal="sns.amazonaws.com",
        **{**tls, "aws:SourceArn": TOPIC + "-other"},
    ).allowed
    assert not decide(
        "sqs:SendMessage", QUEUE, [], queue_policy, principal="sns.amazonaws.com", **tls
    ).allowed
    # The grant names SNS, not any other service or role.
    assert not decide(
        "sqs:SendMessage",
        QUEUE,
        [],
        queue_policy,
        principal="events.amazonaws.com",
        **{**tls, "aws:SourceArn": TOPIC},
    ).allowed
    assert not decide("sqs:SendMessage", QUEUE, [], queue_policy, **{**tls, "aws:SourceArn": TOPIC}).allowed


def test_resource_policy_naming_a_role_allows_without_an_identity_policy() -> None:
    topic_policy = policy(
        {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sns:Publish", "Resource": TOPIC}
    )
    assert decide("sns:Publish", TOPIC, [], topic_policy) == Decision(
        True, "allowed by a resource-based policy"
    )
    assert not decide("sns:Publish", TOPIC, [], topic_policy, principal=OTHER_CALLER).allowed


def test_account_root_in_a_resource_policy_delegates_to_identity_policies() -> None:
    topic_policy = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sns:Publish",
            "Resource": TOPIC,
        }
    )
    assert not decide("sns:Publish", TOPIC, [], topic_policy).allowed
    assert decide("sns:Publish", TOPIC, [policy(allow("sns:Publish", TOPIC))], topic_policy).allowed


def test_string_not_equals_principal_account_denies_other_accounts_only() -> None:
    topic_policy = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sns:Publish",
            "Resource": TOPIC,
        },
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "sns:Publish",
            "Resource": TOPIC,
            "Condition": {"StringNotEquals": {"aws:PrincipalAccount": [ACCOUNT]}},
        },
    )
    identity = [policy(allow("sns:Publish", "*"))]
    assert decide(
        "sns:Publish", TOPIC, identity, topic_policy
    ).allowed  # aws:PrincipalAccount comes from the caller
    outsider = "arn:aws:sts::999999999999:assumed-role/x/s"
    assert decide("sns:Publish", TOPIC, identity, topic_policy, principal=outsider).reason.endswith(
        "resource-based policy"
    )


def test_not_principal() -> None:
    queue_policy = policy(
        {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "sqs:*", "Resource": QUEUE}
    )
    identity = [policy(allow("sqs:*", "*"))]
    assert decide("sqs:ReceiveMessage", QUEUE, identity, queue_policy).allowed
    assert not decide("sqs:ReceiveMessage", QUEUE, identity, queue_policy, principal=OTHER_CALLER).allowed


# --- KMS -----------------------------------------------------------------------------------


def test_kms_key_policy_root_delegation_needs_the_identity_policy() -> None:
    key_policy = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    assert decide("kms:Decrypt", KEY, [policy(allow("kms:Decrypt", KEY))], key_policy).allowed
    denied = decide("kms:Decrypt", KEY, [], key_policy)
    assert denied == Decision(False, "because no identity-based policy allows the kms:Decrypt action")


def test_kms_identity_policy_alone_is_not_enough() -> None:
    key_policy = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    denied = decide("kms:Decrypt", KEY, [policy(allow("kms:*", "*"))], key_policy)
    assert denied == Decision(False, "because no resource-based policy allows the kms:Decrypt action")
    assert not decide("kms:Decrypt", KEY, [policy(allow("kms:*", "*"))], None).allowed
    assert decide("kms:Decrypt", KEY, [], key_policy, principal="sns.amazonaws.com").allowed


# --- message and cache ---------------------------------------------------------------------


def test_access_denied_message_in_awss_words() -> None:
    request = Request(CALLER, "dynamodb:BatchGetItem", TABLE, {})
    decision = evaluate(request, [], None)
    assert access_denied_message(request, decision) == (
        f"User: {CALLER} is not authorized to perform: dynamodb:BatchGetItem on resource: {TABLE} "
        "because no identity-based policy allows the dynamodb:BatchGetItem action"
    )


def test_decision_cache_reuses_decisions_and_keys_on_context() -> None:
    identity = [policy(allow(SEND, "*", Condition={"StringEquals": {"ses:FromAddress": "a@shop.example"}}))]
    cache = DecisionCache(lambda principal: identity if principal == CALLER else [], lambda resource: None)
    good = Request(CALLER, SEND, IDENTITY_ARN, {"ses:FromAddress": "a@shop.example"})
    bad = Request(CALLER, SEND, IDENTITY_ARN, {"ses:FromAddress": "b@shop.example"})
    assert cache.evaluate(good).allowed
    assert cache.evaluate(good).allowed
    assert not cache.evaluate(bad).allowed
    assert not cache.evaluate(
        Request(OTHER_CALLER, SEND, IDENTITY_ARN, {"ses:FromAddress": "a@shop.example"})
    ).allowed
    assert (cache.hits, cache.misses) == (1, 3)
