"""Fast paths through moto (fast mode only; `stepfunctions.install_sfn_caches` installs them).

Measured on the benchmark's compare run, where the runtime's CPU per order went. Every change below
runs moto's own code on every request and cannot change a result:

DynamoDB UpdateItem (the state machine's `dynamodb:updateItem` tasks, the feedback handler). moto
tokenizes and parses the update expression twice per request, then runs ten validators over a deep
copy of the tree, each walking the whole tree and rebuilding its dispatch table at every node; two
of them (action counts, overlapping paths) search the subtree of every node again, so they grow with
the square of the expression's size. Our ledger's expressions have 15-20 actions.

- `UpdateExpressionParser.make` is memoized per expression string. moto never modifies that tree:
  the handler only reads it (`find_clauses`) and each validator works on its own deep copy
  (`Validator.__init__`). Parse errors are not cached (they are raised again).
- that deep copy (`validators.deepcopy`) copies expression trees directly (`tree_deepcopy`: the
  same result as `copy.deepcopy`, without the generic `__reduce_ex__` machinery).
- `DepthFirstTraverser.traverse` builds the processor's dispatch table once per walk instead of twice
  per node (`_processing_map()` returns a fresh dict of the same bound methods on every call).
- the first three validators (action counts, overlapping paths, key attributes) depend only on the
  expression, its attribute names and the table's key attributes, run on the untouched copy and
  return it unchanged; once they have passed for that triple they are skipped for it. The value-
  and item-dependent validators (values, paths, functions, operations, types, empty keys) always run.

Step Functions interpreter. It deep-copies JSON values at every step (state input, results, each
JSONPath extract, task parameters): `json_deepcopy` gives the same copy with a short path for dicts,
lists and scalars (shared objects stay shared, anything else goes to `copy.deepcopy`).

Every request: moto lists the response class's methods with `inspect.getmembers` to check the action
exists; the list is built once per class (seams replace methods; the few they add are added at start, before any request).

botocore's client side. Each request builds its User-Agent header twice, sanitizing each of its
~15 components character by character; the sanitizer is a pure function and is memoized.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import TYPE_CHECKING, Any

from botocore import useragent
from moto.core import responses as core_responses
from moto.dynamodb.parsing import ast_nodes as _ast_nodes
from moto.dynamodb.parsing import expressions as _expressions
from moto.dynamodb.parsing import validators
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.asl.eval import states as sfn_states
from moto.stepfunctions.parser.asl.eval.event import event_manager

if TYPE_CHECKING:
    from .patches import Patches

# moto's parsing modules are untyped (`# type: ignore` files): mypy sees no attributes in them.
ast_nodes: Any = _ast_nodes
_untyped_expressions: Any = _expressions
UpdateExpressionParser: Any = _untyped_expressions.UpdateExpressionParser

# Seams (in the registry, seams/__init__.py: test_moto_seams fails if an upgrade moves one).
SEAMS: dict[str, tuple[object, str]] = {
    "dynamodb_update_expression_parse": (UpdateExpressionParser, "make"),
    "dynamodb_ast_traverse": (ast_nodes.DepthFirstTraverser, "traverse"),
    "dynamodb_update_validate": (validators.UpdateExpressionValidator, "validate"),
    "dynamodb_validator_deepcopy": (validators, "deepcopy"),
    "botocore_user_agent_sanitize": (useragent, "sanitize_user_agent_string_component"),
    "moto_response_method_names": (core_responses, "method_names_from_class"),
    "sfn_states_copy": (sfn_states, "copy"),
    "sfn_string_expression_copy": (string_expression, "copy"),
    "sfn_result_path_copy": (result_path, "copy"),
    "sfn_execute_state_copy": (execute_state, "copy"),
    "sfn_service_task_copy": (state_task_service, "copy"),
    "sfn_event_manager_copy": (event_manager, "copy"),
}

# The interpreter modules that deep-copy JSON values (state input, results, JSONPath extracts,
# parameters) at every step: they get `copy` with a JSON-aware deepcopy (json_deepcopy).
_SFN_COPYING_MODULES = (sfn_states, string_expression, result_path, execute_state, state_task_service, event_manager)

# The validators whose outcome is a function of (expression, attribute names, table key attributes)
# alone, and which return the tree unchanged. They run first, on an untouched copy of the parse.
_STATIC_VALIDATORS = (
    validators.ActionCountValidator,
    validators.OverlappingPathsValidator,
    validators.UpdateHashRangeKeyValidator,
)

_MAX_PASSED = 4096  # (expression, names, keys) triples remembered; a pathological stream just re-validates
_SOURCE = "_ordermail_expression"  # the expression string, on trees from the memoized parser


def fast_traverse(self: Any, node: Any) -> Any:
    """`DepthFirstTraverser.traverse_node_recursively`, with the dispatch table built once."""
    processing = tuple(self._processing_map().items())
    handled = tuple(cls for cls, _ in processing)
    pre = self.pre_processing_of_child
    node_class = ast_nodes.Node

    def walk(node: Any, child_id: int = -1) -> Any:
        if isinstance(node, node_class):
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    pre(node, i)
                    walk(child_node, i)
            if isinstance(node, handled):
                result = None
                for class_key, processor in processing:
                    if isinstance(node, class_key):
                        result = processor(node)
                        break
                node = result
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    return walk(node)


def _copy_value(value: Any, memo: dict[int, Any]) -> Any:
    kind: Any = type(value)
    if kind is str or kind is int or value is None or kind is bool:
        return value  # atomic: deepcopy returns these themselves
    found = memo.get(id(value), memo)
    if found is not memo:
        return found
    if kind is list:
        result: list[Any] = []
        memo[id(value)] = result
        result.extend(_copy_value(item, memo) for item in value)
        return result
    if isinstance(value, ast_nodes.Node) and not hasattr(kind, "__deepcopy__"):
        node = kind.__new__(kind)
        memo[id(value)] = node
        node.__dict__.update({name: _copy_value(item, memo) for name, item in value.__dict__.items()})
        return node
    return copy.deepcopy(value, memo)


def tree_deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """`copy.deepcopy` for moto's expression trees, without the generic `__reduce_ex__` machinery.

    Same result: a node becomes a new instance of its class whose `__dict__` holds deep copies
    (children lists copied, parent links pointing into the copy, shared objects copied once); any
    value that is not a str, int, bool, None, list or plain node goes to `copy.deepcopy` itself.
    """
    if memo is None:
        memo = {}
    if not isinstance(value, ast_nodes.Node):
        return copy.deepcopy(value, memo)
    return _copy_value(value, memo)


_ATOMIC = frozenset({str, int, float, bool, type(None)})


def _json_copy(value: Any, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind in _ATOMIC:
        return value
    found = memo.get(id(value), memo)
    if found is not memo:
        return found
    if kind is dict:
        result: dict[Any, Any] = {}
        memo[id(value)] = result
        for key, item in value.items():
            result[_json_copy(key, memo)] = _json_copy(item, memo)
        return result
    if kind is list:
        items: list[Any] = []
        memo[id(value)] = items
        items.extend(_json_copy(item, memo) for item in value)
        return items
    return copy.deepcopy(value, memo)


def json_deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """`copy.deepcopy` with a short path for plain JSON values (dict, list, str, numbers, None).

    The same result as deepcopy: new dicts and lists all the way down, immutable scalars shared, an
    object met twice copied once; anything else (tuples, subclasses, objects) is handed to
    `copy.deepcopy` with the same memo.
    """
    return _json_copy(value, {} if memo is None else memo)


class _JsonCopyModule:
    """Stands in for the `copy` module inside the interpreter modules that deep-copy JSON values."""

    deepcopy = staticmethod(json_deepcopy)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def install_fast_paths(patches: Patches) -> None:
    """Every seam in SEAMS (see the module's docstring)."""
    original_make = UpdateExpressionParser.make.__func__

    @functools.lru_cache(maxsize=256)
    def parse(expression: str) -> Any:
        tree = original_make(UpdateExpressionParser, expression)
        setattr(tree, _SOURCE, expression)
        return tree

    def make(cls: Any, expression_str: Any) -> Any:
        if cls is not UpdateExpressionParser or not isinstance(expression_str, str):
            return original_make(cls, expression_str)
        return parse(expression_str)

    patches.replace(UpdateExpressionParser, "make", classmethod(make))
    patches.replace(ast_nodes.DepthFirstTraverser, "traverse", fast_traverse)

    passed: set[tuple[Any, ...]] = set()
    lock = threading.Lock()

    def validate(self: Any) -> Any:
        n = self.node_to_validate
        processors = self.processors
        source = getattr(n, _SOURCE, None)
        key = None
        if source is not None and tuple(type(p) for p in processors[:3]) == _STATIC_VALIDATORS:
            names = self.expression_attribute_names
            try:
                key = (source, None if names is None else tuple(sorted(names.items())),
                       tuple(self.table.table_key_attrs))
                hash(key)
            except TypeError:  # a malformed request (unhashable names): validated in full, as always
                key = None
        if key is not None and key in passed:
            processors = processors[3:]
            key = None
        for index, processor in enumerate(processors):
            n = processor.traverse(n)
            if index == 2 and key is not None:
                with lock:
                    if len(passed) >= _MAX_PASSED:
                        passed.clear()
                    passed.add(key)
        return n

    patches.replace(validators.UpdateExpressionValidator, "validate", validate)
    patches.replace(validators, "deepcopy", tree_deepcopy)

    shim = _JsonCopyModule()
    for module in _SFN_COPYING_MODULES:
        patches.replace(module, "copy", shim)

    # Every request moto serves lists its response class's methods (`inspect.getmembers`) to check the
    # action is one. The names of a class's methods do not change while the runtime runs (the seams
    # only replace existing methods), so each class's list is built once.
    method_names = functools.lru_cache(maxsize=256)(core_responses.method_names_from_class)
    patches.replace(core_responses, "method_names_from_class", method_names)

    # botocore's client side: every request builds its User-Agent header twice, sanitizing each of
    # its ~15 components character by character; the sanitizer is a pure function of its arguments.
    patches.replace(useragent, "sanitize_user_agent_string_component",
                    functools.lru_cache(maxsize=1024)(useragent.sanitize_user_agent_string_component))
