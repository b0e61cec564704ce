"""`cloud role …`: built-in and custom roles, and binding them to users."""
from __future__ import annotations

from proto.v1 import iam_pb2

from cli import argtypes


def register(subparsers, parents) -> None:
    role = subparsers.add_parser("role", help="roles and role bindings", parents=parents)
    actions = role.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=parents, help="a custom role (cluster admins)")
    create.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    create.add_argument("--permission", action="append", required=True, metavar="PERM",
                        help="like instance.create, volume.attach, instance.* (repeatable)")
    create.add_argument("--description", default="")
    create.set_defaults(func=create_command)
    actions.add_parser("list", parents=parents, help="every role").set_defaults(func=list_command)
    delete = actions.add_parser("delete", parents=parents, help="delete an unbound custom role")
    delete.add_argument("name", metavar="NAME")
    delete.set_defaults(func=delete_command)
    for verb, func, text in (("bind", bind_command, "give USER the ROLE in --project"),
                             ("unbind", unbind_command, "take it back")):
        parser = actions.add_parser(verb, parents=parents, help=text)
        parser.add_argument("user", metavar="USER")
        parser.add_argument("role", metavar="ROLE")
        parser.add_argument("--cluster", action="store_true",
                            help="cluster-wide instead of in a project (cluster admins)")
        parser.set_defaults(func=func)
    bindings = actions.add_parser("bindings", parents=parents, help="who holds which role")
    bindings.add_argument("--cluster", action="store_true", help="the cluster-wide bindings")
    bindings.add_argument("--user", default="")
    bindings.set_defaults(func=bindings_command)


def create_command(args, ctx) -> int:
    role = ctx.client.call("Roles", "CreateRole", iam_pb2.CreateRoleRequest(
        name=args.name, permissions=args.permission, description=args.description))
    ctx.out.data(role) if ctx.out.json else ctx.out.line(
        f"role {role.name} created: {', '.join(role.permissions)}")
    return 0


def list_command(args, ctx) -> int:
    reply = ctx.client.list_all("Roles", "ListRoles", iam_pb2.ListRolesRequest(page_size=500), "roles")
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    ctx.out.table(["NAME", "BUILTIN", "PERMISSIONS", "DESCRIPTION"],
                  [(r.name, "yes" if r.builtin else "no", ", ".join(r.permissions), r.description)
                   for r in reply.roles])
    return 0


def delete_command(args, ctx) -> int:
    ctx.client.call("Roles", "DeleteRole", iam_pb2.DeleteRoleRequest(name=args.name))
    ctx.out.line(f"role {args.name} deleted")
    return 0


def _binding(args, ctx) -> iam_pb2.RoleBinding:
    return iam_pb2.RoleBinding(principal=args.user, role=args.role,
                               project="" if args.cluster else ctx.project)


def bind_command(args, ctx) -> int:
    b = ctx.client.call("Roles", "BindRole", iam_pb2.BindRoleRequest(binding=_binding(args, ctx)))
    ctx.out.data(b) if ctx.out.json else ctx.out.line(
        f"{b.principal} is {b.role} in {b.project or 'the cluster'}")
    return 0


def unbind_command(args, ctx) -> int:
    b = _binding(args, ctx)
    ctx.client.call("Roles", "UnbindRole", iam_pb2.UnbindRoleRequest(binding=b))
    ctx.out.line(f"{b.principal} is no longer {b.role} in {b.project or 'the cluster'}")
    return 0


def bindings_command(args, ctx) -> int:
    reply = ctx.client.list_all("Roles", "ListBindings", iam_pb2.ListBindingsRequest(
        project="" if args.cluster else ctx.project, principal=args.user, page_size=500), "bindings")
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    ctx.out.table(["PRINCIPAL", "ROLE", "PROJECT"],
                  [(b.principal, b.role, b.project or "(cluster)") for b in reply.bindings])
    return 0
