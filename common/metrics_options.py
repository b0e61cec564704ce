"""The /metrics options every daemon declares (scheduler and agent alike)."""
from __future__ import annotations

from dataclasses import dataclass

from common.config import option


@dataclass
class MetricsOptions:
    metrics_listen: str = option("", "Address (host:port; a bare port: loopback) of the Prometheus /metrics "
                                     "endpoint; empty: off. Keep it on loopback or a management network.")
    metrics_token_file: str = option("", "File holding a bearer token every scrape must send; empty: none.")
    metrics_tls_cert: str = option("", "Certificate (PEM) to serve /metrics over HTTPS; empty: plain HTTP.")
    metrics_tls_key: str = option("", "Key of `metrics_tls_cert`.")
    metrics_client_ca: str = option("", "CA (PEM) whose client certificates alone may scrape (needs metrics_tls_cert).")

    def metrics_access(self):
        from common.metricsserve import MetricsAccess   # prometheus_client only where metrics are served
        return MetricsAccess(self.metrics_token_file, self.metrics_tls_cert, self.metrics_tls_key,
                             self.metrics_client_ca)
