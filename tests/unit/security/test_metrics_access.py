"""/metrics refuses scrapes without the configured bearer token."""
from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter

from common.metricsserve import MetricsAccess, serve_metrics, split_address


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""


def test_a_scrape_without_the_token_is_refused(tmp_path):
    token = "s3cret-metrics-token-0123"
    (tmp_path / "token").write_text(token + "\n")
    registry = CollectorRegistry()
    Counter("thecloud_probe_total", "A probe.", registry=registry).inc()
    port = free_port()
    server, _ = serve_metrics(str(port), registry, MetricsAccess(token_file=str(tmp_path / "token")))
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        assert get(url)[0] == 401
        assert get(url, "wrong-token-wrong-token")[0] == 401
        status, body = get(url, token)
        assert status == 200 and "thecloud_probe_total 1.0" in body
    finally:
        server.shutdown()


def test_a_bare_port_means_loopback_and_short_tokens_are_refused(tmp_path):
    assert split_address("9101") == ("127.0.0.1", 9101)
    (tmp_path / "token").write_text("short")
    with pytest.raises(ValueError, match="at least 16"):
        serve_metrics("127.0.0.1:1", CollectorRegistry(), MetricsAccess(token_file=str(tmp_path / "token")))
