"""The FloatingIps service, and Networks.SetVpcGateway.

validate → resolve names → choose ids → propose → answer. Apply checks again
(the pool, addresses taken, one floating IP per port, the VPC's gateway host),
so racing writers end with one of them refused and nothing half-made.
"""
from __future__ import annotations

import ipaddress

from common.errors import InvalidArgument, NotFound, rpc_errors
from common.ids import check_labels, new_id
from proto.v1 import floating_pb2 as fpb
from proto.v1 import floating_pb2_grpc
from scheduler.api import convert, network_convert, validate
from scheduler.api import network_input as find
from scheduler.state import floating, iam


def floating_ip_pb(state, record: dict) -> fpb.FloatingIp:
    instance = state.instances.get(record["instance_id"]) if record["instance_id"] else None
    msg = fpb.FloatingIp(meta=convert.meta_pb(record), address=record["address"])
    if instance is not None and instance.get("port"):
        vpc = state.vpcs.get(instance["port"]["vpc_id"], {})
        host = state.hosts.get(vpc.get("gateway_host_id", ""), {})
        msg.instance, msg.instance_id, msg.port_ip = instance["name"], instance["id"], instance["port"]["ip"]
        msg.vpc, msg.gateway_host = vpc.get("name", ""), host.get("name", "")
    return msg


def find_floating_ip(state, project: str, ref: str) -> dict:
    """A floating IP of `project` by id or address."""
    record = state.floating_ips.get(ref) or state.floating_ips.get(state.floating_ip_addresses.get(ref, ""))
    if record is None or record["project"] != project:
        raise NotFound(f"floating ip {ref!r} not found in project {project!r}")
    return record


def find_host(state, ref: str) -> dict:
    host = state.host_by_ref(ref)
    if host is None:
        raise NotFound(f"host {ref!r} not found")
    return host


def check_pool(cidr: str) -> str:
    """The configured pool in canonical form (FAILED_PRECONDITION when none is set)."""
    return str(floating.pool(cidr))


class FloatingIpsServicer(floating_pb2_grpc.FloatingIpsServicer):
    def __init__(self, store, proposer, config):
        self.store = store
        self.proposer = proposer
        self.config = config

    def _read(self, fn):
        with self.store.read_lock:
            return fn(self.store.read())

    def _ref(self, request) -> tuple[str, dict]:
        if not request.address:
            raise InvalidArgument("address", "is required")
        project = validate.project(request.project)
        return project, self._read(lambda state: find_floating_ip(state, project, request.address))

    def _answer(self, result: dict):
        return self._read(lambda state: floating_ip_pb(state, result["floating_ip"]))

    @rpc_errors
    def CreateFloatingIp(self, request, context):
        project = validate.project(request.project)
        if request.address:
            try:
                ipaddress.IPv4Address(request.address)
            except ValueError:
                raise InvalidArgument("address", f"{request.address!r} is not an IPv4 address") from None
        pool = check_pool(self.config.floating_ip_pool)

        def project_id(state):
            record = iam.project(state, project)
            if record is None:
                raise NotFound(f"project {project!r} not found")
            return record["id"]
        result = self.proposer.propose("floating_ip.create", {
            "id": new_id("fip"), "project": project, "project_id": self._read(project_id), "pool": pool,
            "address": request.address, "labels": check_labels(dict(request.labels))})
        return self._answer(result)

    @rpc_errors
    def GetFloatingIp(self, request, context):
        project, record = self._ref(request)
        return self._read(lambda state: floating_ip_pb(state, record))

    @rpc_errors
    def ListFloatingIps(self, request, context):
        project = validate.project(request.project)
        size, offset = validate.page(request.page_size, request.page_token)

        def window(state):
            chosen = sorted((x for x in state.floating_ips.values() if x["project"] == project),
                            key=lambda x: (ipaddress.IPv4Address(x["address"]), x["id"]))
            items = [floating_ip_pb(state, x) for x in chosen[offset:offset + size]]
            return items, (str(offset + size) if offset + size < len(chosen) else "")
        items, token = self._read(window)
        return fpb.ListFloatingIpsResponse(floating_ips=items, next_page_token=token)

    @rpc_errors
    def DeleteFloatingIp(self, request, context):
        _, record = self._ref(request)
        self.proposer.propose("floating_ip.delete", {"id": record["id"]})
        return fpb.DeleteFloatingIpResponse()

    @rpc_errors
    def AttachFloatingIp(self, request, context):
        project, record = self._ref(request)
        if not request.instance:
            raise InvalidArgument("instance", "is required")

        def instance_id(state):
            instance = state.instance_by_ref(project, request.instance)
            if instance is None:
                raise NotFound(f"instance {request.instance!r} not found in project {project!r}")
            return instance["id"]
        return self._answer(self.proposer.propose(
            "floating_ip.attach", {"id": record["id"], "instance_id": self._read(instance_id)}))

    @rpc_errors
    def DetachFloatingIp(self, request, context):
        _, record = self._ref(request)
        return self._answer(self.proposer.propose("floating_ip.detach", {"id": record["id"]}))


def set_vpc_gateway(store, proposer, request):
    """Networks.SetVpcGateway: the VPC, answered after the change."""
    if not request.vpc:
        raise InvalidArgument("vpc", "is required")
    project = validate.project(request.project)

    def ids(state):
        vpc = find.vpc(state, project, request.vpc)
        return vpc["id"], find_host(state, request.host)["id"] if request.host else ""
    with store.read_lock:
        vpc_id, host_id = ids(store.read())
    result = proposer.propose("vpc.set_gateway", {"id": vpc_id, "host_id": host_id})
    with store.read_lock:
        return network_convert.vpc_pb(store.read(), result["vpc"])


def gateway_host_id(store, ref: str) -> str:
    """CreateVpc's gateway_host resolved to a host id (empty stays empty)."""
    if not ref:
        return ""
    with store.read_lock:
        return find_host(store.read(), ref)["id"]
