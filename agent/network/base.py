"""The narrow interface of a network driver, and the data it speaks.

The scheduler sends a host's whole network (segments and ports, rules already
resolved); a driver makes the host match it and removes the rest of what it made.
"""
from __future__ import annotations

import abc
import ipaddress
from dataclasses import dataclass, field

from common.errors import FailedPrecondition, InvalidArgument
from proto.v1 import networks_pb2

PROTOCOLS = ("tcp", "udp", "icmp", "any")


@dataclass(frozen=True)
class Segment:
    """A VPC on this host: a bridge and a VXLAN device for `vni`."""

    vni: int
    mtu: int
    remote_vteps: tuple[str, ...] = ()
    remote_ports: tuple[tuple[str, str], ...] = ()   # (mac, vtep)


@dataclass(frozen=True)
class Rule:
    """Allow `protocol` (ports `port_min`-`port_max` for tcp/udp) from/to `cidrs`."""

    protocol: str
    port_min: int = 0
    port_max: int = 0
    cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Port:
    """An instance's NIC: where it plugs in and what it may receive and send."""

    instance_id: str
    vni: int
    mac: str
    ip: str
    prefix_len: int
    gateway: str
    mtu: int
    filtered: bool = False
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    egress_restricted: bool = False


@dataclass(frozen=True)
class HostNetwork:
    segments: tuple[Segment, ...] = ()
    ports: tuple[Port, ...] = ()
    gateways: tuple = ()            # agent.network.nat.Gateway: VPCs this host NATs


@dataclass
class NetworkStatus:
    plugged: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    rules_replaced: bool = False


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
    from agent.network import nat   # gateways: egress NAT and floating IPs
    return HostNetwork(tuple(segments), tuple(ports), nat.from_proto(request.gateways, vnis))


class NetworkDriver(abc.ABC):
    """Puts VPC networking on this host. Every method is idempotent."""

    name: str

    @abc.abstractmethod
    def ensure(self, network: HostNetwork, sandbox_pid) -> NetworkStatus:
        """Make the host's segments, NICs and firewall exactly `network`; remove what
        this driver made that is no longer in it. `sandbox_pid(instance_id)` gives the
        pid whose network namespace a port's NIC goes into (None: not running yet)."""

    @abc.abstractmethod
    def fingerprint(self) -> list[str]:
        """Capabilities to report, e.g. ["network:linuxbridge"]."""

    def ensure_bridge(self, segment: Segment) -> str:
        """The name of the segment's bridge, made now if missing (for a VM's tap);
        FailedPrecondition from drivers without bridges."""
        raise FailedPrecondition(f"the {self.name} network driver has no bridge for a VM's NIC")

    def close(self) -> None:
        """Release what the driver holds (not what it made on the host)."""
