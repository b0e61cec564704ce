"""thecloud-agent: the daemon every host runs.

    thecloud-agent [--config FILE] [--name NAME] [--listen HOST:PORT] [--advertise HOST:PORT]
                   [--data-dir DIR] [--tls-dir DIR] [--schedulers A,B,C] [--log-level LEVEL]
    thecloud-agent sample-config
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from grpc_health.v1 import health_pb2

from agent.authz import SchedulerOnlyInterceptor
from agent.compute.base import ComputeDriver
from agent import enroll
from agent.config import DEFAULT_PATH, AgentConfig, load_config
from agent.metrics import AgentMetrics
from common.metricsserve import serve_metrics
from agent.fencing import TermFence
from agent.heartbeat import Heartbeat, SchedulerLink
from agent.denylist import FILE_NAME as DENY_LIST_FILE, DenyList
from agent.renewal import CertificateRenewal
from agent.journal import Journal, JournalBusy
from agent.network.select import network_driver
from agent.network_servicer import AgentNetworkServicer
from agent.servicer import AgentServicer
from agent.machines import AgentMachinesServicer
from proto.v1 import images_pb2_grpc
from agent.storage.base import StorageError
from agent.storage.select import host_volumes
from agent.volume_servicer import AgentVolumesServicer, vm_disk_grower
from agent.usage import HostUsage
from agent.version import agent_version
from common.config import ConfigError, render_sample
from common.errors import CloudError
from common.grpcserve import MIB, make_server, serve_health_and_reflection
from common.logs import setup_logging
from common.renewal import adopt_bundle
from common.tls import TlsFiles
from proto.v1 import agent_pb2, agent_pb2_grpc, networks_pb2_grpc, node_pb2, volumes_pb2_grpc

log = logging.getLogger("agent")

AGENT_SERVICE = agent_pb2.DESCRIPTOR.services_by_name["Agent"].full_name
SHUTDOWN_GRACE = 5.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thecloud-agent", description="thecloud host agent")
    parser.add_argument("command", nargs="?", choices=("run", "sample-config", "enroll"), default="run",
                        help="run the daemon (default), print a sample config file, or enroll "
                             "(get this host's certificate with a join token; see agent/enroll.py)")
    parser.add_argument("--config", type=Path, help=f"TOML config file (default {DEFAULT_PATH} if it exists)")
    parser.add_argument("--name", help="this host's name in the cluster")
    parser.add_argument("--listen", help="address the Agent API listens on (host:port)")
    parser.add_argument("--advertise", help="address the schedulers dial (host:port)")
    parser.add_argument("--data-dir", dest="data_dir", help="where the journal lives")
    parser.add_argument("--tls-dir", dest="tls_dir", help="directory with ca.crt, <name>.crt, <name>.key")
    parser.add_argument("--schedulers", help="comma-separated scheduler API addresses")
    parser.add_argument("--log-level", dest="log_level", help="debug, info, warning or error")
    enrolling = parser.add_argument_group("enroll")
    enrolling.add_argument("--token", help="join token from `cloud cluster join-token` (visible in the "
                           "process list: prefer --token-file or THECLOUD_JOIN_TOKEN)")
    enrolling.add_argument("--token-file", dest="token_file",
                           help="read the join token from this file, or from stdin if '-'")
    enrolling.add_argument("--scheduler", help="a scheduler's enrollment endpoint (host:port)")
    enrolling.add_argument("--ca-fingerprint", dest="ca_fingerprint", help="sha256:HEX of the cluster CA")
    enrolling.add_argument("--address", action="append", help="an IP or DNS name to check the certificate "
                           "will carry (repeatable; the join token decides: enrollment is refused if "
                           "one is not among the token's)")
    enrolling.add_argument("--force", action="store_true", help="enroll again even if a certificate exists")
    return parser


def _compute_driver(config: AgentConfig) -> ComputeDriver:
    from agent.compute.select import compute_driver
    return compute_driver(config)


def _fail(message: str, code: int = 1) -> int:
    print(f"thecloud-agent: {message}", file=sys.stderr)
    return code


def run(config: AgentConfig) -> int:
    tls = TlsFiles.in_dir(config.tls_dir, config.name)
    if not tls.exists():
        return _fail(f"missing TLS files for {config.name!r}: need {tls.ca}, {tls.cert} and {tls.key}", 2)
    try:
        journal = Journal(config.data_dir)
    except JournalBusy as err:
        return _fail(str(err))
    try:
        driver = _compute_driver(config)
    except CloudError as err:
        journal.close()
        return _fail(str(err))

    usage = HostUsage(config.data_dir, config.capacity_vcpus, config.memory_bytes, config.disk_bytes)
    fence = TermFence(journal)
    try:
        volumes = host_volumes(config)
    except StorageError as err:
        driver.close()
        journal.close()
        return _fail(f"storage driver {config.storage_driver}: {err}")
    if volumes is not None:
        volumes.vm_grow = vm_disk_grower(driver)
    servicer = AgentServicer(config.name, journal, driver, fence, usage, volumes=volumes)
    servicer.instances.adopt()
    metrics = AgentMetrics(config.name)
    metrics.watch(usage, servicer.instances, fence)

    deny = DenyList(Path(config.data_dir) / DENY_LIST_FILE)
    try:
        # Innermost, so the metrics count refused calls too; callers: schedulers only.
        server = make_server(config.listen, tls,
                             interceptors=metrics.interceptors + [SchedulerOnlyInterceptor(deny=deny)],
                             max_message_bytes=16 * MIB, name="agent-api")
    except OSError as err:
        driver.close()
        journal.close()
        return _fail(str(err))
    agent_pb2_grpc.add_AgentServicer_to_server(servicer, server)
    images_pb2_grpc.add_AgentMachinesServicer_to_server(AgentMachinesServicer(driver, fence), server)
    if volumes is not None:
        volumes_pb2_grpc.add_AgentVolumesServicer_to_server(AgentVolumesServicer(volumes, fence), server)
    network = network_driver(config)
    servicer.network = network          # a VM's NIC: its VPC bridge first, then the domain
    if network is not None:
        networks_pb2_grpc.add_AgentNetworkServicer_to_server(AgentNetworkServicer(network, driver, fence), server)
    health = serve_health_and_reflection(server, [AGENT_SERVICE])
    server.start()
    serve_metrics(config.metrics_listen, metrics.registry, config.metrics_access())

    def join_request() -> node_pb2.JoinRequest:
        return node_pb2.JoinRequest(
            host_name=config.name, address=config.advertise_address, capacity=usage.capacity(),
            drivers=driver.fingerprint(), labels=config.labels, agent_version=agent_version(),
            images=driver.images(), vtep=config.vtep if network is not None else "")

    def on_trust(ca_pem: bytes, renew: bool) -> None:
        """A CA rotation (`cloud cluster rotate-ca`): trust the cluster's bundle, renew when asked."""
        try:
            if ca_pem and adopt_bundle(tls, ca_pem):
                heartbeat.link.reset()
                renewal.link.reset()
        except ValueError as err:
            log.warning("trust bundle refused: %s", err)
        if renew:
            renewal.request_now()

    heartbeat = Heartbeat(SchedulerLink(config.node_api_addresses, tls), journal, usage,
                          servicer.instances.observe_all, driver.images, join_request,
                          config.heartbeat_interval, on_trust=on_trust, deny=deny)
    renewal = CertificateRenewal(config.name, tls, SchedulerLink(config.node_api_addresses, tls),
                                 heartbeat.link.reset)
    heartbeat.start()
    if config.schedulers:
        renewal.start()
    log.info("agent %s %s serving on %s (advertised %s), schedulers: %s", config.name,
             agent_version(), config.listen, config.advertise_address,
             ", ".join(config.node_api_addresses) or "none")

    stopping = threading.Event()

    def on_signal(signum, frame):
        log.info("received %s; shutting down", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping.wait(1.0):
        pass

    health.enter_graceful_shutdown()
    heartbeat.stop()
    renewal.stop()
    server.stop(SHUTDOWN_GRACE).wait()
    heartbeat.join(timeout=SHUTDOWN_GRACE)
    driver.close()
    journal.close()
    log.info("agent stopped; its instances keep running")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "sample-config":
        sys.stdout.write(render_sample(AgentConfig))
        return 0
    if args.config is not None and not args.config.exists():
        return _fail(f"config file {args.config} does not exist", 2)
    overrides = {key: getattr(args, key) for key in
                 ("name", "listen", "advertise", "data_dir", "tls_dir", "schedulers", "log_level")}
    try:
        config = load_config(args.config or DEFAULT_PATH, overrides)
    except ConfigError as err:
        return _fail(str(err), 2)
    if args.command == "enroll":
        if not (args.scheduler and args.ca_fingerprint):
            return _fail("enroll needs --scheduler, --ca-fingerprint and a token "
                         "(--token-file FILE|-, THECLOUD_JOIN_TOKEN or --token)", 2)
        return enroll.run(args, config)
    setup_logging(config.log_level, config.log_json)
    # The docker SDK's HTTP chatter drowns the agent's own debug lines.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
