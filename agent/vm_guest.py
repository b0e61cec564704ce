"""A VM's guest extras from an EnsureInstance call: the secret files and the VPC NIC.

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
from agent.network.base import NetworkDriver, Segment
from agent.network.vmtap import tap_name
from common.errors import FailedPrecondition, InvalidArgument
from proto.v1 import agent_pb2

MAX_SECRET_FILES = 16
_MAC_DIGITS = set("0123456789abcdef")


def _check_path(path: str) -> None:
    if not path.startswith("/") or path.endswith("/") or len(path) > 255 \
            or any(part in ("", ".", "..") for part in path[1:].split("/")) \
            or not path.isprintable() or any(ch in path for ch in "\"\\"):
        raise InvalidArgument("secret_files.path", f"{path!r} is not an absolute, normalized file path")


def check_request(request: agent_pb2.EnsureInstanceRequest) -> None:
    """InvalidArgument naming the field when the guest extras are malformed."""
    if (request.secret_files or request.HasField("nic")) and request.spec.kind != "vm":
        raise InvalidArgument("secret_files" if request.secret_files else "nic", "is for kind 'vm' only")
    if len(request.secret_files) > MAX_SECRET_FILES:
        raise InvalidArgument("secret_files", f"at most {MAX_SECRET_FILES} files")
    paths = set()
    for item in request.secret_files:
        _check_path(item.path)
        if item.path in paths:
            raise InvalidArgument("secret_files.path", f"{item.path!r} is given twice")
        paths.add(item.path)
        if item.mode & ~0o7777:
            raise InvalidArgument("secret_files.mode", f"{item.mode:o} is not a file mode")
    if request.HasField("nic"):
        nic = request.nic
        if not 1 <= nic.vni < 1 << 24:
            raise InvalidArgument("nic.vni", f"{nic.vni} is not a VXLAN network id")
        octets = nic.mac.lower().split(":")
        if len(octets) != 6 or any(len(o) != 2 or not set(o) <= _MAC_DIGITS for o in octets):
            raise InvalidArgument("nic.mac", f"{nic.mac!r} is not a MAC address")
        if not 8 <= nic.prefix_len <= 30:
            raise InvalidArgument("nic.prefix_len", f"{nic.prefix_len} is not usable")
        if not 576 <= nic.mtu <= 9000:
            raise InvalidArgument("nic.mtu", f"{nic.mtu} is not a usable MTU")
        for field, value in (("nic.ip", nic.ip), ("nic.gateway", nic.gateway)):
            if field == "nic.gateway" and not value:
                continue
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise InvalidArgument(field, f"{value!r} is not an IPv4 address") from None


def with_guest(spec: InstanceSpec, instance_id: str, request: agent_pb2.EnsureInstanceRequest,
               network: NetworkDriver | None) -> InstanceSpec:
    """`spec` with the request's secret files and NIC in its VM part. Makes the NIC's
    bridge on this host first; FailedPrecondition when this host cannot."""
    if spec.vm is None:
        return spec
    files = tuple(GuestFile(path=item.path, content=item.content, mode=item.mode or 0o600,
                            secret=item.secret) for item in request.secret_files)
    nic = None
    if request.HasField("nic"):
        if network is None:
            raise FailedPrecondition("the VM has a VPC port but this host runs no network driver")
        wanted = request.nic
        try:
            bridge = network.ensure_bridge(Segment(vni=wanted.vni, mtu=wanted.mtu))
        except (NetlinkError, OSError) as err:    # netlink refused: e.g. a bridge of that name that is not ours
            raise FailedPrecondition(f"cannot make the bridge of VNI {wanted.vni}: {err}") from None
        nic = VmNic(bridge=bridge, tap=tap_name(instance_id), mac=wanted.mac.lower(), ip=wanted.ip,
                    prefix_len=wanted.prefix_len, gateway=wanted.gateway, mtu=wanted.mtu)
    if not files and nic is None:
        return spec
    return dataclasses.replace(spec, vm=dataclasses.replace(spec.vm, nic=nic, secret_files=files))
