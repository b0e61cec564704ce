"""Network records of the state machine to protobuf messages."""
from __future__ import annotations

import ipaddress

from proto.v1 import networks_pb2 as npb
from proto.v1 import resources_pb2 as pb
from scheduler.api.meta_convert import meta_pb


def vpc_pb(state, record: dict) -> npb.Vpc:
    ports = sum(len(s["ips"]) for s in state.subnets.values() if s["vpc_id"] == record["id"])
    gateway = state.hosts.get(record.get("gateway_host_id") or "", {}).get("name", "")
    return npb.Vpc(meta=meta_pb(record), cidr=record["cidr"], vni=record["vni"], mtu=record["mtu"],
                   ports=ports, gateway_host=gateway)


def subnet_pb(state, record: dict) -> npb.Subnet:
    vpc = state.vpcs.get(record["vpc_id"], {})
    usable = ipaddress.IPv4Network(record["cidr"]).num_addresses - 3
    return npb.Subnet(meta=meta_pb(record), vpc=vpc.get("name", ""), vpc_id=record["vpc_id"],
                      cidr=record["cidr"], gateway=record["gateway"], ports=len(record["ips"]),
                      free=max(0, usable - len(record["ips"])))


def rule_pb(state, rule: dict) -> npb.SecurityGroupRule:
    remote = state.security_groups.get(rule["remote_group"], {}).get("name", rule["remote_group"])
    return npb.SecurityGroupRule(id=rule["id"], direction=rule["direction"], protocol=rule["protocol"],
                                 port_min=rule["port_min"], port_max=rule["port_max"],
                                 cidr=rule["cidr"], remote_group=remote)


def security_group_pb(state, record: dict) -> npb.SecurityGroup:
    ports = sum(1 for i in state.instances.values()
                if record["id"] in (i.get("port") or {}).get("security_groups", ()))
    return npb.SecurityGroup(meta=meta_pb(record), rules=[rule_pb(state, x) for x in record["rules"]],
                             ports=ports)


def instance_port_pb(port: dict) -> pb.InstancePort:
    """The public view of an instance's port."""
    return pb.InstancePort(
        vpc=port["vpc"], subnet=port["subnet"], ip=port["ip"], prefix_len=port["prefix_len"],
        gateway=port["gateway"], mac=port["mac"], mtu=port["mtu"],
        security_groups=port["security_group_names"], floating_ip=port.get("floating_ip", ""))
