"""Everything IAM adds to a scheduler node, in one object `scheduler/main.py` wires in:
the auth interceptor, the audit writer and the servicers of projects, principals,
tokens, roles, quotas, the audit log and secrets."""
from __future__ import annotations

from proto.v1 import audit_pb2_grpc, iam_pb2_grpc, secrets_pb2_grpc
from scheduler.api.audit import AuditServicer
from scheduler.api.principals import PrincipalsServicer
from scheduler.api.projects import ProjectsServicer
from scheduler.api.quotas import QuotasServicer
from scheduler.api.roles import RolesServicer
from scheduler.api.secrets import SecretsServicer
from scheduler.api.tokens import TokensServicer
from scheduler.auth.audit_writer import AuditWriter
from common.tls import TlsFiles
from scheduler.auth.interceptor import AuthInterceptor
from scheduler.auth.propagation import Propagation
from scheduler.auth.ratelimit import FailureLimiter
from scheduler.auth.refusals import RefusalAggregator
from scheduler.auth.resolve import Resolver
from scheduler.auth.streams import StreamLimiter

SERVICES = ["thecloud.v1.Projects", "thecloud.v1.Principals", "thecloud.v1.Tokens",
            "thecloud.v1.Roles", "thecloud.v1.Quotas", "thecloud.v1.Audit", "thecloud.v1.Secrets"]


class SchedulerIam:
    def __init__(self, config, store, proposer):
        self.config = config
        self.store = store
        self.proposer = proposer
        self.limiter = FailureLimiter(burst=config.auth_failure_burst,
                                      per_minute=config.auth_failures_per_minute)
        self.audit = AuditWriter(proposer, keep=config.audit_retention_entries,
                                 max_age_s=config.audit_retention_days * 86400)
        self.streams = StreamLimiter(per_principal=config.streams_per_principal, total=config.streams_total)
        self.refusals = RefusalAggregator(self.audit.record, window_s=config.audit_refusal_window)
        self.audit.tick = self.refusals.tick
        self.interceptor = AuthInterceptor(store, Resolver(store, self.limiter), self.audit,
                                           streams=self.streams, refusals=self.refusals)

    @property
    def interceptors(self) -> list:
        return [self.interceptor]

    def add_to_server(self, server) -> None:
        store, proposer = self.store, self.proposer
        iam_pb2_grpc.add_ProjectsServicer_to_server(ProjectsServicer(store, proposer), server)
        iam_pb2_grpc.add_PrincipalsServicer_to_server(PrincipalsServicer(store, proposer), server)
        propagation = Propagation(self.config, TlsFiles.in_dir(self.config.tls_dir, self.config.name))
        iam_pb2_grpc.add_TokensServicer_to_server(TokensServicer(
            store, proposer, propagation, self.config.max_tokens_per_principal), server)
        iam_pb2_grpc.add_RolesServicer_to_server(RolesServicer(store, proposer, propagation), server)
        iam_pb2_grpc.add_QuotasServicer_to_server(QuotasServicer(store, proposer), server)
        audit_pb2_grpc.add_AuditServicer_to_server(AuditServicer(store), server)
        secrets_pb2_grpc.add_SecretsServicer_to_server(
            SecretsServicer(store, proposer, self.config.secret_file), server)

    def start(self) -> None:
        self.audit.start()

    def stop(self) -> None:
        self.refusals.close_all()
        self.audit.stop()
