"""thecloud-scheduler: one scheduler node.

Process layout: this process serves gRPC (public API, node API, health,
reflection) and runs the reconciler; it never forks. The Raft node runs in a
child process it spawns (scheduler.store.process), which forks to write
snapshots — safe there because no gRPC lives in it.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from common.config import ConfigError, render_sample
from common.grpcserve import MIB, make_server, serve_health_and_reflection
from common.logs import setup_logging
from common.tls import TlsFiles
from proto.v1 import networks_pb2_grpc, node_pb2_grpc, placement_pb2_grpc, public_pb2_grpc
from proto.v1 import volumes_pb2_grpc
from proto.v1 import evacuate_pb2_grpc
from scheduler.agents import AgentClients
from scheduler.api.cluster import ClusterServicer
from scheduler.api.hosts import HostsServicer
from scheduler.api.instances import InstancesServicer
from scheduler.api.images import ImagesServicer, MachinesServicer
from proto.v1 import images_pb2_grpc
from scheduler.api.networks import NetworksServicer
from scheduler.api.floating import FloatingIpsServicer
from proto.v1 import floating_pb2_grpc
from scheduler.api.placement import PlacementServicer
from scheduler.api.evacuations import EvacuationsServicer
from scheduler.leader.evacuation import Evacuator
from scheduler.api.node import NodeServicer
from scheduler.api.volumes import SnapshotsServicer, VolumesServicer
from scheduler.config import SchedulerConfig, load_config
from scheduler.proposer import Proposer
from scheduler.network.reconciler import NetworkReconciler
from scheduler.leader.reconciler import Reconciler
from scheduler.leader.volume_reconciler import VolumeReconciler
from scheduler.ops import SERVICES as OPS_SERVICES, SchedulerOps
from scheduler.iam_wiring import SERVICES as IAM_SERVICES, SchedulerIam
from scheduler.store.client import RaftStore

log = logging.getLogger("thecloud.scheduler")

MACHINE = "scheduler.state.machine:ClusterState"
SERVICES = ["thecloud.v1.Cluster", "thecloud.v1.Hosts", "thecloud.v1.Instances", "thecloud.v1.Node",
            "thecloud.v1.Networks", "thecloud.v1.Placement", "thecloud.v1.Volumes", "thecloud.v1.Snapshots",
            "thecloud.v1.Images", "thecloud.v1.Machines", "thecloud.v1.FloatingIps",
            "thecloud.v1.Evacuations"]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="thecloud-scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("/etc/thecloud/scheduler.toml"))
    parser.add_argument("--name")
    parser.add_argument("--listen")
    parser.add_argument("--data-dir", dest="data_dir", type=Path)
    parser.add_argument("--log-level", dest="log_level")
    parser.add_argument("command", nargs="?", choices=["run", "sample-config"], default="run")
    return parser.parse_args(argv)


def read_secret(path: Path) -> str:
    secret = Path(path).read_text().strip()
    if len(secret) < 16:
        raise ConfigError(f"{path}: the cluster secret must be at least 16 characters")
    return secret


def build_store(config: SchedulerConfig) -> RaftStore:
    me = config.me()
    peers = [m.raft for m in config.member_list() if m.name != me.name]
    return RaftStore(machine=MACHINE, self_address=me.raft, peers=peers,
                     data_dir=Path(config.data_dir) / "raft", password=read_secret(config.secret_file))


def build_node_server(config: SchedulerConfig, tls: TlsFiles, node_servicer, interceptors):
    """The node API on `node_listen` with workers of its own, so that no user traffic
    on the public API (streams, slow calls) can delay a join or a heartbeat."""
    if not config.node_listen:
        return None
    server = make_server(config.node_listen, tls, max_workers=config.node_workers, interceptors=interceptors,
                         max_message_bytes=config.node_max_message_mb * MIB, name="node-api")
    node_pb2_grpc.add_NodeServicer_to_server(node_servicer, server)
    serve_health_and_reflection(server, ["thecloud.v1.Node"])
    return server


def run(config: SchedulerConfig) -> int:
    tls = TlsFiles.in_dir(config.tls_dir, config.name)
    # The Raft child is spawned before any gRPC object exists in this process.
    store = build_store(config)
    store.start()
    ops = SchedulerOps(config, store, tls, read_secret(config.secret_file))
    proposer = Proposer(ops.timed(store))
    agents = AgentClients(tls)
    iam = SchedulerIam(config, store, proposer)   # authn, authz and audit of every call
    ops.metrics.watch_iam(iam)
    # Each open stream holds a worker of the synchronous server: the pool has room for
    # every stream the limiter admits plus the unary workers.
    server = make_server(config.listen, tls, max_workers=config.api_workers + config.streams_total,
                         interceptors=ops.interceptors + iam.interceptors,
                         max_message_bytes=config.api_max_message_mb * MIB, name="api")
    public_pb2_grpc.add_ClusterServicer_to_server(ClusterServicer(store, config, tls), server)
    public_pb2_grpc.add_HostsServicer_to_server(HostsServicer(store, config), server)
    public_pb2_grpc.add_InstancesServicer_to_server(InstancesServicer(store, proposer, agents, config), server)
    node_servicer = NodeServicer(store, proposer, config, ops.signer)
    node_pb2_grpc.add_NodeServicer_to_server(node_servicer, server)   # agents without node_listen
    node_server = build_node_server(config, tls, node_servicer, ops.interceptors + iam.interceptors)
    networks_pb2_grpc.add_NetworksServicer_to_server(NetworksServicer(store, proposer), server)
    floating_pb2_grpc.add_FloatingIpsServicer_to_server(FloatingIpsServicer(store, proposer, config), server)
    placement_pb2_grpc.add_PlacementServicer_to_server(PlacementServicer(store, proposer, config), server)
    evacuate_pb2_grpc.add_EvacuationsServicer_to_server(EvacuationsServicer(store, proposer, config), server)
    volumes_pb2_grpc.add_VolumesServicer_to_server(VolumesServicer(store, proposer, config), server)
    volumes_pb2_grpc.add_SnapshotsServicer_to_server(SnapshotsServicer(store, proposer, config), server)
    images_pb2_grpc.add_ImagesServicer_to_server(ImagesServicer(store, proposer), server)
    images_pb2_grpc.add_MachinesServicer_to_server(MachinesServicer(store, agents, config), server)
    ops.add_to_server(server, proposer)
    iam.add_to_server(server)
    serve_health_and_reflection(server, SERVICES + OPS_SERVICES + IAM_SERVICES)
    reconciler = Reconciler(store, proposer, agents, config)
    server.start()
    if node_server is not None:
        node_server.start()
    iam.start()
    reconciler.start()
    ops.start(reconciler)
    network_reconciler = NetworkReconciler(store, agents, config)
    network_reconciler.start()
    volume_reconciler = VolumeReconciler(store, proposer, agents, config)
    volume_reconciler.start()
    evacuator = Evacuator(store, proposer, config)     # runs hosts' evacuations on the leader
    evacuator.start()
    log.info("scheduler %s serving on %s (node API also on %s), raft on %s", config.name, config.listen,
             config.node_listen or "-", config.raft_address)

    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    stopping.wait()
    log.info("stopping")
    ops.stop()
    reconciler.stop()
    network_reconciler.stop()
    volume_reconciler.stop()
    evacuator.stop()
    server.stop(grace=2).wait()
    if node_server is not None:
        node_server.stop(grace=1).wait()
    iam.stop()
    agents.close()
    store.stop()
    return 0


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "sample-config":
        print(render_sample(SchedulerConfig), end="")
        return 0
    try:
        config = load_config(args.config, {"name": args.name, "listen": args.listen,
                                           "data_dir": args.data_dir, "log_level": args.log_level})
    except (ConfigError, OSError) as err:
        print(f"thecloud-scheduler: {err}", file=sys.stderr)
        return 2
    setup_logging(config.log_level, config.log_json)
    try:
        return run(config)
    except (ConfigError, OSError) as err:
        log.error("%s", err)
        return 1


if __name__ == "__main__":
    sys.exit(main())
