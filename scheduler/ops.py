"""What a scheduler adds for its operators: metrics, events, membership, backups,
enrollment. `scheduler.main` builds one `SchedulerOps` and calls it at each step
of its start-up and shutdown."""
from __future__ import annotations

import logging
from concurrent import futures
from pathlib import Path

import grpc

from common.grpcserve import serve_health_and_reflection
from common.metricsserve import serve_metrics
from common.rpcobserve import ObservingInterceptor
from proto.v1 import events_pb2_grpc, operations_pb2_grpc
from scheduler.api.enrollment import EnrollmentServicer, enrollment_credentials
from scheduler.api.events import EventsServicer
from scheduler.api.operations import OperationsServicer
from scheduler.api.signing import CertificateSigner
from scheduler.ca_rotation import CaRotation, TrustKeeper
from scheduler.metrics import SchedulerMetrics

log = logging.getLogger(__name__)

SERVICES = ["thecloud.v1.Events", "thecloud.v1.Operations"]


class SchedulerOps:
    def __init__(self, config, store, tls, secret: str):
        self.config = config
        self.store = store
        self.tls = tls
        self.secret = secret
        self.metrics = SchedulerMetrics(store, config)
        self.interceptors = [ObservingInterceptor(self.metrics.rpc)]
        self._metrics_server = None
        self._enroll_server: grpc.Server | None = None
        self._proposer = None
        self._trust: TrustKeeper | None = None
        self.signer = CertificateSigner(tls, Path(config.ca_key_file), config.certificate_lifetime)

    def timed(self, store):
        """The store as the proposer should see it: commit latency observed."""
        return self.metrics.timed_store(store)

    def add_to_server(self, server: grpc.Server, proposer) -> None:
        self._proposer = proposer
        events_pb2_grpc.add_EventsServicer_to_server(EventsServicer(self.store), server)
        operations_pb2_grpc.add_OperationsServicer_to_server(
            OperationsServicer(self.store, proposer, self.config, self.tls, self.secret,
                               CaRotation(store=self.store, proposer=proposer, config=self.config,
                                          tls=self.tls, key_file=Path(self.config.ca_key_file)),
                               signer=self.signer), server)

    def start(self, reconciler) -> None:
        self.metrics.instrument_reconciler(reconciler)
        served = serve_metrics(self.config.metrics_listen, self.metrics.registry, self.config.metrics_access())
        self._metrics_server = served[0] if served else None
        if self.config.enroll_listen:
            self._enroll_server = self._start_enrollment()
        self._trust = TrustKeeper(self.store, self._proposer, self.config, self.tls,
                                  Path(self.config.ca_key_file), signer=self.signer)
        self._trust.start()

    def _start_enrollment(self) -> grpc.Server:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=self.interceptors)
        operations_pb2_grpc.add_EnrollmentServicer_to_server(
            EnrollmentServicer(self.store, self._proposer, self.signer), server)
        serve_health_and_reflection(server, ["thecloud.v1.Enrollment"])
        if server.add_secure_port(self.config.enroll_listen, enrollment_credentials(self.tls)) == 0:
            raise OSError(f"cannot listen on {self.config.enroll_listen} (enroll_listen)")
        server.start()
        log.info("enrollment endpoint on %s", self.config.enroll_listen)
        return server

    def stop(self) -> None:
        if self._trust is not None:
            self._trust.stop()
        if self._enroll_server is not None:
            self._enroll_server.stop(grace=1).wait()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        self.metrics.close()
