"""What one host's network should be, computed from the cluster state (pure).

`host_network()` answers for one host: a segment (bridge + VXLAN) for each VPC
with a port there, flooding to the VTEPs of the other up hosts with ports in the
same VPC, and each local port with its firewall rules already resolved — remote
groups expanded to the addresses of their members in the port's VPC.
"""
from __future__ import annotations

from scheduler.network import gateway_plan
from scheduler.state import records as r


def _ported(state) -> list[dict]:
    return [i for i in state.instances.values() if i.get("port") and i["state"] != r.DELETING]


def _live_vtep(state, host_id: str) -> str:
    host = state.hosts.get(host_id)
    if host is None or host.get("state") != r.HOST_UP:
        return ""
    return host.get("vtep", "")


def _rules(state, port: dict, direction: str, members_by_group: dict) -> list[dict]:
    rules = []
    for group_id in port["security_groups"]:
        group = state.security_groups.get(group_id)
        if group is None:
            continue
        for rule in group["rules"]:
            if rule["direction"] != direction:
                continue
            if rule["remote_group"]:
                cidrs = sorted({f"{ip}/32" for vpc_id, ip in members_by_group.get(rule["remote_group"], ())
                                if vpc_id == port["vpc_id"]})
            else:
                cidrs = [rule["cidr"]]
            rules.append({"protocol": rule["protocol"], "port_min": rule["port_min"],
                          "port_max": rule["port_max"], "cidrs": cidrs})
    return rules


def host_network(state, host_id: str) -> dict:
    """{"segments": [...], "ports": [...]} for the host, in a stable order."""
    ported = _ported(state)
    local = sorted((i for i in ported if i["host_id"] == host_id), key=lambda i: i["id"])
    own_vtep = _live_vtep(state, host_id)
    members_by_group: dict[str, list[tuple[str, str]]] = {}
    for instance in ported:
        for group_id in instance["port"]["security_groups"]:
            members_by_group.setdefault(group_id, []).append((instance["port"]["vpc_id"], instance["port"]["ip"]))
    segments = []
    served = gateway_plan.served_vpcs(state, host_id, ported)
    for vpc_id in sorted({i["port"]["vpc_id"] for i in local} | served):
        vpc = state.vpcs.get(vpc_id)
        if vpc is None:
            continue
        remote = []
        for instance in ported:
            if instance["port"]["vpc_id"] != vpc_id or instance["host_id"] == host_id:
                continue
            vtep = _live_vtep(state, instance["host_id"])
            if vtep and vtep != own_vtep:
                remote.append((instance["port"]["mac"], vtep))
        gateway = gateway_plan.gateway_vtep(state, vpc_id)   # ports reach it over the VPC
        segments.append({"vni": vpc["vni"], "mtu": vpc["mtu"],
                         "remote_vteps": sorted({vtep for _, vtep in remote}
                                                | ({gateway} if gateway and gateway != own_vtep else set())),
                         "remote_ports": sorted(remote)})
    ports = []
    for instance in local:
        port = instance["port"]
        vpc = state.vpcs.get(port["vpc_id"])
        if vpc is None:
            continue
        egress = _rules(state, port, "egress", members_by_group)
        ports.append({
            "instance_id": instance["id"], "vni": vpc["vni"], "mac": port["mac"], "ip": port["ip"],
            "prefix_len": port["prefix_len"], "gateway": port["gateway"], "mtu": port["mtu"],
            "filtered": bool(port["security_groups"]),
            "ingress": _rules(state, port, "ingress", members_by_group),
            "egress": egress, "egress_restricted": bool(egress)})
    plan = {"segments": segments, "ports": ports}
    gateways = gateway_plan.gateways(state, host_id, ported)
    if gateways:    # only a gateway host's plan has the key
        plan["gateways"] = gateways
    return plan


def sandboxes(state, host_id: str) -> list[tuple]:
    """What changes when a local instance's container is (re)made: a new pass must plug it."""
    return sorted((i["id"], i.get("runtime_id", ""), i.get("started_ms", 0), i["state"])
                  for i in _ported(state) if i["host_id"] == host_id)
