"""Where the outside checkers live (installed by `make gates`, a prerequisite of `make test`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workflow.app import CDK_JSON

ROOT = CDK_JSON.parent
NODE_BIN = ROOT / "node_modules" / ".bin"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# Loopback nothing listens on: any AWS call a tool makes fails at once instead of leaving the machine.
DEAD_ENDPOINT = "http://127.0.0.1:9"


def tool(path: Path) -> Path:
    """The tool, or a skip naming the make target; under `make test` (ORDERMAIL_REQUIRE_GATES) a
    missing tool fails instead, so CI cannot pass without running the check."""
    if not path.exists():
        message = f"{path.relative_to(ROOT)} is not installed: run `make gates`"
        if os.environ.get("ORDERMAIL_REQUIRE_GATES"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def offline_env(**extra: str) -> dict[str, str]:
    """The environment with fake credentials and every AWS endpoint on a dead loopback port."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": DEAD_ENDPOINT,
        **extra,
    }
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(name, None)
    return env
