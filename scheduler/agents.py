"""Clients for the agents' gRPC API, one cached channel per agent (address and host name).

A channel to host H's agent accepts only a server certificate for
`role_name("agent", H)`: an agent of another host listening on H's address (or
any other certificate of the cluster CA) fails the handshake."""
from __future__ import annotations

from typing import Mapping

import grpc

from common import requestid
from common.grpcserve import ChannelCache, secure_channel
from common.tls import TlsFiles, role_name
from proto.v1 import agent_pb2_grpc

# gRPC waits 1 s, then up to 120 s (x1.6 each time), before it tries a failed
# connection again, failing calls meanwhile; an agent that restarted would be
# unreachable for that long. Agents are on the same network: retry within 2 s.
RECONNECT = (("grpc.initial_reconnect_backoff_ms", 250), ("grpc.min_reconnect_backoff_ms", 250),
             ("grpc.max_reconnect_backoff_ms", 2000))


class AgentClients:
    def __init__(self, tls: TlsFiles):
        self._tls = tls
        # Made again when the TLS files change (a CA rotation's new bundle or certificate).
        self._channels = ChannelCache(tls, self._make)

    def _make(self, key: tuple[str, str]) -> grpc.Channel:
        # Calls carry the request id bound to the calling thread (common/requestid.py).
        return requestid.intercept_channel(
            secure_channel(key[0], self._tls, RECONNECT, server_name=role_name("agent", key[1])))

    def stub(self, host: Mapping) -> agent_pb2_grpc.AgentStub:
        """The Agent stub of `host` (a host record: its "name" and "address")."""
        return agent_pb2_grpc.AgentStub(self.channel(host))

    def channel(self, host: Mapping) -> grpc.Channel:
        """The one cached channel to `host`'s agent (for the agent's other services)."""
        return self._channels.get((host["address"], host["name"]))

    def close(self) -> None:
        self._channels.close()
