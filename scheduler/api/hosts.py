"""The Hosts service (read-only for now: hosts join through the node API)."""
from __future__ import annotations

from common.errors import InvalidArgument, NotFound, rpc_errors
from proto.v1 import public_pb2, public_pb2_grpc
from scheduler.api import convert, validate
from scheduler.api.volume_convert import host_pool_pb
from scheduler.api.volumes import overcommit


class HostsServicer(public_pb2_grpc.HostsServicer):
    def __init__(self, store, config=None):
        self.store = store
        self.config = config          # for the volume overcommit shown with each host's pool

    def _host_pb(self, state, host: dict):
        message = convert.host_pb(host)
        pool = host_pool_pb(state, host["id"], overcommit(self.config))
        if pool is not None:
            message.volume_pool.CopyFrom(pool)
        return message

    @rpc_errors
    def GetHost(self, request, context):
        if not request.name:
            raise InvalidArgument("name", "is required")
        with self.store.read_lock:
            state = self.store.read()
            host = state.host_by_ref(request.name)
            if host is None:
                raise NotFound(f"host {request.name!r} not found")
            return self._host_pb(state, host)

    @rpc_errors
    def ListHosts(self, request, context):
        size, offset = validate.page(request.page_size, request.page_token)
        with self.store.read_lock:
            state = self.store.read()
            hosts = sorted(state.hosts.values(), key=lambda h: h["name"])
            items = [self._host_pb(state, h) for h in hosts[offset:offset + size]]
        token = str(offset + size) if offset + size < len(hosts) else ""
        return public_pb2.ListHostsResponse(hosts=items, next_page_token=token)
