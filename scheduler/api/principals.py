"""The Principals service: users (cluster-wide) and service accounts (owned by a project)."""
from __future__ import annotations

from common.errors import InvalidArgument, NotFound, rpc_errors
from common.ids import check_name, new_id
from proto.v1 import iam_pb2, iam_pb2_grpc
from scheduler.api import iam_input, validate
from scheduler.api.iam_convert import principal_pb
from scheduler.auth import identity, policy
from scheduler.state import iam

SERVICE_ACCOUNT = "service-account"


def may_manage(record: dict, action: str) -> bool:
    """Whether the caller may `action` ("get", "delete", "token") this principal."""
    me = identity.current()
    if me.superuser and not me.scope_project:
        return True
    if record["id"] == me.principal_id and action in ("get", "token"):
        return True
    if record["kind"] == SERVICE_ACCOUNT:
        return policy.permitted(f"serviceaccount.{action}", record["project"])
    return policy.permitted(f"user.{action}", "")


class PrincipalsServicer(iam_pb2_grpc.PrincipalsServicer):
    def __init__(self, store, proposer):
        self.store = store
        self.proposer = proposer

    def _find(self, ref: str, action: str) -> dict:
        if not ref:
            raise InvalidArgument("name", "is required")
        with self.store.read_lock:
            record = iam.principal(self.store.read(), ref)
            record = dict(record) if record else None
        # Someone the caller may not handle is someone the caller cannot see.
        if record is None or not may_manage(record, action):
            raise NotFound(f"principal {ref!r} not found")
        return record

    @rpc_errors
    def CreatePrincipal(self, request, context):
        name = check_name(request.name)
        kind = request.kind or "user"
        if kind not in iam.KINDS:
            raise InvalidArgument("kind", f"must be one of {', '.join(iam.KINDS)}")
        project = (request.project or "default") if kind == SERVICE_ACCOUNT else ""
        if kind == "user" and request.project:
            raise InvalidArgument("project", "users are cluster-wide; only service accounts have one")
        result = self.proposer.propose("principal.create", {
            "id": new_id("u"), "name": name, "kind": kind, "project": project,
            "description": iam_input.text(request.description, "description", 1024)})
        return principal_pb(result["principal"])

    @rpc_errors
    def GetPrincipal(self, request, context):
        return principal_pb(self._find(request.name, "get"))

    @rpc_errors
    def ListPrincipals(self, request, context):
        if request.kind and request.kind not in iam.KINDS:
            raise InvalidArgument("kind", f"must be one of {', '.join(iam.KINDS)}")
        size, offset = validate.page(request.page_size, request.page_token)
        with self.store.read_lock:
            records = [dict(p) for p in self.store.read().iam["principals"].values()]
        if request.project:
            records = [p for p in records if p["project"] == request.project]
        if request.kind:
            records = [p for p in records if p["kind"] == request.kind]
        records.sort(key=lambda p: p["name"])
        page, token = validate.window(records, size, offset)
        return iam_pb2.ListPrincipalsResponse(principals=[principal_pb(p) for p in page],
                                              next_page_token=token)

    @rpc_errors
    def DeletePrincipal(self, request, context):
        record = self._find(request.name, "delete")
        self.proposer.propose("principal.delete", {"name": record["id"]})
        return iam_pb2.DeletePrincipalResponse()
