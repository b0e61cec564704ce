"""gRPC servers and channels under the cluster's mutual TLS."""
from __future__ import annotations

import logging
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from common.tls import TlsFiles

log = logging.getLogger(__name__)

_KEEPALIVE = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 5_000),
]
# What a channel accepts from the server it chose to dial (a backup, a big list).
_OPTIONS = _KEEPALIVE + [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
MIB = 1024 * 1024


def server_credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    ca, cert, key = tls.read()
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca,
                                       require_client_auth=True)


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials:
    ca, cert, key = tls.read()
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                        certificate_chain=cert)


def make_server(address: str, tls: TlsFiles, max_workers: int = 32, interceptors=(),
                max_message_bytes: int = 4 * MIB, name: str = "grpc") -> grpc.Server:
    """A server bound to `address` requiring client certificates from the cluster CA;
    requests larger than `max_message_bytes` are refused (RESOURCE_EXHAUSTED)."""
    options = _KEEPALIVE + [("grpc.max_receive_message_length", int(max_message_bytes))]
    pool = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
    server = grpc.server(pool, options=options, interceptors=list(interceptors))
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


def secure_channel(address: str, tls: TlsFiles, options: tuple = ()) -> grpc.Channel:
    """A channel to `address` presenting this node's certificate (`options` added to ours)."""
    return grpc.secure_channel(address, channel_credentials(tls), options=_OPTIONS + list(options))
