"""Security groups as one nftables table, built from typed pieces and replaced atomically.

Ports hang off Linux bridges. Bridged IPv4 goes through the inet family's forward
hook when br_netfilter is on for the bridge (the bridge family has no conntrack
on these kernels), where the in/out device is the bridge itself — so a port is
recognised by its bridge and its address (unique within a VPC, and one VPC has
one bridge). Each filtered port gets a chain per direction: established and
related traffic passes (stateful), then the port's allow rules, then drop.
Ingress is denied by default, egress allowed unless a group has egress rules.

The whole table is written in one `nft -f` transaction ("add, delete, define
again"), so a reader never sees half a ruleset.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass

from agent.network.base import Port, Rule

NFT = "nft"


@dataclass(frozen=True)
class Chain:
    name: str
    statements: tuple[str, ...]
    hook: str = ""                  # a base chain when set: "forward"
    kind: str = "filter"            # of a base chain: "filter" or "nat"
    priority: str = "filter"        # of a base chain: "filter", "dstnat", "srcnat"


@dataclass(frozen=True)
class Table:
    family: str
    name: str
    chains: tuple[Chain, ...]

    def render(self) -> str:
        lines = [f"table {self.family} {self.name} {{"]
        for chain in self.chains:
            lines.append(f"\tchain {chain.name} {{")
            if chain.hook:
                lines.append(f"\t\ttype {chain.kind} hook {chain.hook} priority {chain.priority}; policy accept;")
            lines.extend(f"\t\t{statement}" for statement in chain.statements)
            lines.append("\t}")
        lines.append("}")
        return "\n".join(lines) + "\n"


def quoted(name: str) -> str:
    return '"' + name + '"'


def _match(rule: Rule, peer: str) -> str | None:
    """The match part of one allow rule; None when it can match nothing."""
    parts = []
    if not rule.cidrs:
        return None
    if "0.0.0.0/0" not in rule.cidrs:
        parts.append(f"ip {peer} {{ {', '.join(rule.cidrs)} }}")
    if rule.protocol in ("tcp", "udp"):
        ports = str(rule.port_min) if rule.port_min == rule.port_max else f"{rule.port_min}-{rule.port_max}"
        parts.append(f"{rule.protocol} dport {ports}")
    elif rule.protocol == "icmp":
        parts.append("meta l4proto icmp")
    return " ".join(parts)


def _port_chain(name: str, rules: tuple[Rule, ...], peer: str) -> Chain:
    statements = ["ct state established,related accept", "ct state invalid drop"]
    for rule in rules:
        match = _match(rule, peer)
        if match is not None:
            statements.append(f"{match} accept".strip())
    statements.append("drop")
    return Chain(name, tuple(statements))


def chain_suffix(instance_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in instance_id)


def firewall(table_name: str, ports: list[Port], bridge_of) -> Table | None:
    """The table for `ports` (None when no port is filtered); `bridge_of(vni)` names bridges."""
    dispatch, chains = [], []
    for port in sorted(ports, key=lambda p: p.instance_id):
        if not port.filtered:
            continue
        bridge, suffix = quoted(bridge_of(port.vni)), chain_suffix(port.instance_id)
        dispatch.append(f"oifname {bridge} ip daddr {port.ip} jump in-{suffix}")
        chains.append(_port_chain(f"in-{suffix}", port.ingress, "saddr"))
        if port.egress_restricted:
            dispatch.append(f"iifname {bridge} ip saddr {port.ip} jump out-{suffix}")
            chains.append(_port_chain(f"out-{suffix}", port.egress, "daddr"))
    if not dispatch:
        return None
    return Table("inet", table_name, (Chain("forward", tuple(dispatch), hook="forward"), *chains))


def transaction(table_name: str, table: Table | None, family: str = "inet") -> str:
    """One nft script replacing the table (or removing it when `table` is None)."""
    script = f"add table {family} {table_name}\ndelete table {family} {table_name}\n"
    return script + (table.render() if table is not None else "")


def apply(script: str) -> None:
    """Run `script` as one nftables transaction; RuntimeError with nft's words when refused."""
    result = subprocess.run([NFT, "-f", "-"], input=script, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"nft refused the ruleset: {result.stderr.strip()}")


def table_exists(table_name: str, family: str = "inet") -> bool:
    result = subprocess.run([NFT, "list", "table", family, table_name], capture_output=True, text=True,
                            timeout=30)
    return result.returncode == 0
