"""The stack's policies from the REAL synthesized template, and the template cache.

The template comes from `synthesized_template("dev")` (a `python app.py` subprocess on the first
run, the content-keyed cache after that), so a grant changed in workflow/ changes these results.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ordermail.emulator.iam import template as template_module
from ordermail.emulator.iam.evaluate import Request, evaluate
from ordermail.emulator.iam.policies import StackPolicies, load_stack_policies, stack_policies
from ordermail.emulator.iam.resolve import ResolveError
from tasks import names

ENV = "dev"
ACCOUNT = "123456789012"
ARN = f"us-east-1:{ACCOUNT}"
RES = names.resource_names(ENV)
TABLE = f"arn:aws:dynamodb:{ARN}:table/{RES['ledger_table']}"
ORDERS_TOPIC = f"arn:aws:sns:{ARN}:{RES['orders_topic']}"
SES_EVENTS_TOPIC = f"arn:aws:sns:{ARN}:{RES['ses_events_topic']}"
ORDERS_QUEUE = f"arn:aws:sqs:{ARN}:{RES['orders_queue']}"
CONFIG_SET = f"arn:aws:ses:{ARN}:configuration-set/{RES['configuration_set']}"
DOMAIN_IDENTITY = f"arn:aws:ses:{ARN}:identity/{names.CONTEXT_DEFAULTS['domain']}"
FROM_ADDRESS = str(names.CONTEXT_DEFAULTS["fromAddress"])
TLS = {"aws:SecureTransport": "true"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return template_module.synthesized_template(ENV)


@pytest.fixture(scope="module")
def policies(template: dict[str, Any]) -> StackPolicies:
    return stack_policies(template, ENV)


def allowed(policies: StackPolicies, principal: str, action: str, resource: str, **context: str) -> bool:
    caller = policies.principals[principal].session_arn()
    request = Request(caller, action, resource, context)
    return evaluate(request, policies.identity_policies(caller), policies.resource_policy(resource)).allowed


def service_allowed(
    policies: StackPolicies, service: str, action: str, resource: str, **context: str
) -> bool:
    request = Request(service, action, resource, context)
    return evaluate(request, [], policies.resource_policy(resource)).allowed


# --- principals ----------------------------------------------------------------------------


def test_every_role_is_a_principal_keyed_by_what_uses_it(
    template: dict[str, Any], policies: StackPolicies
) -> None:
    roles = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert {p.logical_id for p in policies.principals.values()} == roles
    expected = {
        RES["validate_function"]: "lambda",
        RES["render_function"]: "lambda",
        RES["feedback_function"]: "lambda",
        RES["status_api_function"]: "lambda",
        RES["state_machine"]: "state_machine",
        RES["pipe"]: "pipe",
        "apigateway-account": "apigateway",
        "api-integration:POST": "api_integration",  # the orders API's sns:Publish role
    }
    assert {k: p.kind for k, p in policies.principals.items()} == expected


def test_role_and_session_arns(policies: StackPolicies) -> None:
    machine = policies.principals[RES["state_machine"]]
    assert machine.role_arn == f"arn:aws:iam::{ACCOUNT}:role/{machine.role_name}"
    assert machine.session_arn("exec") == f"arn:aws:sts::{ACCOUNT}:assumed-role/{machine.role_name}/exec"
    assert policies.principal_for_arn(machine.session_arn("x")) is machine
    assert policies.principal_for_arn(machine.role_arn) is machine
    assert machine.trusted_services == ("states.amazonaws.com",)


def test_aws_managed_policies_are_reported_not_evaluated(policies: StackPolicies) -> None:
    assert policies.unevaluable() == {
        "apigateway-account": ("arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",)
    }


def test_no_intrinsic_is_left_in_any_policy(policies: StackPolicies) -> None:
    text = json.dumps([p.identity_policies for p in policies.principals.values()]) + json.dumps(
        policies.resource_policies
    )
    assert "Ref" not in text and "Fn::" not in text and "${" not in text


def test_physical_names_match_what_the_runtime_provisions(policies: StackPolicies) -> None:
    arns = set(policies.physical_arns.values())
    for arn in (
        TABLE,
        ORDERS_TOPIC,
        SES_EVENTS_TOPIC,
        ORDERS_QUEUE,
        f"arn:aws:sqs:{ARN}:{RES['orders_dlq']}",
        f"arn:aws:sqs:{ARN}:{RES['feedback_dlq']}",
        f"arn:aws:states:{ARN}:stateMachine:{RES['state_machine']}",
        f"arn:aws:lambda:{ARN}:function:{RES['validate_function']}",
        f"arn:aws:lambda:{ARN}:function:{RES['status_api_function']}",
        f"arn:aws:pipes:{ARN}:pipe/{RES['pipe']}",
    ):
        assert arn in arns


# --- identity policies of the real stack ---------------------------------------------------


def test_state_machine_sends_only_from_the_configured_address(policies: StackPolicies) -> None:
    machine = RES["state_machine"]
    for resource in (DOMAIN_IDENTITY, CONFIG_SET):
        assert allowed(policies, machine, "ses:SendEmail", resource, **{"ses:FromAddress": FROM_ADDRESS})
        assert not allowed(
            policies, machine, "ses:SendEmail", resource, **{"ses:FromAddress": "ceo@shop.example"}
        )
        assert not allowed(policies, machine, "ses:SendEmail", resource)
    other_identity = f"arn:aws:ses:{ARN}:identity/other.example"
    assert not allowed(
        policies, machine, "ses:SendEmail", other_identity, **{"ses:FromAddress": FROM_ADDRESS}
    )


def test_state_machine_ledger_and_task_grants(policies: StackPolicies) -> None:
    machine = RES["state_machine"]
    assert allowed(policies, machine, "dynamodb:UpdateItem", TABLE)
    assert not allowed(policies, machine, "dynamodb:DeleteItem", TABLE)
    assert allowed(
        policies, machine, "lambda:InvokeFunction", f"arn:aws:lambda:{ARN}:function:{RES['render_function']}"
    )
    feedback = f"arn:aws:lambda:{ARN}:function:{RES['feedback_function']}"
    assert not allowed(policies, machine, "lambda:InvokeFunction", feedback)


def test_status_api_reads_exactly_what_its_handler_calls(policies: StackPolicies) -> None:
    """Issue 10's grant gap, fixed in workflow/status_api.py: BatchGetItem on the table is granted,
    the grants no code path used (Query on the table) are gone."""
    status_api = RES["status_api_function"]
    assert allowed(policies, status_api, "dynamodb:BatchGetItem", TABLE)
    assert allowed(policies, status_api, "dynamodb:GetItem", TABLE)
    assert allowed(policies, status_api, "dynamodb:Query", f"{TABLE}/index/{names.LEDGER_STATUS_INDEX}")
    assert not allowed(policies, status_api, "dynamodb:Query", TABLE)
    assert not allowed(policies, status_api, "dynamodb:Scan", TABLE)
    assert not allowed(policies, status_api, "dynamodb:UpdateItem", TABLE)


def test_feedback_reads_and_updates_items_and_queries_nothing(policies: StackPolicies) -> None:
    """SES events name their order by tag or header: the feedback role has no Query at all."""
    feedback = RES["feedback_function"]
    assert allowed(policies, feedback, "dynamodb:GetItem", TABLE)
    assert not allowed(policies, feedback, "dynamodb:Query", f"{TABLE}/index/{names.LEDGER_STATUS_INDEX}")
    assert not allowed(policies, feedback, "dynamodb:Query", TABLE)
    assert allowed(policies, feedback, "dynamodb:UpdateItem", TABLE)


def test_pipe_consumes_the_queue_and_starts_the_state_machine(policies: StackPolicies) -> None:
    pipe = RES["pipe"]
    machine_arn = f"arn:aws:states:{ARN}:stateMachine:{RES['state_machine']}"
    assert allowed(policies, pipe, "sqs:ReceiveMessage", ORDERS_QUEUE, **TLS)
    assert allowed(policies, pipe, "states:StartSyncExecution", machine_arn)
    assert not allowed(policies, pipe, "states:StartExecution", machine_arn)
    assert not allowed(policies, pipe, "sqs:ReceiveMessage", ORDERS_QUEUE, **{"aws:SecureTransport": "false"})


def test_pipe_decrypts_with_the_key_through_root_delegation(policies: StackPolicies) -> None:
    key = next(arn for arn in policies.resource_policies if ":kms:" in arn)
    assert allowed(policies, RES["pipe"], "kms:Decrypt", key)
    assert not allowed(
        policies, RES["validate_function"], "kms:Decrypt", key
    )  # the key policy delegates, IAM decides


# --- resource policies of the real stack ---------------------------------------------------


def test_orders_queue_accepts_sns_only_from_the_orders_topic(policies: StackPolicies) -> None:
    send = "sqs:SendMessage"
    assert service_allowed(
        policies, "sns.amazonaws.com", send, ORDERS_QUEUE, **TLS, **{"aws:SourceArn": ORDERS_TOPIC}
    )
    wrong_topic = {"aws:SourceArn": SES_EVENTS_TOPIC}
    assert not service_allowed(policies, "sns.amazonaws.com", send, ORDERS_QUEUE, **TLS, **wrong_topic)
    assert not service_allowed(policies, "sns.amazonaws.com", send, ORDERS_QUEUE, **TLS)


def test_ses_events_topic_accepts_ses_only_for_the_configuration_set(policies: StackPolicies) -> None:
    good = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": CONFIG_SET, **TLS}
    assert service_allowed(policies, "ses.amazonaws.com", "sns:Publish", SES_EVENTS_TOPIC, **good)
    assert not service_allowed(
        policies,
        "ses.amazonaws.com",
        "sns:Publish",
        SES_EVENTS_TOPIC,
        **{**good, "aws:SourceAccount": "999999999999"},
    )
    assert not service_allowed(
        policies,
        "ses.amazonaws.com",
        "sns:Publish",
        SES_EVENTS_TOPIC,
        **{**good, "aws:SecureTransport": "false"},
    )


def test_orders_topic_publish_needs_tls(policies: StackPolicies) -> None:
    publisher = f"arn:aws:sts::{ACCOUNT}:assumed-role/shop-backend/s"
    identity = [
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}],
        }
    ]
    topic_policy = policies.resource_policy(ORDERS_TOPIC)
    assert evaluate(Request(publisher, "sns:Publish", ORDERS_TOPIC, TLS), identity, topic_policy).allowed
    insecure = Request(publisher, "sns:Publish", ORDERS_TOPIC, {"aws:SecureTransport": "false"})
    assert (
        evaluate(insecure, identity, topic_policy).reason
        == "with an explicit deny in a resource-based policy"
    )
    assert not evaluate(Request(publisher, "sns:Publish", ORDERS_TOPIC, TLS), [], topic_policy).allowed


def test_lambda_permissions_become_function_resource_policies(policies: StackPolicies) -> None:
    feedback = f"arn:aws:lambda:{ARN}:function:{RES['feedback_function']}"
    invoke = "lambda:InvokeFunction"
    assert service_allowed(
        policies, "sns.amazonaws.com", invoke, feedback, **{"aws:SourceArn": SES_EVENTS_TOPIC}
    )
    assert not service_allowed(
        policies, "sns.amazonaws.com", invoke, feedback, **{"aws:SourceArn": ORDERS_TOPIC}
    )
    status_api = f"arn:aws:lambda:{ARN}:function:{RES['status_api_function']}"
    method = next(m for m in policies.api_methods if m.path == "/orders/{orderId}")
    source = f"arn:aws:execute-api:{ARN}:{method.rest_api_id}/{ENV}/GET/orders/o-1"
    assert service_allowed(
        policies, "apigateway.amazonaws.com", invoke, status_api, **{"aws:SourceArn": source}
    )
    assert not service_allowed(
        policies,
        "apigateway.amazonaws.com",
        invoke,
        status_api,
        **{"aws:SourceArn": source.replace("GET", "DELETE")},
    )


def test_api_methods_require_iam_auth(policies: StackPolicies) -> None:
    assert {(m.http_method, m.path, m.authorization_type) for m in policies.api_methods} == {
        ("GET", "/orders", "AWS_IAM"),
        ("GET", "/orders/{orderId}", "AWS_IAM"),
        ("POST", "/", "AWS_IAM"),  # the orders API
    }


# --- mutation: the template is the source of truth ------------------------------------------


def test_removing_a_granted_action_from_the_template_denies_it(template: dict[str, Any]) -> None:
    mutated = copy.deepcopy(template)
    for resource in mutated["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "LedgerWrites":
                statement["Action"] = "dynamodb:GetItem"
    machine = RES["state_machine"]
    assert allowed(stack_policies(template, ENV), machine, "dynamodb:UpdateItem", TABLE)
    assert not allowed(stack_policies(mutated, ENV), machine, "dynamodb:UpdateItem", TABLE)


def test_an_unresolvable_reference_names_the_resource(template: dict[str, Any]) -> None:
    mutated = copy.deepcopy(template)
    policy = next(k for k, r in mutated["Resources"].items() if r["Type"] == "AWS::IAM::Policy")
    statements = mutated["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]
    statements.append(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::GetAtt": ["Missing", "Arn"]}}
    )
    with pytest.raises(ResolveError, match=f"{policy}.*Missing"):
        stack_policies(mutated, ENV)


# --- the template cache ---------------------------------------------------------------------


def _fake_repo(root: Path) -> Path:
    (root / "workflow").mkdir(parents=True)
    (root / "app.py").write_text("print('app')\n")
    (root / "cdk.json").write_text("{}\n")
    (root / "workflow" / "grants.py").write_text("ACTIONS = ['dynamodb:GetItem']\n")
    return root


def test_cache_hit_does_not_synthesize_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _fake_repo(tmp_path / "repo")
    monkeypatch.setenv(template_module.CACHE_ENV, str(tmp_path / "cache"))
    calls: list[str] = []

    def fake_synth(env: str, context: dict[str, Any] | None = None, *, root: Path) -> dict[str, Any]:
        calls.append(env)
        return {"Resources": {}, "env": env}

    monkeypatch.setattr(template_module, "synthesize", fake_synth)
    first = template_module.synthesized_template(ENV, root=root)
    second = template_module.synthesized_template(ENV, root=root)
    assert first == second == {"Resources": {}, "env": ENV}
    assert calls == [ENV]
    cached = template_module.cached_template_path(ENV, root=root)
    assert cached.parent == tmp_path / "cache" and json.loads(cached.read_text()) == first
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temp file left behind


def test_cache_key_changes_with_any_input(tmp_path: Path) -> None:
    root = _fake_repo(tmp_path / "repo")
    base = template_module.cache_key(ENV, root=root)
    assert template_module.cache_key(ENV, root=root) == base
    assert template_module.cache_key("prod", root=root) != base
    assert template_module.cache_key(ENV, {"fromAddress": "x@shop.example"}, root=root) != base
    (root / "workflow" / "grants.py").write_text("ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem']\n")
    changed = template_module.cache_key(ENV, root=root)
    assert changed != base
    (root / "workflow" / "__pycache__").mkdir()
    (root / "workflow" / "__pycache__" / "grants.cpython-311.pyc").write_bytes(b"\0")
    assert template_module.cache_key(ENV, root=root) == changed  # bytecode is not an input
    (root / "asl").mkdir()
    (root / "asl" / "flow.asl.json").write_text("{}")
    assert template_module.cache_key(ENV, root=root) != changed


def test_real_cache_key_covers_the_grant_modules() -> None:
    inputs = {
        p.relative_to(template_module.REPO_ROOT).as_posix()
        for p in template_module._input_files(template_module.REPO_ROOT)
    }
    assert {
        "app.py",
        "cdk.json",
        "workflow/status_api.py",
        "workflow/state_machine.py",
        "tasks/names.py",
    } <= inputs
    assert any(p.startswith("asl/") for p in inputs) and any(p.startswith("tasks/templates/") for p in inputs)


def test_load_stack_policies_takes_a_given_template(template: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    mutated = copy.deepcopy(template)
    del mutated["Resources"][policies_logical_id(mutated, "PipeRole")]
    path.write_text(json.dumps(mutated))
    loaded = load_stack_policies(ENV, template=path)
    assert RES["pipe"] not in loaded.principals and RES["state_machine"] in loaded.principals


def policies_logical_id(template: dict[str, Any], prefix: str) -> str:
    return next(k for k, r in template["Resources"].items() if k.startswith(prefix) and r["Type"] == "AWS::IAM::Role")
