"""The status API, served on loopback by the local runtime.

On AWS, API Gateway (IAM auth) hands `tasks.status_api.handler` a REST proxy event. Here a small
HTTP server builds the same event for `GET /orders/{orderId}` and `GET /orders?status=&since=`
and invokes the function through moto's Lambda, so the real handler answers. Loopback only: it
serves the local emulation, never real data.

IAM auth as API Gateway does it, when the runtime enforces IAM: an unsigned request gets 403
`{"message": "Missing Authentication Token"}`. A signed request whose access key belongs to a role
session assumed through the runtime's STS is evaluated for `execute-api:Invoke` against that role's
policies (moto's IAM); any other signed request is taken as the account's own credentials and
allowed. Signatures are not verified: the runtime's credentials are fake by design.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3

from .iam.calls import Check
from .iam.enforce import Enforcer, access_key_of


def iam_refusal(iam: Enforcer | None, method: str, resource: str, headers: Any,
                method_arn: str) -> tuple[int, dict[str, str]] | None:
    """API Gateway's IAM authorizer for one method: (403, body) if refused, None to let it through."""
    if iam is None:
        return None
    if iam.api_methods.get((method, resource), "AWS_IAM") != "AWS_IAM":
        return None  # the template leaves this method open: API Gateway does not authenticate it
    key = access_key_of(headers)
    if key is None:
        return 403, {"message": "Missing Authentication Token"}
    principal = iam.assumed_role(key)
    if principal is None:
        return None  # the account's own credentials
    verdict = iam.first_denial(principal, [Check("execute-api:Invoke", method_arn)])
    return (403, {"Message": verdict.message}) if verdict is not None else None


def send_refusal(request: BaseHTTPRequestHandler, refused: tuple[int, dict[str, str]] | None) -> bool:
    """Answer a refused request as API Gateway does; False if there is nothing to refuse."""
    if refused is None:
        return False
    kind = "AccessDeniedException" if "Message" in refused[1] else "MissingAuthenticationTokenException"
    send(request, refused[0], {"Content-Type": "application/json", "x-amzn-ErrorType": kind}, json.dumps(refused[1]))
    return True


def send(request: BaseHTTPRequestHandler, status: int, headers: dict[str, Any], body: str) -> None:
    data = body.encode("utf-8")
    request.send_response(status)
    for key, value in headers.items():
        request.send_header(key, str(value))
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)


def proxy_event(method: str, raw_path: str, *, stage: str = "local") -> dict[str, Any]:
    """An API Gateway REST (v1) Lambda proxy event for this request."""
    parts = urlsplit(raw_path)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    path = parts.path
    segments = [segment for segment in path.split("/") if segment]
    resource, parameters = path, None
    if len(segments) == 2 and segments[0] == "orders":
        resource, parameters = "/orders/{orderId}", {"orderId": segments[1]}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {key: [value] for key, value in query.items()} or None,
        "pathParameters": parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1", "userArn": "arn:aws:iam::123456789012:user/local"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


class StatusApiServer:
    def __init__(self, *, host: str, port: int, function_name: str, region: str, iam: Enforcer | None = None,
                 stage: str = "local") -> None:
        self.function_name = function_name
        self._iam = iam
        self._stage = stage
        self._api_id = iam.rest_api_id if iam is not None else "local"
        self._region = region
        self._lambda = boto3.client("lambda", region_name=region)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="status-api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def method_arn(self, method: str, raw_path: str) -> str:
        account = self._iam.account_id if self._iam else "123456789012"
        path = urlsplit(raw_path).path
        return f"arn:aws:execute-api:{self._region}:{account}:{self._api_id}/{self._stage}/{method}{path}"

    def refusal(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str]] | None:
        """API Gateway's IAM authorizer: (403, body) for a request it refuses, None to let it through."""
        resource = proxy_event("GET", request.path)["resource"]
        return iam_refusal(self._iam, "GET", resource, request.headers, self.method_arn("GET", request.path))

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        if send_refusal(request, self.refusal(request)):
            return
        event = proxy_event("GET", request.path)
        response = self._lambda.invoke(FunctionName=self.function_name, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            status, headers, body = 502, {"Content-Type": "application/json"}, json.dumps({"message": "function error"})
        else:
            status = int(payload.get("statusCode", 502))
            headers = payload.get("headers") or {}
            body = payload.get("body") or ""
            if payload.get("isBase64Encoded"):
                body = base64.b64decode(body).decode("utf-8")
        self._send(request, status, headers, body)

    _send = staticmethod(send)
