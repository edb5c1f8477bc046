"""Issue 11: POST <OrdersApiUrl> in the local runtime — signed, validated with the deployed model's
schema, published to the orders topic as the API's role — and from there the same workflow."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from ordermail.emulator import LocalRuntime
from tasks import intake

from .conftest import Harness, make_order


def signed_post(url: str, body: bytes, *, content_type: str | None = "application/json",
                access_key: str = "testing", secret_key: str = "testing",
                session_token: str | None = "testing", sign: bool = True) -> tuple[int, dict[str, Any]]:
    """POST with a SigV4 signature for execute-api (unsigned with sign=False): (status, JSON body)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {"Content-Type": content_type} if content_type else {}
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    if sign:
        SigV4Auth(Credentials(access_key, secret_key, session_token), "execute-api", "us-east-1").add_auth(request)
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=body, headers=dict(request.headers), method="POST"), timeout=10
        ) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def published(runtime: LocalRuntime) -> int:
    assert runtime.orders_api is not None
    return runtime.orders_api.published


def test_a_signed_order_is_accepted_and_delivered(harness: Harness, runtime: LocalRuntime) -> None:
    order = make_order()
    status, body = signed_post(runtime.outputs["OrdersApiUrl"], json.dumps(order).encode())
    assert status == 202
    assert body["messageId"]
    harness.settle()
    item = harness.item(order["orderId"])
    assert item is not None and item["status"] == "DELIVERED"
    assert len(harness.mails_for(order["orderId"])) == 1


def test_a_valid_json_order_that_fails_validation_is_invalid_with_its_reason(
    harness: Harness, runtime: LocalRuntime
) -> None:
    order = make_order(total="999.99")  # passes the API's model (a string orderId), not the workflow
    status, _ = signed_post(runtime.outputs["OrdersApiUrl"], json.dumps(order).encode())
    assert status == 202
    harness.settle()
    item = harness.item(order["orderId"])
    assert item is not None
    assert (item["status"], item["invalidReason"]) == ("INVALID", "total_mismatch")  # as over SNS
    assert harness.mails_for(order["orderId"]) == []


BAD_BODIES = [
    ("not JSON", b"orderId=A-1"),
    ("truncated JSON", b'{"orderId": "A-1"'),
    ("JSON array", json.dumps([make_order()]).encode()),
    ("no orderId", json.dumps({k: v for k, v in make_order().items() if k != "orderId"}).encode()),
    ("numeric orderId", json.dumps(make_order(orderId=1001)).encode()),
    ("null orderId", json.dumps(make_order(orderId=None)).encode()),
    ("NaN", b'{"orderId": "A-1", "total": NaN}'),
    ("empty", b""),
    ("oversized", json.dumps(make_order(metadata={"x": "y" * intake.ORDER_MAX_BODY_BYTES})).encode()),
]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[case for case, _ in BAD_BODIES])
def test_a_bad_body_is_a_400_and_nothing_is_published(
    case: str, body: bytes, harness: Harness, runtime: LocalRuntime
) -> None:
    before = published(runtime)
    status, answer = signed_post(runtime.outputs["OrdersApiUrl"], body)
    assert status == 400, (case, answer)
    expected = intake.REJECTED_MESSAGE if case == "oversized" else intake.BAD_BODY_MESSAGE
    assert answer["message"].startswith(expected)
    assert published(runtime) == before


def test_the_size_limit_is_sns_minus_the_attribute(runtime: LocalRuntime, harness: Harness) -> None:
    order = make_order()
    base = json.dumps({**order, "metadata": {"pad": ""}})
    padded = base.replace('"pad": ""', '"pad": "' + "x" * (intake.ORDER_MAX_BODY_BYTES - len(base)) + '"')
    assert len(padded.encode()) == intake.ORDER_MAX_BODY_BYTES
    before = published(runtime)
    assert signed_post(runtime.outputs["OrdersApiUrl"], padded.encode())[0] == 202  # exactly at the limit
    assert signed_post(runtime.outputs["OrdersApiUrl"], (padded + " ").encode())[0] == 400  # one byte over
    assert published(runtime) == before + 1
    harness.settle()  # the workflow records it INVALID (metadata too large), like an SNS order of that size


def test_unsigned_is_403_and_other_content_types_415(runtime: LocalRuntime) -> None:
    url = runtime.outputs["OrdersApiUrl"]
    before = published(runtime)
    status, body = signed_post(url, json.dumps(make_order()).encode(), sign=False)
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    status, body = signed_post(url, json.dumps(make_order()).encode(), content_type="text/plain")
    assert status == 415
    assert published(runtime) == before


def test_a_role_without_execute_api_invoke_is_refused(runtime: LocalRuntime) -> None:
    iam, sts = runtime.client("iam"), runtime.client("sts")
    role = iam.create_role(
        RoleName="intake-no-invoke",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]
    credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="shop")["Credentials"]
    before = published(runtime)
    status, body = signed_post(
        runtime.outputs["OrdersApiUrl"], json.dumps(make_order()).encode(),
        access_key=credentials["AccessKeyId"], secret_key=credentials["SecretAccessKey"],
        session_token=credentials["SessionToken"],
    )
    assert status == 403 and "execute-api:Invoke" in body["Message"]
    assert published(runtime) == before
