"""Clients for the agents' gRPC API, one cached channel per agent address."""
from __future__ import annotations

import threading

import grpc

from common import requestid
from common.grpcserve import secure_channel
from common.tls import TlsFiles
from proto.v1 import agent_pb2_grpc


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
                    secure_channel(address, self._tls))
        return channel

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
