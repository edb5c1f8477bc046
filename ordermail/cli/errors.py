"""CLI errors: every failure the operator sees is one line on stderr and a documented exit code."""

from __future__ import annotations

from typing import Final

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1  # not found, refused, or an AWS call failed
EXIT_USAGE: Final = 2  # bad arguments, unreadable file, bad JSON (argparse uses 2 as well)


class CliError(Exception):
    """An error the operator can act on: printed as one line, no traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(CliError):
    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


class NotFound(CliError):
    pass


class Refused(CliError):
    pass


def describe_aws_error(exc: Exception, endpoint_url: str | None) -> str:
    """One readable line for a botocore failure (the traceback helps nobody at 3 a.m.)."""
    where = endpoint_url or "AWS"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        hint = " — is `ordermail local` running?" if endpoint_url else ""
        return f"cannot reach {where}{hint} ({exc})"
    if isinstance(exc, ReadTimeoutError):
        return f"{where} did not answer in time ({exc})"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ("no AWS credentials: configure a profile (AWS_PROFILE) or set AWS_ACCESS_KEY_ID/"
                "AWS_SECRET_ACCESS_KEY (any value works against a local endpoint)")
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = error.get("Message", "")
        operation = getattr(exc, "operation_name", "") or "call"
        return f"{operation} failed on {where}: {code}: {message}".rstrip(": ")
    if isinstance(exc, BotoCoreError):
        return f"AWS SDK error talking to {where}: {exc}"
    return f"{type(exc).__name__}: {exc}"
