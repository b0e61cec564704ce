"""The network control loop on the leader: give every VPC host the network it should have.

Level-triggered like the instance reconciler, and beside it rather than inside it:
each pass computes every host's network (scheduler/network/plan.py) and sends it
whole to the agent's AgentNetwork service when it changed, or every
`network_resync` seconds while the host has ports (so a restarted container is
plugged again and a hand-deleted bridge comes back). A host whose network became
empty gets one last call so that it removes what it has. Calls carry the leader's
term as the fencing token.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time

import grpc

from proto.v1 import agent_pb2, floating_pb2, networks_pb2, networks_pb2_grpc
from scheduler.leader.leader_loop import LeaderLoop
from scheduler.network.plan import host_network, sandboxes
from scheduler.state import records as r

log = logging.getLogger(__name__)


RESYNC_SECONDS = 5.0


def request_pb(plan: dict, fence: agent_pb2.Fence) -> networks_pb2.EnsureHostNetworkRequest:
    return networks_pb2.EnsureHostNetworkRequest(
        fence=fence,
        segments=[networks_pb2.VpcSegment(
            vni=s["vni"], mtu=s["mtu"], remote_vteps=s["remote_vteps"],
            remote_ports=[networks_pb2.RemotePort(mac=mac, vtep=vtep) for mac, vtep in s["remote_ports"]])
            for s in plan["segments"]],
        ports=[networks_pb2.PortBinding(
            instance_id=p["instance_id"], vni=p["vni"], mac=p["mac"], ip=p["ip"],
            prefix_len=p["prefix_len"], gateway=p["gateway"], mtu=p["mtu"], filtered=p["filtered"],
            ingress=[networks_pb2.FirewallRule(**rule) for rule in p["ingress"]],
            egress=[networks_pb2.FirewallRule(**rule) for rule in p["egress"]],
            egress_restricted=p["egress_restricted"]) for p in plan["ports"]],
        gateways=[floating_pb2.VpcGateway(
            vni=g["vni"], cidr=g["cidr"], addresses=g["addresses"],
            floating=[floating_pb2.FloatingBinding(address=a, ip=ip) for a, ip in g["floating"]])
            for g in plan.get("gateways", ())])


class NetworkReconciler(LeaderLoop):
    def __init__(self, store, agents, config, resync: float = RESYNC_SECONDS):
        super().__init__(store, config, "network-reconciler", workers=8)
        self.agents = agents
        self.resync = resync
        self._synced: dict[str, tuple[str, float]] = {}     # host id -> (digest, when)
        self._term = 0
        self._busy: set[str] = set()
        self._again: set[str] = set()       # hosts that changed while a call to them was running
        self._lock = threading.Lock()

    def reconcile(self, term: int) -> None:
        if term != self._term:
            # Another leader may have changed hosts meanwhile: trust nothing remembered.
            self._synced.clear()
            self._term = term
        with self.store.read_lock:
            state = self.store.read()
            work = []
            for host in state.hosts.values():
                if host.get("state") != r.HOST_UP or not host.get("vtep"):
                    continue
                plan = host_network(state, host["id"])
                trigger = json.dumps([plan, sandboxes(state, host["id"])], sort_keys=True)
                work.append((dict(host), plan, hashlib.sha256(trigger.encode()).hexdigest()))
        now = time.monotonic()
        for host, plan, digest in work:
            last_digest, last_time = self._synced.get(host["id"], ("", 0.0))
            wanted = plan["segments"] or plan["ports"] or plan.get("gateways")
            if digest == last_digest and (not wanted or now - last_time < self.resync):
                continue
            with self._lock:
                if host["id"] in self._busy:
                    self._again.add(host["id"])
                    continue
                self._busy.add(host["id"])
            self._pool.submit(self._ensure_guarded, host, plan, digest, term)

    def _ensure_guarded(self, host: dict, plan: dict, digest: str, term: int) -> None:
        try:
            stub = networks_pb2_grpc.AgentNetworkStub(self.agents.channel(host))
            fence = agent_pb2.Fence(term=term, leader=self.config.name)
            status = stub.EnsureHostNetwork(request_pb(plan, fence), timeout=self.config.agent_call_timeout)
            for failure in status.failed:
                log.warning("host %s: port %s", host["name"], failure)
            # A port waiting for its container is retried on the next pass, not after the resync.
            self._synced[host["id"]] = (digest if not status.waiting and not status.failed else "",
                                        time.monotonic())
        except grpc.RpcError as err:
            log.info("host %s network: %s %s", host["name"], err.code().name, err.details())
        except Exception:  # noqa: BLE001
            log.exception("network of host %s failed", host["name"])
        finally:
            with self._lock:
                self._busy.discard(host["id"])
                if host["id"] in self._again:
                    # It changed meanwhile: a pass now, not at the next interval.
                    self._again.discard(host["id"])
                    self._wake.set()
