"""The Audit service: who changed what, when, from where, and how it went."""
from __future__ import annotations

from common.errors import InvalidArgument, rpc_errors
from proto.v1 import audit_pb2, audit_pb2_grpc
from scheduler.api import iam_input, validate
from scheduler.api.iam_convert import audit_pb

MAX_LIMIT = 10_000


def _action_matches(pattern: str, action: str) -> bool:
    if pattern.endswith("*"):
        return action.startswith(pattern[:-1])
    return action == pattern


class AuditServicer(audit_pb2_grpc.AuditServicer):
    def __init__(self, store):
        self.store = store

    @rpc_errors
    def ListAuditEvents(self, request, context):
        if not 0 <= request.limit <= MAX_LIMIT:
            raise InvalidArgument("limit", f"must be between 0 and {MAX_LIMIT}")
        limit = request.limit or 100
        project = iam_input.optional_name(request.project, "project")
        since_ms = 0
        if request.HasField("since"):
            since_ms = validate.timestamp_ms(request.since, "since")
        with self.store.read_lock:
            entries = self.store.read().audit["entries"]
            chosen = []
            for entry in reversed(entries):
                if entry["ts"] < since_ms:
                    break   # entries are in commit order, which follows time closely enough
                if project and entry["project"] != project:
                    continue
                if request.principal and entry["principal"] != request.principal:
                    continue
                if request.action and not _action_matches(request.action, entry["action"]):
                    continue
                chosen.append(dict(entry))
                if len(chosen) >= limit:
                    break
        chosen.reverse()
        return audit_pb2.ListAuditEventsResponse(events=[audit_pb(e) for e in chosen])
