"""The synthesized CloudFormation template: the one source of the stack's policies for the runtime.

Synthesis (jsii + node) takes tens of seconds, so the template is cached by content: the key hashes
every file synthesis reads (app.py, cdk.json, workflow/, tasks/ (names, templates: the code asset
hash is in the template), asl/), the context, the environment and the aws-cdk-lib version. Editing
a grant in workflow/ therefore changes the key and the next runtime start synthesizes again.
Synthesis runs in a subprocess so the runtime process never loads jsii.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tasks import names

REPO_ROOT = Path(__file__).resolve().parents[3]
CACHE_ENV = "ORDERMAIL_SYNTH_CACHE"
# Inputs synthesis reads, relative to the repository root (directories are walked).
SYNTH_INPUTS = ("app.py", "cdk.json", "workflow", "tasks", "asl")
_SKIP_PARTS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
SYNTH_TIMEOUT_SECONDS = 600


class SynthError(RuntimeError):
    """`python app.py` failed or wrote no template."""


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ordermail" / "synth"


def _input_files(root: Path) -> Iterator[Path]:
    for name in SYNTH_INPUTS:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not _SKIP_PARTS.intersection(child.parts) and child.suffix != ".pyc":
                    yield child


def _cdk_version() -> str:
    try:
        return importlib.metadata.version("aws-cdk-lib")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def cache_key(env: str = "dev", context: dict[str, Any] | None = None, *, root: Path = REPO_ROOT) -> str:
    """Hex digest of everything the synthesized template depends on."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps({"env": env, "context": context or {}, "cdk": _cdk_version()}, sort_keys=True).encode()
    )
    for path in _input_files(root):
        digest.update(b"\0" + path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def synthesize(
    env: str = "dev", context: dict[str, Any] | None = None, *, root: Path = REPO_ROOT
) -> dict[str, Any]:
    """Runs `python app.py` in a subprocess (CDK_CONTEXT_JSON carries the context, as the cdk CLI does)."""
    with tempfile.TemporaryDirectory(prefix="ordermail-synth-") as outdir:
        child_env = {
            **os.environ,
            "CDK_OUTDIR": outdir,
            "CDK_CONTEXT_JSON": json.dumps({**(context or {}), "env": env}),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH", "")])),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1",
            "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
        }
        result = subprocess.run(  # noqa: S603 - our own interpreter and app.py
            [sys.executable, str(root / "app.py")],
            cwd=root,
            env=child_env,
            capture_output=True,
            text=True,
            timeout=SYNTH_TIMEOUT_SECONDS,
            check=False,
        )
        template_path = Path(outdir) / f"{names.stack_name(env)}.template.json"
        if result.returncode != 0 or not template_path.is_file():
            raise SynthError(
                f"synthesis of {names.stack_name(env)} failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
            )
        template: dict[str, Any] = json.loads(template_path.read_text(encoding="utf-8"))
        return template


def _write_atomically(path: Path, text: str) -> None:
    # Concurrent test processes may synthesize the same key: each writes its own temp file and
    # renames it into place, so a reader never sees a partial file (the last rename wins; same content).
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_template_path(
    env: str = "dev", context: dict[str, Any] | None = None, *, root: Path = REPO_ROOT
) -> Path:
    return cache_dir() / f"{cache_key(env, context, root=root)}.json"


def synthesized_template(
    env: str = "dev", context: dict[str, Any] | None = None, *, root: Path = REPO_ROOT
) -> dict[str, Any]:
    """The stack's template for `env` (+ context overrides), from the cache or a fresh synthesis."""
    path = cached_template_path(env, context, root=root)
    try:
        cached: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return cached
    except (FileNotFoundError, json.JSONDecodeError):
        pass
    template = synthesize(env, context, root=root)
    _write_atomically(path, json.dumps(template))
    return template


def load_template(source: Path | str | dict[str, Any]) -> dict[str, Any]:
    """A given template (a path or an already-loaded dict, e.g. one a mutation test edited)."""
    if isinstance(source, dict):
        return source
    loaded: dict[str, Any] = json.loads(Path(source).read_text(encoding="utf-8"))
    return loaded
