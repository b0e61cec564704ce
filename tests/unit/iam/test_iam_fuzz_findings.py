"""What the fuzz of every public request found (tests/integration/iam/test_iam_fuzz.py),
each answered INVALID_ARGUMENT naming the field instead of INTERNAL, over the real state
machine in process."""
import json
import threading

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from common.errors import InvalidArgument
from proto.v1 import audit_pb2
from scheduler.api.audit import AuditServicer
from scheduler.api.operations import BACKUP_FORMAT, parse_archive, state_digest
from scheduler.state.machine import ClusterState


class InProcessStore:
    def __init__(self):
        self.state = ClusterState()
        self.read_lock = threading.RLock()

    def read(self):
        return self.state


class Aborted(Exception):
    def __init__(self, code, details):
        super().__init__(f"{code.name}: {details}")
        self.code, self.details = code, details


class Context:
    def abort(self, code, details):
        raise Aborted(code, details)


def refusal(call, request) -> Aborted:
    with pytest.raises(Aborted) as err:
        call(request, Context())
    return err.value


@pytest.mark.parametrize("since", [Timestamp(seconds=1 << 40), Timestamp(seconds=-1),
                                   Timestamp(seconds=0, nanos=-1), Timestamp(nanos=10**9)])
def test_audit_since_beyond_what_a_timestamp_holds_is_invalid_argument(since):
    audit = AuditServicer(InProcessStore())
    err = refusal(audit.ListAuditEvents, audit_pb2.ListAuditEventsRequest(since=since))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "since" in err.details


def test_audit_since_the_last_representable_second_answers():
    audit = AuditServicer(InProcessStore())
    reply = audit.ListAuditEvents(audit_pb2.ListAuditEventsRequest(
        since=Timestamp(seconds=253_402_300_799, nanos=999_999_999)), Context())
    assert list(reply.events) == []


def archive(**fields) -> bytes:
    state = {}
    return json.dumps({"format": BACKUP_FORMAT, "state": state, "sha256": state_digest(state),
                       **fields}).encode()


@pytest.mark.parametrize("damaged", [
    b"[" * 100_000,                       # json.loads: RecursionError
    b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
    archive(revision="7"), archive(revision=1e400), archive(revision=[1]), archive(revision=True),
    archive(revision=-1), archive(revision=2**64), archive(cluster_name={"a": 1}),
])
def test_restore_of_a_damaged_archive_is_invalid_argument(damaged):
    with pytest.raises(InvalidArgument) as err:
        parse_archive(damaged)
    assert err.value.field == "archive"


def test_restore_of_a_sound_archive_parses():
    assert parse_archive(archive(revision=12, cluster_name="c"))["revision"] == 12
