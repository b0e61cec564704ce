"""The AgentMachines service: actions on running VMs that change nothing desired (reboot)."""
from __future__ import annotations

from agent import validation
from agent.compute.base import Capability, ComputeDriver
from agent.fencing import TermFence
from common.errors import rpc_errors
from proto.v1 import images_pb2, images_pb2_grpc


class AgentMachinesServicer(images_pb2_grpc.AgentMachinesServicer):
    def __init__(self, driver: ComputeDriver, fence: TermFence):
        self.driver = driver
        self.fence = fence

    @rpc_errors
    def Reboot(self, request, context):
        validation.check_instance_id(request.instance_id)
        self.fence.admit(request.fence.term, request.fence.leader)
        self.driver.require(Capability.REBOOT)
        self.driver.reboot(request.instance_id, request.hard)
        return images_pb2.AgentRebootResponse()
