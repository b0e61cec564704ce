"""`cloud secret …`: values encrypted at rest, delivered into instances as env."""
from __future__ import annotations

import sys
from pathlib import Path

from proto.v1 import secrets_pb2

from cli import argtypes
from cli.errors import UsageError
from cli.output import size, timestamp


def register(subparsers, parents) -> None:
    secret = subparsers.add_parser("secret", help="secrets of the project", parents=parents)
    actions = secret.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=parents, help="store a secret")
    create.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    create.add_argument("--from-file", required=True, metavar="FILE", help="the value ('-': stdin)")
    create.set_defaults(func=create_command)
    actions.add_parser("list", parents=parents, help="names and sizes, never values"
                       ).set_defaults(func=list_command)
    show = actions.add_parser("show", parents=parents,
                              help="print the value (needs secret.read: project-admin)")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(func=show_command)
    delete = actions.add_parser("delete", parents=parents, help="delete a secret")
    delete.add_argument("name", metavar="NAME")
    delete.set_defaults(func=delete_command)


def create_command(args, ctx) -> int:
    try:
        value = sys.stdin.buffer.read() if args.from_file == "-" else Path(args.from_file).read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {args.from_file}: {err.strerror}") from None
    s = ctx.client.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(
        name=args.name, project=ctx.project, value=value))
    ctx.out.data(s) if ctx.out.json else ctx.out.line(
        f"secret {s.name} ({size(s.size_bytes)}) stored in project {s.project}")
    return 0


def list_command(args, ctx) -> int:
    reply = ctx.client.list_all("Secrets", "ListSecrets", secrets_pb2.ListSecretsRequest(
        project=ctx.project, page_size=500), "secrets")
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    ctx.out.table(["NAME", "ID", "SIZE", "CREATED"],
                  [(s.name, s.id, size(s.size_bytes), timestamp(s.created_at)) for s in reply.secrets])
    return 0


def show_command(args, ctx) -> int:
    reply = ctx.client.call("Secrets", "GetSecretValue",
                            secrets_pb2.GetSecretValueRequest(name=args.name, project=ctx.project))
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    out = getattr(ctx.out.stream, "buffer", None)
    if out is not None:
        out.write(reply.value)
        out.flush()
    else:
        ctx.out.stream.write(reply.value.decode("utf-8", "replace"))
    return 0


def delete_command(args, ctx) -> int:
    ctx.client.call("Secrets", "DeleteSecret",
                    secrets_pb2.DeleteSecretRequest(name=args.name, project=ctx.project))
    ctx.out.line(f"secret {args.name} deleted")
    return 0
