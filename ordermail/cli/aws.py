"""Session, clients and stack outputs: the only place the CLI builds boto3 objects.

Real AWS by default; a local endpoint (the embedded runtime) when `--endpoint-url` or
`AWS_ENDPOINT_URL` is set. Resources are never guessed from names: they come from the stack's
CloudFormation outputs, which the local runtime registers too, so both paths resolve the same way.
"""

from __future__ import annotations

import argparse
import getpass
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ordermail.cli.errors import CliError
from tasks import names

# The keys of the CloudFormation outputs the CLI relies on (the stack may add more).
OUTPUT_KEYS: Final = names.STACK_OUTPUT_KEYS
LOCAL_DEFAULT_REGION: Final = "us-east-1"

# Few, quick retries: an operator waiting on an unreachable endpoint wants the error, not backoff.
_CONFIG: Final = Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=5,
    read_timeout=60,
)


@dataclass
class AwsContext:
    """Where the CLI talks to: environment (stack), endpoint and region; clients built lazily."""

    env: str = "dev"
    endpoint_url: str | None = None
    region: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AwsContext:
        return cls(env=args.env, endpoint_url=args.endpoint_url or None, region=args.region or None)

    @property
    def is_local(self) -> bool:
        return bool(self.endpoint_url)

    @property
    def stack_name(self) -> str:
        return names.stack_name(self.env)

    @cached_property
    def session(self) -> boto3.session.Session:
        session = boto3.session.Session(region_name=self.region) if self.region else boto3.session.Session()
        if session.region_name is None:
            if not self.is_local:
                raise CliError("no AWS region: pass --region or set AWS_REGION")
            # The local runtime answers for any region; pick the one its resources use.
            session = boto3.session.Session(region_name=LOCAL_DEFAULT_REGION)
        return session

    @property
    def region_name(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, endpoint_url=self.endpoint_url or None, config=_CONFIG
            )
        return self._clients[service]

    @cached_property
    def outputs(self) -> dict[str, str]:
        """The stack's outputs, `OutputKey -> OutputValue`."""
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", "")
            if "does not exist" in message:
                where = f"endpoint {self.endpoint_url}" if self.is_local else f"region {self.region_name}"
                hint = ("start it with `ordermail local`" if self.is_local
                        else f"deploy it with `cdk deploy -c env={self.env}`")
                raise CliError(f"stack {self.stack_name} not found at {where}: {hint}") from exc
            raise
        if not stacks:
            raise CliError(f"stack {self.stack_name} not found")
        return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}

    def output(self, key: str) -> str:
        value = self.outputs.get(key)
        if not value:
            raise CliError(f"stack {self.stack_name} has no output {key}: is it an older deployment?")
        return value

    def caller(self) -> str:
        """Who is acting, for the audit trail: the caller's ARN, else the local user name."""
        try:
            return str(self.client("sts").get_caller_identity()["Arn"])
        except (BotoCoreError, ClientError):
            return os.environ.get("USER") or getpass.getuser()
