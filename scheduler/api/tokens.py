"""The Tokens service: API tokens, who-am-I, and the first admin (`cloud cluster init`)."""
from __future__ import annotations

from common.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, rpc_errors
from common.ids import check_name, new_id
from proto.v1 import iam_pb2, iam_pb2_grpc
from scheduler.api import iam_input, validate
from scheduler.api.iam_convert import binding_pb, token_pb
from scheduler.api.principals import may_manage
from scheduler.auth import identity, tokens
from scheduler.proposer import now_ms
from scheduler.state import iam


class TokensServicer(iam_pb2_grpc.TokensServicer):
    def __init__(self, store, proposer, propagation=None, max_per_principal: int = 0):
        self.store = store
        self.proposer = proposer
        self.propagation = propagation
        self.max_per_principal = max_per_principal   # 0: no cap

    def _everywhere(self) -> None:
        """Wait (bounded) until every reachable scheduler applied what this node has."""
        if self.propagation is not None:
            self.propagation.wait_applied(self.store.applied_index)

    def _principal(self, ref: str) -> dict:
        """The principal a token call is about: `ref`, else the caller itself."""
        me = identity.current()
        if not ref:
            if not me.principal_id:
                raise InvalidArgument("principal", "certificate callers must name a principal")
            ref = me.principal_id
        with self.store.read_lock:
            record = iam.principal(self.store.read(), ref)
            record = dict(record) if record else None
        if record is None or not may_manage(record, "token"):
            raise NotFound(f"principal {ref!r} not found")
        return record

    @rpc_errors
    def CreateToken(self, request, context):
        owner = self._principal(request.principal)
        ttl = iam_input.ttl_seconds(request.ttl_seconds)
        scope_project = iam_input.optional_name(request.scope_project, "scope_project")
        scope_role = iam_input.optional_name(request.scope_role, "scope_role")
        if bool(scope_project) != bool(scope_role):
            raise InvalidArgument("scope_role", "a scoped token names both --project and --role")
        me = identity.current()
        if me.scope_project and (scope_project, scope_role) != (me.scope_project, me.scope_role):
            # A scoped token must not mint a wider one.
            raise PermissionDenied(f"this token may only create tokens scoped to "
                                   f"{me.scope_project}/{me.scope_role}")
        if scope_project:
            identity.require_visible(scope_project)
        token_id, bearer, digest = tokens.new_token()
        result = self.proposer.propose("token.create", {
            "id": token_id, "principal_id": owner["id"], "hash": digest,
            "expires_ms": now_ms() + ttl * 1000 if ttl else 0,
            "description": iam_input.text(request.description, "description", 256),
            "scope_project": scope_project, "scope_role": scope_role,
            "max_live_tokens": self.max_per_principal})
        self._everywhere()   # the new token works on whichever scheduler it is sent to
        return iam_pb2.CreateTokenResponse(token=token_pb(result["token"], owner["name"]),
                                           secret=bearer)

    @rpc_errors
    def ListTokens(self, request, context):
        me = identity.current()
        size, offset = validate.page(request.page_size, request.page_token)
        if request.all:
            if not me.superuser or me.scope_project:
                raise PermissionDenied("only cluster admins list every principal's tokens")
            owners = None
        else:
            owners = {self._principal(request.principal)["id"]}
        with self.store.read_lock:
            state = self.store.read()
            names = {pid: p["name"] for pid, p in state.iam["principals"].items()}
            records = [dict(t) for t in state.iam["tokens"].values()
                       if owners is None or t["principal_id"] in owners]
        records.sort(key=lambda t: (names.get(t["principal_id"], ""), t["created_ms"], t["id"]))
        page, token = validate.window(records, size, offset)
        return iam_pb2.ListTokensResponse(
            tokens=[token_pb(t, names.get(t["principal_id"], "")) for t in page], next_page_token=token)

    @rpc_errors
    def RevokeToken(self, request, context):
        if not request.id:
            raise InvalidArgument("id", "is required")
        token_id = request.id
        parsed = tokens.parse(token_id)
        if parsed:   # the whole bearer string pasted: use its public part only
            token_id = parsed[0]
        with self.store.read_lock:
            state = self.store.read()
            record = state.iam["tokens"].get(token_id)
            owner = state.iam["principals"].get(record["principal_id"]) if record else None
            owner = dict(owner) if owner else None
        if owner is None or not may_manage(owner, "token"):
            raise NotFound(f"token {request.id[:24]!r} not found")
        self.proposer.propose("token.revoke", {"id": token_id})
        self._everywhere()   # answer only once the other schedulers refuse it too
        return iam_pb2.RevokeTokenResponse()

    @rpc_errors
    def WhoAmI(self, request, context):
        me = identity.current()
        bindings = [binding_pb(me.name, role, project) for role, project in me.bindings]
        return iam_pb2.WhoAmIResponse(principal=me.name, kind=me.kind, via=me.via,
                                      cluster_admin=me.superuser and not me.scope_project,
                                      bindings=bindings, token_id=me.token_id)

    @rpc_errors
    def Bootstrap(self, request, context):
        me = identity.current()
        if me.via != identity.CERTIFICATE:
            raise PermissionDenied("the cluster is initialized with the admin certificate")
        name = check_name(request.admin_name or "admin", "admin_name")
        with self.store.read_lock:
            if self.store.read().iam["bootstrapped"]:
                raise FailedPrecondition("the cluster is already initialized; an admin can "
                                         "create more tokens with `cloud token create`")
        token_id, bearer, digest = tokens.new_token()
        result = self.proposer.propose("iam.bootstrap", {
            "principal": {"id": new_id("u"), "name": name, "description": "the first admin"},
            "token": {"id": token_id, "hash": digest, "expires_ms": 0,
                      "description": "created by cluster init"}})
        self._everywhere()
        return iam_pb2.BootstrapResponse(token=iam_pb2.CreateTokenResponse(
            token=token_pb(result["token"], result["principal"]["name"]), secret=bearer))
