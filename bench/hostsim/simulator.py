"""The host simulator: many simulated agents in one asyncio loop.

    python -m bench.hostsim.simulator --ca-dir CA --schedulers A,B,C --count 500 \
        --listen 127.0.0.1:PORT [--zones 3 --racks 10 --prefix sim]

Every host joins through the node API with its own certificate, heartbeats at the
interval the cluster asks for (spread over time), and reports what its
accounting-only driver "runs". One Agent API server serves every host; calls say
which host they mean (`host_id`), as the reconciler's do.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from bench.hostsim.certs import issue_many
from common.tls import ROLE_DOMAIN, SCHEDULER_NAME
from proto.v1 import agent_pb2, agent_pb2_grpc, node_pb2, node_pb2_grpc, resources_pb2 as pb

log = logging.getLogger("hostsim")

IMAGE = "thecloud/busybox:test"
GiB = 1024**3
RUNNING = pb.INSTANCE_STATE_RUNNING
STOPPED = pb.INSTANCE_STATE_STOPPED


@dataclass
class SimulatedHost:
    """One simulated agent: its identity, capacity, labels and what its driver accounts."""

    name: str
    labels: dict
    vcpus: int = 64
    memory_bytes: int = 256 * GiB
    disk_bytes: int = 2048 * GiB
    host_id: str = ""
    highest_term: int = 0
    instances: dict = field(default_factory=dict)    # instance id -> ObservedInstance
    stub: object = None
    beats: int = 0

    def observed(self) -> list:
        return list(self.instances.values())


class AccountingDriver:
    """Pretends to run instances: an ensure is RUNNING (or STOPPED) at once."""

    @staticmethod
    def ensure(host: SimulatedHost, request) -> node_pb2.ObservedInstance:
        now = int(time.time() * 1000)
        state = RUNNING if request.desired_state == "running" else STOPPED
        current = host.instances.get(request.instance_id)
        if current is not None and current.state == state:
            return current
        observed = node_pb2.ObservedInstance(instance_id=request.instance_id, state=state,
                                             runtime_id=f"sim-{request.instance_id}",
                                             started_at_ms=now if state == RUNNING else 0,
                                             finished_at_ms=now if state == STOPPED else 0)
        host.instances[request.instance_id] = observed
        return observed

    @staticmethod
    def remove(host: SimulatedHost, instance_id: str) -> bool:
        return host.instances.pop(instance_id, None) is not None


class SimulatedAgents(agent_pb2_grpc.AgentServicer):
    """The Agent API for every simulated host at once."""

    def __init__(self, hosts: dict[str, SimulatedHost]):
        self.by_id = hosts          # host id -> host (filled as hosts join)
        self.driver = AccountingDriver()
        self.calls = 0

    async def _host(self, host_id: str, context) -> SimulatedHost:
        self.calls += 1
        host = self.by_id.get(host_id)
        if host is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"no simulated host {host_id!r}")
        return host

    async def _fence(self, host: SimulatedHost, fence, context) -> None:
        if fence.term < host.highest_term:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                f"term {fence.term} is older than {host.highest_term}")
        host.highest_term = fence.term

    async def EnsureInstance(self, request, context):
        host = await self._host(request.host_id, context)
        await self._fence(host, request.fence, context)
        return self.driver.ensure(host, request)

    async def RemoveInstance(self, request, context):
        host = await self._host(request.host_id, context)
        await self._fence(host, request.fence, context)
        return agent_pb2.RemoveInstanceResponse(existed=self.driver.remove(host, request.instance_id))

    async def ListInstances(self, request, context):
        host = await self._host(request.host_id, context)
        return agent_pb2.ListAgentInstancesResponse(instances=host.observed())

    async def InstanceLogs(self, request, context):
        return agent_pb2.AgentInstanceLogsResponse(data=b"")    # nothing runs, nothing prints

    async def GetInfo(self, request, context):
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "a simulator has no single host")


def fleet(count: int, zones: int, racks: int, prefix: str) -> list[SimulatedHost]:
    """Hosts named <prefix>-00001…, spread over zones z1… and racks r01… (racks within zones)."""
    hosts = []
    for i in range(count):
        zone = f"z{i % zones + 1}" if zones else None
        rack = f"r{(i // max(zones, 1)) % racks + 1:02d}" if racks else None
        labels = {k: v for k, v in (("zone", zone), ("rack", rack)) if v}
        if i % 10 == 0:
            labels["gpu"] = "a100"
        hosts.append(SimulatedHost(name=f"{prefix}-{i + 1:05d}", labels=labels))
    return hosts


class Simulator:
    def __init__(self, ca_dir: Path, schedulers: list[str], hosts: list[SimulatedHost], listen: str,
                 cert_cache: Path):
        self.ca_dir = Path(ca_dir)
        self.schedulers = schedulers
        self.hosts = hosts
        self.listen = listen
        self.cert_cache = cert_cache
        self.agents = SimulatedAgents({})
        self.interval = 1.0
        self.joined = 0
        self.failures = 0

    async def run(self, stop: asyncio.Event) -> None:
        ca = (self.ca_dir / "ca.crt").read_bytes()
        certs = issue_many(self.ca_dir, self.cert_cache, [h.name for h in self.hosts])
        # One server plays every host's agent: the leader dials each host by its role
        # name (<host>.agent.thecloud.internal), which a wildcard name covers.
        certs.update(issue_many(self.ca_dir, self.cert_cache, ["hostsim"],
                                sans=("127.0.0.1", "localhost", f"*.agent.{ROLE_DOMAIN}")))
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 << 20)])
        agent_pb2_grpc.add_AgentServicer_to_server(self.agents, server)
        cert, key = certs["hostsim"]
        server.add_secure_port(self.listen, grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=True))
        await server.start()
        for n, host in enumerate(self.hosts):
            cert, key = certs[host.name]
            target = self.schedulers[n % len(self.schedulers)]
            channel = grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(ca, key, cert),
                                              options=[("grpc.ssl_target_name_override", SCHEDULER_NAME)])
            host.stub = node_pb2_grpc.NodeStub(channel)
        joins = asyncio.Semaphore(64)
        await asyncio.gather(*(self._join(h, joins) for h in self.hosts))
        log.info("%d hosts joined", self.joined)
        beaters = [asyncio.ensure_future(self._beat_forever(h, stop)) for h in self.hosts]
        await stop.wait()
        for task in beaters:
            task.cancel()
        await server.stop(1)

    async def _join(self, host: SimulatedHost, joins: asyncio.Semaphore) -> None:
        async with joins:
            for attempt in range(30):
                try:
                    reply = await host.stub.Join(node_pb2.JoinRequest(
                        host_name=host.name, address=self.listen,
                        capacity=pb.Resources(vcpus=host.vcpus, memory_bytes=host.memory_bytes,
                                              disk_bytes=host.disk_bytes),
                        drivers=["compute:docker"], labels=host.labels, agent_version="hostsim",
                        images=[IMAGE]), timeout=10)
                except grpc.aio.AioRpcError as err:
                    log.debug("join %s: %s", host.name, err.code().name)
                    await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt))
                    continue
                host.host_id = reply.host_id
                self.agents.by_id[host.host_id] = host
                self.interval = max(self.interval, reply.heartbeat_interval_ms / 1000)
                self.joined += 1
                return

    async def _beat_forever(self, host: SimulatedHost, stop: asyncio.Event) -> None:
        await asyncio.sleep(random.uniform(0, self.interval))
        while not stop.is_set():
            used = sum(1 for o in host.instances.values() if o.state == RUNNING)
            try:
                reply = await host.stub.Heartbeat(node_pb2.HeartbeatRequest(
                    host_id=host.host_id,
                    usage=pb.Usage(cpu_percent=min(100.0, used * 2.0), memory_total_bytes=host.memory_bytes,
                                   memory_used_bytes=used * 256 * 1024**2, disk_total_bytes=host.disk_bytes),
                    capacity=pb.Resources(vcpus=host.vcpus, memory_bytes=host.memory_bytes,
                                          disk_bytes=host.disk_bytes),
                    instances=host.observed(), images=[IMAGE]), timeout=10)
                host.beats += 1
                self.interval = reply.heartbeat_interval_ms / 1000 or self.interval
            except grpc.aio.AioRpcError as err:
                self.failures += 1
                log.debug("heartbeat %s: %s %s", host.name, err.code().name, err.details())
            await asyncio.sleep(self.interval * random.uniform(0.9, 1.1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="hostsim", description=__doc__.splitlines()[0])
    parser.add_argument("--ca-dir", type=Path, required=True, help="directory with ca.crt and ca.key")
    parser.add_argument("--schedulers", required=True, help="scheduler API addresses, comma-separated")
    parser.add_argument("--listen", required=True, help="Agent API address, e.g. 127.0.0.1:7400")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--zones", type=int, default=3)
    parser.add_argument("--racks", type=int, default=10)
    parser.add_argument("--prefix", default="sim")
    parser.add_argument("--cert-cache", type=Path, default=Path(".cache/hostsim"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s hostsim %(message)s")
    sim = Simulator(args.ca_dir, args.schedulers.split(","), fleet(args.count, args.zones, args.racks, args.prefix),
                    args.listen, args.cert_cache)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await sim.run(stop)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
