"""gRPC servers and channels under the cluster's mutual TLS."""
from __future__ import annotations

import logging
import threading
from concurrent import futures

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from common.tls import SCHEDULER_NAME, TlsFiles

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


class ReloadingServerCertificate:
    """The server's certificate as the files now hold it: read again when they change
    (a renewed certificate, agent/renewal.py), kept while key and certificate do not
    match yet. grpc asks before every new connection's handshake."""

    def __init__(self, tls: TlsFiles):
        self.tls = tls
        self._stamp: tuple | None = None

    def _stamp_now(self) -> tuple:
        return tuple(p.stat().st_mtime_ns for p in (self.tls.ca, self.tls.cert, self.tls.key))

    def configuration(self):
        ca, cert, key = self.tls.read()
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def fetch(self):
        """For grpc: a new configuration, or None to keep the current one."""
        try:
            stamp = self._stamp_now()
            if stamp == self._stamp:
                return None
            if not _pair_matches(self.tls):
                return None     # between the renames of a renewal: look again next time
            self._stamp = stamp
            return self.configuration()
        except (OSError, ValueError) as err:
            log.warning("cannot reload the TLS files %s: %s", self.tls.cert, err)
            return None


def _pair_matches(tls: TlsFiles) -> bool:
    _, cert, key = tls.read()
    public = x509.load_pem_x509_certificate(cert).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    private = serialization.load_pem_private_key(key, password=None).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return public == private


def reloading_server_credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    """Like `server_credentials`, but a renewed certificate is served from the next handshake."""
    source = ReloadingServerCertificate(tls)
    initial = source.configuration()
    source.fetch()
    return grpc.dynamic_ssl_server_credentials(initial, source.fetch, require_client_authentication=True)


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials:
    ca, cert, key = tls.read()
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                        certificate_chain=cert)


def make_server(address: str, tls: TlsFiles, max_workers: int = 32, interceptors=(),
                max_message_bytes: int = 4 * MIB, name: str = "grpc") -> grpc.Server:
    """A server bound to `address` requiring client certificates from the cluster CA
    (reloaded when its files change); requests larger than `max_message_bytes` are
    refused (RESOURCE_EXHAUSTED)."""
    options = _KEEPALIVE + [("grpc.max_receive_message_length", int(max_message_bytes))]
    pool = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
    server = grpc.server(pool, options=options, interceptors=list(interceptors))
    port = server.add_secure_port(address, reloading_server_credentials(tls))
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


def files_stamp(tls: TlsFiles) -> tuple:
    """When the CA bundle, certificate and key last changed (0 for a missing file)."""
    stamp = []
    for path in (tls.ca, tls.cert, tls.key):
        try:
            stamp.append(path.stat().st_mtime_ns)
        except OSError:
            stamp.append(0)
    return tuple(stamp)


class ChannelCache:
    """Channels by key, made again once the TLS files change (a renewed certificate, a
    new trust bundle during a CA rotation): the next connections use the new files.
    The replaced channels are closed a while later, so calls under way finish."""

    CLOSE_AFTER = 60.0

    def __init__(self, tls: TlsFiles, make):
        self.tls = tls
        self._make = make
        self._channels: dict = {}
        self._stamp = files_stamp(tls)
        self._lock = threading.Lock()

    def get(self, key) -> grpc.Channel:
        with self._lock:
            stamp = files_stamp(self.tls)
            if stamp != self._stamp:
                self._stamp, replaced = stamp, list(self._channels.values())
                self._channels = {}
                if replaced:
                    timer = threading.Timer(self.CLOSE_AFTER, lambda: [c.close() for c in replaced])
                    timer.daemon = True
                    timer.start()
            channel = self._channels.get(key)
            if channel is None:
                channel = self._channels[key] = self._make(key)
            return channel

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels = {}
