"""Commands on VPCs, subnets and security groups, and the IPAM of instance ports.

Everything here is deterministic: VNIs are the lowest free number, an address is
the one asked for or the lowest free one, a MAC is derived from the VNI and the
address (unique within a VPC because addresses are). Commands validate before
they change anything.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from scheduler.state import quota, records as r
from scheduler.state.commands import Command, IdArgs, table

MAX_VNI = (1 << 24) - 1
DEFAULT_MTU = 1450
MAX_PREFIX = 29                        # a subnet needs room for a gateway and ports
PROTOCOLS = ("tcp", "udp", "icmp", "any")
DIRECTIONS = ("ingress", "egress")


@dataclass(frozen=True)
class CreateVpcArgs:
    id: str
    name: str
    project: str
    cidr: str
    mtu: int = DEFAULT_MTU                   # 0: the default
    labels: dict[str, str] = field(default_factory=dict)
    gateway_host_id: str = ""                # "": no gateway host


@dataclass(frozen=True)
class CreateSubnetArgs:
    id: str
    name: str
    project: str
    vpc_id: str
    cidr: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateGroupArgs:
    id: str
    name: str
    project: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SecurityRule:
    """A rule as asked; `check_rule` gives its canonical form ("" and 0 are the defaults)."""
    id: str = ""
    direction: str = ""                      # "": ingress
    protocol: str = ""                       # "": any
    port_min: int = 0
    port_max: int = 0
    cidr: str = ""
    remote_group: str = ""


@dataclass(frozen=True)
class AddRuleArgs:
    id: str                                  # the security group
    rule: SecurityRule


@dataclass(frozen=True)
class RemoveRuleArgs:
    id: str                                  # the security group
    rule_id: str


@dataclass(frozen=True)
class MembershipArgs:
    id: str                                  # the security group
    instance_id: str


def _touch(record: dict, ctx: dict) -> None:
    record["updated_ms"], record["revision"] = ctx["ts"], ctx["index"]


def _new(record_id: str, name: str, project: str, labels: dict, ctx: dict) -> dict:
    return {"id": record_id, "name": name, "project": project, "labels": dict(labels),
            "created_ms": ctx["ts"], "updated_ms": ctx["ts"], "revision": ctx["index"]}


def network(cidr: str, field: str) -> ipaddress.IPv4Network:
    """An IPv4 network in canonical form, or InvalidArgument naming `field`."""
    try:
        net = ipaddress.IPv4Network(cidr, strict=True)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError) as err:
        raise InvalidArgument(field, f"{cidr!r} is not an IPv4 network in CIDR form ({err})") from None
    return net


def _get(table: dict, record_id: str, what: str) -> dict:
    record = table.get(record_id)
    if record is None:
        raise NotFound(f"{what} {record_id} not found")
    return record


# -- VPCs ---------------------------------------------------------------------

def create_vpc(state, args: CreateVpcArgs, ctx: dict) -> dict:
    project, name = args.project, args.name
    if r.name_key(project, name) in state.vpc_names:
        raise AlreadyExists(f"vpc {name!r} already exists in project {project!r}")
    if args.id in state.vpcs:
        raise AlreadyExists(f"vpc id {args.id} already exists")
    net = network(args.cidr, "cidr")
    if net.prefixlen > MAX_PREFIX - 1:
        raise InvalidArgument("cidr", f"{net} is too small for a VPC (at most /{MAX_PREFIX - 1})")
    mtu = args.mtu or DEFAULT_MTU
    if not 576 <= mtu <= 9000:
        raise InvalidArgument("mtu", f"must be between 576 and 9000, not {mtu}")
    used = {vpc["vni"] for vpc in state.vpcs.values()}
    vni = next((n for n in range(1, len(used) + 2) if n not in used), None)
    if vni is None or vni > MAX_VNI:
        raise ResourceExhausted("no free VXLAN network id")
    vpc = {**_new(args.id, name, project, args.labels, ctx), "cidr": str(net), "vni": vni, "mtu": mtu}
    from scheduler.state import floating   # it builds on this module
    vpc["gateway_host_id"] = floating.check_gateway(state, vpc, args.gateway_host_id)
    state.vpcs[vpc["id"]] = vpc
    state.vpc_names[r.name_key(project, name)] = vpc["id"]
    return {"vpc": vpc}


def subnets_of(state, vpc_id: str) -> list[dict]:
    return [s for s in state.subnets.values() if s["vpc_id"] == vpc_id]


def delete_vpc(state, args: IdArgs, ctx: dict) -> dict:
    """Delete a VPC and its (empty) subnets; refused while any port uses it."""
    vpc = _get(state.vpcs, args.id, "vpc")
    subnets = subnets_of(state, vpc["id"])
    in_use = sum(len(s["ips"]) for s in subnets)
    if in_use:
        raise FailedPrecondition(f"vpc {vpc['name']!r} has {in_use} port(s) in use; delete their instances first")
    for subnet in subnets:
        _drop_subnet(state, subnet)
    del state.vpcs[vpc["id"]]
    state.vpc_names.pop(r.name_key(vpc["project"], vpc["name"]), None)
    return {"deleted": True, "subnets": len(subnets)}


# -- subnets ------------------------------------------------------------------

def create_subnet(state, args: CreateSubnetArgs, ctx: dict) -> dict:
    project, name = args.project, args.name
    if r.name_key(project, name) in state.subnet_names:
        raise AlreadyExists(f"subnet {name!r} already exists in project {project!r}")
    if args.id in state.subnets:
        raise AlreadyExists(f"subnet id {args.id} already exists")
    vpc = state.vpcs.get(args.vpc_id)
    if vpc is None or vpc["project"] != project:
        raise NotFound(f"vpc {args.vpc_id} not found in project {project!r}")
    net = network(args.cidr, "cidr")
    if not net.subnet_of(ipaddress.IPv4Network(vpc["cidr"])):
        raise InvalidArgument("cidr", f"{net} is not inside the VPC's {vpc['cidr']}")
    if net.prefixlen > MAX_PREFIX:
        raise InvalidArgument("cidr", f"{net} is too small (at most /{MAX_PREFIX})")
    for sibling in subnets_of(state, vpc["id"]):
        if net.overlaps(ipaddress.IPv4Network(sibling["cidr"])):
            raise InvalidArgument("cidr", f"{net} overlaps subnet {sibling['name']!r} ({sibling['cidr']})")
    subnet = {**_new(args.id, name, project, args.labels, ctx), "vpc_id": vpc["id"], "cidr": str(net),
              "gateway": str(net.network_address + 1), "ips": {}}
    state.subnets[subnet["id"]] = subnet
    state.subnet_names[r.name_key(project, name)] = subnet["id"]
    return {"subnet": subnet}


def _drop_subnet(state, subnet: dict) -> None:
    del state.subnets[subnet["id"]]
    state.subnet_names.pop(r.name_key(subnet["project"], subnet["name"]), None)


def delete_subnet(state, args: IdArgs, ctx: dict) -> dict:
    subnet = _get(state.subnets, args.id, "subnet")
    if subnet["ips"]:
        raise FailedPrecondition(f"subnet {subnet['name']!r} has {len(subnet['ips'])} port(s) in use")
    _drop_subnet(state, subnet)
    return {"deleted": True}


def capacity(subnet: dict) -> int:
    """Addresses a subnet can give to ports (network, gateway and broadcast excluded)."""
    return ipaddress.IPv4Network(subnet["cidr"]).num_addresses - 3


# -- ports (instance NICs) ----------------------------------------------------

def mac_for(vni: int, ip: str) -> str:
    """A locally administered unicast MAC, unique within the VPC because the address is."""
    octets = [0x02, vni & 0xFF, *ipaddress.IPv4Address(ip).packed]
    return ":".join(f"{b:02x}" for b in octets)


def _pick_ip(subnet: dict, wanted: str) -> str:
    net = ipaddress.IPv4Network(subnet["cidr"])
    gateway = ipaddress.IPv4Address(subnet["gateway"])
    if wanted:
        try:
            ip = ipaddress.IPv4Address(wanted)
        except ValueError:
            raise InvalidArgument("spec.ip", f"{wanted!r} is not an IPv4 address") from None
        if ip not in net or ip in (net.network_address, net.broadcast_address):
            raise InvalidArgument("spec.ip", f"{ip} is not a usable address of subnet "
                                             f"{subnet['name']!r} ({net})")
        if ip == gateway:
            raise InvalidArgument("spec.ip", f"{ip} is the subnet's gateway")
        if str(ip) in subnet["ips"]:
            raise AlreadyExists(f"spec.ip: {ip} is already in use in subnet {subnet['name']!r}")
        return str(ip)
    # Lowest free address: deterministic, and it stops after at most len(ips)+2 steps.
    for candidate in net.hosts():
        if candidate != gateway and str(candidate) not in subnet["ips"]:
            return str(candidate)
    raise ResourceExhausted(f"subnet {subnet['name']!r} ({net}) has no free address")


def plan_port(state, request: dict, project: str) -> dict:
    """The port an instance would get for `request` ({subnet_id, ip, security_groups});
    validates everything and changes nothing."""
    subnet = state.subnets.get(request["subnet_id"])
    if subnet is None or subnet["project"] != project:
        raise NotFound(f"subnet {request['subnet_id']} not found in project {project!r}")
    vpc = state.vpcs[subnet["vpc_id"]]
    groups = list(dict.fromkeys(request.get("security_groups", [])))
    for group_id in groups:
        group = state.security_groups.get(group_id)
        if group is None or group["project"] != project:
            raise NotFound(f"security group {group_id} not found in project {project!r}")
    # Names are kept beside ids (none of these can be renamed) so the port reads well alone.
    ip = _pick_ip(subnet, request.get("ip", ""))
    return {"vpc_id": vpc["id"], "vpc": vpc["name"], "subnet_id": subnet["id"], "subnet": subnet["name"],
            "ip": ip, "mac": mac_for(vpc["vni"], ip),
            "prefix_len": ipaddress.IPv4Network(subnet["cidr"]).prefixlen,
            "gateway": subnet["gateway"], "mtu": vpc["mtu"], "security_groups": groups,
            "security_group_names": [state.security_groups[g]["name"] for g in groups]}


def bind_port(state, instance: dict, port: dict) -> None:
    """Record `port` (from plan_port, in the same apply) as the instance's."""
    state.subnets[port["subnet_id"]]["ips"][port["ip"]] = instance["id"]
    instance["port"] = port


def release_port(state, instance: dict) -> None:
    port = instance.get("port")
    if not port:
        return
    subnet = state.subnets.get(port["subnet_id"])
    if subnet is not None and subnet["ips"].get(port["ip"]) == instance["id"]:
        del subnet["ips"][port["ip"]]


# -- security groups ----------------------------------------------------------

def create_group(state, args: CreateGroupArgs, ctx: dict) -> dict:
    project, name = args.project, args.name
    if r.name_key(project, name) in state.security_group_names:
        raise AlreadyExists(f"security group {name!r} already exists in project {project!r}")
    if args.id in state.security_groups:
        raise AlreadyExists(f"security group id {args.id} already exists")
    group = {**_new(args.id, name, project, args.labels, ctx), "rules": []}
    quota.charge(state, project, {"security_groups": 1})
    state.security_groups[group["id"]] = group
    state.security_group_names[r.name_key(project, name)] = group["id"]
    return {"security_group": group}


def members(state, group_id: str) -> list[dict]:
    """Instances whose port is in the group."""
    return [i for i in state.instances.values()
            if group_id in (i.get("port") or {}).get("security_groups", ())]


def delete_group(state, args: IdArgs, ctx: dict) -> dict:
    group = _get(state.security_groups, args.id, "security group")
    used = members(state, group["id"])
    if used:
        raise FailedPrecondition(f"security group {group['name']!r} is attached to {len(used)} instance(s)")
    referring = [g["name"] for g in state.security_groups.values()
                 if g["id"] != group["id"] and any(rule["remote_group"] == group["id"] for rule in g["rules"])]
    if referring:
        raise FailedPrecondition(f"security group {group['name']!r} is the remote group of rules "
                                 f"in {', '.join(sorted(referring))}")
    del state.security_groups[group["id"]]
    quota.release(state, group["project"], {"security_groups": 1, "security_group_rules": len(group["rules"])})
    state.security_group_names.pop(r.name_key(group["project"], group["name"]), None)
    return {"deleted": True}


def check_rule(rule: SecurityRule) -> dict:
    """A canonical rule, or InvalidArgument naming the field (also used by the API)."""
    direction = rule.direction or "ingress"
    if direction not in DIRECTIONS:
        raise InvalidArgument("rule.direction", f"must be ingress or egress, not {direction!r}")
    protocol = (rule.protocol or "any").lower()
    if protocol not in PROTOCOLS:
        raise InvalidArgument("rule.protocol", f"must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    port_min, port_max = rule.port_min, rule.port_max
    if protocol in ("tcp", "udp"):
        if port_min == 0 and port_max == 0:
            port_min, port_max = 1, 65535
        port_max = port_max or port_min
        if not 1 <= port_min <= port_max <= 65535:
            raise InvalidArgument("rule.port_min", f"port range {port_min}-{port_max} is impossible "
                                                   "(1-65535, min <= max)")
    elif port_min or port_max:
        raise InvalidArgument("rule.port_min", f"protocol {protocol} has no ports")
    cidr, remote = rule.cidr, rule.remote_group
    if cidr and remote:
        raise InvalidArgument("rule.cidr", "give a cidr or a remote group, not both")
    if not remote:
        cidr = str(network(cidr or "0.0.0.0/0", "rule.cidr"))
    return {"id": rule.id, "direction": direction, "protocol": protocol,
            "port_min": port_min, "port_max": port_max, "cidr": cidr, "remote_group": remote}


def _same_rule(a: dict, b: dict) -> bool:
    return all(a[k] == b[k] for k in ("direction", "protocol", "port_min", "port_max", "cidr", "remote_group"))


def add_rule(state, args: AddRuleArgs, ctx: dict) -> dict:
    group = _get(state.security_groups, args.id, "security group")
    rule = check_rule(args.rule)
    if not rule["id"]:
        raise InvalidArgument("rule.id", "is required")
    remote = rule["remote_group"]
    if remote:
        other = state.security_groups.get(remote)
        if other is None or other["project"] != group["project"]:
            raise NotFound(f"remote group {remote} not found in project {group['project']!r}")
    duplicate = next((x for x in group["rules"] if _same_rule(x, rule)), None)
    if duplicate is not None:
        raise AlreadyExists(f"security group {group['name']!r} already has this rule ({duplicate['id']})")
    if any(x["id"] == rule["id"] for x in group["rules"]):
        raise AlreadyExists(f"rule id {rule['id']} already exists")
    quota.charge(state, group["project"], {"security_group_rules": 1})
    group["rules"].append(rule)
    _touch(group, ctx)
    return {"security_group": group}


def remove_rule(state, args: RemoveRuleArgs, ctx: dict) -> dict:
    group = _get(state.security_groups, args.id, "security group")
    kept = [x for x in group["rules"] if x["id"] != args.rule_id]
    if len(kept) == len(group["rules"]):
        raise NotFound(f"rule {args.rule_id} not found in security group {group['name']!r}")
    quota.release(state, group["project"], {"security_group_rules": len(group["rules"]) - len(kept)})
    group["rules"] = kept
    _touch(group, ctx)
    return {"security_group": group}


def _membership(state, group_id: str, instance_id: str) -> tuple[dict, dict, dict]:
    instance = _get(state.instances, instance_id, "instance")
    group = _get(state.security_groups, group_id, "security group")
    port = instance.get("port")
    if not port:
        raise FailedPrecondition(f"instance {instance['name']!r} has no VPC port")
    if group["project"] != instance["project"]:
        raise NotFound(f"security group {group['name']!r} not found in project {instance['project']!r}")
    return instance, group, port


def attach(state, args: MembershipArgs, ctx: dict) -> dict:
    instance, group, port = _membership(state, args.id, args.instance_id)
    if group["id"] not in port["security_groups"]:
        port["security_groups"].append(group["id"])
        port["security_group_names"].append(group["name"])
        _touch(instance, ctx)
    return {"instance": instance}


def detach(state, args: MembershipArgs, ctx: dict) -> dict:
    instance, group, port = _membership(state, args.id, args.instance_id)
    if group["id"] not in port["security_groups"]:
        raise NotFound(f"instance {instance['name']!r} is not in security group {group['name']!r}")
    at = port["security_groups"].index(group["id"])
    del port["security_groups"][at], port["security_group_names"][at]
    _touch(instance, ctx)
    return {"instance": instance}


# Results are copies (r.copied): nothing returned aliases the state.
COMMANDS = table(
    vpc__create=Command(CreateVpcArgs, r.copied(create_vpc)),
    vpc__delete=Command(IdArgs, r.copied(delete_vpc)),
    subnet__create=Command(CreateSubnetArgs, r.copied(create_subnet)),
    subnet__delete=Command(IdArgs, r.copied(delete_subnet)),
    security_group__create=Command(CreateGroupArgs, r.copied(create_group)),
    security_group__delete=Command(IdArgs, r.copied(delete_group)),
    security_group__add_rule=Command(AddRuleArgs, r.copied(add_rule)),
    security_group__remove_rule=Command(RemoveRuleArgs, r.copied(remove_rule)),
    security_group__attach=Command(MembershipArgs, r.copied(attach)),
    security_group__detach=Command(MembershipArgs, r.copied(detach)),
)
