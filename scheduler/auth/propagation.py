"""Make a revocation hold on every scheduler before the call that made it returns.

A committed Raft entry reaches the followers' mirrors a heartbeat later. For a
token revocation that gap matters (the token must stop working everywhere), so
RevokeToken waits — briefly, bounded — until every reachable member reports an
applied index at least the revocation's.
"""
from __future__ import annotations

import logging
import time
from concurrent import futures

import grpc

from common.grpcserve import ChannelCache, secure_channel
from common.tls import SCHEDULER_NAME
from proto.v1 import public_pb2, public_pb2_grpc

log = logging.getLogger(__name__)


class Propagation:
    def __init__(self, config, tls):
        self.config = config
        self.tls = tls
        self._channels = ChannelCache(tls, lambda api: secure_channel(api, tls, server_name=SCHEDULER_NAME))
        self._pool = futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="propagate")

    def _applied(self, member) -> int | None:
        channel = self._channels.get(member.api)
        try:
            return public_pb2_grpc.ClusterStub(channel).GetMemberStatus(
                public_pb2.GetMemberStatusRequest(), timeout=1.0).applied_index
        except grpc.RpcError:
            return None   # unreachable: it catches up before it serves again

    def wait_applied(self, index: int, timeout: float = 3.0) -> bool:
        """Whether every reachable peer applied `index` within `timeout`."""
        others = [m for m in self.config.member_list() if m.name != self.config.name]
        deadline = time.monotonic() + timeout
        while others:
            seen = list(self._pool.map(self._applied, others))
            others = [m for m, applied in zip(others, seen) if applied is not None and applied < index]
            if not others:
                return True
            if time.monotonic() >= deadline:
                log.warning("index %d not yet applied on %s", index, ", ".join(m.name for m in others))
                return False
            time.sleep(0.02)
        return True
