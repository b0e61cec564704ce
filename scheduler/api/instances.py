"""The Instances service: validate → decide (placement, ids) → propose → answer."""
from __future__ import annotations

import logging
import queue
import time

import grpc

from common.errors import (FailedPrecondition, InvalidArgument, NotFound,
                           ResourceExhausted, Unavailable, rpc_errors)
from common.ids import check_labels, check_name
from proto.v1 import agent_pb2, public_pb2, public_pb2_grpc
from common import requestid
from scheduler.api import convert, secret_input, validate
from scheduler.api.instance_create import CreateRequest, NoHost, prepare
from scheduler.auth import identity
from scheduler.api.events import record_placement_failure
from scheduler.placement.planner import Planner, Settings
from scheduler.proposer import retry_rid
from scheduler.api.placement import await_group
from scheduler.state import records as r

log = logging.getLogger(__name__)

PLACEMENT_ATTEMPTS = 3
REVISION_WAIT = 3.0


class InstancesServicer(public_pb2_grpc.InstancesServicer):
    def __init__(self, store, proposer, agents, config):
        self.store = store
        self.proposer = proposer
        self.agents = agents
        self.config = config
        self.planner = Planner(Settings.from_config(config))

    # -- reads --------------------------------------------------------------

    def _find(self, project: str, ref: str) -> tuple[dict, dict]:
        """(instance record, hosts) by name or id, or NOT_FOUND."""
        if not ref:
            raise InvalidArgument("name", "is required")
        identity.require_visible(project)   # the interceptor checked; this keeps it so
        with self.store.read_lock:
            state = self.store.read()
            instance = state.instance_by_ref(project, ref)
            if instance is None:
                raise NotFound(f"instance {ref!r} not found in project {project!r}")
            host = state.hosts.get(instance["host_id"], {})
            return dict(instance), {host.get("id", ""): dict(host)} if host else {}

    def _answer(self, project: str, instance_id: str) -> object:
        instance, hosts = self._find(project, instance_id)
        return convert.instance_pb(instance, hosts)

    def _await_revision(self, revision: int) -> None:
        """Session consistency: wait (briefly) until this replica has applied `revision`."""
        deadline = time.monotonic() + REVISION_WAIT
        while self.store.applied_index < revision:
            if time.monotonic() > deadline:
                raise Unavailable(f"this replica has not yet applied revision {revision}; try another")
            time.sleep(0.005)

    @rpc_errors
    def GetInstance(self, request, context):
        project = validate.project(request.project)
        if request.consistent:
            self.store.barrier(timeout=5.0)
        self._await_revision(request.min_revision)
        instance, hosts = self._find(project, request.name)
        return convert.instance_pb(instance, hosts)

    @rpc_errors
    def ListInstances(self, request, context):
        project = validate.project(request.project)
        size, offset = validate.page(request.page_size, request.page_token)
        self._await_revision(request.min_revision)
        with self.store.read_lock:
            state = self.store.read()
            revision = self.store.applied_index
            host_id = ""
            if request.host:
                host = state.host_by_ref(request.host)
                if host is None:
                    raise NotFound(f"host {request.host!r} not found")
                host_id = host["id"]
            chosen = sorted((i for i in state.instances.values()
                             if i["project"] == project and (not host_id or i["host_id"] == host_id)),
                            key=lambda i: (i["name"], i["id"]))
            window = chosen[offset:offset + size]
            items = [convert.instance_pb(i, state.hosts) for i in window]
        token = str(offset + size) if offset + size < len(chosen) else ""
        return public_pb2.ListInstancesResponse(instances=items, next_page_token=token, revision=revision)

    # -- writes -------------------------------------------------------------

    @rpc_errors
    def CreateInstance(self, request, context):
        name = check_name(request.name, "name")
        project = validate.project(request.project)
        spec = validate.instance_spec(request.spec)
        secret_input.require_secret_use(project, spec)
        labels = check_labels(dict(request.labels))
        await_group(self.store, project, spec)    # created through another scheduler just now?
        create = CreateRequest(project=project, name=name, spec=spec, labels=labels,
                               request_id=request.request_id, trace_id=requestid.current())
        for attempt in range(PLACEMENT_ATTEMPTS):
            try:
                with self.store.read_lock:      # one view for every check and the decision
                    prepared = prepare(self.store.read(), self.planner, create)
            except NoHost as no_host:
                record_placement_failure(self.proposer, project, name, no_host.error)
                raise no_host.error from None
            if prepared.existing is not None:
                return convert.instance_pb(prepared.existing, self._hosts())
            try:
                result = self.proposer.propose("instance.create", prepared.command, rid=retry_rid(
                    request.request_id, "instance.create", project, name, attempt))
            except (ResourceExhausted, FailedPrecondition):
                # Another placement filled the host first; decide again from the newer view.
                if attempt == PLACEMENT_ATTEMPTS - 1:
                    raise
                self.store.barrier(timeout=5.0)
                continue
            return convert.instance_pb(result["instance"], self._hosts())
        raise Unavailable("placement kept racing; try again")

    def _hosts(self) -> dict:
        with self.store.read_lock:
            return {k: dict(v) for k, v in self.store.read().hosts.items()}

    def _set_desired(self, request, desired: str):
        project = validate.project(request.project)
        instance, _ = self._find(project, request.name)
        self.proposer.propose("instance.set_desired", {"id": instance["id"], "desired_state": desired,
                                                        "trace_id": requestid.current()})
        return self._answer(project, instance["id"])

    @rpc_errors
    def StartInstance(self, request, context):
        return self._set_desired(request, r.DESIRED_RUNNING)

    @rpc_errors
    def StopInstance(self, request, context):
        return self._set_desired(request, r.DESIRED_STOPPED)

    @rpc_errors
    def UpdateInstance(self, request, context):
        project = validate.project(request.instance.meta.project)
        ref = request.instance.meta.id or request.instance.meta.name
        instance, _ = self._find(project, ref)
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument("update_mask", "name at least one field: meta.labels, desired_state")
        for path in paths:
            if path == "meta.labels":
                labels = check_labels(dict(request.instance.meta.labels), "instance.meta.labels")
                self.proposer.propose("instance.update_labels", {"id": instance["id"], "labels": labels})
            elif path == "desired_state":
                self.proposer.propose("instance.set_desired", {
                    "id": instance["id"], "desired_state": request.instance.desired_state})
            else:
                raise InvalidArgument("update_mask", f"{path!r} cannot be updated")
        return self._answer(project, instance["id"])

    @rpc_errors
    def DeleteInstance(self, request, context):
        project = validate.project(request.project)
        instance, _ = self._find(project, request.name)
        self.proposer.propose("instance.delete", {"id": instance["id"]})
        return public_pb2.DeleteInstanceResponse()

    @rpc_errors
    def GetInstanceLogs(self, request, context):
        project = validate.project(request.project)
        if request.tail_lines < 0:
            raise InvalidArgument("tail_lines", "must not be negative")
        instance, hosts = self._find(project, request.name)
        host = hosts.get(instance["host_id"])
        if not host or host.get("state") != r.HOST_UP:
            raise FailedPrecondition(f"host of instance {instance['name']!r} is not reachable")
        try:
            reply = self.agents.stub(host).InstanceLogs(
                agent_pb2.AgentInstanceLogsRequest(instance_id=instance["id"],
                                                   tail_lines=request.tail_lines),
                timeout=self.config.agent_call_timeout)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound(f"instance {instance['name']!r} has no logs on its host yet") from None
            raise Unavailable(f"host {host['name']}: {err.details()}") from None
        return public_pb2.InstanceLogs(data=reply.data)

    def WatchInstances(self, request, context):
        try:
            project = validate.project(request.project)
        except InvalidArgument as err:
            context.abort(err.code, err.message)
        events: queue.Queue = queue.Queue(maxsize=10000)

        overflow = []

        def on_applied(index, commands, results):
            # Runs on the store's reader thread with the read lock held: only hand over.
            if commands is None:
                overflow.append(index)   # the mirror was replaced by a snapshot
                return
            for command, result in zip(commands, results):
                if not command["op"].startswith("instance.") or "error" in result:
                    continue
                try:
                    events.put_nowait((index, command["op"], command["args"].get("id")))
                except queue.Full:
                    overflow.append(index)

        unsubscribe = self.store.watch(on_applied)
        # The ids this watcher may hear of: a deleted instance has no project left to
        # check, so only ids known to be the project's get a "deleted" event.
        with self.store.read_lock:
            mine = {iid for iid, inst in self.store.read().instances.items() if inst["project"] == project}
        try:
            while context.is_active():
                if overflow:
                    context.abort(grpc.StatusCode.ABORTED,
                                  f"watch fell behind at revision {overflow[0]}; list again and re-watch")
                try:
                    index, op, instance_id = events.get(timeout=0.5)
                except queue.Empty:
                    continue
                with self.store.read_lock:
                    state = self.store.read()
                    instance = state.instances.get(instance_id)
                    if instance is not None and instance["project"] != project:
                        continue
                    if instance is None and instance_id not in mine:
                        continue    # another project's, or never seen
                    message = convert.instance_pb(instance, state.hosts) if instance else None
                event = public_pb2.InstanceEvent(revision=index)
                if message is None:
                    mine.discard(instance_id)
                    event.type = "deleted"
                    event.instance.meta.id = instance_id or ""
                else:
                    mine.add(instance_id)
                    event.type = "created" if op == "instance.create" else "updated"
                    event.instance.CopyFrom(message)
                yield event
        finally:
            unsubscribe()
