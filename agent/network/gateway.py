"""A gateway host's side of VPCs: gateway addresses, floating addresses, the NAT table.

Converges, like the rest of the driver: the subnets' gateway addresses on the
VPC bridges this host is the gateway of (and no address on its other bridges),
each floating address as a /32 on the underlay interface — so this host answers
ARP for it — labelled `<uplink>:tcf` (the label tells ours from the operator's),
IPv4 forwarding on, and the NAT table (agent/network/nat.py) replaced atomically.
"""
from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

from pyroute2.netlink.exceptions import NetlinkError

from agent.network import nat, nftables
from agent.network.nat import Gateway

log = logging.getLogger(__name__)

LABEL_SUFFIX = ":tcf"
RESYNC_SECONDS = 30.0
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def nat_table_name(agent_name: str) -> str:
    return "thecloud_nat_" + "".join(c if c.isalnum() else "_" for c in agent_name)


def _ipv4(ipr, index: int) -> list[tuple[str, int, str]]:
    """(address, prefix length, label) of the IPv4 addresses of link `index`."""
    found = []
    for msg in ipr.get_addr(family=socket.AF_INET, index=index):
        found.append((msg.get("IFA_LOCAL") or msg.get("IFA_ADDRESS"), msg["prefixlen"], msg.get("IFA_LABEL") or ""))
    return found


def _sysctl(path, value: str) -> None:
    path = Path(path)
    if path.read_text().strip() != value:
        path.write_text(value + "\n")


class GatewayHost:
    def __init__(self, agent_name: str, vtep: str):
        self.vtep = vtep
        self.table = nat_table_name(agent_name)
        self._applied: str | None = None
        self._applied_at = 0.0

    def uplink(self, ipr) -> tuple[int, str]:
        """(index, name) of the interface holding the VTEP address: the underlay."""
        for msg in ipr.get_addr(family=socket.AF_INET):
            if (msg.get("IFA_LOCAL") or msg.get("IFA_ADDRESS")) == self.vtep:
                index = msg["index"]
                return index, ipr.get_links(index)[0].get("ifname")
        raise OSError(f"no interface holds the VTEP address {self.vtep}")

    def ensure(self, ipr, gateways: tuple[Gateway, ...], bridges: dict[int, int], own_bridges: dict[str, int],
               bridge_of) -> bool:
        """Converge; `bridges` maps VNIs to bridge indexes, `own_bridges` names every bridge of
        this agent. Returns whether the NAT table was replaced."""
        for vni in bridges:
            # A host that is the gateway of one VPC must not answer ARP for that gateway
            # address on the bridge of another VPC with the same range (the default
            # arp_ignore=0 answers for any local address on any interface).
            _sysctl(f"/proc/sys/net/ipv4/conf/{bridge_of(vni)}/arp_ignore", "1")
        wanted = {bridges[g.vni]: {tuple(a.split("/")) for a in g.addresses} for g in gateways}
        for index in set(own_bridges.values()) | set(wanted):
            self._converge_addresses(ipr, index, {(a, int(p)) for a, p in wanted.get(index, ())})
        if not gateways:
            # Not (or no longer) a gateway: no floating address, no NAT table (checked once).
            self._floating(ipr, set())
            script = nat.transaction(self.table, None)
            if self._applied == script:
                return False
            replaced = self._applied is not None or self._nat_exists()
            if replaced:
                nftables.apply(script)
            self._applied, self._applied_at = script, time.monotonic()
            return replaced
        uplink_index, uplink = self.uplink(ipr)
        self._floating(ipr, {address for g in gateways for address, _ in g.floating}, uplink_index, uplink)
        if gateways:   # a gateway routes between its VPC bridges and the underlay
            _sysctl(IP_FORWARD, "1")
        script = nat.transaction(self.table, nat.render(self.table, gateways, bridge_of, uplink, self.vtep))
        if script == self._applied and time.monotonic() - self._applied_at < RESYNC_SECONDS:
            return False
        nftables.apply(script)
        self._applied, self._applied_at = script, time.monotonic()
        return True

    def _nat_exists(self) -> bool:
        return nftables.table_exists(self.table, family="ip")

    @staticmethod
    def _converge_addresses(ipr, index: int, wanted: set[tuple[str, int]]) -> None:
        present = {(address, prefix) for address, prefix, _ in _ipv4(ipr, index)}
        for address, prefix in sorted(present - wanted):
            ipr.addr("del", index=index, address=address, prefixlen=prefix)
        for address, prefix in sorted(wanted - present):
            ipr.addr("add", index=index, address=address, prefixlen=prefix)
            log.info("gateway address %s/%d on link %d", address, prefix, index)

    def _floating(self, ipr, wanted: set[str], uplink_index: int | None = None, uplink: str = "") -> None:
        if uplink_index is None:
            try:
                uplink_index, uplink = self.uplink(ipr)
            except OSError:
                return
        label = uplink + LABEL_SUFFIX
        if len(label) > 15:
            # The kernel's limit: floating IPs need an underlay interface name of at most 11 characters.
            raise OSError(f"underlay interface name {uplink!r} is too long to label floating addresses")
        present = {address for address, prefix, lbl in _ipv4(ipr, uplink_index) if lbl == label and prefix == 32}
        for address in sorted(present - wanted):
            try:
                ipr.addr("del", index=uplink_index, address=address, prefixlen=32)
                log.info("removed floating address %s", address)
            except NetlinkError as err:
                if err.code != 99:   # EADDRNOTAVAIL: gone meanwhile
                    raise
        for address in sorted(wanted - present):
            ipr.addr("add", index=uplink_index, address=address, prefixlen=32, label=label)
            log.info("floating address %s on %s", address, uplink)
