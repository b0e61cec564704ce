"""`cloud floating-ip …` and `cloud vpc set-gateway`: addresses of the underlay DNATed to ports."""
from __future__ import annotations

import grpc

from proto.v1 import floating_pb2 as fpb

from cli.output import pairs, since


def register(subparsers, parents) -> None:
    fip = subparsers.add_parser("floating-ip", help="underlay addresses translated to instance ports",
                                parents=parents)
    actions = fip.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=parents, help="allocate an address of the pool")
    create.add_argument("--address", default="", help="this address of the pool (default: the lowest free)")
    create.set_defaults(func=fip_create)
    listing = actions.add_parser("list", parents=parents, help="every floating IP of the project")
    listing.set_defaults(func=fip_list)
    for verb, func, text in (("show", fip_show, "one floating IP in detail"),
                             ("delete", fip_delete, "give the address back (it must be detached)"),
                             ("detach", fip_detach, "stop translating it")):
        parser = actions.add_parser(verb, parents=parents, help=text)
        parser.add_argument("address", metavar="FIP", help="address or id")
        parser.set_defaults(func=func)
    attach = actions.add_parser("attach", parents=parents, help="translate it to an instance's port")
    attach.add_argument("address", metavar="FIP", help="address or id")
    attach.add_argument("instance", metavar="INSTANCE")
    attach.set_defaults(func=fip_attach)


def register_vpc_actions(actions, parents) -> None:
    """`cloud vpc set-gateway VPC [HOST]` (called by cli/commands/networks.py)."""
    gateway = actions.add_parser("set-gateway", parents=parents,
                                 help="name the host that NATs the VPC's egress and floating IPs")
    gateway.add_argument("vpc", metavar="VPC")
    gateway.add_argument("host", metavar="HOST", nargs="?", default="", help="host name or id; omit to clear")
    gateway.set_defaults(func=vpc_set_gateway)


def _call(ctx, method: str, request, write: bool = False, **kw):
    return ctx.client.call("FloatingIps", method, request, write=write, **kw)


def _ref(args, ctx) -> fpb.FloatingIpRef:
    return fpb.FloatingIpRef(address=args.address, project=ctx.project)


def _say(ctx, message, text: str) -> int:
    if ctx.out.json:
        ctx.out.data(message)
    else:
        ctx.out.line(text)
    return 0


def fip_create(args, ctx) -> int:
    f = _call(ctx, "CreateFloatingIp", fpb.CreateFloatingIpRequest(project=ctx.project, address=args.address),
              write=True)
    return _say(ctx, f, f"floating ip {f.address} allocated ({f.meta.id})")


def fip_list(args, ctx) -> int:
    result = ctx.client.list_all("FloatingIps", "ListFloatingIps",
                                 fpb.ListFloatingIpsRequest(project=ctx.project), "floating_ips")
    if ctx.out.json:
        ctx.out.data(result)
    elif not result.floating_ips:
        ctx.out.line(f"no floating IPs in project '{ctx.project}'")
    else:
        ctx.out.table(["ADDRESS", "INSTANCE", "PORT IP", "VPC", "GATEWAY HOST", "CREATED"],
                      [(f.address, f.instance or "-", f.port_ip or "-", f.vpc or "-", f.gateway_host or "-",
                        since(f.meta.created_at)) for f in result.floating_ips])
    return 0


def fip_show(args, ctx) -> int:
    f = _call(ctx, "GetFloatingIp", _ref(args, ctx))
    if ctx.out.json:
        ctx.out.data(f)
    else:
        ctx.out.fields([("address", f.address), ("id", f.meta.id), ("instance", f.instance or "-"),
                        ("port ip", f.port_ip or "-"), ("vpc", f.vpc or "-"),
                        ("gateway host", f.gateway_host or "-"), ("labels", pairs(f.meta.labels))])
    return 0


def fip_delete(args, ctx) -> int:
    _call(ctx, "DeleteFloatingIp", _ref(args, ctx), write=True, ok_after_retry=(grpc.StatusCode.NOT_FOUND,))
    ctx.out.line(f"floating ip {args.address} deleted")
    return 0


def fip_attach(args, ctx) -> int:
    f = _call(ctx, "AttachFloatingIp", fpb.AttachFloatingIpRequest(
        address=args.address, project=ctx.project, instance=args.instance), write=True)
    return _say(ctx, f, f"floating ip {f.address} -> {f.instance} ({f.port_ip}) via host {f.gateway_host}")


def fip_detach(args, ctx) -> int:
    f = _call(ctx, "DetachFloatingIp", _ref(args, ctx), write=True)
    return _say(ctx, f, f"floating ip {f.address} detached")


def vpc_set_gateway(args, ctx) -> int:
    v = ctx.client.call("Networks", "SetVpcGateway", fpb.SetVpcGatewayRequest(
        vpc=args.vpc, project=ctx.project, host=args.host), write=True)
    return _say(ctx, v, f"vpc {v.meta.name}: gateway host {v.gateway_host or 'none'}")
