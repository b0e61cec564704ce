"""The Evacuations service: empty a host for planned work, and follow it.

validate → decide (the plan: what can move and where, what cannot and why) →
propose `host.evacuate` → answer with the plan. The leader's Evacuator
(`scheduler/leader/evacuation.py`) then does the moves, a few at a time.
"""
from __future__ import annotations

from common.errors import InvalidArgument, NotFound, rpc_errors
from proto.v1 import evacuate_pb2, evacuate_pb2_grpc
from scheduler.leader import evacuation
from scheduler.api import convert
from scheduler.placement.planner import Planner, Settings
from scheduler.proposer import retry_rid
from scheduler.state import evacuation as ev


def evacuation_pb(record: dict, hosts: dict) -> evacuate_pb2.Evacuation:
    counts, text = evacuation.summary(record["items"])
    items = [evacuate_pb2.EvacuationItem(
        instance_id=instance_id, instance_name=item["name"], project=item["project"], status=item["status"],
        reason=item["reason"], to_host_id=item["to_host_id"],
        to_host_name=hosts.get(item["to_host_id"], {}).get("name", ""))
        for instance_id, item in sorted(record["items"].items(), key=lambda kv: (kv[1]["name"], kv[0]))]
    return evacuate_pb2.Evacuation(
        id=record["id"], host_id=record["host_id"], host_name=record["host_name"], state=record["state"],
        parallel=record["parallel"], started_at=convert.timestamp(record["started_ms"]),
        finished_at=convert.timestamp(record["finished_ms"]), items=items, counts=counts, summary=text)


class EvacuationsServicer(evacuate_pb2_grpc.EvacuationsServicer):
    def __init__(self, store, proposer, config):
        self.store = store
        self.proposer = proposer
        self.planner = Planner(Settings.from_config(config))

    @staticmethod
    def _host(state, ref: str) -> dict:
        if not ref:
            raise InvalidArgument("name", "is required")
        host = state.host_by_ref(ref)
        if host is None:
            raise NotFound(f"host {ref!r} not found")
        return host

    @rpc_errors
    def EvacuateHost(self, request, context):
        parallel = request.parallel or evacuation.DEFAULT_PARALLEL
        if not 1 <= parallel <= ev.MAX_PARALLEL:
            raise InvalidArgument("parallel", f"must be between 1 and {ev.MAX_PARALLEL}")
        with self.store.read_lock:
            state = self.store.read()
            host = self._host(state, request.name)
            current = ev.running(state, host["id"])
            if current is not None:
                return evacuation_pb(current, state.hosts)
            # Refuse before deciding anything (apply checks it again).
            ev.check_somewhere_to_go(state, host)
            items = evacuation.plan(state, self.planner, host)
        rid = retry_rid(request.request_id, "host.evacuate", host["id"])
        result = self.proposer.propose("host.evacuate", {
            "id": host["id"], "evacuation_id": evacuation.new_evacuation_id(), "parallel": parallel,
            "items": items}, rid=rid)
        with self.store.read_lock:
            return evacuation_pb(result["evacuation"], self.store.read().hosts)

    @rpc_errors
    def GetEvacuation(self, request, context):
        with self.store.read_lock:
            state = self.store.read()
            host = self._host(state, request.name)
            record = state.evacuations.get(host["id"])
            if record is None:
                raise NotFound(f"host {host['name']} has never been evacuated")
            return evacuation_pb(record, state.hosts)
