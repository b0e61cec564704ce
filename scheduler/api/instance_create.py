"""CreateInstance prepared once: `prepare(view, …)` checks the request and resolves
every name over one read view, and decides the host, without changing anything;
the servicer proposes the command it returns (scheduler/api/instances.py).

What it does, in order: a second call of the same request finds the instance it
created (retry after an unknown outcome); a VM's image resolves; the volumes
resolve to ids (the planner keeps the instance beside them); a VPC port request
resolves its subnet and security groups; the project exists, its quota has
room and the referenced secrets are there; the planner picks a host. Apply
checks capacity, constraints, groups, the port and the quota again, against the
state as it is when the command commits (scheduler/state/instances.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from common.errors import AlreadyExists, CloudError, NotFound, ResourceExhausted
from common.ids import new_id
from scheduler.api import admission, network_input, vm_input, volume_input


class NoHost(Exception):
    """The planner found no host: the servicer records a placement failure and answers `error`."""

    def __init__(self, error: CloudError):
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class CreateRequest:
    project: str
    name: str
    spec: dict                  # validated without the state (scheduler/api/validate.py)
    labels: dict
    request_id: str = ""
    trace_id: str = ""


@dataclass(frozen=True)
class Prepared:
    command: dict | None        # the `instance.create` arguments, or None:
    existing: dict | None       # the instance this very request already created


def prepare(state, planner, request: CreateRequest) -> Prepared:
    project, name = request.project, request.name
    existing = state.instance_by_ref(project, name)
    if existing is not None:
        if request.request_id and existing.get("request_id") == request.request_id:
            return Prepared(None, dict(existing))
        raise AlreadyExists(f"instance {name!r} already exists in project {project!r}")
    spec = dict(request.spec)
    if spec["kind"] == "vm":
        vm_input.resolve_image(state, project, spec)
    spec = volume_input.resolve_volumes(state, project, spec)
    port = network_input.port_request(state, project, spec)
    project_id = admission.instance_admission(state, project, spec)
    # The image must be on the host, a VPC port needs a host with a VTEP, volumes keep
    # it beside them: all placement filters (scheduler/placement/).
    try:
        placement = planner.request(state, project, spec)
        decision = planner.place(state, placement)
    except (NotFound, ResourceExhausted) as err:
        raise NoHost(err) from None
    command = {"id": new_id("i"), "name": name, "project": project, "labels": request.labels,
               "spec": spec, "host_id": decision.host_id, "overcommit": placement.overcommit,
               "reserved": placement.reserved, "request_id": request.request_id,
               "trace_id": request.trace_id, "project_id": project_id}
    if port is not None:
        command["port"] = port
    return Prepared(command, None)
