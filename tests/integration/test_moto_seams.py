"""The runtime patches moto at named seams (ordermail/emulator/seams/, registry()). An upgrade of the
pinned moto that moves or renames one must fail here, loudly, before anything subtler breaks; and a
runtime that patched something the registry does not name fails here too."""

from __future__ import annotations

import inspect
from pathlib import Path

import moto
import pytest

from ordermail.emulator import seams
from ordermail.emulator.options import Faults
from ordermail.emulator.seams import faults, lambda_, stepfunctions

REPO = Path(__file__).resolve().parents[2]


def test_moto_is_the_pinned_version() -> None:
    pins = (REPO / "requirements.txt").read_text()
    assert f"=={moto.__version__}" in pins, (
        f"moto {moto.__version__} is installed but requirements.txt pins another version: "
        "re-check every seam in ordermail/emulator/seams/ (registry()) before upgrading"
    )


REGISTRY = seams.registry()
INSTANCE_SEAMS = {"ses_sent_messages"}  # an attribute each backend instance sets in __init__


@pytest.mark.parametrize("seam", sorted(set(REGISTRY) - seams.ADDED - INSTANCE_SEAMS))
def test_each_seam_exists(seam: str) -> None:
    owner, attribute = REGISTRY[seam]
    assert hasattr(owner, attribute), f"moto seam {seam!r} ({owner}.{attribute}) is gone"


@pytest.mark.parametrize("seam", sorted(seams.ADDED))
def test_each_added_attribute_is_still_missing_from_moto(seam: str) -> None:
    owner, attribute = REGISTRY[seam]
    assert not hasattr(owner, attribute), f"moto has {seam!r} now: replace it instead of adding it"


def test_patches_refuse_a_missing_attribute_and_an_existing_one_to_add() -> None:
    from moto.sesv2.responses import SESV2Response

    patches = seams.Patches()
    with pytest.raises(seams.SeamMissing, match="no_such_method does not exist"):
        patches.replace(SESV2Response, "no_such_method", lambda self: None)
    with pytest.raises(seams.SeamMissing, match="exists now"):
        patches.add(SESV2Response, "send_email", lambda self: None)
    assert patches.applied == []


@pytest.mark.parametrize("fast", [True, False])
def test_a_started_runtime_patches_only_registered_seams(fast: bool, tmp_path: Path) -> None:
    from moto.ses.models import SESBackend

    from ordermail.bench.meters import ApiCounter, CapacityMeter
    from ordermail.emulator import LocalRuntime, RuntimeOptions

    registered = {(id(owner), attribute) for owner, attribute in REGISTRY.values()}
    options = RuntimeOptions(outbox_dir=tmp_path, fast=fast, instruments=(ApiCounter(), CapacityMeter()),
                             faults=Faults(sns_duplicate_rate=0.1))
    with LocalRuntime(options) as runtime:
        applied = list(runtime._patches.applied)
    assert applied, "the runtime patched nothing: the check below would prove nothing"
    unregistered = [
        f"{seams.owner_name(owner)}.{attribute}" for owner, attribute in applied
        if (id(owner), attribute) not in registered
        and not (isinstance(owner, SESBackend) and REGISTRY["ses_sent_messages"] == (SESBackend, attribute))
    ]
    assert unregistered == []


def test_lambda_seam_has_the_signature_the_hook_replaces() -> None:
    from moto.awslambda.models import LambdaFunction

    parameters = list(inspect.signature(LambdaFunction._invoke_lambda).parameters)
    assert parameters == ["self", "event"]
    # invoke() must still route through _invoke_lambda and read (payload, errored, logs).
    assert "self._invoke_lambda(" in inspect.getsource(LambdaFunction.invoke)


def test_interpreter_clients_come_from_the_patched_factory() -> None:
    for module in stepfunctions._BOTO_CLIENT_IMPORTERS:
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
    patches = seams.Patches()
    stepfunctions.install_time_scale(patches, 0.5)
    lambda_.install_inprocess_lambda(
        patches, faults=Faults(), rng=__import__("random").Random(1), fault_functions=frozenset(),
        on_invocation=lambda _: None, script=faults.FaultScript(),
    )
    assert LambdaFunction._invoke_lambda is not original
    patches.undo()
    assert LambdaFunction._invoke_lambda is original


# --- fast paths (ordermail/emulator/seams/fastpaths.py): what each one assumes about moto -----------------

# Source digests of the moto (and botocore) code the fast paths re-implement or rely on, as pinned.
# A mismatch means: read the new code, re-check the fast path against it, then update the digest.
_PINNED_SOURCES = {
    "moto.dynamodb.parsing.ast_nodes:DepthFirstTraverser.traverse_node_recursively": "d7f01d9b45cf9f64",
    "moto.dynamodb.parsing.ast_nodes:DepthFirstTraverser.process": "58328ec7c2f9b1f9",
    "moto.dynamodb.parsing.validators:Validator.validate": "5a99f0d36c7b7b8e",
    "moto.dynamodb.parsing.validators:Validator.__init__": "9489b532dd0fb359",
    "moto.dynamodb.parsing.validators:UpdateExpressionValidator.get_ast_processors": "918400bbecd67e83",
    "moto.dynamodb.parsing.expressions:UpdateExpressionParser.make": "2c00ed96d6e191f2",
    "botocore.useragent:sanitize_user_agent_string_component": "4536076c32a93958",
}


@pytest.mark.parametrize("target", sorted(_PINNED_SOURCES))
def test_fast_path_sources_are_the_pinned_ones(target: str) -> None:
    import hashlib
    import importlib

    module_name, _, qualname = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    digest = hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:16]  # type: ignore[arg-type]
    assert digest == _PINNED_SOURCES[target], (
        f"{target} changed: re-check ordermail/emulator/seams/fastpaths.py against it, then update the digest"
    )


def test_update_validators_start_with_the_static_ones() -> None:
    """fastpaths skips the first three processors once passed: they must be the expression-only ones."""
    from types import SimpleNamespace

    from moto.dynamodb.parsing import validators

    from ordermail.emulator.seams import fastpaths

    table = SimpleNamespace(table_key_attrs=["orderId"], attribute_keys=["orderId"], attr=[])
    validator = validators.UpdateExpressionValidator(
        fastpaths.UpdateExpressionParser.make("SET a = :v"), expression_attribute_names={},
        expression_attribute_values={":v": {"S": "x"}}, item=None, table=table,  # type: ignore[arg-type]
    )
    assert tuple(type(p) for p in validator.processors[:3]) == fastpaths._STATIC_VALIDATORS
    assert all(type(p) not in fastpaths._STATIC_VALIDATORS for p in validator.processors[3:])


def test_interpreter_copies_through_its_module_copy() -> None:
    from ordermail.emulator.seams import fastpaths

    for module in fastpaths._SFN_COPYING_MODULES:
        assert "copy.deepcopy(" in inspect.getsource(module), f"{module.__name__} no longer calls copy.deepcopy"


def test_update_item_parses_through_the_parser_class() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    assert "UpdateExpressionParser.make(" in inspect.getsource(DynamoHandler.update_item)
    assert "UpdateExpressionParser.make(" in inspect.getsource(DynamoDBBackend.update_item)


def test_actions_are_looked_up_through_the_method_names_helper() -> None:
    from moto.core.responses import BaseResponse

    assert "method_names_from_class(self.__class__)" in inspect.getsource(BaseResponse.call_action)
