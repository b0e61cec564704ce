"""`cloud vpc …`, `cloud subnet …`, `cloud security-group …`: VPC networking."""
from __future__ import annotations

import grpc

from proto.v1 import networks_pb2 as npb

from cli import argtypes
from cli.output import pairs, since


def register(subparsers, parents) -> None:
    vpc = subparsers.add_parser("vpc", help="private networks spanning hosts", parents=parents)
    actions = vpc.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=parents, help="create a VPC")
    create.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    create.add_argument("--cidr", required=True, help="its address range, e.g. 10.10.0.0/16")
    create.add_argument("--mtu", type=argtypes.positive_int, default=0, help="MTU of its ports (default 1450)")
    create.add_argument("--gateway-host", default="", help="host that NATs its egress and floating IPs")
    create.set_defaults(func=vpc_create)
    _common_actions(actions, parents, "VPC", vpc_list, vpc_show, "DeleteVpc")
    from cli.commands import floating
    floating.register_vpc_actions(actions, parents)

    subnet = subparsers.add_parser("subnet", help="address ranges of a VPC", parents=parents)
    actions = subnet.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=parents, help="create a subnet in a VPC")
    create.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    create.add_argument("--vpc", required=True, help="the VPC (name or id)")
    create.add_argument("--cidr", required=True, help="inside the VPC's range, e.g. 10.10.1.0/24")
    create.set_defaults(func=subnet_create)
    listing = _common_actions(actions, parents, "subnet", subnet_list, subnet_show, "DeleteSubnet")
    listing.add_argument("--vpc", help="only the subnets of this VPC")

    group = subparsers.add_parser("security-group", help="stateful firewalls of instance ports",
                                  parents=parents)
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=parents, help="create an empty group (denies all ingress)")
    create.add_argument("name", type=argtypes.resource_name, metavar="NAME")
    create.set_defaults(func=group_create)
    _common_actions(actions, parents, "security group", group_list, group_show, "DeleteSecurityGroup")
    rule = actions.add_parser("rule", parents=parents, help="add or remove a rule")
    rule_actions = rule.add_subparsers(dest="rule_action", metavar="ACTION", required=True)
    add = rule_actions.add_parser("add", parents=parents, help="allow some traffic")
    add.add_argument("group", metavar="GROUP")
    direction = add.add_mutually_exclusive_group()
    direction.add_argument("--ingress", dest="direction", action="store_const", const="ingress",
                           help="towards the group's ports (default)")
    direction.add_argument("--egress", dest="direction", action="store_const", const="egress",
                           help="from the group's ports (once a group has one, only those pass)")
    add.add_argument("--proto", default="tcp", choices=("tcp", "udp", "icmp", "any"))
    add.add_argument("--port", default="", metavar="N[-M]", help="port or range (tcp/udp; default all)")
    remote = add.add_mutually_exclusive_group()
    remote.add_argument("--cidr", default="", help="remote addresses (default 0.0.0.0/0)")
    remote.add_argument("--remote-group", default="", help="or: the ports of this group")
    add.set_defaults(func=rule_add, direction="ingress")
    remove = rule_actions.add_parser("remove", parents=parents, help="remove a rule by id")
    remove.add_argument("group", metavar="GROUP")
    remove.add_argument("rule_id", metavar="RULE_ID")
    remove.set_defaults(func=rule_remove)
    for verb, func in (("attach", group_attach), ("detach", group_detach)):
        parser = actions.add_parser(verb, parents=parents, help=f"{verb} a group to/from an instance's port")
        parser.add_argument("group", metavar="GROUP")
        parser.add_argument("instance", metavar="INSTANCE")
        parser.set_defaults(func=func)


def _common_actions(actions, parents, what: str, list_func, show_func, delete_method: str):
    listing = actions.add_parser("list", parents=parents, help=f"every {what} of the project")
    listing.set_defaults(func=list_func)
    show = actions.add_parser("show", parents=parents, help=f"one {what} in detail")
    show.add_argument("name", metavar="NAME", help="name or id")
    show.set_defaults(func=show_func)
    delete = actions.add_parser("delete", parents=parents, help=f"delete a {what}")
    delete.add_argument("name", metavar="NAME", help="name or id")
    delete.set_defaults(func=lambda args, ctx: _delete(args, ctx, delete_method, what))
    return listing


def _call(ctx, method: str, request, write: bool = False):
    return ctx.client.call("Networks", method, request, write=write)


def _delete(args, ctx, method: str, what: str) -> int:
    ctx.client.call("Networks", method, npb.NetworkRef(name=args.name, project=ctx.project), write=True,
                    ok_after_retry=(grpc.StatusCode.NOT_FOUND,))
    ctx.out.line(f"{what} {args.name} deleted")
    return 0


def _show(ctx, message, fields) -> int:
    if ctx.out.json:
        ctx.out.data(message)
    else:
        ctx.out.fields(fields)
    return 0


def _listing(ctx, message, empty: str, columns, rows) -> int:
    if ctx.out.json:
        ctx.out.data(message)
    elif not rows:
        ctx.out.line(empty)
    else:
        ctx.out.table(columns, rows)
    return 0


def vpc_create(args, ctx) -> int:
    vpc = _call(ctx, "CreateVpc", npb.CreateVpcRequest(name=args.name, project=ctx.project, cidr=args.cidr,
                                                       mtu=args.mtu, gateway_host=args.gateway_host), write=True)
    if ctx.out.json:
        ctx.out.data(vpc)
    else:
        ctx.out.line(f"vpc {vpc.meta.name} created ({vpc.meta.id}): {vpc.cidr}, VNI {vpc.vni}")
    return 0


def vpc_list(args, ctx) -> int:
    result = ctx.client.list_all("Networks", "ListVpcs", npb.ListNetworkRequest(project=ctx.project), "vpcs")
    rows = [(v.meta.name, v.cidr, v.vni, v.mtu, v.ports, since(v.meta.created_at)) for v in result.vpcs]
    return _listing(ctx, result, f"no VPCs in project '{ctx.project}'",
                    ["NAME", "CIDR", "VNI", "MTU", "PORTS", "CREATED"], rows)


def vpc_show(args, ctx) -> int:
    v = _call(ctx, "GetVpc", npb.NetworkRef(name=args.name, project=ctx.project))
    return _show(ctx, v, [("name", v.meta.name), ("id", v.meta.id), ("cidr", v.cidr), ("vni", v.vni),
                          ("mtu", v.mtu), ("ports", v.ports), ("gateway host", v.gateway_host or "-"),
                          ("labels", pairs(v.meta.labels))])


def subnet_create(args, ctx) -> int:
    s = _call(ctx, "CreateSubnet", npb.CreateSubnetRequest(name=args.name, project=ctx.project, vpc=args.vpc,
                                                           cidr=args.cidr), write=True)
    if ctx.out.json:
        ctx.out.data(s)
    else:
        ctx.out.line(f"subnet {s.meta.name} created in vpc {s.vpc}: {s.cidr}, gateway {s.gateway}, "
                     f"{s.free} addresses")
    return 0


def subnet_list(args, ctx) -> int:
    request = npb.ListNetworkRequest(project=ctx.project, vpc=args.vpc or "")
    result = ctx.client.list_all("Networks", "ListSubnets", request, "subnets")
    rows = [(s.meta.name, s.vpc, s.cidr, s.gateway, s.ports, s.free) for s in result.subnets]
    return _listing(ctx, result, f"no subnets in project '{ctx.project}'",
                    ["NAME", "VPC", "CIDR", "GATEWAY", "PORTS", "FREE"], rows)


def subnet_show(args, ctx) -> int:
    s = _call(ctx, "GetSubnet", npb.NetworkRef(name=args.name, project=ctx.project))
    return _show(ctx, s, [("name", s.meta.name), ("id", s.meta.id), ("vpc", s.vpc), ("cidr", s.cidr),
                          ("gateway", s.gateway), ("ports", s.ports), ("free", s.free)])


def _rule_text(r) -> str:
    ports = "" if r.protocol in ("icmp", "any") else (
        f" {r.port_min}" if r.port_min == r.port_max else f" {r.port_min}-{r.port_max}")
    peer = f"group {r.remote_group}" if r.remote_group else r.cidr
    return f"{r.direction} {r.protocol}{ports} {'from' if r.direction == 'ingress' else 'to'} {peer}"


def group_create(args, ctx) -> int:
    g = _call(ctx, "CreateSecurityGroup", npb.CreateSecurityGroupRequest(name=args.name, project=ctx.project),
              write=True)
    if ctx.out.json:
        ctx.out.data(g)
    else:
        ctx.out.line(f"security group {g.meta.name} created ({g.meta.id})")
    return 0


def group_list(args, ctx) -> int:
    result = ctx.client.list_all("Networks", "ListSecurityGroups", npb.ListNetworkRequest(project=ctx.project),
                                 "security_groups")
    rows = [(g.meta.name, len(g.rules), g.ports, since(g.meta.created_at)) for g in result.security_groups]
    return _listing(ctx, result, f"no security groups in project '{ctx.project}'",
                    ["NAME", "RULES", "PORTS", "CREATED"], rows)


def group_show(args, ctx) -> int:
    g = _call(ctx, "GetSecurityGroup", npb.NetworkRef(name=args.name, project=ctx.project))
    if ctx.out.json:
        ctx.out.data(g)
        return 0
    ctx.out.fields([("name", g.meta.name), ("id", g.meta.id), ("ports", g.ports)])
    ctx.out.table(["RULE", "WHAT"], [(r.id, _rule_text(r)) for r in g.rules])
    return 0


def _port_range(text: str) -> tuple[int, int]:
    if not text:
        return 0, 0
    low, _, high = text.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError:
        from cli.errors import UsageError
        raise UsageError(f"--port: {text!r} is not a port or a range N-M") from None


def rule_add(args, ctx) -> int:
    port_min, port_max = _port_range(args.port)
    rule = npb.SecurityGroupRule(direction=args.direction, protocol=args.proto, port_min=port_min,
                                 port_max=port_max, cidr=args.cidr, remote_group=args.remote_group)
    g = _call(ctx, "AddSecurityGroupRule", npb.AddSecurityGroupRuleRequest(
        group=args.group, project=ctx.project, rule=rule), write=True)
    if ctx.out.json:
        ctx.out.data(g)
    else:
        added = g.rules[-1]
        ctx.out.line(f"rule {added.id} added to {g.meta.name}: {_rule_text(added)}")
    return 0


def rule_remove(args, ctx) -> int:
    g = _call(ctx, "RemoveSecurityGroupRule", npb.RemoveSecurityGroupRuleRequest(
        group=args.group, project=ctx.project, rule_id=args.rule_id), write=True)
    if ctx.out.json:
        ctx.out.data(g)
    else:
        ctx.out.line(f"rule {args.rule_id} removed from {g.meta.name}")
    return 0


def _membership(args, ctx, method: str, verb: str) -> int:
    inst = _call(ctx, method, npb.SecurityGroupMembershipRequest(
        group=args.group, instance=args.instance, project=ctx.project), write=True)
    if ctx.out.json:
        ctx.out.data(inst)
    else:
        groups = ", ".join(inst.port.security_groups) or "none (unfiltered)"
        ctx.out.line(f"instance {inst.meta.name} {verb}; its groups: {groups}")
    return 0


def group_attach(args, ctx) -> int:
    return _membership(args, ctx, "AttachSecurityGroup", f"attached to {args.group}")


def group_detach(args, ctx) -> int:
    return _membership(args, ctx, "DetachSecurityGroup", f"detached from {args.group}")
