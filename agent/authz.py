"""The agent obeys only schedulers.

Every call to the agent's own services (Agent, AgentMachines, AgentVolumes,
AgentNetwork and any added later) needs a client certificate of role
`scheduler`; any other certificate of the cluster CA (agent, admin, client) is
answered PERMISSION_DENIED before the servicer runs. So only a scheduler can run
containers, bind volumes, read logs or rewrite the network here, and the Raft
term the fence (agent/fencing.py) remembers only ever comes from a scheduler.
Health and reflection stay open to any peer of the cluster CA (TLS already
refused everyone else). A scheduler's certificate on the cluster's deny-list (a
removed member's, agent/denylist.py) is refused UNAUTHENTICATED, as the schedulers
refuse it.
"""
from __future__ import annotations

import logging
import threading
import time

import grpc

from agent.denylist import DenyList
from common.tls import peer_certificate

log = logging.getLogger(__name__)

OBEYED_ROLE = "scheduler"
OPEN_SERVICES = frozenset({
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
})
REFUSAL_LOG_PERIOD = 60.0
_MAX_PEERS_TRACKED = 4096


def _service(full_method: str) -> str:
    return full_method.lstrip("/").partition("/")[0]


def _address(peer: str) -> str:
    """The caller's IP from a grpc peer string ("ipv4:1.2.3.4:5678", "ipv6:[::1]:5678")."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rpartition(":")[0].strip("[]")
    return peer


class RefusalLog:
    """Logs a refused peer at once, then at most once per `period` with how many
    calls of it were refused since (a peer retrying in a loop must not flood the log)."""

    def __init__(self, period: float = REFUSAL_LOG_PERIOD, clock=time.monotonic):
        self.period, self.clock = period, clock
        self._lock = threading.Lock()
        self._peers: dict[tuple, list] = {}     # peer -> [last logged at, refused since]

    def refused(self, peer: tuple[str, str, str], method: str, reason: str) -> None:
        now = self.clock()
        with self._lock:
            entry = self._peers.get(peer)
            if entry is not None and now - entry[0] < self.period:
                entry[1] += 1
                return
            count = 1 + (entry[1] if entry is not None else 0)
            if len(self._peers) >= _MAX_PEERS_TRACKED:
                self._prune(now)
            self._peers[peer] = [now, 0]
        common_name, role, address = peer
        log.warning("refused %s from %r (role %r) at %s: %s (%d refused call%s from this peer%s)",
                    method, common_name, role or "none", address, reason, count,
                    "" if count == 1 else "s", "" if entry is None else f" in the last {self.period:g}s")

    def _prune(self, now: float) -> None:
        for key in [k for k, (at, _) in self._peers.items() if now - at >= self.period]:
            del self._peers[key]
        if len(self._peers) >= _MAX_PEERS_TRACKED:
            self._peers.clear()


class SchedulerOnlyInterceptor(grpc.ServerInterceptor):
    """PERMISSION_DENIED for every method outside OPEN_SERVICES unless the peer's
    certificate role is `scheduler`; UNAUTHENTICATED if that certificate is denied."""

    def __init__(self, refusals: RefusalLog | None = None, deny: DenyList | None = None):
        self.refusals = refusals or RefusalLog()
        self.deny = deny if deny is not None else DenyList()

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or _service(details.method) in OPEN_SERVICES:
            return handler
        method = details.method
        if handler.unary_unary:
            return handler._replace(unary_unary=self._guard(handler.unary_unary, method))
        if handler.unary_stream:
            return handler._replace(unary_stream=self._guard(handler.unary_stream, method))
        if handler.stream_unary:
            return handler._replace(stream_unary=self._guard(handler.stream_unary, method))
        return handler._replace(stream_stream=self._guard(handler.stream_stream, method))

    def _guard(self, behavior, method: str):
        # Checked before the servicer sees the request (or the first message of a stream).
        def guarded(request_or_iterator, context):
            self.admit(context, method)
            return behavior(request_or_iterator, context)
        return guarded

    def admit(self, context, method: str) -> None:
        facts = peer_certificate(context.auth_context())
        common_name, role = (facts.common_name, facts.role) if facts is not None else ("", "")
        if role == OBEYED_ROLE:
            if not self.deny.refuses(facts):
                return
            reason = f"certificate revoked: scheduler {common_name!r} (serial {facts.serial}) was removed"
            self.refusals.refused((common_name, role, _address(context.peer())), method, reason)
            context.abort(grpc.StatusCode.UNAUTHENTICATED, reason)
        reason = (f"the agent API obeys only schedulers; certificate {common_name!r} has role "
                  f"{role or 'none'!r}")
        self.refusals.refused((common_name, role, _address(context.peer())), method, reason)
        context.abort(grpc.StatusCode.PERMISSION_DENIED, reason)
