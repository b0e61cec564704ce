"""What the fuzz of every public request found (tests/integration/iam/test_iam_fuzz.py),
each answered INVALID_ARGUMENT naming the field instead of INTERNAL, over the real state
machine in process."""
import threading

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from proto.v1 import audit_pb2
from scheduler.api.audit import AuditServicer
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
