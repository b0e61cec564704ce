"""Egress NAT and floating IPs of a gateway host, as one nftables table (pure builders).

On a VPC's gateway host the VPC bridge carries each subnet's gateway address, so
the VPC's ports route through this host. Traffic from the bridge leaving by the
underlay interface is source-NATed to the host's underlay address (its VTEP: what
the outside sees); a port with a floating IP is source-NATed to that address
instead, and the floating address is destination-NATed to the port. One table
`ip thecloud_nat_<agent>`, replaced whole in one `nft -f` transaction.

The VPCs of one gateway host never overlap (the state machine refuses it), so the
host's main routing table reaches every one of them without per-VPC tables.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from agent.network import nftables
from common.errors import InvalidArgument


@dataclass(frozen=True)
class Gateway:
    """What the gateway host does for one VPC."""

    vni: int
    cidr: str
    addresses: tuple[str, ...] = ()                  # "gateway/prefix" per subnet
    floating: tuple[tuple[str, str], ...] = ()       # (floating address, port address)


def from_proto(messages, vnis: set[int]) -> tuple[Gateway, ...]:
    """Checked gateways of an EnsureHostNetwork request (InvalidArgument naming the field)."""
    found, seen_floating = [], set()
    for msg in messages:
        if msg.vni not in vnis:
            raise InvalidArgument("gateways.vni", f"gateway of VNI {msg.vni} without a segment")
        try:
            cidr = str(ipaddress.IPv4Network(msg.cidr))
            addresses = tuple(str(ipaddress.IPv4Interface(a)) for a in msg.addresses)
        except ValueError as err:
            raise InvalidArgument("gateways.addresses", str(err)) from None
        floating = []
        for binding in msg.floating:
            try:
                pair = (str(ipaddress.IPv4Address(binding.address)), str(ipaddress.IPv4Address(binding.ip)))
            except ValueError as err:
                raise InvalidArgument("gateways.floating", str(err)) from None
            if pair[0] in seen_floating:
                raise InvalidArgument("gateways.floating", f"{pair[0]} is bound twice")
            seen_floating.add(pair[0])
            floating.append(pair)
        found.append(Gateway(msg.vni, cidr, addresses, tuple(sorted(floating))))
    return tuple(sorted(found, key=lambda g: g.vni))


def render(table_name: str, gateways: tuple[Gateway, ...], bridge_of, uplink: str, vtep: str) -> str | None:
    """The NAT table for `gateways` (None when there are none).

    `bridge_of(vni)` names bridges, `uplink` is the underlay interface, `vtep` its address.
    """
    if not gateways:
        return None
    out, prerouting, postrouting = nftables.quoted(uplink), [], []
    for gateway in gateways:
        bridge = nftables.quoted(bridge_of(gateway.vni))
        for address, ip in gateway.floating:
            # Inbound from anywhere but the VPC itself; the reply is un-NATed by conntrack.
            prerouting.append(f"iifname != {bridge} ip daddr {address} dnat to {ip}")
            postrouting.append(f"iifname {bridge} oifname {out} ip saddr {ip} snat to {address}")
        postrouting.append(f"iifname {bridge} oifname {out} ip saddr {gateway.cidr} snat to {vtep}")
    return nftables.Table("ip", table_name, (
        nftables.Chain("prerouting", tuple(prerouting), hook="prerouting", kind="nat", priority="dstnat"),
        nftables.Chain("postrouting", tuple(postrouting), hook="postrouting", kind="nat", priority="srcnat"),
    )).render()


def transaction(table_name: str, table: str | None) -> str:
    """One nft script replacing the table (or removing it when `table` is None)."""
    return nftables.transaction(table_name, None, family="ip") + (table or "")
