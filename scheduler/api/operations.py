"""The Operations service: membership, backup and restore, join tokens, host removal,
the CA's rotation and the renewal of admins' certificates.

Every method needs an admin certificate: these calls change who runs the
cluster or read all of its state at once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from common.errors import (AlreadyExists, FailedPrecondition, InvalidArgument, NotFound,
                           PermissionDenied, rpc_errors)
from common.ids import check_name
from common.tls import join_secret_hash, new_join_token, peer_certificate, peer_identity
from proto.v1 import node_pb2, operations_pb2, operations_pb2_grpc, resources_pb2 as pb
from scheduler import membership
from scheduler.api.enrollment import MAX_ADDRESSES

log = logging.getLogger(__name__)

BACKUP_FORMAT = "thecloud-backup/1"
MAX_ARCHIVE_BYTES = 48 * 1024 * 1024
DEFAULT_TTL, MAX_TTL = 3600, 7 * 24 * 3600
TOKEN_ROLES = ("agent", "scheduler")


def require_admin(context) -> str:
    identity = peer_identity(context.auth_context())
    if identity is None or identity[1] != "admin":
        raise PermissionDenied("this call needs an admin certificate")
    return identity[0]


def state_digest(state: dict) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def ca_fingerprint(ca_pem: bytes) -> str:
    der = x509.load_pem_x509_certificate(ca_pem).public_bytes(serialization.Encoding.DER)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def parse_archive(archive: bytes) -> dict:
    """The backup in `archive`, checked; InvalidArgument naming what is wrong."""
    if not archive:
        raise InvalidArgument("archive", "is empty")
    if len(archive) > MAX_ARCHIVE_BYTES:
        raise InvalidArgument("archive", f"larger than {MAX_ARCHIVE_BYTES} bytes")
    try:
        backup = json.loads(archive)
    except (ValueError, UnicodeDecodeError, RecursionError):   # RecursionError: nested too deep
        raise InvalidArgument("archive", "is not a thecloud backup (not JSON)") from None
    if not isinstance(backup, dict) or backup.get("format") != BACKUP_FORMAT:
        raise InvalidArgument("archive", f"is not a {BACKUP_FORMAT} file")
    if not isinstance(backup.get("state"), dict):
        raise InvalidArgument("archive", "has no state")
    if state_digest(backup["state"]) != backup.get("sha256"):
        raise InvalidArgument("archive", "checksum mismatch: the file is damaged")
    # The checksum covers the state only: the fields beside it are checked here.
    revision = backup.get("revision", 0)
    if type(revision) is not int or not 0 <= revision < 2**63:
        raise InvalidArgument("archive", "revision must be a whole number below 2^63")
    if not isinstance(backup.get("cluster_name", ""), str):
        raise InvalidArgument("archive", "cluster_name must be a string")
    return backup


class OperationsServicer(operations_pb2_grpc.OperationsServicer):
    def __init__(self, store, proposer, config, tls, secret: str, rotation=None, signer=None):
        self.rotation = rotation
        self.signer = signer
        self.store = store
        self.proposer = proposer
        self.config = config
        self.tls = tls
        self.secret = secret

    # -- membership --------------------------------------------------------------------

    @rpc_errors
    def AddMember(self, request, context):
        require_admin(context)
        name = check_name(request.name, "name")
        api = membership.check_address("api_address", request.api_address)
        raft = membership.check_address("raft_address", request.raft_address)
        existing = membership.find_member(self.store, self.config, name) or \
            membership.find_member(self.store, self.config, raft)
        raft_members = {m.address for m in self.store.status().members}
        if existing is not None and existing.raft in raft_members:
            raise AlreadyExists(f"member {existing.name} ({existing.raft}) is already in the cluster")
        self.proposer.propose("cluster.member_add", {"name": name, "api": api, "raft": raft})
        self.store.add_member(raft, timeout=15.0)
        log.info("added scheduler %s (raft %s, api %s)", name, raft, api)
        return pb.ClusterMember(name=name, api_address=api, raft_address=raft)

    @rpc_errors
    def RemoveMember(self, request, context):
        require_admin(context)
        if not request.name:
            raise InvalidArgument("name", "is required")
        member = membership.find_member(self.store, self.config, request.name)
        if member is None:
            raise NotFound(f"no member {request.name!r}")
        status = self.store.status()
        connected = {m.address: m.connected for m in status.members}
        if member.raft not in connected:
            raise NotFound(f"{member.name} ({member.raft}) is not a Raft member")
        fine, why = membership.quorum_after_removal(connected, member.raft)
        if not fine and not request.force:
            raise FailedPrecondition(f"removing {member.name} would lose the quorum: {why}")
        self.store.remove_member(member.raft, timeout=15.0)
        self.proposer.propose("cluster.member_remove",
                              {"name": member.name, "api": member.api, "raft": member.raft})
        log.info("removed scheduler %s (raft %s)", member.name, member.raft)
        return operations_pb2.RemoveMemberResponse()

    # -- backup and restore ----------------------------------------------------------------

    @rpc_errors
    def Backup(self, request, context):
        require_admin(context)
        # Linearizable: every write acknowledged before this call is in the snapshot.
        self.store.barrier(timeout=5.0)
        snapshot = self.store.snapshot()
        state, revision = snapshot["state"], snapshot["index"]
        created = dt.datetime.now(dt.timezone.utc)
        digest = state_digest(state)
        archive = json.dumps({
            "format": BACKUP_FORMAT, "cluster_name": self.config.cluster_name, "revision": revision,
            "created_at": created.isoformat(timespec="seconds"), "sha256": digest, "state": state,
        }, sort_keys=True, separators=(",", ":")).encode()
        reply = operations_pb2.BackupArchive(revision=revision, cluster_name=self.config.cluster_name,
                                             archive=archive, sha256=digest)
        reply.created_at.FromDatetime(created)
        return reply

    @rpc_errors
    def Restore(self, request, context):
        require_admin(context)
        backup = parse_archive(request.archive)
        result = self.proposer.propose("cluster.restore", {
            "state": backup["state"], "revision": int(backup.get("revision", 0)),
            "cluster_name": str(backup.get("cluster_name", ""))})
        log.warning("restored the cluster state from a backup of %s at revision %s",
                    backup.get("cluster_name"), backup.get("revision"))
        return operations_pb2.RestoreResponse(revision=self.store.applied_index,
                                              hosts=result["hosts"], instances=result["instances"])

    # -- join tokens -----------------------------------------------------------------------

    @rpc_errors
    def CreateJoinToken(self, request, context):
        admin = require_admin(context)
        ttl = request.ttl_seconds or DEFAULT_TTL
        if not 0 < ttl <= MAX_TTL:
            raise InvalidArgument("ttl_seconds", f"must be between 1 and {MAX_TTL}")
        role = request.role or "agent"
        if role not in TOKEN_ROLES:
            raise InvalidArgument("role", f"must be one of {', '.join(TOKEN_ROLES)}")
        name = check_name(request.name, "name")
        addresses = list(dict.fromkeys(request.addresses))
        if len(addresses) > MAX_ADDRESSES or any(not a or len(a) > 253 or " " in a for a in addresses):
            raise InvalidArgument("addresses", f"at most {MAX_ADDRESSES} IP addresses or DNS names")
        if role == "scheduler" and membership.find_member(self.store, self.config, name) is not None:
            raise FailedPrecondition(f"scheduler {name} is a member: remove it first "
                                     f"(`cloud cluster remove-node {name}`)")
        now = time.time()
        token_id, secret, token = new_join_token()
        expires_ms = int((now + ttl) * 1000)
        self.proposer.propose("join_token.create", {
            "token_id": token_id, "secret_hash": join_secret_hash(secret), "role": role, "name": name,
            "addresses": addresses, "expires_ms": expires_ms, "created_by": admin})
        log.info("join token %s for %s %s (expires in %ss) by %s", token_id, role, name, ttl, admin)
        # Any scheduler's enrollment endpoint accepts the token; this one names its own.
        reply = operations_pb2.JoinToken(token=token, ca_fingerprint=ca_fingerprint(self.tls.ca.read_bytes()),
                                         enroll_endpoints=[self._enroll_endpoint()] if self.config.enroll_listen else [],
                                         name=name, role=role, id=token_id)
        reply.expires_at.FromMilliseconds(expires_ms)
        return reply

    # -- hosts -----------------------------------------------------------------------------

    @rpc_errors
    def RemoveHost(self, request, context):
        admin = require_admin(context)
        if not request.name:
            raise InvalidArgument("name", "is required")
        result = self.proposer.propose("host.remove", {"ref": request.name})
        log.warning("removed host %s (%s) by %s; revoked %s", result["name"], result["host_id"], admin,
                    ", ".join(result["revoked_serials"]) or "its earlier certificates")
        return operations_pb2.RemoveHostResponse(revoked_serials=result["revoked_serials"])

    # -- the cluster CA --------------------------------------------------------------------

    @rpc_errors
    def RotateCa(self, request, context):
        admin = require_admin(context)
        if self.rotation is None:
            raise FailedPrecondition("this scheduler cannot rotate the CA")
        reply = self.rotation.run(request.phase, context)
        if request.phase:
            log.warning("CA rotation %s by %s: now %s", request.phase, admin, reply.phase)
        return reply

    @rpc_errors
    def RenewCertificate(self, request, context):
        """A new certificate for the calling admin (cli/own_certificate.py calls it when a
        third of the validity is left, or during a CA rotation's reissue phase)."""
        require_admin(context)
        if self.signer is None:
            raise FailedPrecondition("this scheduler does not sign certificates")
        cert = self.signer.renew(self.proposer, peer_certificate(context.auth_context()), request.csr_pem)
        return node_pb2.RenewCertificateResponse(certificate_pem=cert, ca_pem=self.signer.ca_pem())

    def _enroll_endpoint(self) -> str:
        host, _, port = self.config.enroll_listen.rpartition(":")
        if host in ("0.0.0.0", "[::]", ""):
            host = self.config.listen.rpartition(":")[0]
        return f"{host}:{port}"
