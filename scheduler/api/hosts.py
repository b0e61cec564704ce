"""The Hosts service (read-only for now: hosts join through the node API)."""
from __future__ import annotations

from common.errors import InvalidArgument, NotFound, rpc_errors
from proto.v1 import public_pb2, public_pb2_grpc
from scheduler.api import convert, validate


class HostsServicer(public_pb2_grpc.HostsServicer):
    def __init__(self, store):
        self.store = store

    @rpc_errors
    def GetHost(self, request, context):
        if not request.name:
            raise InvalidArgument("name", "is required")
        with self.store.read_lock:
            host = self.store.read().host_by_ref(request.name)
            if host is None:
                raise NotFound(f"host {request.name!r} not found")
            return convert.host_pb(host)

    @rpc_errors
    def ListHosts(self, request, context):
        size, offset = validate.page(request.page_size, request.page_token)
        with self.store.read_lock:
            hosts = sorted(self.store.read().hosts.values(), key=lambda h: h["name"])
            items = [convert.host_pb(h) for h in hosts[offset:offset + size]]
        token = str(offset + size) if offset + size < len(hosts) else ""
        return public_pb2.ListHostsResponse(hosts=items, next_page_token=token)
