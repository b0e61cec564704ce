"""Commands on instances: create, start/stop, relabel, delete, purge, observe."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from scheduler.state import floating
from scheduler.state import networks
from scheduler.state import placement
from scheduler.state import quota
from scheduler.state import records as r
from scheduler.state import images as vm_images
from scheduler.state import volumes
from scheduler.state.commands import Command, IdArgs, table


@dataclass(frozen=True)
class PortRequest:
    subnet_id: str
    ip: str = ""
    security_groups: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CreateArgs:
    id: str
    name: str
    project: str
    spec: dict[str, Any]                    # the instance's record spec (scheduler/api/validate.py)
    host_id: str
    labels: dict[str, str] = field(default_factory=dict)
    overcommit: dict[str, float] = field(default_factory=dict)
    reserved: dict[str, float] = field(default_factory=dict)
    port: PortRequest | None = None
    request_id: str = ""
    trace_id: str = ""
    project_id: str | None = None


@dataclass(frozen=True)
class SetDesiredArgs:
    id: str
    desired_state: str
    trace_id: str | None = None


@dataclass(frozen=True)
class LabelsArgs:
    id: str
    labels: dict[str, str]


@dataclass(frozen=True)
class ObserveArgs:
    id: str
    host_id: str
    state: str
    runtime_id: str | None = None
    reason: str | None = None
    started_ms: int | None = None
    finished_ms: int | None = None
    exit_code: int | None = None
    cpu_time_ns: int | None = None
    memory_used_bytes: int | None = None
    generation: int | None = None


def _touch(instance: dict, ctx: dict) -> None:
    instance["updated_ms"], instance["revision"] = ctx["ts"], ctx["index"]


def _get(state, instance_id: str) -> dict:
    instance = state.instances.get(instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} not found")
    return instance


def create(state, args: CreateArgs, ctx: dict) -> dict:
    """Record an instance placed on `host_id`; apply re-checks the placement."""
    project, name = args.project, args.name
    if r.name_key(project, name) in state.instance_names:
        raise AlreadyExists(f"instance {name!r} already exists in project {project!r}")
    if args.id in state.instances:
        raise AlreadyExists(f"instance id {args.id} already exists")
    host = state.hosts.get(args.host_id)
    if host is None:
        raise FailedPrecondition(f"host {args.host_id} no longer exists")
    if host["state"] != r.HOST_UP:
        raise FailedPrecondition(f"host {host['name']} is down")
    spec = dict(args.spec)
    if spec.get("kind") == "vm":
        vm_images.check_usable(state, spec)
    need = r.demand(spec)
    # Host mode, capacity with overcommit and reserved share, constraints, group rules.
    placement.admit(state, host, spec, project, args.overcommit, args.reserved)
    port = None
    if args.port is not None and args.port.subnet_id:
        port = networks.plan_port(state, {"subnet_id": args.port.subnet_id, "ip": args.port.ip,
                                          "security_groups": args.port.security_groups}, project)
    volumes.check_create_attachments(state, {"id": args.id, "name": name, "project": project,
                                             "host_id": host["id"], "state": r.PENDING, "spec": spec})
    # The last check, and the first change: the project's quota (see scheduler/state/quota.py).
    quota.charge(state, project, quota.instance_amounts(spec), args.project_id)
    host["allocated"] = r.add_resources(host["allocated"], need)
    instance = {
        "id": args.id, "name": name, "project": project, "labels": dict(args.labels),
        "spec": spec, "desired_state": r.DESIRED_RUNNING,
        "desired_generation": 1, "ensured_generation": 0,
        "state": r.PENDING, "host_id": host["id"], "reason": "",
        "runtime_id": "", "started_ms": 0, "finished_ms": 0, "exit_code": 0,
        "created_ms": ctx["ts"], "request_id": args.request_id,
        "trace_id": args.trace_id,  # the x-request-id of the call, for the agent's logs
    }
    _touch(instance, ctx)
    state.instances[instance["id"]] = instance
    state.instance_names[r.name_key(project, name)] = instance["id"]
    if port is not None:
        networks.bind_port(state, instance, port)
    volumes.record_create_attachments(state, instance, ctx)
    return {"instance": instance}


def set_desired(state, args: SetDesiredArgs, ctx: dict) -> dict:
    """Ask for an instance to be running or stopped (each request is a new generation)."""
    instance = _get(state, args.id)
    desired = args.desired_state
    if desired not in (r.DESIRED_RUNNING, r.DESIRED_STOPPED):
        raise InvalidArgument("desired_state", f"must be running or stopped, not {desired!r}")
    if instance["state"] == r.DELETING:
        raise FailedPrecondition(f"instance {instance['name']} is being deleted")
    instance["desired_state"] = desired
    instance["desired_generation"] += 1
    instance["trace_id"] = instance.get("trace_id", "") if args.trace_id is None else args.trace_id
    instance["reason"] = ""
    _touch(instance, ctx)
    return {"instance": instance}


def update_labels(state, args: LabelsArgs, ctx: dict) -> dict:
    instance = _get(state, args.id)
    instance["labels"] = dict(args.labels)
    _touch(instance, ctx)
    return {"instance": instance}


def delete(state, args: IdArgs, ctx: dict) -> dict:
    """Mark for deletion; purge at once when no host can still be running it."""
    instance = _get(state, args.id)
    host = state.hosts.get(instance["host_id"])
    if host is None or host["state"] == r.HOST_DOWN or instance["ensured_generation"] == 0 \
            and instance["state"] == r.PENDING and not instance["runtime_id"]:
        # Nothing was ever asked of a live host for it (or the host is gone):
        # when a down host returns, it is told to stop what is no longer its own.
        purge(state, IdArgs(instance["id"]), ctx)
        return {"purged": True}
    instance["state"], instance["reason"] = r.DELETING, ""
    instance["desired_state"] = "deleted"
    floating.release_instance(state, instance)
    _touch(instance, ctx)
    return {"purged": False, "instance": instance}


def purge(state, args: IdArgs, ctx: dict) -> dict:
    instance = state.instances.pop(args.id, None)
    if instance is None:
        return {"purged": False}
    state.instance_names.pop(r.name_key(instance["project"], instance["name"]), None)
    floating.release_instance(state, instance)
    networks.release_port(state, instance)
    host = state.hosts.get(instance["host_id"])
    if host is not None:
        host["allocated"] = r.add_resources(host["allocated"], r.demand(instance["spec"]), -1)
    quota.release(state, instance["project"], quota.instance_amounts(instance["spec"]))
    return {"purged": True}


_OBSERVED_FIELDS = ("runtime_id", "reason", "started_ms", "finished_ms", "exit_code",
                    "cpu_time_ns", "memory_used_bytes")


def observe(state, args: ObserveArgs, ctx: dict) -> dict:
    """What the instance's host reports; ignored from any other host (stale)."""
    instance = state.instances.get(args.id)
    if instance is None or instance["host_id"] != args.host_id:
        return {"ignored": True}
    if instance["state"] == r.DELETING:
        return {"ignored": True}
    observed_state = args.state
    if observed_state not in r.INSTANCE_STATES:
        raise InvalidArgument("state", f"unknown state {observed_state!r}")
    if observed_state == r.DELETING:
        # An engine's "removing" is an old container on its way out while the agent
        # recreates the instance (a spec change); only the cluster decides a deletion.
        return {"ignored": True}
    changed = instance["state"] != observed_state
    instance["state"] = observed_state
    for key in _OBSERVED_FIELDS:
        value = getattr(args, key)
        if value is not None and instance.get(key) != value:
            instance[key] = value
            changed = True
    generation = args.generation
    if generation is not None and generation > instance["ensured_generation"]:
        instance["ensured_generation"] = min(generation, instance["desired_generation"])
        changed = True
    if changed:
        _touch(instance, ctx)
    return {"ignored": False, "changed": changed}


COMMANDS = table(
    instance__create=Command(CreateArgs, create),
    instance__set_desired=Command(SetDesiredArgs, set_desired),
    instance__update_labels=Command(LabelsArgs, update_labels),
    instance__delete=Command(IdArgs, delete),
    instance__purge=Command(IdArgs, purge),
    instance__observe=Command(ObserveArgs, observe),
)
