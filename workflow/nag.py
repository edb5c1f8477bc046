"""cdk-nag 3.x: the AwsSolutions pack runs at every synth; each finding we accept is acknowledged
where the resource is built, with the reason next to it.

cdk-nag 3 uses CDK's native `Validations` API (the 2.x `NagSuppressions`/Aspects API is gone).
An acknowledgement matches one finding id, e.g. `AwsSolutions-IAM5[Resource::*]`.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

# Why X-Ray and Lambda logging need "*": X-Ray trace segments have no resource ARN.
XRAY_REASON = (
    "X-Ray PutTraceSegments/PutTelemetryRecords (and sampling-rule reads) do not support "
    "resource-level permissions; '*' is the only valid resource (added by tracing=ACTIVE)."
)
PY312_REASON = (
    "Pinned to Python 3.12 on arm64 on purpose: the Powertools V3 layer (python312-arm64), the "
    "manylinux2014 aarch64 cp312 wheels of the bundled dependencies and the tests all target 3.12; "
    "moving runtime is a deliberate change of all three."
)


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on `construct` (and its children)."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def add_nag_checks(app: App) -> None:
    """Run the AwsSolutions pack on the whole app: any unacknowledged finding fails synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
