"""The Node API: agents join and heartbeat; what they observe is written through Raft."""
from __future__ import annotations

import logging

from common.errors import FailedPrecondition, InvalidArgument, PermissionDenied, rpc_errors
from common.ids import check_labels, check_name, new_id
from common.tls import issuer_fingerprint, peer_certificate, peer_identity
from proto.v1 import node_pb2, node_pb2_grpc
from scheduler.api import convert
from scheduler.api.signing import csr_common_name
from scheduler.liveness import HeartbeatWriter
from scheduler.api.network_input import check_vtep
from scheduler.state import records as r

log = logging.getLogger(__name__)


def observed_args(host_id: str, observed, generation: int | None = None) -> dict:
    args = {"id": observed.instance_id, "host_id": host_id,
            "state": convert.state_from_pb(observed.state), "runtime_id": observed.runtime_id,
            "reason": observed.reason, "started_ms": observed.started_at_ms,
            "finished_ms": observed.finished_at_ms, "exit_code": observed.exit_code}
    if observed.cpu_time_ns or observed.memory_used_bytes:
        # VM stats; the agent samples them every few seconds, so they do not make
        # every heartbeat a Raft write. Containers report none and write nothing extra.
        args.update(cpu_time_ns=observed.cpu_time_ns, memory_used_bytes=observed.memory_used_bytes)
    if generation is not None:
        args["generation"] = generation
    return args


def differs(instance: dict, args: dict) -> bool:
    return any(instance.get(key) != value for key, value in args.items()
               if key not in ("id", "host_id", "generation"))


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


class NodeServicer(node_pb2_grpc.NodeServicer):
    def __init__(self, store, proposer, config, signer=None):
        self.store = store
        self.proposer = proposer
        self.config = config
        self.signer = signer
        self.heartbeats = HeartbeatWriter(store, proposer, config)

    def _authorize(self, context, host_name: str | None = None) -> None:
        identity = peer_identity(context.auth_context())
        if identity is None or identity[1] != "agent":
            raise PermissionDenied("the node API is for agents (certificate role 'agent')")
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
        # Only what changed goes through Raft; liveness alone is batched (scheduler/liveness.py).
        self.heartbeats.write(host, commands)
        return node_pb2.HeartbeatResponse(heartbeat_interval_ms=self.heartbeats.interval_ms(),
                                          **trust_for(rotation, context))

    @rpc_errors
    def RenewCertificate(self, request, context):
        """A new certificate for the caller's own name, role and SANs (the resolver has
        already refused a revoked certificate); the host must still exist."""
        self._authorize(context)
        current = peer_certificate(context.auth_context())
        if csr_common_name(request.csr_pem) != current.common_name:
            raise InvalidArgument("csr_pem", f"its common name is not {current.common_name!r}")
        if self.signer is None:
            raise FailedPrecondition("this scheduler does not sign certificates")
        sans = [a for a in current.sans if a != current.common_name]
        cert, facts = self.signer.sign(request.csr_pem, current.role, sans)
        self.proposer.propose("certificate.renew", {
            "role": current.role, "name": current.common_name, "serial": facts.serial,
            "not_after_ms": facts.not_after_ms, "ca": self.signer.ca_of(cert),
            "old": {"serial": current.serial, "issued_ms": current.issued_ms}})
        log.info("renewed the certificate of %s (serial %s, was %s)", current.common_name,
                 facts.serial, current.serial)
        return node_pb2.RenewCertificateResponse(certificate_pem=cert, ca_pem=self.signer.ca_pem())
