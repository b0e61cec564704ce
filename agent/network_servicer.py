"""The AgentNetwork API: the host's whole VPC network, as the scheduler leader wants it.

It composes the network driver with the compute driver (which knows each
instance's sandbox: the process whose network namespace gets the NIC), fenced by
the caller's Raft term like every other changing call.
"""
from __future__ import annotations

import logging

from agent.compute.base import ComputeDriver
from agent.fencing import TermFence
from agent.network.base import NetworkDriver
from agent.network.request import from_proto
from common.errors import rpc_errors
from proto.v1 import networks_pb2, networks_pb2_grpc

log = logging.getLogger(__name__)


class AgentNetworkServicer(networks_pb2_grpc.AgentNetworkServicer):
    def __init__(self, network: NetworkDriver, compute: ComputeDriver, fence: TermFence):
        self.network = network
        self.compute = compute
        self.fence = fence

    @rpc_errors
    def EnsureHostNetwork(self, request, context):
        wanted = from_proto(request)
        self.fence.admit(request.fence.term, request.fence.leader)
        status = self.network.ensure(wanted, self.compute.sandbox_pid)
        return networks_pb2.HostNetworkStatus(plugged=status.plugged, waiting=status.waiting,
                                              failed=status.failed, rules_replaced=status.rules_replaced)
