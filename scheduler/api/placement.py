"""The Placement service: groups, host labels and modes, explanations, batches.

validate → decide (placement, ids) → propose → answer, like every servicer;
the state machine checks every placement decision again in apply.
"""
from __future__ import annotations

import logging

from common.errors import (AlreadyExists, CloudError, InvalidArgument, NotFound, Unavailable,
                           raise_for_result, rpc_errors)
from common.ids import LABEL_KEY_RE, check_labels, check_name, new_id, new_request_id
from proto.v1 import placement_pb2, placement_pb2_grpc
from scheduler.api import convert, secret_input, validate
from scheduler.rules import groups as g
from scheduler.placement.planner import Planner, Settings
from scheduler.proposer import now_ms
from scheduler.state import placement as rules
from scheduler.store.base import StoreError

log = logging.getLogger(__name__)

MAX_BATCH = 1000
PLACEMENT_ATTEMPTS = 3
RETRYABLE = ("RESOURCE_EXHAUSTED", "FAILED_PRECONDITION")


def group_pb(result: dict) -> placement_pb2.PlacementGroup:
    group = result["group"]
    return placement_pb2.PlacementGroup(
        meta=convert.meta_pb(group), policy=group["policy"], domain=group["domain"],
        max_per_domain=group["max_per_domain"], soft=group["soft"], members=result["members"],
        members_per_domain=result["counts"])


def await_group(store, project: str, spec: dict) -> None:
    """Reads are served from this replica: a group created through another scheduler
    a moment ago may not be here yet. Catch up through the leader before refusing."""
    name = spec.get("group")
    if not name:
        return
    with store.read_lock:
        if rules.group_of(store.read(), project, name) is not None:
            return
    store.barrier(timeout=5.0)


class PlacementServicer(placement_pb2_grpc.PlacementServicer):
    def __init__(self, store, proposer, config):
        self.store = store
        self.proposer = proposer
        self.config = config
        self.planner = Planner(Settings.from_config(config))

    # -- groups ------------------------------------------------------------------

    def _group(self, project: str, ref: str) -> dict:
        if not ref:
            raise InvalidArgument("name", "is required")
        with self.store.read_lock:
            state = self.store.read()
            group = state.groups.get(ref)
            if group is None or group["project"] != project:
                group = rules.group_of(state, project, ref)
            if group is None:
                raise NotFound(f"placement group {ref!r} not found in project {project!r}")
            return self._group_view(state, group)

    @staticmethod
    def _group_view(state, group: dict) -> dict:
        return {"group": dict(group), "counts": dict(state.placement.group_counts.get(group["id"], {})),
                "members": len(state.placement.group_members.get(group["id"], ()))}

    @rpc_errors
    def CreateGroup(self, request, context):
        name = check_name(request.name, "name")
        project = validate.project(request.project)
        policy, domain = request.policy, request.domain or "host"
        g.check_group_fields(policy, domain, request.max_per_domain)
        result = self.proposer.propose("group.create", {
            "id": new_id("pg"), "name": name, "project": project, "policy": policy, "domain": domain,
            "max_per_domain": request.max_per_domain, "soft": request.soft})
        return group_pb(result)

    @rpc_errors
    def GetGroup(self, request, context):
        return group_pb(self._group(validate.project(request.project), request.name))

    @rpc_errors
    def ListGroups(self, request, context):
        project = validate.project(request.project)
        size, offset = validate.page(request.page_size, request.page_token)
        with self.store.read_lock:
            state = self.store.read()
            chosen = sorted((x for x in state.groups.values() if x["project"] == project),
                            key=lambda x: x["name"])
            items = [group_pb(self._group_view(state, x)) for x in chosen[offset:offset + size]]
        token = str(offset + size) if offset + size < len(chosen) else ""
        return placement_pb2.ListGroupsResponse(groups=items, next_page_token=token)

    @rpc_errors
    def UpdateGroup(self, request, context):
        project = validate.project(request.group.meta.project)
        current = self._group(project, request.group.meta.id or request.group.meta.name)["group"]
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument("update_mask", "name at least one of policy, domain, max_per_domain, soft")
        args: dict = {"id": current["id"]}
        for path in paths:
            if path not in ("policy", "domain", "max_per_domain", "soft"):
                raise InvalidArgument("update_mask", f"cannot update {path!r}")
            args[path] = getattr(request.group, path)
        merged = dict(current, **args)
        g.check_group_fields(merged["policy"], merged["domain"], merged["max_per_domain"])
        return group_pb(self.proposer.propose("group.update", args))

    @rpc_errors
    def DeleteGroup(self, request, context):
        group = self._group(validate.project(request.project), request.name)["group"]
        self.proposer.propose("group.delete", {"id": group["id"]})
        return placement_pb2.DeleteGroupResponse()

    # -- hosts -------------------------------------------------------------------

    def _host_id(self, ref: str) -> str:
        if not ref:
            raise InvalidArgument("name", "is required")
        with self.store.read_lock:
            host = self.store.read().host_by_ref(ref)
            if host is None:
                raise NotFound(f"host {ref!r} not found")
            return host["id"]

    @rpc_errors
    def SetHostLabels(self, request, context):
        labels = check_labels(dict(request.labels))
        for key in request.remove:
            if not LABEL_KEY_RE.match(key):
                raise InvalidArgument("remove", f"invalid label key {key!r}")
            if key in labels:
                raise InvalidArgument("remove", f"{key!r} is both set and removed")
        if not labels and not request.remove:
            raise InvalidArgument("labels", "set or remove at least one label")
        result = self.proposer.propose("host.set_labels", {
            "id": self._host_id(request.name), "labels": labels, "remove": list(request.remove)})
        return convert.host_pb(result["host"])

    @rpc_errors
    def SetHostSchedulable(self, request, context):
        if request.mode not in g.SCHEDULABLE_MODES:
            raise InvalidArgument("mode", f"must be one of {', '.join(g.SCHEDULABLE_MODES)}")
        result = self.proposer.propose("host.set_schedulable", {
            "id": self._host_id(request.name), "mode": request.mode})
        return convert.host_pb(result["host"])

    # -- placing -----------------------------------------------------------------

    def _validated(self, request) -> tuple[str, str, dict, dict]:
        name = check_name(request.name, "name")
        project = validate.project(request.project)
        spec = validate.instance_spec(request.spec)
        labels = check_labels(dict(request.labels))
        if spec.get("subnet"):
            raise InvalidArgument("spec.subnet", "VPC ports are not supported by batch creates yet")
        return name, project, spec, labels

    @rpc_errors
    def ExplainPlacement(self, request, context):
        name, project, spec, _ = self._validated(request)
        await_group(self.store, project, spec)
        with self.store.read_lock:
            state = self.store.read()
            if state.instance_by_ref(project, name) is not None:
                raise AlreadyExists(f"instance {name!r} already exists in project {project!r}")
            found = self.planner.explain(state, self.planner.request(state, project, spec))
        return placement_pb2.PlacementExplanation(
            placed=found["placed"], host_id=found["host_id"], host_name=found["host_name"],
            summary=found["summary"], rejected={k: v for k, v in found["rejected"].items() if v},
            hosts_total=found["total"], hosts_feasible=found["feasible"],
            candidates=[placement_pb2.CandidateScore(host_id=h, host_name=n, score=round(s, 6),
                                                     weights={k: round(v, 6) for k, v in parts.items()})
                        for s, h, n, parts in found["candidates"]])

    @rpc_errors
    def CreateInstances(self, request, context):
        template = request.template
        if not 1 <= request.count <= MAX_BATCH:
            raise InvalidArgument("count", f"must be between 1 and {MAX_BATCH}")
        base, project, spec, labels = self._validated(template)
        secret_input.require_secret_use(project, spec)
        with self.store.read_lock:
            secret_input.check_secrets_exist(self.store.read(), project, spec)
        width = len(str(request.count))
        names = [check_name(f"{base}-{i:0{width}d}", "template.name") for i in range(1, request.count + 1)]
        await_group(self.store, project, spec)
        created: dict[str, dict] = {}
        pending = list(names)
        for attempt in range(PLACEMENT_ATTEMPTS):
            commands = self._plan(project, spec, labels, pending, template.request_id, created)
            if not commands:
                pending = []
                break
            results = self._propose(commands)
            retry = []
            for (name, command), result in zip(commands, results):
                error = result.get("error")
                if error is None:
                    created[name] = result["instance"]
                elif error["code"] in RETRYABLE and attempt < PLACEMENT_ATTEMPTS - 1:
                    retry.append(name)
                else:
                    self._undo(created)
                    raise_for_result(result)
            pending = retry
            if not pending:
                break
        if pending:
            self._undo(created)
            raise Unavailable("placement kept racing; try again")
        with self.store.read_lock:
            hosts = self.store.read().hosts
            return placement_pb2.CreateInstancesResponse(instances=[
                convert.instance_pb(created[n], {created[n]["host_id"]: hosts.get(created[n]["host_id"], {})})
                for n in names])

    def _plan(self, project, spec, labels, names, request_id, created) -> list[tuple[str, dict]]:
        """instance.create commands for `names` (those not created yet), placed together."""
        with self.store.read_lock:
            state = self.store.read()
            todo = []
            for name in names:
                existing = state.instance_by_ref(project, name)
                if existing is not None:
                    if request_id and existing.get("request_id") == request_id:
                        created[name] = dict(existing)
                        continue
                    self._undo(created)
                    raise AlreadyExists(f"instance {name!r} already exists in project {project!r}")
                todo.append(name)
            if not todo:
                return []
            placement = self.planner.request(state, project, spec)
            decisions = self.planner.place_many(state, [placement] * len(todo))
        commands = []
        for name, decision in zip(todo, decisions):
            if isinstance(decision, CloudError):
                self._undo(created)
                raise type(decision)(f"{name}: {decision}")
            commands.append((name, {
                "id": new_id("i"), "name": name, "project": project, "labels": labels, "spec": spec,
                "host_id": decision.host_id, "overcommit": placement.overcommit,
                "reserved": placement.reserved, "request_id": request_id}))
        return commands

    def _propose(self, commands: list[tuple[str, dict]]) -> list[dict]:
        ts = now_ms()
        batch = [{"rid": new_request_id(), "op": "instance.create", "args": args, "ts": ts}
                 for _, args in commands]
        try:
            return self.store.propose(batch, timeout=self.proposer.timeout)
        except StoreError as err:
            raise Unavailable(f"state store: {err}") from err

    def _undo(self, created: dict) -> None:
        """A batch that cannot finish leaves nothing half-made: delete what it created."""
        if created:
            log.info("undoing %d instance(s) of a batch create that failed", len(created))
            self.proposer.propose_many([("instance.delete", {"id": i["id"]}) for i in created.values()])
            created.clear()
