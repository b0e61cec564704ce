"""The Linux bridge network driver (pyroute2 + nftables).

Per VPC on this host: a bridge `tcb-<vni>` and a VXLAN device `tcx-<vni>` on it
(learning off; an all-zeros FDB entry per remote VTEP floods broadcast and
unknown traffic to the other hosts of the VPC, and a unicast entry per known
remote MAC sends the rest straight to its host). Per port: a veth pair whose host
end `tcv<hash>` sits on the bridge and whose other end becomes `eth0` inside the
instance's network namespace, with the port's MAC, address, MTU and gateway.

Everything it makes carries the alias `thecloud:<agent name>`, and it only ever
removes links with its own alias: several agents may share a machine (in
separate network namespaces, as the tests run them) without touching each
other's objects. One network agent per network namespace, though: bridge names
come from VNIs.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from agent.network import docker_forward, nftables
from agent.network.antispoof import PortIdentity, SpoofGuard
from agent.network.gateway import GatewayHost
from agent.network.base import HostNetwork, NetworkDriver, NetworkStatus, Port, Segment
from agent.network.netns import run_in_netns
from agent.network.vmtap import plug_tap

log = logging.getLogger(__name__)

VXLAN_PORT = 4789
FLOOD_MAC = "00:00:00:00:00:00"
RULES_RESYNC_SECONDS = 30.0
PREFIXES = ("tcb-", "tcx-", "tcv")


def bridge_name(vni: int) -> str:
    return f"tcb-{vni}"


def vxlan_name(vni: int) -> str:
    return f"tcx-{vni}"


def veth_names(instance_id: str) -> tuple[str, str]:
    """(host end, temporary name of the instance end): 15 characters, the kernel's limit."""
    digest = hashlib.sha256(instance_id.encode()).hexdigest()[:12]
    return f"tcv{digest}", f"tcn{digest}"


def table_name(agent_name: str) -> str:
    return "thecloud_" + "".join(c if c.isalnum() else "_" for c in agent_name)


class LinuxBridgeDriver(NetworkDriver):
    name = "linuxbridge"

    def __init__(self, agent_name: str, vtep: str):
        self.agent_name = agent_name
        self.vtep = vtep
        self.alias = f"thecloud:{agent_name}"
        self.table = table_name(agent_name)
        self._lock = threading.Lock()
        self._applied: str | None = None
        self._applied_at = 0.0
        self._spoof_guard = SpoofGuard(self.table)          # bridge family: same name, other family
        self._gateway = GatewayHost(agent_name, vtep)
        with IPRoute() as ipr:   # fails here, at start, when this process may not use netlink
            ipr.get_links()

    def fingerprint(self) -> list[str]:
        return [f"network:{self.name}"]

    # -- the one entry point ----------------------------------------------------

    def ensure(self, network: HostNetwork, sandbox_pid) -> NetworkStatus:
        status = NetworkStatus()
        with self._lock, IPRoute() as ipr:
            links = self._own_links(ipr)
            bridges = {}
            for segment in network.segments:
                bridges[segment.vni] = self._ensure_segment(ipr, segment, links)
            # Rules before NICs: a new filtered port is never reachable unfiltered,
            # and a new port never sends a spoofed frame.
            status.rules_replaced = self._ensure_rules(list(network.ports))
            self._spoof_guard.ensure([PortIdentity(name, p.mac, p.ip)
                                      for p in network.ports for name in self.host_ifnames(p)])
            try:   # a broken gateway must not keep the host's ports unplugged
                self._gateway.ensure(ipr, network.gateways, bridges,
                                     {n: i["index"] for n, i in links.items() if n.startswith("tcb-")}, bridge_name)
            except (NetlinkError, OSError, RuntimeError) as err:
                log.warning("gateway: %s", err)
                status.failed.append(f"gateway: {err}")
            wanted_veths = set()
            for port in network.ports:
                host_end, _ = veth_names(port.instance_id)
                wanted_veths.add(host_end)
                try:
                    if self._ensure_port(ipr, port, bridges[port.vni], links.get(host_end), sandbox_pid):
                        status.plugged.append(port.instance_id)
                    else:
                        status.waiting.append(port.instance_id)
                except (NetlinkError, OSError) as err:
                    log.warning("cannot plug %s: %s", port.instance_id, err,
                                extra={"instance_id": port.instance_id})
                    status.failed.append(f"{port.instance_id}: {err}")
            wanted = wanted_veths | {bridge_name(s.vni) for s in network.segments} \
                | {vxlan_name(s.vni) for s in network.segments}
            self._remove_unwanted(ipr, wanted)
        return status

    def ensure_bridge(self, segment: Segment) -> str:
        """The VPC's bridge (and VXLAN device) on this host, made now if missing: a VM's
        tap goes on it when the domain starts. FDB entries and rules follow with ensure()."""
        with self._lock, IPRoute() as ipr:
            links = self._own_links(ipr)
            if bridge_name(segment.vni) not in links or vxlan_name(segment.vni) not in links:
                self._ensure_segment(ipr, segment, links)
        return bridge_name(segment.vni)

    @staticmethod
    def host_ifnames(port: Port) -> tuple[str, ...]:
        """The host-side interface a port may have (anti-spoofing keys on it): a
        container's veth or a VM's tap; only one of them ever exists."""
        from agent.network.vmtap import tap_name
        return veth_names(port.instance_id)[0], tap_name(port.instance_id)

    # -- links ------------------------------------------------------------------

    def _own_links(self, ipr) -> dict[str, dict]:
        """This agent's links by name: {name: {"index", "master", "alias", "up"}}."""
        found = {}
        for link in ipr.get_links():
            name = link.get("ifname") or ""
            if not name.startswith(PREFIXES):
                continue
            found[name] = {"index": link["index"], "master": link.get("master"),
                           "alias": link.get("ifalias") or "", "mtu": link.get("mtu"),
                           "up": bool(link["flags"] & 1)}
        return {name: info for name, info in found.items() if info["alias"] == self.alias}

    def _create(self, ipr, name: str, **kind) -> int:
        # EEXIST is raised as it is: a link of that name without our alias is not ours to take.
        ipr.link("add", ifname=name, **kind)
        index = ipr.link_lookup(ifname=name)[0]
        ipr.link("set", index=index, ifalias=self.alias)
        return index

    def _ensure_segment(self, ipr, segment: Segment, links: dict) -> int:
        bridge, vxlan = bridge_name(segment.vni), vxlan_name(segment.vni)
        if bridge in links:
            bridge_index = links[bridge]["index"]
        else:
            bridge_index = self._create(ipr, bridge, kind="bridge", br_nf_call_iptables=1)
            docker_forward.accept_vpc_bridges("tcb-")   # Docker's FORWARD DROP would see its frames
            log.info("created bridge %s for VNI %d", bridge, segment.vni)
        if vxlan in links:
            vxlan_index = links[vxlan]["index"]
        else:
            vxlan_index = self._create(ipr, vxlan, kind="vxlan", vxlan_id=segment.vni, vxlan_local=self.vtep,
                                       vxlan_port=VXLAN_PORT, vxlan_learning=0)
            log.info("created VXLAN device %s (local %s)", vxlan, self.vtep)
        if not links.get(vxlan, {}).get("up") or links[vxlan]["master"] != bridge_index \
                or links[vxlan]["mtu"] != segment.mtu:
            ipr.link("set", index=vxlan_index, mtu=segment.mtu, master=bridge_index, state="up")
        if not links.get(bridge, {}).get("up") or links[bridge]["mtu"] != segment.mtu:
            ipr.link("set", index=bridge_index, mtu=segment.mtu, state="up")
        self._ensure_fdb(ipr, vxlan_index, segment)
        return bridge_index

    def _ensure_fdb(self, ipr, vxlan_index: int, segment: Segment) -> None:
        wanted = {(FLOOD_MAC, vtep) for vtep in segment.remote_vteps} | set(segment.remote_ports)
        present = set()
        for entry in ipr.fdb("dump", ifindex=vxlan_index):
            if entry.get("ifindex") != vxlan_index:
                continue
            mac, dst = entry.get("NDA_LLADDR"), entry.get("NDA_DST")
            if mac and dst:
                present.add((mac, dst))
        for mac, dst in sorted(present - wanted):
            ipr.fdb("del", ifindex=vxlan_index, lladdr=mac, dst=dst)
        # Flood entries first: unicast entries for a MAC may only be added once the VTEP is known.
        for mac, dst in sorted(wanted - present, key=lambda e: (e[0] != FLOOD_MAC, e)):
            ipr.fdb("append", ifindex=vxlan_index, lladdr=mac, dst=dst)

    def _ensure_port(self, ipr, port: Port, bridge_index: int, link: dict | None, sandbox_pid) -> bool:
        """Whether the NIC is in place (False: the instance has no running sandbox yet)."""
        host_end, instance_end = veth_names(port.instance_id)
        if link is not None:
            if link["master"] != bridge_index or not link["up"]:
                ipr.link("set", index=link["index"], master=bridge_index, state="up")
            return True
        if plug_tap(ipr, port.instance_id, bridge_index, port.mtu):   # a VM: libvirt made its NIC
            return True
        pid = sandbox_pid(port.instance_id)
        if not pid:
            return False
        index = self._create(ipr, host_end, kind="veth", peer={"ifname": instance_end})
        try:
            peer = ipr.link_lookup(ifname=instance_end)[0]
            ipr.link("set", index=index, mtu=port.mtu, master=bridge_index, state="up")
            ipr.link("set", index=peer, mtu=port.mtu)
            ipr.link("set", index=peer, net_ns_pid=pid)
            self._configure_inside(pid, instance_end, port)
        except Exception:
            # Nothing half-made: deleting the host end deletes its peer wherever it went.
            try:
                ipr.link("del", index=index)
            except NetlinkError:
                pass
            raise
        log.info("plugged %s into %s (%s/%d)", port.instance_id, bridge_name(port.vni), port.ip,
                 port.prefix_len, extra={"instance_id": port.instance_id})
        return True

    @staticmethod
    def _configure_inside(pid: int, name: str, port: Port) -> None:
        def configure() -> None:
            with IPRoute() as inside:
                index = inside.link_lookup(ifname=name)[0]
                inside.link("set", index=index, ifname="eth0", address=port.mac, mtu=port.mtu, state="up")
                loopback = inside.link_lookup(ifname="lo")
                if loopback:
                    inside.link("set", index=loopback[0], state="up")
                inside.addr("add", index=index, address=port.ip, prefixlen=port.prefix_len)
                if port.gateway:
                    inside.route("add", dst="0.0.0.0/0", gateway=port.gateway, oif=index)
        run_in_netns(f"/proc/{pid}/ns/net", configure)

    def _remove_unwanted(self, ipr, wanted: set[str]) -> None:
        # Ports first, then VXLAN devices, then the bridges they hang on.
        links = self._own_links(ipr)
        for prefix in ("tcv", "tcx-", "tcb-"):
            for name, info in links.items():
                if name.startswith(prefix) and name not in wanted:
                    try:
                        ipr.link("del", index=info["index"])
                        log.info("removed %s", name)
                    except NetlinkError as err:
                        if err.code != 19:   # ENODEV: gone with its namespace meanwhile
                            raise

    # -- firewall -----------------------------------------------------------------

    def _ensure_rules(self, ports: list[Port]) -> bool:
        table = nftables.firewall(self.table, ports, bridge_name)
        script = nftables.transaction(self.table, table)
        fresh = time.monotonic() - self._applied_at < RULES_RESYNC_SECONDS
        if script == self._applied and fresh:
            return False
        if table is None and self._applied is None and not nftables.table_exists(self.table):
            self._applied, self._applied_at = script, time.monotonic()
            return False
        nftables.apply(script)
        self._applied, self._applied_at = script, time.monotonic()
        return True
