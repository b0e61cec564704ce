"""The Images service (VM images in the cluster state) and the Machines service (reboot).

An import registers what agents need to fetch the image themselves — source URL,
sha256, size, format — never the bytes: the CLI reads a local file once to compute
them and passes a file:// URL (the all-in-one, or a path every host shares), or a
user gives an http(s) URL with its checksum. Each agent fetches on first use,
verifies the sha256 and keeps the file in its cache.
"""
from __future__ import annotations

import grpc

from common.errors import (FailedPrecondition, InvalidArgument, NotFound, Unavailable,
                           rpc_errors)
from common.ids import check_labels, check_name, new_id
from proto.v1 import agent_pb2, images_pb2, images_pb2_grpc
from scheduler.api import convert, validate, vm_convert, vm_input
from scheduler.auth import identity
from scheduler.state import images as image_state
from scheduler.state import records as r


def _find_image(state, project: str, ref: str) -> dict:
    if not ref:
        raise InvalidArgument("name", "is required")
    image_id = state.image_names.get(r.name_key(project, ref)) or ref
    image = state.images.get(image_id)
    if image is None or image["project"] != project:
        raise NotFound(f"image {ref!r} not found in project {project!r}")
    return image


class ImagesServicer(images_pb2_grpc.ImagesServicer):
    def __init__(self, store, proposer):
        self.store = store
        self.proposer = proposer

    def _answer(self, project: str, ref: str) -> images_pb2.Image:
        identity.require_visible(project)
        with self.store.read_lock:
            state = self.store.read()
            image = _find_image(state, project, ref)
            return vm_convert.image_pb(image, len(image_state.users(state, image["id"])))

    @rpc_errors
    def ImportImage(self, request, context):
        name = check_name(request.name, "name")
        project = validate.project(request.project)
        descriptor = vm_input.import_request(request)
        labels = check_labels(dict(request.labels))
        result = self.proposer.propose("image.import", {
            "id": new_id("img"), "name": name, "project": project, "labels": labels,
            "image": descriptor})
        return vm_convert.image_pb(result["image"], 0)

    @rpc_errors
    def GetImage(self, request, context):
        return self._answer(validate.project(request.project), request.name)

    @rpc_errors
    def ListImages(self, request, context):
        project = validate.project(request.project)
        identity.require_visible(project)
        size, offset = validate.page(request.page_size, request.page_token)
        with self.store.read_lock:
            state = self.store.read()
            chosen = sorted((i for i in state.images.values() if i["project"] == project),
                            key=lambda i: (i["name"], i["id"]))
            items = [vm_convert.image_pb(i, len(image_state.users(state, i["id"])))
                     for i in chosen[offset:offset + size]]
        token = str(offset + size) if offset + size < len(chosen) else ""
        return images_pb2.ListImagesResponse(images=items, next_page_token=token)

    @rpc_errors
    def DeleteImage(self, request, context):
        project = validate.project(request.project)
        identity.require_visible(project)
        with self.store.read_lock:
            image = _find_image(self.store.read(), project, request.name)
        self.proposer.propose("image.delete", {"id": image["id"]})
        return images_pb2.DeleteImageResponse()


class MachinesServicer(images_pb2_grpc.MachinesServicer):
    """Actions on a running VM, carried out by its host's agent at once."""

    def __init__(self, store, agents, config):
        self.store = store
        self.agents = agents
        self.config = config

    @rpc_errors
    def RebootInstance(self, request, context):
        project = validate.project(request.project)
        identity.require_visible(project)
        if not request.name:
            raise InvalidArgument("name", "is required")
        with self.store.read_lock:
            state = self.store.read()
            instance = state.instance_by_ref(project, request.name)
            if instance is None:
                raise NotFound(f"instance {request.name!r} not found in project {project!r}")
            instance = dict(instance)
            host = dict(state.hosts.get(instance["host_id"], {}))
            status = self.store.status()
        if instance["spec"].get("kind") != "vm":
            raise FailedPrecondition(f"instance {instance['name']!r} is not a VM")
        if instance["state"] != r.RUNNING:
            raise FailedPrecondition(f"instance {instance['name']!r} is {instance['state']}, not running")
        if not host or host.get("state") != r.HOST_UP:
            raise FailedPrecondition(f"host of instance {instance['name']!r} is not reachable")
        fence = agent_pb2.Fence(term=status.term, leader=self.config.name)
        try:
            images_pb2_grpc.AgentMachinesStub(self.agents.channel(host)).Reboot(
                images_pb2.AgentRebootRequest(fence=fence, instance_id=instance["id"],
                                              hard=request.hard),
                timeout=self.config.agent_call_timeout)
        except grpc.RpcError as err:
            if err.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                raise FailedPrecondition(f"host {host['name']}: {err.details()}") from None
            raise Unavailable(f"host {host['name']}: {err.details()}") from None
        return convert.instance_pb(instance, {host["id"]: host})
