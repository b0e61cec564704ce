"""The host network an EnsureHostNetwork request asks for, checked field by field
(INVALID_ARGUMENT naming the field) and turned into the drivers' model
(agent/network/base.py; its gateways: agent/network/nat.py)."""
from __future__ import annotations

import ipaddress

from agent.network import nat
from agent.network.base import PROTOCOLS, HostNetwork, Port, Rule, Segment
from common.errors import InvalidArgument
from proto.v1 import networks_pb2


def _ip(value: str, what: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise InvalidArgument(what, f"{value!r} is not an IPv4 address") from None


def _rule(msg, what: str) -> Rule:
    if msg.protocol not in PROTOCOLS:
        raise InvalidArgument(f"{what}.protocol", f"{msg.protocol!r} is not one of {', '.join(PROTOCOLS)}")
    if not 0 <= msg.port_min <= msg.port_max <= 65535:
        raise InvalidArgument(f"{what}.port_min", f"impossible port range {msg.port_min}-{msg.port_max}")
    cidrs = []
    for cidr in msg.cidrs:
        try:
            cidrs.append(str(ipaddress.IPv4Network(cidr)))
        except ValueError:
            raise InvalidArgument(f"{what}.cidrs", f"{cidr!r} is not an IPv4 network") from None
    return Rule(msg.protocol, msg.port_min, msg.port_max, tuple(cidrs))


_MAC_OK = set("0123456789abcdef:")


def from_proto(request: networks_pb2.EnsureHostNetworkRequest) -> HostNetwork:
    """The checked network of an EnsureHostNetwork request (InvalidArgument naming the field)."""
    segments = []
    for s in request.segments:
        if not 1 <= s.vni < 1 << 24:
            raise InvalidArgument("segments.vni", f"{s.vni} is not a VXLAN network id")
        if not 576 <= s.mtu <= 9000:
            raise InvalidArgument("segments.mtu", f"{s.mtu} is not a usable MTU")
        remote = tuple((p.mac.lower(), _ip(p.vtep, "segments.remote_ports.vtep")) for p in s.remote_ports)
        segments.append(Segment(s.vni, s.mtu, tuple(_ip(v, "segments.remote_vteps") for v in s.remote_vteps),
                                remote))
    vnis = {s.vni for s in segments}
    ports = []
    for p in request.ports:
        if not p.instance_id:
            raise InvalidArgument("ports.instance_id", "is required")
        if p.vni not in vnis:
            raise InvalidArgument("ports.vni", f"port of {p.instance_id} is in VNI {p.vni} without a segment")
        mac = p.mac.lower()
        if len(mac) != 17 or not set(mac) <= _MAC_OK:
            raise InvalidArgument("ports.mac", f"{p.mac!r} is not a MAC address")
        if not 8 <= p.prefix_len <= 30:
            raise InvalidArgument("ports.prefix_len", f"{p.prefix_len} is not usable")
        ports.append(Port(
            instance_id=p.instance_id, vni=p.vni, mac=mac, ip=_ip(p.ip, "ports.ip"),
            prefix_len=p.prefix_len, gateway=_ip(p.gateway, "ports.gateway") if p.gateway else "",
            mtu=p.mtu, filtered=p.filtered,
            ingress=tuple(_rule(x, "ports.ingress") for x in p.ingress),
            egress=tuple(_rule(x, "ports.egress") for x in p.egress),
            egress_restricted=p.egress_restricted))
    return HostNetwork(tuple(segments), tuple(ports), nat.from_proto(request.gateways, vnis))
