"""`cloud project …`: the units everything belongs to."""
from __future__ import annotations

from proto.v1 import iam_pb2

from cli import argtypes
from cli.output import pairs, timestamp


def register(subparsers, parents) -> None:
    project = subparsers.add_parser("project", help="projects", parents=parents)
    actions = project.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=parents, help="create a project (cluster admins)")
    create.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    create.add_argument("--description", default="")
    create.add_argument("--label", type=argtypes.key_value, action="append", default=[], metavar="K=V")
    create.set_defaults(func=create_command)
    actions.add_parser("list", parents=parents, help="the projects you hold a role in").set_defaults(
        func=list_command)
    for verb, func, text in (("show", show_command, "one project"),
                             ("delete", delete_command, "delete an empty project")):
        parser = actions.add_parser(verb, parents=parents, help=text)
        parser.add_argument("name", metavar="NAME")
        parser.set_defaults(func=func)


def _show(ctx, p) -> None:
    if ctx.out.json:
        ctx.out.data(p)
        return
    ctx.out.fields([("name", p.name), ("id", p.id), ("description", p.description),
                    ("labels", pairs(p.labels)), ("created", timestamp(p.created_at))])


def create_command(args, ctx) -> int:
    _show(ctx, ctx.client.call("Projects", "CreateProject", iam_pb2.CreateProjectRequest(
        name=args.name, description=args.description, labels=dict(args.label))))
    return 0


def list_command(args, ctx) -> int:
    reply = ctx.client.list_all("Projects", "ListProjects", iam_pb2.ListProjectsRequest(page_size=500),
                                "projects")
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    ctx.out.table(["NAME", "ID", "DESCRIPTION", "CREATED"],
                  [(p.name, p.id, p.description, timestamp(p.created_at)) for p in reply.projects])
    return 0


def show_command(args, ctx) -> int:
    _show(ctx, ctx.client.call("Projects", "GetProject", iam_pb2.GetProjectRequest(name=args.name)))
    return 0


def delete_command(args, ctx) -> int:
    ctx.client.call("Projects", "DeleteProject", iam_pb2.DeleteProjectRequest(name=args.name))
    ctx.out.line(f"project {args.name} deleted")
    return 0
