"""Serving a Prometheus registry on a configured address.

Plain HTTP by default, meant for loopback or a management network. Options: a
bearer token every scrape must send (`Authorization: Bearer <token>`, compared in
constant time; anything else is 401), and TLS with optional client certificates
checked against a CA.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricsAccess:
    """Who may scrape: a bearer token file and/or TLS (cert, key, client CA); all optional."""

    token_file: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    client_ca: str = ""

    def token(self) -> bytes:
        if not self.token_file:
            return b""
        token = Path(self.token_file).read_text().strip().encode()
        if len(token) < 16:
            raise ValueError(f"metrics token file {self.token_file}: the token must be at least 16 characters")
        return token

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls_cert:
            if self.client_ca:
                raise ValueError("metrics client CA given without a server certificate")
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.tls_cert, self.tls_key or None)
        if self.client_ca:
            context.load_verify_locations(self.client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
        return context


def split_address(address: str) -> tuple[str, int]:
    """"host:port", or a bare port meaning loopback."""
    if address.isdigit():
        address = f"127.0.0.1:{address}"
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"metrics_listen: {address!r} is not a host:port address")
    return host.strip("[]"), int(port)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _handler(registry: CollectorRegistry, token: bytes):
    class MetricsHandler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            if token:
                sent = self.headers.get("Authorization", "")
                scheme, _, value = sent.partition(" ")
                if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token):
                    self._answer(401, b"a bearer token is required\n", "text/plain",
                                 {"WWW-Authenticate": 'Bearer realm="metrics"'})
                    return
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self._answer(404, b"not found\n", "text/plain")
                return
            self._answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)

        def _answer(self, code: int, body: bytes, content_type: str, headers: dict | None = None):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):   # scrapes are not worth a log line each
            pass
    return MetricsHandler


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def serve_metrics(address: str, registry: CollectorRegistry, access: MetricsAccess | None = None):
    """Start /metrics on `address` in a daemon thread; returns (server, thread) or None when off."""
    if not address:
        return None
    access = access or MetricsAccess()
    host, port = split_address(address)
    token = access.token()
    context = access.ssl_context()
    server_class = _Server6 if ":" in host else _Server
    server = server_class((host, port), _handler(registry, token))
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    if not token and context is None and not _is_loopback(host):
        log.warning("metrics on %s are plain HTTP without a token: keep that address on a management "
                    "network, or set metrics_token_file", address)
    log.info("metrics on %s://%s/metrics%s", "https" if context else "http", address,
             " (bearer token required)" if token else "")
    return server, thread
