"""The Cluster service: every member's Raft status, gathered from the members themselves."""
from __future__ import annotations

import logging
from concurrent import futures

import grpc

from common.errors import rpc_errors
from common.grpcserve import ChannelCache, secure_channel
from common.tls import SCHEDULER_NAME
from common.version import installed_version
from proto.v1 import public_pb2, public_pb2_grpc, resources_pb2 as pb
from scheduler.membership import current_members
from scheduler.state import records as r

log = logging.getLogger(__name__)

_ROLES = {"leader": pb.MEMBER_ROLE_LEADER, "follower": pb.MEMBER_ROLE_FOLLOWER,
          "candidate": pb.MEMBER_ROLE_CANDIDATE}


class ClusterServicer(public_pb2_grpc.ClusterServicer):
    def __init__(self, store, config, tls):
        self.store = store
        self.config = config
        self.tls = tls
        self._channels = ChannelCache(tls, lambda api: secure_channel(api, tls, server_name=SCHEDULER_NAME))
        self._pool = futures.ThreadPoolExecutor(max_workers=8)
        self.version = installed_version()   # read at start-up: what this process runs

    def _own_status(self) -> pb.ClusterMember:
        me = self.config.me()
        status = self.store.status()
        return pb.ClusterMember(name=me.name, api_address=me.api, raft_address=me.raft,
                                role=_ROLES.get(status.role, pb.MEMBER_ROLE_UNSPECIFIED),
                                term=status.term, commit_index=status.commit_index,
                                applied_index=status.applied_index, reachable=True,
                                version=self.version)

    def _member_status(self, member) -> pb.ClusterMember:
        channel = self._channels.get(member.api)
        try:
            return public_pb2_grpc.ClusterStub(channel).GetMemberStatus(
                public_pb2.GetMemberStatusRequest(), timeout=1.5)
        except grpc.RpcError as err:
            return pb.ClusterMember(name=member.name, api_address=member.api,
                                    raft_address=member.raft, reachable=False,
                                    error=f"{err.code().name}: {err.details()}")

    @rpc_errors
    def GetMemberStatus(self, request, context):
        return self._own_status()

    @rpc_errors
    def GetStatus(self, request, context):
        # Members added or removed at run time count too (scheduler/membership.py).
        others = [m for m in current_members(self.store, self.config) if m.name != self.config.name]
        members = [self._own_status()] + list(self._pool.map(self._member_status, others))
        members.sort(key=lambda m: m.name)
        leaders = [m for m in members if m.role == pb.MEMBER_ROLE_LEADER and m.reachable]
        leader = max(leaders, key=lambda m: m.term) if leaders else None
        with self.store.read_lock:
            state = self.store.read()
            hosts_up = sum(1 for h in state.hosts.values() if h.get("state") == r.HOST_UP)
            hosts_total, instances = len(state.hosts), len(state.instances)
        return public_pb2.ClusterStatus(
            cluster_name=self.config.cluster_name, leader=leader.name if leader else "",
            term=max((m.term for m in members), default=0), members=members,
            hosts_up=hosts_up, hosts_total=hosts_total, instances=instances)
