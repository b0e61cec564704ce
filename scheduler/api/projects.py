"""The Projects service. Every resource belongs to a project; "default" is built in."""
from __future__ import annotations

from common.errors import NotFound, rpc_errors
from common.ids import check_labels, check_name, new_id
from proto.v1 import iam_pb2, iam_pb2_grpc
from scheduler.api import iam_input, validate
from scheduler.api.iam_convert import project_pb
from scheduler.auth import identity
from scheduler.state import iam

MAX_DESCRIPTION = 1024


class ProjectsServicer(iam_pb2_grpc.ProjectsServicer):
    def __init__(self, store, proposer):
        self.store = store
        self.proposer = proposer

    @rpc_errors
    def CreateProject(self, request, context):
        name = check_name(request.name)
        description = iam_input.text(request.description, "description", MAX_DESCRIPTION)
        result = self.proposer.propose("project.create", {
            "id": new_id("p"), "name": name, "description": description,
            "labels": check_labels(dict(request.labels))})
        return project_pb(result["project"])

    @rpc_errors
    def GetProject(self, request, context):
        name = check_name(request.name) if not request.name.startswith("p-") else request.name
        with self.store.read_lock:
            record = iam.project(self.store.read(), name)
            record = dict(record) if record else None
        if record is None:
            raise NotFound(f"project {request.name!r} not found")
        identity.require_visible(record["name"])
        return project_pb(record)

    @rpc_errors
    def ListProjects(self, request, context):
        size, offset = validate.page(request.page_size, request.page_token)
        visible = identity.visible_projects()
        with self.store.read_lock:
            chosen = [dict(p) for p in iam.projects(self.store.read())
                      if visible is None or p["name"] in visible]
        window = chosen[offset:offset + size]
        token = str(offset + size) if offset + size < len(chosen) else ""
        return iam_pb2.ListProjectsResponse(projects=[project_pb(p) for p in window],
                                            next_page_token=token)

    @rpc_errors
    def DeleteProject(self, request, context):
        self.proposer.propose("project.delete", {"name": check_name(request.name)})
        return iam_pb2.DeleteProjectResponse()
