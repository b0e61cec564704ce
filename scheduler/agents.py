"""Clients for the agents' gRPC API, one cached channel per agent address."""
from __future__ import annotations

import threading

import grpc

from common import requestid
from common.grpcserve import secure_channel
from common.tls import TlsFiles
from proto.v1 import agent_pb2_grpc

# gRPC waits 1 s, then up to 120 s (x1.6 each time), before it tries a failed
# connection again, failing calls meanwhile; an agent that restarted would be
# unreachable for that long. Agents are on the same network: retry within 2 s.
RECONNECT = (("grpc.initial_reconnect_backoff_ms", 250), ("grpc.min_reconnect_backoff_ms", 250),
             ("grpc.max_reconnect_backoff_ms", 2000))


class AgentClients:
    def __init__(self, tls: TlsFiles):
        self._tls = tls
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def stub(self, address: str) -> agent_pb2_grpc.AgentStub:
        return agent_pb2_grpc.AgentStub(self.channel(address))

    def channel(self, address: str) -> grpc.Channel:
        """The one cached channel to the agent at `address` (for the agent's other services)."""
        with self._lock:
            channel = self._channels.get(address)
            if channel is None:
                # Calls carry the request id bound to the calling thread (common/requestid.py).
                channel = self._channels[address] = requestid.intercept_channel(
                    secure_channel(address, self._tls, RECONNECT))
        return channel

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
