"""A VM's guest extras from an EnsureInstance call's host spec: the secret files and the VPC NIC.

The servicer composes the drivers here: the network driver makes sure the VPC's
bridge exists on this host (network first), then the compute driver gets the
bridge and tap names in the instance's spec and defines the domain.
"""
from __future__ import annotations

import dataclasses
import ipaddress

from pyroute2.netlink.exceptions import NetlinkError

from agent.compute.base import InstanceSpec
from agent.compute.guest import GuestFile, VmNic
from agent.host_spec import RequestedSpec
from agent.network.base import NetworkDriver, Segment
from agent.network.vmtap import tap_name
from common.errors import FailedPrecondition, InvalidArgument
from proto.v1 import agent_pb2

MAX_SECRET_FILES = 16
_MAC_DIGITS = set("0123456789abcdef")


def _check_path(path: str, field: str) -> None:
    if not path.startswith("/") or path.endswith("/") or len(path) > 255 \
            or any(part in ("", ".", "..") for part in path[1:].split("/")) \
            or not path.isprintable() or any(ch in path for ch in "\"\\"):
        raise InvalidArgument(field, f"{path!r} is not an absolute, normalized file path")


def check_guest(wanted: RequestedSpec) -> None:
    """InvalidArgument naming the field when the guest extras of the call's host spec
    (agent.host_spec.requested) are malformed."""
    spec, field = wanted.spec, wanted.field
    if (spec.secret_files or spec.HasField("nic")) and spec.kind != "vm":
        raise InvalidArgument(field("secret_files" if spec.secret_files else "nic"), "is for kind 'vm' only")
    if len(spec.secret_files) > MAX_SECRET_FILES:
        raise InvalidArgument(field("secret_files"), f"at most {MAX_SECRET_FILES} files")
    paths = set()
    for item in spec.secret_files:
        _check_path(item.path, field("secret_files.path"))
        if item.path in paths:
            raise InvalidArgument(field("secret_files.path"), f"{item.path!r} is given twice")
        paths.add(item.path)
        if item.mode & ~0o7777:
            raise InvalidArgument(field("secret_files.mode"), f"{item.mode:o} is not a file mode")
    if spec.HasField("nic"):
        nic = spec.nic
        if not 1 <= nic.vni < 1 << 24:
            raise InvalidArgument(field("nic.vni"), f"{nic.vni} is not a VXLAN network id")
        octets = nic.mac.lower().split(":")
        if len(octets) != 6 or any(len(o) != 2 or not set(o) <= _MAC_DIGITS for o in octets):
            raise InvalidArgument(field("nic.mac"), f"{nic.mac!r} is not a MAC address")
        if not 8 <= nic.prefix_len <= 30:
            raise InvalidArgument(field("nic.prefix_len"), f"{nic.prefix_len} is not usable")
        if not 576 <= nic.mtu <= 9000:
            raise InvalidArgument(field("nic.mtu"), f"{nic.mtu} is not a usable MTU")
        for name, value in (("nic.ip", nic.ip), ("nic.gateway", nic.gateway)):
            if name == "nic.gateway" and not value:
                continue
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise InvalidArgument(field(name), f"{value!r} is not an IPv4 address") from None


def with_guest(spec: InstanceSpec, instance_id: str, host_spec: agent_pb2.HostInstanceSpec,
               network: NetworkDriver | None) -> InstanceSpec:
    """`spec` with the host spec's secret files and NIC in its VM part. Makes the NIC's
    bridge on this host first; FailedPrecondition when this host cannot."""
    if spec.vm is None:
        return spec
    files = tuple(GuestFile(path=item.path, content=item.content, mode=item.mode or 0o600,
                            secret=item.secret) for item in host_spec.secret_files)
    nic = None
    if host_spec.HasField("nic"):
        if network is None:
            raise FailedPrecondition("the VM has a VPC port but this host runs no network driver")
        wanted = host_spec.nic
        try:
            bridge = network.ensure_bridge(Segment(vni=wanted.vni, mtu=wanted.mtu))
        except (NetlinkError, OSError) as err:    # netlink refused: e.g. a bridge of that name that is not ours
            raise FailedPrecondition(f"cannot make the bridge of VNI {wanted.vni}: {err}") from None
        nic = VmNic(bridge=bridge, tap=tap_name(instance_id), mac=wanted.mac.lower(), ip=wanted.ip,
                    prefix_len=wanted.prefix_len, gateway=wanted.gateway, mtu=wanted.mtu)
    if not files and nic is None:
        return spec
    return dataclasses.replace(spec, vm=dataclasses.replace(spec.vm, nic=nic, secret_files=files))
