"""Checks of the networking parts of public and node API input; each failure names the field."""
from __future__ import annotations

import ipaddress

from common.errors import InvalidArgument, NotFound
from common.ids import check_name
from scheduler.state import records as r


def check_vtep(value: str) -> str:
    """A host's VXLAN underlay address (empty: the host has no VPC networking)."""
    if not value:
        return ""
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise InvalidArgument("vtep", f"{value!r} is not an IPv4 address") from None


def instance_network(spec) -> dict:
    """The network keys of a validated spec dict: none at all without a subnet."""
    if not spec.subnet:
        if spec.ip or spec.security_groups:
            raise InvalidArgument("spec.subnet", "is required with an ip or security groups")
        return {}
    if spec.ip:
        try:
            ipaddress.IPv4Address(spec.ip)
        except ValueError:
            raise InvalidArgument("spec.ip", f"{spec.ip!r} is not an IPv4 address") from None
    if len(spec.security_groups) > 16:
        raise InvalidArgument("spec.security_groups", "at most 16 groups")
    for group in spec.security_groups:
        if not group:
            raise InvalidArgument("spec.security_groups", "names must not be empty")
    return {"subnet": spec.subnet, "ip": spec.ip, "security_groups": list(spec.security_groups)}


def _by_ref(state, table: str, names: str, project: str, ref: str) -> dict | None:
    records = getattr(state, table)
    record = records.get(ref)
    if record is not None and record["project"] == project:
        return record
    record_id = getattr(state, names).get(r.name_key(project, ref))
    return records.get(record_id) if record_id else None


def vpc(state, project: str, ref: str) -> dict:
    found = _by_ref(state, "vpcs", "vpc_names", project, ref)
    if found is None:
        raise NotFound(f"vpc {ref!r} not found in project {project!r}")
    return found


def subnet(state, project: str, ref: str) -> dict:
    found = _by_ref(state, "subnets", "subnet_names", project, ref)
    if found is None:
        raise NotFound(f"subnet {ref!r} not found in project {project!r}")
    return found


def security_group(state, project: str, ref: str) -> dict:
    found = _by_ref(state, "security_groups", "security_group_names", project, ref)
    if found is None:
        raise NotFound(f"security group {ref!r} not found in project {project!r}")
    return found


def port_request(state, project: str, spec: dict) -> dict | None:
    """The `port` argument of instance.create for a validated spec (None without a subnet),
    on a read view: names resolved to ids here, everything checked again in apply."""
    if not spec.get("subnet"):
        return None
    found = subnet(state, project, spec["subnet"])
    groups = [security_group(state, project, ref)["id"] for ref in spec.get("security_groups", [])]
    return {"subnet_id": found["id"], "ip": spec.get("ip", ""), "security_groups": groups}


def resource_name(value: str, field: str = "name") -> str:
    return check_name(value, field)
