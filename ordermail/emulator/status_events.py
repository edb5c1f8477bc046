"""The status events' Pipe, locally: ledger stream → filter → enrichment function → event bus.

moto records DynamoDB stream records and routes PutEvents through rules to targets (SQS among
them), but runs no Pipe. This poller does what the deployed Pipe does (workflow/status_events.py),
with the same filter (workflow/status_events_spec.py) and the same enrichment function
(tasks/status_events.py, invoked through the runtime's Lambda): read the ledger stream from
TRIM_HORIZON, keep the records the pattern matches (moto's own EventBridge pattern matcher),
invoke the function with them, PutEvents one event per detail. A failed step is retried with the
same records, as a Pipe retries a batch; under IAM enforcement every call is the Pipe role's, so a
missing grant stops the events (counted in `failed`, the records wait) and never the mail.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from moto.events.models import EventPattern

from workflow import status_events_spec as spec

from .iam.enforce import acting_as

if TYPE_CHECKING:
    from .iam.enforce import Principal


class StatusEventPoller:
    """One thread standing in for the status events Pipe."""

    def __init__(self, *, table_name: str, bus_name: str, region: str, account: str,
                 principal: Principal | None, function_name: str, interval: float = 0.05) -> None:
        self.table_name, self.bus_name, self.region, self.account = table_name, bus_name, region, account
        self.bus_arn = f"arn:aws:events:{region}:{account}:event-bus/{bus_name}"
        self.principal = principal
        self.interval = interval
        self.pattern = EventPattern.load(spec.filter_pattern())
        self.function_name = function_name
        self.published = 0
        self.failed = 0
        self._consumed = 0  # stream records read and handed on
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ddb = boto3.client("dynamodb", region_name=region)
        # Account-based endpoints (<account>.streams-ddb…, botocore's default for an ARN with an
        # account) are unknown to moto's in-process router: the regional endpoint instead.
        self._streams = boto3.client(
            "dynamodbstreams", region_name=region, config=Config(account_id_endpoint_mode="disabled")
        )
        self._events = boto3.client("events", region_name=region)
        self._lambda = boto3.client("lambda", region_name=region)
        self._iterator: str | None = None
        self.stream_arn = ""

    def enable(self) -> None:
        """Switch the ledger's stream on and create the bus (CloudFormation's part on AWS)."""
        self.stream_arn = self._ddb.update_table(
            TableName=self.table_name,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
        buses = {b["Name"] for b in self._events.list_event_buses()["EventBuses"]}
        if self.bus_name not in buses:
            self._events.create_event_bus(Name=self.bus_name)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ordermail-status-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None

    def pending(self) -> int:
        """Stream records not yet handed on (wait_idle waits for them)."""
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[self.account][self.region].get_table(self.table_name).stream_shard
        return max(0, len(shard.items) - self._consumed) if shard is not None else 0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.poll_once() or self.pending():
                    continue  # more records waiting: no pause
            except Exception:  # a Pipe keeps polling through errors; counted in `failed`
                self.failed += 1
                self._stop.wait(self.interval * 4)
            self._stop.wait(self.interval)

    def poll_once(self) -> int:
        """Read the next batch, publish its matching records; the number published."""
        with acting_as(self.principal):
            if self._iterator is None:
                shard = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
                self._iterator = self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            # Pages of 100 so the poller keeps up with a burst; each page is enriched in the Pipe's
            # batches of 10 and published 10 entries per PutEvents, as on AWS.
            response = self._streams.get_records(ShardIterator=self._iterator, Limit=100)
            # As a Pipe sees them: JSON (boto3 parses the creation time into a datetime).
            records = json.loads(json.dumps(response["Records"], default=str))
            matched = [record for record in records if self.pattern.matches_event(record)]
            entries = []
            for start in range(0, len(matched), spec.BATCH_SIZE):  # the Pipe's batch size
                entries += [self._entry(d) for d in self._enrich(matched[start:start + spec.BATCH_SIZE])]
            for start in range(0, len(entries), 10):  # PutEvents takes at most 10 entries
                result = self._events.put_events(Entries=entries[start:start + 10])
                if result.get("FailedEntryCount"):
                    raise RuntimeError(f"PutEvents failed for {result['FailedEntryCount']} entries")
            self._forget(self._iterator)
            self._iterator = response["NextShardIterator"]
            self._consumed += len(records)
            self.published += len(entries)
            return len(entries)

    def _enrich(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self._lambda.invoke(FunctionName=self.function_name, Payload=json.dumps(batch).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError") or not isinstance(payload, list):
            raise RuntimeError(f"enrichment failed: {payload}")
        return payload

    def _entry(self, detail: dict[str, Any]) -> dict[str, Any]:
        return {"Source": spec.SOURCE, "DetailType": spec.DETAIL_TYPE, "Detail": json.dumps(detail),
                "EventBusName": self.bus_arn}

    def _forget(self, iterator: str) -> None:
        # moto keeps every iterator it ever issued; a poller issuing 20 a second must drop its own.
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        dynamodbstreams_backends[self.account][self.region].shard_iterators.pop(iterator, None)


def start_status_events(runtime: Any) -> StatusEventPoller:
    """Runtime hook (RuntimeOptions.status_events): the stream on, the poller started, the output set."""
    from .provision import ACCOUNT_ID

    iam = runtime.iam
    if iam is not None and iam.principals.status_events is None:
        raise RuntimeError("status events: the IAM template has no status events Pipe (synthesize with statusEvents)")
    env = runtime.options.env
    _create_function(runtime, env)
    poller = StatusEventPoller(
        table_name=runtime.names["ledger_table"], bus_name=spec.bus_name(env), region=runtime.region,
        account=ACCOUNT_ID, principal=iam.principals.status_events if iam else None,
        function_name=spec.function_name(env),
    )
    poller.enable()
    poller.start()
    runtime.services.append(poller)
    runtime.provisioned.outputs["StatusEventBusName"] = poller.bus_name
    return poller


def _create_function(runtime: Any, env: str) -> None:
    """The enrichment function, as the stack creates it (run in-process by seams/lambda_.py)."""
    from .provision import _placeholder_zip, _role

    timeout, memory = spec.ENRICHMENT_LIMITS
    runtime.client("lambda").create_function(
        FunctionName=spec.function_name(env), Runtime="python3.12", Architectures=["arm64"],
        Role=_role(runtime.client("iam"), spec.function_name(env), "lambda.amazonaws.com"),
        Handler=spec.ENRICHMENT_HANDLER, Code={"ZipFile": _placeholder_zip()}, Timeout=timeout, MemorySize=memory,
    )
