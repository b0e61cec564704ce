"""The Events service: the replicated event log as a resumable server stream.

Events are part of the replicated state (scheduler/state/events.py), so any
scheduler serves any cursor the same way. The stream wakes on every applied
entry (a watch callback only sets a flag) and sends what is new since the last
sequence it sent; a mirror replaced by a snapshot needs nothing special.
"""
from __future__ import annotations

import logging
import threading

import grpc

from common.errors import CloudError, InvalidArgument, NotFound, ResourceExhausted
from proto.v1 import events_pb2, events_pb2_grpc
from scheduler.api import validate
from scheduler.state import events as cluster_events

log = logging.getLogger(__name__)

MAX_KINDS = 16
# A follower whose replica is far behind still answers: the wait is bounded.
POLL_SECONDS = 0.5


def event_pb(event: dict) -> events_pb2.Event:
    message = events_pb2.Event(
        sequence=event["seq"], revision=event["revision"], type=event["type"], kind=event["kind"],
        id=event["id"], name=event["name"], project=event["project"], state=event["state"],
        previous_state=event["previous_state"], reason=event["reason"])
    message.time.FromMilliseconds(event["ts"])
    return message


def record_placement_failure(proposer, project: str, name: str, err: CloudError) -> None:
    """Put a refused placement in the event log; best effort (the caller's error wins)."""
    category = ("image_not_found" if isinstance(err, NotFound)
                else "no_host_fits" if isinstance(err, ResourceExhausted) else "other")
    try:
        proposer.propose("event.placement_failed", {"name": name, "project": project,
                                                    "reason": err.message, "category": category})
    except CloudError as failure:
        log.warning("could not record the placement failure of %s: %s", name, failure)


class EventsServicer(events_pb2_grpc.EventsServicer):
    def __init__(self, store):
        self.store = store

    def _start(self, request) -> int:
        """The sequence after which the stream starts; OUT_OF_RANGE when events were dropped."""
        with self.store.read_lock:
            state = self.store.read()
            oldest = cluster_events.oldest_seq(state)
            if request.after_sequence:
                if request.after_sequence > state.event_seq:
                    # A cursor from the future: another cluster, or this replica lags.
                    return request.after_sequence
                if request.after_sequence + 1 < oldest:
                    raise _OutOfRange(f"events after sequence {request.after_sequence} were dropped "
                                      f"(oldest kept: {oldest}); list the resources and watch again")
                return request.after_sequence
            if request.since_revision:
                later = [e["seq"] for e in state.events if e["revision"] > request.since_revision]
                if later:
                    if later[0] == oldest and state.events[0]["revision"] > request.since_revision + 1 \
                            and oldest > 1:
                        raise _OutOfRange(f"events of revision {request.since_revision + 1} on were dropped "
                                          f"(oldest kept: revision {state.events[0]['revision']})")
                    return later[0] - 1
                return state.event_seq
            if request.tail:
                return max(oldest - 1, state.event_seq - request.tail)
            return oldest - 1

    def WatchEvents(self, request, context):
        try:
            project = validate.project(request.project) if request.project else ""
            if len(request.kinds) > MAX_KINDS:
                raise InvalidArgument("kinds", f"at most {MAX_KINDS}")
            cursor = self._start(request)
        except _OutOfRange as err:
            context.abort(grpc.StatusCode.OUT_OF_RANGE, str(err))
        except CloudError as err:
            context.abort(err.code, err.message)
        kinds = set(request.kinds)
        wake = threading.Event()
        unsubscribe = self.store.watch(lambda *_: wake.set())
        context.add_callback(wake.set)
        try:
            while True:
                with self.store.read_lock:
                    state = self.store.read()
                    if cursor + 1 < cluster_events.oldest_seq(state):
                        context.abort(grpc.StatusCode.OUT_OF_RANGE,
                                      f"the watcher fell behind: events after {cursor} were dropped")
                    batch = cluster_events.since(state, cursor)
                for event in batch:
                    cursor = event["seq"]
                    if kinds and event["kind"] not in kinds:
                        continue
                    if project and event["project"] != project:
                        continue    # other projects' and the cluster's own (hosts) events
                    yield event_pb(event)
                if not request.follow or not context.is_active():
                    return
                wake.wait(POLL_SECONDS)
                wake.clear()
                if not context.is_active():
                    return
        finally:
            unsubscribe()


class _OutOfRange(Exception):
    pass
