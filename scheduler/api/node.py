"""The Node API: agents join and heartbeat; what they observe is written through Raft."""
from __future__ import annotations

import logging

from common.errors import FailedPrecondition, InvalidArgument, PermissionDenied, rpc_errors
from common.ids import check_labels, check_name, new_id
from common.tls import issuer_fingerprint, peer_certificate, peer_identity
from proto.v1 import node_pb2, node_pb2_grpc
from scheduler.api import convert
from scheduler.leader.liveness import HeartbeatWriter
from scheduler.observed import differs, observed_args
from scheduler.api.network_input import check_vtep
from scheduler.state import records as r
from scheduler.state.enrollment import schedulers_denied

log = logging.getLogger(__name__)


def trust_for(rotation: dict, context) -> dict:
    """What a heartbeat response tells the agent about the CA (`cloud cluster rotate-ca`):
    the cluster's trust bundle once there is one, and, from phase reissue on, to renew
    now when its certificate is not from the new CA."""
    if not rotation.get("bundle"):
        return {}
    reply = {"ca_pem": rotation["bundle"].encode()}
    if rotation["phase"] == "reissue":
        cert = (context.auth_context().get("x509_pem_cert") or [b""])[0]
        reply["renew_certificate"] = issuer_fingerprint(cert, rotation["new_ca"].encode()) != rotation["new_fp"]
    return reply


def deny_list_pb(denied: dict) -> node_pb2.DenyList:
    return node_pb2.DenyList(
        revision=denied["revision"], serials=denied["serials"],
        names=[node_pb2.DeniedName(name=n["name"], revoked_at_ms=n["revoked_ms"],
                                   current_serial=n["current_serial"]) for n in denied["names"]])


class NodeServicer(node_pb2_grpc.NodeServicer):
    def __init__(self, store, proposer, config, signer=None):
        self.store = store
        self.proposer = proposer
        self.config = config
        self.signer = signer
        self.heartbeats = HeartbeatWriter(store, proposer, config)
        self._denied: tuple[int, node_pb2.DenyList] = (-1, node_pb2.DenyList())

    def _deny_list(self, state) -> node_pb2.DenyList:
        """The schedulers' deny-list for heartbeat responses, built again only when its
        revision moved (agents take a list only for a newer revision anyway)."""
        revision = int(state.deny_list.get("revision", 0))
        if self._denied[0] != revision:
            self._denied = (revision, deny_list_pb(schedulers_denied(state)))
        return self._denied[1]

    def _authorize(self, context, host_name: str | None = None, roles: tuple = ("agent",)) -> None:
        identity = peer_identity(context.auth_context())
        if identity is None or identity[1] not in roles:
            if roles == ("agent",):
                raise PermissionDenied("the node API is for agents (certificate role 'agent')")
            raise PermissionDenied(f"only certificates of role {' or '.join(roles)} renew here")
        if host_name is not None and identity[0] != host_name:
            raise PermissionDenied(f"certificate is for {identity[0]!r}, not {host_name!r}")

    @rpc_errors
    def Join(self, request, context):
        name = check_name(request.host_name, "host_name")
        self._authorize(context, name)
        if not request.address:
            raise InvalidArgument("address", "is required")
        if request.capacity.vcpus <= 0 or request.capacity.memory_bytes <= 0:
            raise InvalidArgument("capacity", "vcpus and memory_bytes must be positive")
        result = self.proposer.propose("host.join", {
            "id": new_id("h"), "name": name, "address": request.address,
            "capacity": convert.resources_from_pb(request.capacity),
            "drivers": list(request.drivers), "labels": check_labels(dict(request.labels)),
            "agent_version": request.agent_version, "images": list(request.images),
            "vtep": check_vtep(request.vtep),
        })
        return node_pb2.JoinResponse(host_id=result["host_id"],
                                     heartbeat_interval_ms=self.heartbeats.interval_ms())

    @rpc_errors
    def Heartbeat(self, request, context):
        self._authorize(context)
        if not request.host_id:
            raise InvalidArgument("host_id", "is required")
        with self.store.read_lock:
            state = self.store.read()
            host = state.hosts.get(request.host_id)
            if host is not None:
                self._authorize(context, host["name"])
            mine = {i["id"]: dict(i) for i in state.instances_on(request.host_id)}
            rotation = dict(state.ca_rotation)
            deny_list = self._deny_list(state)
        usage = {f.name: getattr(request.usage, f.name) for f in request.usage.DESCRIPTOR.fields}
        beat = {"id": request.host_id, "usage": usage, "images": list(request.images)}
        if request.capacity.vcpus:
            beat["capacity"] = convert.resources_from_pb(request.capacity)
        commands = [("host.heartbeat", beat)]
        for observed in request.instances:
            instance = mine.get(observed.instance_id)
            if instance is None or instance["state"] in (r.DELETING,):
                continue   # not its own: the reconciler tells the agent to remove it
            args = observed_args(request.host_id, observed)
            if differs(instance, args):
                commands.append(("instance.observe", args))
        # Only what changed goes through Raft; liveness alone is batched (scheduler/leader/liveness.py).
        self.heartbeats.write(host, commands)
        return node_pb2.HeartbeatResponse(heartbeat_interval_ms=self.heartbeats.interval_ms(),
                                          deny_list=deny_list, **trust_for(rotation, context))

    @rpc_errors
    def RenewCertificate(self, request, context):
        """A new certificate for the caller's own name, role and SANs (the resolver has
        already refused a revoked certificate): an agent whose host still exists, or a
        scheduler that holds no CA key itself (scheduler/own_certificate.py)."""
        self._authorize(context, roles=("agent", "scheduler"))
        if self.signer is None:
            raise FailedPrecondition("this scheduler does not sign certificates")
        cert = self.signer.renew(self.proposer, peer_certificate(context.auth_context()), request.csr_pem)
        return node_pb2.RenewCertificateResponse(certificate_pem=cert, ca_pem=self.signer.ca_pem())
