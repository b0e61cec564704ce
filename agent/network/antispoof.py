"""Anti-spoofing: a port may only send from its own MAC and IPv4 address.

Stateless, so it lives in the bridge family (which has no conntrack on these
kernels and needs none here): the prerouting hook of a bridge sees each frame
with the bridge port it came in by, i.e. the host-side interface of the port
(a container's veth or a VM's tap), before it is bridged or routed. Per port:
the Ethernet source must be the port's MAC; ARP must claim the port's MAC and
address; IPv4 must come from the port's address (or be a DHCP discover from
0.0.0.0); anything else (IPv6, other EtherTypes) is dropped. One table
`bridge thecloud_<agent>`, replaced whole in one `nft -f` transaction.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from agent.network import nftables


@dataclass(frozen=True)
class PortIdentity:
    """The host-side interface of a port and the addresses it may send from."""

    ifname: str
    mac: str
    ip: str


def chain_name(ifname: str) -> str:
    return "port-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in ifname)


def render(table_name: str, ports: list[PortIdentity]) -> str | None:
    """The table for `ports` (None when there are none)."""
    if not ports:
        return None
    dispatch, chains = [], []
    for port in sorted(ports, key=lambda p: p.ifname):
        chain = chain_name(port.ifname)
        dispatch.append(f"iifname {nftables.quoted(port.ifname)} jump {chain}")
        chains.append((chain, [
            f"ether saddr != {port.mac} drop",
            f"ether type arp arp saddr ether != {port.mac} drop",
            f"ether type arp arp saddr ip != {port.ip} drop",
            "ether type arp accept",
            f"ether type ip ip saddr {port.ip} accept",
            "ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp dport 67 accept",
            "drop",
        ]))
    return nftables.Table("bridge", table_name, (
        nftables.Chain("prerouting", tuple(dispatch), hook="prerouting"),
        *(nftables.Chain(chain, tuple(rules)) for chain, rules in chains),
    )).render()


def transaction(table_name: str, table: str | None) -> str:
    """One nft script replacing the table (or removing it when `table` is None)."""
    return nftables.transaction(table_name, None, family="bridge") + (table or "")


class SpoofGuard:
    """Keeps the anti-spoofing table equal to the host's ports (replaced only on change,
    and again every RESYNC_SECONDS in case someone flushed it)."""

    RESYNC_SECONDS = 30.0

    def __init__(self, table_name: str):
        self.table = table_name
        self._applied: str | None = None
        self._applied_at = 0.0

    def ensure(self, ports: list[PortIdentity]) -> bool:

        script = transaction(self.table, render(self.table, ports))
        if script == self._applied and time.monotonic() - self._applied_at < self.RESYNC_SECONDS:
            return False
        if not ports and self._applied is None and not nftables.table_exists(self.table, family="bridge"):
            self._applied, self._applied_at = script, time.monotonic()
            return False
        nftables.apply(script)
        self._applied, self._applied_at = script, time.monotonic()
        return True
