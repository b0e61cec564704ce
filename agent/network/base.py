"""The narrow interface of a network driver, and the data it speaks.

The scheduler sends a host's whole network (segments and ports, rules already
resolved); a driver makes the host match it and removes the rest of what it made.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field

from common.errors import FailedPrecondition

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
