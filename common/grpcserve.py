"""gRPC servers and channels under the cluster's mutual TLS."""
from __future__ import annotations

import logging
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from common.tls import SCHEDULER_NAME, TlsFiles

log = logging.getLogger(__name__)

_OPTIONS = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


def server_credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    ca, cert, key = tls.read()
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca,
                                       require_client_auth=True)


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials:
    ca, cert, key = tls.read()
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                        certificate_chain=cert)


def make_server(address: str, tls: TlsFiles, max_workers: int = 32, interceptors=()) -> grpc.Server:
    """A server bound to `address` requiring client certificates from the cluster CA."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), options=_OPTIONS,
                         interceptors=list(interceptors))
    port = server.add_secure_port(address, server_credentials(tls))
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return server


def serve_health_and_reflection(server: grpc.Server, service_names: list[str]) -> health.HealthServicer:
    """Add the standard health and reflection services; every name starts SERVING."""
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in service_names + [""]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(service_names + [reflection.SERVICE_NAME], server)
    return health_servicer


def expect_server(name: str) -> tuple:
    """Channel options making the TLS handshake require a server certificate for `name`
    (a role name, common/tls.py role_name) instead of the dialed address."""
    return (("grpc.ssl_target_name_override", name),)


def secure_channel(address: str, tls: TlsFiles, options: tuple = (),
                   server_name: str = SCHEDULER_NAME) -> grpc.Channel:
    """A channel to `address` presenting this node's certificate (`options` added to ours).

    The server must present a certificate for `server_name`: by default any
    scheduler; pass `role_name("agent", host)` to reach that host's agent."""
    return grpc.secure_channel(address, channel_credentials(tls),
                               options=_OPTIONS + list(options) + list(expect_server(server_name)))
