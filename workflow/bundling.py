"""The Lambda asset for `tasks/`, bundled without Docker.

`Code.from_asset(..., bundling=...)` would normally run pip inside the SAM build image. The local
bundler below does the same on the host: pip downloads manylinux2014 aarch64 wheels for CPython
3.12 (`--only-binary`), so the result runs on the arm64 Lambda runtime whatever the build machine
is, and no Docker engine is needed. Docker stays configured as the fallback only because
`BundlingOptions` requires an image.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
TASKS_DIR: Final = REPO_ROOT / "tasks"
BUILD_IMAGE: Final = "public.ecr.aws/sam/build-python3.12"
# Not part of the deployed code: bytecode caches and local-only files.
ASSET_EXCLUDES: Final = ("__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".mypy_cache")


def pip_install_command(requirements: Path, target: Path) -> list[str]:
    """pip for the Lambda platform (arm64, CPython 3.12), binary wheels only, exact pins, no resolver."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-r",
        str(requirements),
        "--target",
        str(target),
        "--platform",
        "manylinux2014_aarch64",
        "--implementation",
        "cp",
        "--python-version",
        "3.12",
        "--only-binary=:all:",
        "--no-deps",
        "--no-compile",  # the host's bytecode would be for its Python, not the runtime's 3.12
        "-q",
        "--disable-pip-version-check",
    ]


@jsii.implements(ILocalBundling)
class LocalPipBundler:
    """Copies `tasks/` to `<output>/tasks/` and pip-installs `tasks/requirements.txt` next to it."""

    def __init__(self, source: Path = TASKS_DIR) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        out = Path(output_dir)
        package = out / self._source.name
        shutil.copytree(
            self._source, package, ignore=shutil.ignore_patterns(*ASSET_EXCLUDES), dirs_exist_ok=True
        )
        requirements = package / "requirements.txt"
        if requirements.exists():
            # check=True: a failed install must fail synth, not ship a broken asset.
            subprocess.run(pip_install_command(requirements, out), check=True)  # noqa: S603
        return True


def tasks_code() -> lambda_.Code:
    """The one code asset all four functions share (same hash, bundled once per synth)."""
    return lambda_.Code.from_asset(
        str(TASKS_DIR),
        exclude=list(ASSET_EXCLUDES),
        bundling=BundlingOptions(
            image=DockerImage.from_registry(BUILD_IMAGE),
            local=LocalPipBundler(),
            # Docker fallback, equivalent to the local bundler (used only if it returned False).
            command=[
                "bash",
                "-c",
                "mkdir -p /asset-output/tasks && cp -r /asset-input/. /asset-output/tasks/ && "
                "pip install -r /asset-input/requirements.txt -t /asset-output --no-deps -q",
            ],
        ),
    )
