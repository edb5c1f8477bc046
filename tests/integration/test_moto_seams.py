"""The runtime patches moto at named seams (ordermail/emulator/hooks.py). An upgrade of the pinned
moto that moves or renames one must fail here, loudly, before anything subtler breaks."""

from __future__ import annotations

import inspect
from pathlib import Path

import moto
import pytest

from ordermail.emulator import hooks

REPO = Path(__file__).resolve().parents[2]


def test_moto_is_the_pinned_version() -> None:
    pins = (REPO / "requirements.txt").read_text()
    assert f"=={moto.__version__}" in pins, (
        f"moto {moto.__version__} is installed but requirements.txt pins another version: "
        "re-check every seam in ordermail/emulator/hooks.py before upgrading"
    )


@pytest.mark.parametrize("seam", sorted(hooks.SEAMS))
def test_each_seam_exists(seam: str) -> None:
    owner, attribute = hooks.SEAMS[seam]
    assert hasattr(owner, attribute), f"moto seam {seam!r} ({owner}.{attribute}) is gone"


def test_lambda_seam_has_the_signature_the_hook_replaces() -> None:
    from moto.awslambda.models import LambdaFunction

    parameters = list(inspect.signature(LambdaFunction._invoke_lambda).parameters)
    assert parameters == ["self", "event"]
    # invoke() must still route through _invoke_lambda and read (payload, errored, logs).
    assert "self._invoke_lambda(" in inspect.getsource(LambdaFunction.invoke)


def test_interpreter_clients_come_from_the_patched_factory() -> None:
    for module in hooks._BOTO_CLIENT_IMPORTERS:
        source = inspect.getsource(module)
        assert "boto_client_for(" in source, f"{module.__name__} no longer calls boto_client_for"


def test_retrier_still_sleeps_through_its_module_time() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    assert "time.sleep(" in inspect.getsource(retrier_decl.RetrierDecl)


def test_aws_sdk_error_names_still_come_from_the_table() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk,
    )

    assert "_SERVICE_ERROR_NAMES" in inspect.getsource(state_task_service_aws_sdk.StateTaskServiceAwsSdk)
    assert "sesv2" not in state_task_service_aws_sdk._SERVICE_ERROR_NAMES, (
        "moto now names SESv2 errors itself: check it says SesV2 and drop install_sfn_error_names"
    )


def test_patches_undo_restores_moto() -> None:
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._invoke_lambda
    patches = hooks.Patches()
    hooks.install_time_scale(patches, 0.5)
    hooks.install_inprocess_lambda(
        patches, faults=hooks.Faults(), rng=__import__("random").Random(1), fault_functions=frozenset(),
        on_invocation=lambda _: None, script=hooks.FaultScript(),
    )
    assert LambdaFunction._invoke_lambda is not original
    patches.undo()
    assert LambdaFunction._invoke_lambda is original
