"""The local (no-Docker) bundler: tasks/ plus arm64 CPython 3.12 wheels of tasks/requirements.txt.

Needs PyPI (pip downloads the pinned wheels).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import DockerImage

from workflow.bundling import BUILD_IMAGE, TASKS_DIR, LocalPipBundler


def test_local_bundler_builds_the_lambda_asset(tmp_path: Path) -> None:
    assert LocalPipBundler().try_bundle(str(tmp_path), image=DockerImage.from_registry(BUILD_IMAGE)) is True
    assert (tmp_path / "tasks" / "__init__.py").is_file()
    assert (tmp_path / "tasks" / "names.py").read_text() == (TASKS_DIR / "names.py").read_text()
    assert (tmp_path / "jinja2" / "__init__.py").is_file()
    assert (tmp_path / "email_validator" / "__init__.py").is_file()
    # Binary wheels for the Lambda platform, not the build host's.
    speedups = list((tmp_path / "markupsafe").glob("_speedups*.so"))
    assert speedups and all("cpython-312-aarch64" in so.name for so in speedups)
    assert not list(tmp_path.rglob("__pycache__"))
