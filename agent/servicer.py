"""The Agent API: turns the scheduler leader's decisions into instances on this host.

Every call is validated, then (for the calls that change things) serialized per
instance and fenced by the caller's Raft term, then carried out by the compute
driver; the journal records what was asked and made.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import Iterator

from agent import host_spec, validation, vm_guest
from agent.compute.base import ComputeDriver, InstanceSpec, Observed, State
from agent.fencing import TermFence
from agent.journal import Journal
from agent.usage import HostUsage
from agent.version import agent_version
from agent.volume_servicer import attach_volumes, release_volumes, settle_volumes
from common.errors import CloudError, FailedPrecondition, rpc_errors
from proto.v1 import agent_pb2, agent_pb2_grpc

log = logging.getLogger(__name__)

MAX_LOG_BYTES = 4 * 1024 * 1024


class InstanceLocks:
    """One lock per instance id, dropped when nobody holds or waits for it."""

    def __init__(self):
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def hold(self, instance_id: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(instance_id, (threading.Lock(), 0))
            self._locks[instance_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[instance_id]
                if users == 1:
                    del self._locks[instance_id]
                else:
                    self._locks[instance_id] = (lock, users - 1)


class HostInstances:
    """This host's instances as the journal and the compute driver see them together."""

    def __init__(self, journal: Journal, driver: ComputeDriver):
        self.journal = journal
        self.driver = driver

    def observe_all(self) -> list[Observed]:
        """Everything of this agent on the host, plus journalled instances whose runtime is gone."""
        records = {record.instance_id: record for record in self.journal.instances()}
        observed = self.driver.list({iid: r.desired_state for iid, r in records.items()})
        seen = {item.instance_id for item in observed}
        for instance_id, record in records.items():
            if instance_id not in seen:
                observed.append(Observed(
                    instance_id=instance_id, state=State.INSTANCE_STATE_FAILED,
                    reason=record.last_error or "its container is gone from the engine"))
        return sorted(observed, key=lambda item: item.instance_id)

    def adopt(self) -> None:
        """At start: take back what survived the agent; report what it does not know."""
        records = {record.instance_id: record for record in self.journal.instances()}
        for item in self.driver.list({iid: r.desired_state for iid, r in records.items()}):
            record = records.pop(item.instance_id, None)
            if record is None:
                log.warning("container %s of unknown instance %s is labelled for this agent; "
                            "reporting it for the scheduler to decide", item.runtime_id[:12],
                            item.instance_id, extra={"instance_id": item.instance_id})
                continue
            if record.runtime_id != item.runtime_id:
                self.journal.update_runtime_id(item.instance_id, item.runtime_id)
            log.info("adopted instance %s (container %s, %s)", item.instance_id,
                     item.runtime_id[:12], State.Name(item.state),
                     extra={"instance_id": item.instance_id})
        for record in records.values():
            if record.runtime_id:
                log.warning("instance %s is journalled but its container is gone",
                            record.instance_id, extra={"instance_id": record.instance_id})


class AgentServicer(agent_pb2_grpc.AgentServicer):
    def __init__(self, host_name: str, journal: Journal, driver: ComputeDriver,
                 fence: TermFence, usage: HostUsage, volumes=None, network=None):
        self.host_name = host_name
        self.network = network        # agent.network.base.NetworkDriver, or None: no VPC ports here
        self.volumes = volumes        # agent.storage.host.HostVolumes, or None without a storage driver
        self.journal = journal
        self.driver = driver
        self.fence = fence
        self.usage = usage
        self.instances = HostInstances(journal, driver)
        self._locks = InstanceLocks()

    def _check_host(self, host_id: str) -> None:
        """A call meant for another host (its address now reached this one) is refused."""
        mine = self.journal.host_id()
        if host_id and mine and host_id != mine:
            raise FailedPrecondition(f"this agent serves host {mine}, not {host_id}")

    @rpc_errors
    def EnsureInstance(self, request, context):
        wanted = host_spec.requested(request)
        validation.check_ensure(request, wanted)
        vm_guest.check_guest(wanted)
        self._check_host(request.host_id)
        instance_id = request.instance_id
        spec = InstanceSpec.from_proto(wanted.spec)
        with self._locks.hold(instance_id):
            self.fence.admit(request.fence.term, request.fence.leader)
            record = self.journal.instance(instance_id)
            try:
                spec = attach_volumes(self.volumes, instance_id, wanted, spec, self.driver.for_kind(spec.kind))
            except CloudError as err:
                return Observed(instance_id, State.INSTANCE_STATE_FAILED, reason=f"volumes: {err}").to_proto()
            try:
                spec = vm_guest.with_guest(spec, instance_id, wanted.spec, self.network)
            except CloudError as err:
                return Observed(instance_id, State.INSTANCE_STATE_FAILED, reason=f"network: {err}").to_proto()
            observed = self.driver.ensure(
                instance_id, request.name, request.project, spec, request.desired_state,
                was_desired=record.desired_state if record else None)
            failed_without_runtime = not observed.runtime_id
            self.journal.record_instance(
                instance_id, request.name, request.project, observed.runtime_id,
                self.driver.spec_hash(spec), request.desired_state,
                last_error=observed.reason if failed_without_runtime else "")
            if observed.runtime_id:
                settle_volumes(self.volumes, instance_id, wanted.spec)
        if observed.state == State.INSTANCE_STATE_FAILED:
            log.warning("instance %s failed: %s", instance_id, observed.reason,
                        extra={"instance_id": instance_id})
        return observed.to_proto()

    @rpc_errors
    def RemoveInstance(self, request, context):
        validation.check_remove(request)
        self._check_host(request.host_id)
        with self._locks.hold(request.instance_id):
            self.fence.admit(request.fence.term, request.fence.leader)
            existed = self.driver.remove(request.instance_id)
            release_volumes(self.volumes, request.instance_id)
            journalled = self.journal.forget_instance(request.instance_id)
        return agent_pb2.RemoveInstanceResponse(existed=existed or journalled)

    @rpc_errors
    def ListInstances(self, request, context):
        self._check_host(request.host_id)
        return agent_pb2.ListAgentInstancesResponse(
            instances=[item.to_proto() for item in self.instances.observe_all()])

    @rpc_errors
    def InstanceLogs(self, request, context):
        validation.check_logs(request)
        data = self.driver.logs(request.instance_id, request.tail_lines)
        return agent_pb2.AgentInstanceLogsResponse(data=data[-MAX_LOG_BYTES:])

    @rpc_errors
    def GetInfo(self, request, context):
        return agent_pb2.AgentInfo(
            host_name=self.host_name, host_id=self.journal.host_id(),
            capacity=self.usage.capacity(), usage=self.usage.usage(),
            drivers=self.driver.fingerprint(), highest_term=self.fence.highest,
            agent_version=agent_version())
