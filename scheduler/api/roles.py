"""The Roles service: built-in and custom roles, and who holds them where."""
from __future__ import annotations

from common.errors import InvalidArgument, rpc_errors
from common.ids import check_name
from proto.v1 import iam_pb2, iam_pb2_grpc
from scheduler.api import iam_input, validate
from scheduler.api.iam_convert import binding_pb, role_pb
from scheduler.auth.permissions import BUILTIN_ROLES, CLUSTER_ONLY_ROLES


def _binding_args(binding) -> dict:
    principal = check_name(binding.principal, "binding.principal") if binding.principal else ""
    if not principal:
        raise InvalidArgument("binding.principal", "is required")
    role = check_name(binding.role, "binding.role") if binding.role else ""
    if not role:
        raise InvalidArgument("binding.role", "is required")
    project = iam_input.optional_name(binding.project, "binding.project")
    if role in CLUSTER_ONLY_ROLES and project:
        raise InvalidArgument("binding.role", f"{role} is cluster-wide; in a project bind project-admin")
    return {"principal": principal, "role": role, "project": project}


class RolesServicer(iam_pb2_grpc.RolesServicer):
    def __init__(self, store, proposer, propagation=None):
        self.store = store
        self.proposer = proposer
        self.propagation = propagation

    @rpc_errors
    def CreateRole(self, request, context):
        name = check_name(request.name)
        if name in BUILTIN_ROLES:
            raise InvalidArgument("name", f"{name!r} is a built-in role")
        result = self.proposer.propose("role.create", {
            "name": name, "permissions": iam_input.permissions(request.permissions),
            "description": iam_input.text(request.description, "description", 1024)})
        return role_pb(name, result["role"])

    @rpc_errors
    def ListRoles(self, request, context):
        size, offset = validate.page(request.page_size, request.page_token)
        with self.store.read_lock:
            custom = {name: dict(r) for name, r in self.store.read().iam["roles"].items()}
        names, token = validate.window(list(BUILTIN_ROLES) + sorted(custom), size, offset)
        return iam_pb2.ListRolesResponse(roles=[role_pb(name, custom.get(name)) for name in names],
                                         next_page_token=token)

    @rpc_errors
    def DeleteRole(self, request, context):
        self.proposer.propose("role.delete", {"name": check_name(request.name)})
        return iam_pb2.DeleteRoleResponse()

    @rpc_errors
    def BindRole(self, request, context):
        args = _binding_args(request.binding)
        result = self.proposer.propose("binding.create", args)
        if self.propagation is not None:   # the role holds on every scheduler once we answer
            self.propagation.wait_applied(self.store.applied_index)
        return binding_pb(result["principal"], args["role"], args["project"])

    @rpc_errors
    def UnbindRole(self, request, context):
        self.proposer.propose("binding.delete", _binding_args(request.binding))
        if self.propagation is not None:
            self.propagation.wait_applied(self.store.applied_index)
        return iam_pb2.UnbindRoleResponse()

    @rpc_errors
    def ListBindings(self, request, context):
        project = iam_input.optional_name(request.project, "project")
        size, offset = validate.page(request.page_size, request.page_token)
        with self.store.read_lock:
            state = self.store.read()
            names = {pid: p["name"] for pid, p in state.iam["principals"].items()}
            chosen = [dict(b) for b in state.iam["bindings"].values()
                      if (not project or b["project"] == project)]
        if request.principal:
            chosen = [b for b in chosen if names.get(b["principal_id"]) == request.principal]
        chosen.sort(key=lambda b: (b["project"], names.get(b["principal_id"], ""), b["role"]))
        page, token = validate.window(chosen, size, offset)
        return iam_pb2.ListBindingsResponse(bindings=[
            binding_pb(names.get(b["principal_id"], b["principal_id"]), b["role"], b["project"])
            for b in page], next_page_token=token)
