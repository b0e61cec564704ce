"""`cloud host …`: the machines agents run on."""
from __future__ import annotations

from proto.v1 import operations_pb2, public_pb2, resources_pb2

from cli.commands import evacuate, placement
from cli.output import enum_label, pairs, since, size, timestamp


def register(subparsers, parents) -> None:
    host = subparsers.add_parser("host", help="hosts and their capacity", parents=parents)
    actions = host.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", parents=parents, help="every host").set_defaults(func=list_command)
    show = actions.add_parser("show", parents=parents, help="one host in detail")
    show.add_argument("name", metavar="HOST", help="host name or id")
    show.set_defaults(func=show_command)
    placement.register_host_actions(actions, parents)   # label, cordon, uncordon, drain, maintenance
    evacuate.register_host_actions(actions, parents)
    remove = actions.add_parser("remove", parents=parents,
                                help="forget a host and revoke its certificates (its name may then be "
                                     "enrolled again with a new join token)")
    remove.add_argument("name", metavar="HOST", help="host name or id")
    remove.set_defaults(func=remove_command)


def remove_command(args, ctx) -> int:
    reply = ctx.client.call("Operations", "RemoveHost", operations_pb2.RemoveHostRequest(name=args.name),
                            timeout=30.0)
    if ctx.out.json:
        ctx.out.data(reply)
    else:
        ctx.out.line(f"removed {args.name}; its certificates are revoked")
    return 0


def state(value: int) -> str:
    return enum_label(resources_pb2.HostState, value, "HOST_STATE_")


def health(h) -> str:
    """The state, with "unhealthy" when the host is up but its agent cannot be reached."""
    return state(h.state) + (" (unhealthy)" if h.unhealthy and h.state == resources_pb2.HOST_STATE_UP else "")


def list_command(args, ctx) -> int:
    hosts = ctx.client.list_all("Hosts", "ListHosts", public_pb2.ListHostsRequest(page_size=100),
                                "hosts")
    if ctx.out.json:
        ctx.out.data(hosts)
        return 0
    rows = [(h.meta.name, health(h), h.address,
             f"{h.allocated.vcpus}/{h.capacity.vcpus}",
             f"{size(h.allocated.memory_bytes)}/{size(h.capacity.memory_bytes)}",
             f"{size(h.allocated.disk_bytes)}/{size(h.capacity.disk_bytes)}",
             f"{h.usage.cpu_percent:.0f}%", since(h.last_heartbeat), h.reason or h.unhealthy)
            for h in hosts.hosts]
    if not rows:
        ctx.out.line("no hosts have joined yet")
        return 0
    ctx.out.table(["NAME", "STATE", "ADDRESS", "VCPUS", "MEMORY", "DISK", "CPU", "HEARTBEAT",
                   "REASON"], rows)
    return 0


def volume_pool(h) -> str:
    """The host's block volume pool in one line: driver, size, provisioned, used, overcommit."""
    if not h.HasField("volume_pool"):
        return "-"
    p = h.volume_pool
    return (f"{p.driver}, {size(p.total_bytes)}: {size(p.provisioned_bytes)} provisioned "
            f"(limit {size(int(p.total_bytes * p.overcommit))} at overcommit {p.overcommit:g}), "
            f"{size(p.used_bytes)} used, {p.volumes} volume{'' if p.volumes == 1 else 's'}")


def show_command(args, ctx) -> int:
    h = ctx.client.call("Hosts", "GetHost", public_pb2.GetHostRequest(name=args.name))
    if ctx.out.json:
        ctx.out.data(h)
        return 0
    u = h.usage
    ctx.out.fields([
        ("name", h.meta.name),
        ("id", h.meta.id),
        ("state", health(h)),
        ("reason", h.reason or h.unhealthy),
        ("address", h.address),
        ("last heartbeat", timestamp(h.last_heartbeat)),
        ("capacity", f"{h.capacity.vcpus} vCPUs, {size(h.capacity.memory_bytes)} memory, "
                     f"{size(h.capacity.disk_bytes)} disk"),
        ("allocated", f"{h.allocated.vcpus} vCPUs, {size(h.allocated.memory_bytes)} memory, "
                      f"{size(h.allocated.disk_bytes)} disk"),
        ("usage", f"cpu {u.cpu_percent:.1f}%, load {u.load1:.2f}, "
                  f"memory {size(u.memory_used_bytes)}/{size(u.memory_total_bytes)}, "
                  f"disk {size(u.disk_used_bytes)}/{size(u.disk_total_bytes)}"),
        ("drivers", ", ".join(h.drivers)),
        ("volume pool", volume_pool(h)),
        ("images", ", ".join(h.images)),
        ("labels", pairs(h.meta.labels)),
        ("agent version", h.agent_version),
        ("created", timestamp(h.meta.created_at)),
        ("updated", timestamp(h.meta.updated_at)),
    ])
    evacuation = evacuate.latest(ctx, h.meta.id)
    if evacuation is not None:
        evacuate.show(ctx, evacuation)
    return 0
