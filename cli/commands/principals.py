"""`cloud user …` and `cloud serviceaccount …`: who can hold roles and tokens."""
from __future__ import annotations

from proto.v1 import iam_pb2

from cli import argtypes
from cli.output import timestamp


def register(subparsers, parents) -> None:
    for group, kind, text in (("user", "user", "users (cluster-wide)"),
                              ("serviceaccount", "service-account",
                               "service accounts for automation (owned by a project)")):
        parser = subparsers.add_parser(group, help=text, parents=parents)
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        create = actions.add_parser("create", parents=parents, help=f"create a {group}")
        create.add_argument("name", type=argtypes.resource_name, metavar="NAME")
        create.add_argument("--description", default="")
        create.set_defaults(func=create_command, kind=kind)
        listing = actions.add_parser("list", parents=parents, help=f"every {group}")
        listing.set_defaults(func=list_command, kind=kind)
        delete = actions.add_parser("delete", parents=parents,
                                    help=f"delete a {group} with its tokens and role bindings")
        delete.add_argument("name", metavar="NAME")
        delete.set_defaults(func=delete_command, kind=kind)


def create_command(args, ctx) -> int:
    project = ctx.project if args.kind == "service-account" else ""
    p = ctx.client.call("Principals", "CreatePrincipal", iam_pb2.CreatePrincipalRequest(
        name=args.name, kind=args.kind, project=project, description=args.description))
    if ctx.out.json:
        ctx.out.data(p)
    else:
        where = f" in project {p.project}" if p.project else ""
        ctx.out.line(f"{p.kind} {p.name} ({p.id}) created{where}; "
                     f"give it a role with `cloud role bind {p.name} ROLE`, "
                     f"a token with `cloud token create --user {p.name}`")
    return 0


def list_command(args, ctx) -> int:
    project = ctx.project if args.kind == "service-account" else ""
    reply = ctx.client.list_all("Principals", "ListPrincipals", iam_pb2.ListPrincipalsRequest(
        kind=args.kind, project=project, page_size=500), "principals")
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    ctx.out.table(["NAME", "ID", "KIND", "PROJECT", "CREATED"],
                  [(p.name, p.id, p.kind, p.project, timestamp(p.created_at)) for p in reply.principals])
    return 0


def delete_command(args, ctx) -> int:
    ctx.client.call("Principals", "DeletePrincipal", iam_pb2.DeletePrincipalRequest(name=args.name))
    ctx.out.line(f"{args.name} deleted")
    return 0
