"""The gateway part of a host's network (pure): the VPCs it NATs and their floating IPs.

A VPC with a gateway host and at least one port gets, on that host, its segment
(bridge + VXLAN, so ports on other hosts reach the gateway over the VPC), the
gateway address of each subnet on the bridge, source NAT to the underlay and the
DNAT of its attached floating IPs. The other hosts of the VPC flood to the
gateway host's VTEP too, so ARP for the gateway address reaches it.
"""
from __future__ import annotations

import ipaddress

from scheduler.state import records as r


def _up_vtep(state, host_id: str) -> str:
    host = state.hosts.get(host_id or "")
    if host is None or host.get("state") != r.HOST_UP:
        return ""
    return host.get("vtep", "")


def gateway_vtep(state, vpc_id: str) -> str:
    """The VTEP of the VPC's gateway host while that host is up (else empty)."""
    vpc = state.vpcs.get(vpc_id, {})
    return _up_vtep(state, vpc.get("gateway_host_id", ""))


def served_vpcs(state, host_id: str, ported: list[dict]) -> set[str]:
    """Ids of the VPCs with ports whose gateway is `host_id` (an up host with a VTEP)."""
    if not _up_vtep(state, host_id):
        return set()
    in_use = {i["port"]["vpc_id"] for i in ported}
    return {vpc_id for vpc_id in in_use if state.vpcs.get(vpc_id, {}).get("gateway_host_id") == host_id}


def gateways(state, host_id: str, ported: list[dict]) -> list[dict]:
    """[{"vni", "cidr", "addresses", "floating"}] for the VPCs `host_id` is the gateway of."""
    served = served_vpcs(state, host_id, ported)
    ip_of = {i["id"]: i["port"]["ip"] for i in ported}
    found = []
    for vpc_id in sorted(served):
        vpc = state.vpcs[vpc_id]
        addresses = sorted(f"{s['gateway']}/{ipaddress.IPv4Network(s['cidr']).prefixlen}"
                           for s in state.subnets.values() if s["vpc_id"] == vpc_id)
        floating = sorted((f["address"], ip_of[f["instance_id"]]) for f in state.floating_ips.values()
                          if f["instance_id"] in ip_of
                          and state.instances[f["instance_id"]]["port"]["vpc_id"] == vpc_id)
        found.append({"vni": vpc["vni"], "cidr": vpc["cidr"], "addresses": addresses, "floating": floating})
    return found
