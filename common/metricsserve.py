"""Serving a Prometheus registry over plain HTTP on a configured address."""
from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, start_http_server

log = logging.getLogger(__name__)


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"metrics_listen: {address!r} is not a host:port address")
    return host.strip("[]"), int(port)


def serve_metrics(address: str, registry: CollectorRegistry):
    """Start /metrics on `address` in a daemon thread; returns (server, thread) or None when off."""
    if not address:
        return None
    host, port = split_address(address)
    served = start_http_server(port, addr=host, registry=registry)
    log.info("metrics on http://%s/metrics", address)
    return served
