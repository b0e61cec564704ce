"""The Quotas service: limits and usage per project (enforced in apply, see state/quota.py)."""
from __future__ import annotations

from common.errors import InvalidArgument, NotFound, rpc_errors
from common.ids import check_name
from proto.v1 import iam_pb2_grpc
from scheduler.api import validate
from scheduler.api.iam_convert import quota_pb
from scheduler.state import iam, quota


class QuotasServicer(iam_pb2_grpc.QuotasServicer):
    def __init__(self, store, proposer):
        self.store = store
        self.proposer = proposer

    @rpc_errors
    def GetQuota(self, request, context):
        project = validate.project(request.project)
        with self.store.read_lock:
            state = self.store.read()
            if iam.project(state, project) is None:
                raise NotFound(f"project {project!r} not found")
            report = quota.report(state, project)
        return quota_pb(project, report)

    @rpc_errors
    def SetQuota(self, request, context):
        project = check_name(request.project or "default", "project")
        if not request.limits:
            raise InvalidArgument("limits", f"name at least one of {', '.join(quota.RESOURCES)}")
        for resource, limit in request.limits.items():
            if resource not in quota.RESOURCES:
                raise InvalidArgument("limits", f"unknown quota {resource!r} "
                                                f"(known: {', '.join(quota.RESOURCES)})")
            if limit < -1:
                raise InvalidArgument("limits", f"{resource}: -1 (unlimited) or a count, not {limit}")
        result = self.proposer.propose("quota.set", {"project": project, "limits": dict(request.limits)})
        return quota_pb(project, result["quota"])
