"""`cloud quota …`: a project's limits beside its usage."""
from __future__ import annotations

from proto.v1 import iam_pb2

from cli.commands.iam_args import limit, size_limit
from cli.errors import UsageError
from cli.output import size

# flag -> (quota resource, converter)
FLAGS = {
    "instances": ("instances", limit), "vcpus": ("vcpus", limit), "memory": ("memory_bytes", size_limit),
    "volumes": ("volumes", limit), "volume_size": ("volume_bytes", size_limit),
    "vpcs": ("vpcs", limit), "floating_ips": ("floating_ips", limit),
    "secrets": ("secrets", limit), "secret_size": ("secret_bytes", size_limit),
    "images": ("images", limit), "security_groups": ("security_groups", limit),
    "security_group_rules": ("security_group_rules", limit),
}


def register(subparsers, parents) -> None:
    quota = subparsers.add_parser("quota", help="project quotas", parents=parents)
    actions = quota.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("show", parents=parents, help="limits and usage of --project"
                       ).set_defaults(func=show_command)
    setter = actions.add_parser("set", parents=parents,
                                help="change limits of --project (cluster admins); "
                                     "a number, a size like 64G, or unlimited")
    for flag, (_, convert) in FLAGS.items():
        setter.add_argument(f"--{flag.replace('_', '-')}", dest=flag, type=convert, default=None)
    setter.set_defaults(func=set_command)


def _value(resource: str, n: int) -> str:
    if n < 0:
        return "unlimited"
    return size(n) if resource.endswith("_bytes") else str(n)


def _show(ctx, quota) -> None:
    if ctx.out.json:
        ctx.out.data(quota)
        return
    ctx.out.table(["RESOURCE", "USED", "LIMIT"],
                  [(i.resource, _value(i.resource, i.used), _value(i.resource, i.limit))
                   for i in quota.items], title=f"project {quota.project}")


def show_command(args, ctx) -> int:
    _show(ctx, ctx.client.call("Quotas", "GetQuota", iam_pb2.GetQuotaRequest(project=ctx.project)))
    return 0


def set_command(args, ctx) -> int:
    limits = {resource: getattr(args, flag) for flag, (resource, _) in FLAGS.items()
              if getattr(args, flag) is not None}
    if not limits:
        raise UsageError("name at least one limit: " + ", ".join(f"--{f.replace('_', '-')}" for f in FLAGS))
    _show(ctx, ctx.client.call("Quotas", "SetQuota",
                               iam_pb2.SetQuotaRequest(project=ctx.project, limits=limits)))
    return 0
