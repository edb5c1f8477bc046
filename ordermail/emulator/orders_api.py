"""The HTTP order intake, served on loopback by the local runtime.

On AWS, `POST <OrdersApiUrl>` is an IAM-authorized API Gateway method whose request validator checks
the body against `tasks.intake.ORDER_BODY_SCHEMA` and whose service integration publishes it to the
orders topic as the API's role (workflow/intake.py). Here the same, in that order: API Gateway's IAM
authorizer (status_api.iam_refusal: unsigned → 403 "Missing Authentication Token"), the content
type, the same schema (interpreted below, so it cannot drift from the deployed model), then `sns:Publish`
as the integration role from the synthesized template, evaluated by the runtime's IAM enforcer like
any other call; SNS's own 400 (over its size limit: quotas.py) becomes the API's 400, any other SNS
error a 502, as the deployed integration responses map them. A 4xx publishes nothing.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tasks import intake, names

from .iam.enforce import Enforcer, acting_as
from .status_api import iam_refusal, send, send_refusal

JSON_HEADERS = {"Content-Type": "application/json"}
_TYPES: dict[str, tuple[type, ...]] = {"object": (dict,), "string": (str,), "array": (list,), "boolean": (bool,)}


def schema_violation(value: Any, schema: dict[str, Any] = intake.ORDER_BODY_SCHEMA) -> str | None:
    """Why `value` fails the draft-4 schema (the subset ORDER_BODY_SCHEMA uses), None if it passes."""
    unknown = set(schema) - {"$schema", "title", "type", "required", "properties"}
    if unknown:  # a keyword this interpreter ignores would make it accept what API Gateway refuses
        raise ValueError(f"ORDER_BODY_SCHEMA uses keywords the local validator does not implement: {unknown}")
    expected = schema.get("type")
    if expected is not None and not (isinstance(value, _TYPES[expected]) and not _is_bool_as(value, expected)):
        return f"instance type ({_type_name(value)}) does not match any allowed primitive type (allowed: [\"{expected}\"])"
    if isinstance(value, dict):
        missing = [key for key in schema.get("required", []) if key not in value]
        if missing:
            return f"object has missing required properties ({json.dumps(missing)})"
        for key, sub in schema.get("properties", {}).items():
            if key in value and (problem := schema_violation(value[key], sub)) is not None:
                return problem
    return None


def _is_bool_as(value: Any, expected: str) -> bool:
    return isinstance(value, bool) and expected != "boolean"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "integer" if isinstance(value, int) else "number"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else "string" if isinstance(value, str) else type(value).__name__


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN/Infinity; JSON (and API Gateway) does not


def check_body(raw: bytes) -> tuple[int, str] | None:
    """(400, message) for a body the deployed API's validator refuses, None to publish it."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return 400, f"{intake.BAD_BODY_MESSAGE}: Invalid JSON"
    problem = schema_violation(value)
    if problem is not None:
        return 400, f"{intake.BAD_BODY_MESSAGE}: [{problem}]"
    return None  # the size limit is SNS's, as on AWS (quotas.py counts bytes, attributes included)


class OrdersApiServer:
    """`POST /` → 202 {"messageId"} | 400 | 403 | 415 | 502, like the deployed orders API."""

    def __init__(self, *, host: str, port: int, topic_arn: str, region: str, iam: Enforcer | None = None,
                 stage: str = "local") -> None:
        self._iam, self._stage, self._region, self._topic_arn = iam, stage, region, topic_arn
        self._api_id = iam.orders_api_id if iam is not None else "local"
        self._sns = boto3.client("sns", region_name=region)
        self.published = 0  # messages this API handed to SNS (tests: a 4xx publishes nothing)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                server.answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                return  # no request logging: the body is an order (customer PII)

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self._httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="orders-api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def method_arn(self) -> str:
        account = self._iam.account_id if self._iam else "123456789012"
        return f"arn:aws:execute-api:{self._region}:{account}:{self._api_id}/{self._stage}/POST/"

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length > 0 else b""
        if request.path.split("?", 1)[0] != "/":
            send_refusal(request, (403, {"message": "Missing Authentication Token"}))  # API Gateway: no such route
            return
        if send_refusal(request, iam_refusal(self._iam, "POST", "/", request.headers, self.method_arn)):
            return
        content_type = str(request.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if content_type != "application/json":  # no request template for it (passthrough NEVER)
            send(request, 415, JSON_HEADERS, json.dumps({"message": "Unsupported Media Type"}))
            return
        refused = check_body(raw)
        if refused is not None:
            send(request, refused[0], {**JSON_HEADERS, "x-amzn-ErrorType": "BadRequestException"},
                 json.dumps({"message": refused[1]}))
            return
        status, body = self._publish(raw.decode("utf-8"))
        send(request, status, JSON_HEADERS, json.dumps(body))

    def _publish(self, message: str) -> tuple[int, dict[str, str]]:
        role = self._iam.orders_api_role if self._iam is not None else None
        try:
            with acting_as(role):  # API Gateway calls SNS with the integration's role
                response = self._sns.publish(
                    TopicArn=self._topic_arn,
                    Message=message,
                    MessageAttributes={
                        names.ORDER_EVENT_TYPE_ATTRIBUTE: {"DataType": "String", "StringValue": names.ORDER_EVENT_TYPE}
                    },
                )
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
            return (400, {"message": intake.REJECTED_MESSAGE}) if status == 400 else (
                502, {"message": intake.FAILED_MESSAGE})
        except BotoCoreError:
            return 502, {"message": intake.FAILED_MESSAGE}
        self.published += 1
        return 202, {"messageId": str(response["MessageId"])}
