"""VPC gateway hosts and floating IPs: the IPAM of the floating pool, in apply.

A VPC may name a gateway host: that host NATs the VPC's egress to the underlay
and DNATs the floating IPs of the VPC's ports. A gateway host keeps one routing
table, so the VPCs it serves must not overlap each other (two VPCs with the same
CIDR are NATed by different gateway hosts; the second is refused on the same host).

The pool is scheduler configuration: the proposer sends it with each create, and
apply picks the address asked for (checked) or the lowest free one — never one
that another floating IP holds. One floating IP per port.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from scheduler.state import quota
from scheduler.state import records as r
from scheduler.state.commands import Command, IdArgs, table

COLLECTIONS = ("floating_ips", "floating_ip_addresses")


@dataclass(frozen=True)
class SetGatewayArgs:
    id: str                                  # the VPC
    host_id: str = ""                        # "": no gateway host


@dataclass(frozen=True)
class CreateFloatingIpArgs:
    id: str
    project: str
    pool: str                                # the scheduler's floating_ip_pool, as configured
    address: str = ""                        # "": the lowest free one
    labels: dict[str, str] = field(default_factory=dict)
    project_id: str | None = None            # when sent, the project must still have this id


@dataclass(frozen=True)
class AttachArgs:
    id: str
    instance_id: str


def _get(state, fip_id: str) -> dict:
    record = state.floating_ips.get(fip_id)
    if record is None:
        raise NotFound(f"floating ip {fip_id} not found")
    return record


def _touch(record: dict, ctx: dict) -> None:
    record["updated_ms"], record["revision"] = ctx["ts"], ctx["index"]


# -- gateway hosts ------------------------------------------------------------

def check_gateway(state, vpc: dict, host_id: str) -> str:
    """`host_id` if it may be `vpc`'s gateway (empty: none), else a typed error."""
    if not host_id:
        return ""
    host = state.hosts.get(host_id)
    if host is None:
        raise NotFound(f"host {host_id} not found")
    if not host.get("vtep"):
        raise FailedPrecondition(f"host {host['name']!r} has no VPC networking (no VTEP)")
    cidr = ipaddress.IPv4Network(vpc["cidr"])
    for other in state.vpcs.values():
        if other["id"] != vpc["id"] and other.get("gateway_host_id") == host_id \
                and cidr.overlaps(ipaddress.IPv4Network(other["cidr"])):
            raise FailedPrecondition(
                f"gateway_host: host {host['name']!r} already NATs vpc {other['name']!r} "
                f"({other['cidr']}), which overlaps {cidr}; choose another gateway host")
    return host_id


def set_gateway(state, args: SetGatewayArgs, ctx: dict) -> dict:
    vpc = state.vpcs.get(args.id)
    if vpc is None:
        raise NotFound(f"vpc {args.id} not found")
    host_id = check_gateway(state, vpc, args.host_id)
    if not host_id and attached_in(state, vpc["id"]):
        raise FailedPrecondition(f"vpc {vpc['name']!r} has floating IPs attached; detach them first")
    vpc["gateway_host_id"] = host_id
    _touch(vpc, ctx)
    return {"vpc": vpc}


# -- floating IPs ----------------------------------------------------------------

def pool(cidr: str) -> ipaddress.IPv4Network:
    """The configured pool (also checked by the proposer)."""
    if not cidr:
        raise FailedPrecondition("no floating IP pool is configured (scheduler option floating_ip_pool)")
    try:
        return ipaddress.IPv4Network(cidr, strict=True)
    except ValueError as err:
        raise InvalidArgument("floating_ip_pool", f"{cidr!r} is not an IPv4 network ({err})") from None


def _usable(net: ipaddress.IPv4Network):
    return net.hosts() if net.prefixlen < 31 else iter(net)


def _pick(state, net: ipaddress.IPv4Network, wanted: str) -> str:
    if wanted:
        try:
            address = ipaddress.IPv4Address(wanted)
        except ValueError:
            raise InvalidArgument("address", f"{wanted!r} is not an IPv4 address") from None
        if address not in net or net.prefixlen < 31 and address in (net.network_address, net.broadcast_address):
            raise InvalidArgument("address", f"{address} is not a usable address of the pool {net}")
        if str(address) in state.floating_ip_addresses:
            raise AlreadyExists(f"address: floating ip {address} is already allocated")
        return str(address)
    # Lowest free: deterministic, and it stops after at most len(taken)+1 steps.
    for candidate in _usable(net):
        if str(candidate) not in state.floating_ip_addresses:
            return str(candidate)
    raise ResourceExhausted(f"the floating IP pool {net} has no free address")


def create(state, args: CreateFloatingIpArgs, ctx: dict) -> dict:
    if args.id in state.floating_ips:
        raise AlreadyExists(f"floating ip id {args.id} already exists")
    project = args.project
    address = _pick(state, pool(args.pool), args.address)
    quota.charge(state, project, {"floating_ips": 1}, args.project_id)
    record = {"id": args.id, "name": address, "project": project, "labels": dict(args.labels),
              "address": address, "instance_id": "", "created_ms": ctx["ts"],
              "updated_ms": ctx["ts"], "revision": ctx["index"]}
    state.floating_ips[record["id"]] = record
    state.floating_ip_addresses[address] = record["id"]
    return {"floating_ip": record}


def delete(state, args: IdArgs, ctx: dict) -> dict:
    record = _get(state, args.id)
    if record["instance_id"]:
        instance = state.instances.get(record["instance_id"], {})
        raise FailedPrecondition(f"floating ip {record['address']} is attached to instance "
                                 f"{instance.get('name', record['instance_id'])!r}; detach it first")
    del state.floating_ips[record["id"]]
    state.floating_ip_addresses.pop(record["address"], None)
    quota.release(state, record["project"], {"floating_ips": 1})
    return {"deleted": True}


def attach(state, args: AttachArgs, ctx: dict) -> dict:
    record = _get(state, args.id)
    instance = state.instances.get(args.instance_id)
    if instance is None or instance["project"] != record["project"]:
        raise NotFound(f"instance {args.instance_id} not found in project {record['project']!r}")
    if instance["state"] == r.DELETING:
        raise FailedPrecondition(f"instance {instance['name']!r} is being deleted")
    port = instance.get("port")
    if not port:
        raise FailedPrecondition(f"instance: {instance['name']!r} has no VPC port")
    if record["instance_id"] == instance["id"]:
        return {"floating_ip": record}
    if record["instance_id"]:
        other = state.instances.get(record["instance_id"], {})
        raise FailedPrecondition(f"floating ip {record['address']} is attached to instance "
                                 f"{other.get('name', record['instance_id'])!r}; detach it first")
    if port.get("floating_ip"):
        raise FailedPrecondition(f"instance: {instance['name']!r} already has floating ip {port['floating_ip']} "
                                 "(one per port)")
    vpc = state.vpcs.get(port["vpc_id"], {})
    if not vpc.get("gateway_host_id"):
        raise FailedPrecondition(f"vpc {vpc.get('name', port['vpc_id'])!r} of instance {instance['name']!r} "
                                 "has no gateway host (cloud vpc set-gateway)")
    record["instance_id"] = instance["id"]
    port["floating_ip"] = record["address"]
    _touch(record, ctx)
    instance["updated_ms"], instance["revision"] = ctx["ts"], ctx["index"]
    return {"floating_ip": record}


def _unbind(state, record: dict) -> None:
    instance = state.instances.get(record["instance_id"])
    if instance is not None and (instance.get("port") or {}).get("floating_ip") == record["address"]:
        instance["port"]["floating_ip"] = ""
    record["instance_id"] = ""


def detach(state, args: IdArgs, ctx: dict) -> dict:
    record = _get(state, args.id)
    if not record["instance_id"]:
        raise FailedPrecondition(f"floating ip {record['address']} is not attached")
    _unbind(state, record)
    _touch(record, ctx)
    return {"floating_ip": record}


def release_instance(state, instance: dict) -> None:
    """An instance going away lets go of its floating IP (called by instance delete/purge)."""
    address = (instance.get("port") or {}).get("floating_ip")
    record = state.floating_ips.get(state.floating_ip_addresses.get(address or "", ""))
    if record is not None and record["instance_id"] == instance["id"]:
        _unbind(state, record)


def attached_in(state, vpc_id: str) -> list[dict]:
    """Floating IPs attached to ports of `vpc_id`."""
    found = []
    for record in state.floating_ips.values():
        instance = state.instances.get(record["instance_id"]) if record["instance_id"] else None
        if instance is not None and instance.get("port", {}).get("vpc_id") == vpc_id:
            found.append(record)
    return found


# Results are copies (r.copied): nothing returned aliases the state.
COMMANDS = table(
    vpc__set_gateway=Command(SetGatewayArgs, r.copied(set_gateway)),
    floating_ip__create=Command(CreateFloatingIpArgs, r.copied(create)),
    floating_ip__delete=Command(IdArgs, r.copied(delete)),
    floating_ip__attach=Command(AttachArgs, r.copied(attach)),
    floating_ip__detach=Command(IdArgs, r.copied(detach)),
)
