"""Following the cluster's event stream across schedulers without missing an event.

Every scheduler serves the same replicated event log, so when the one we are
connected to goes away we reconnect to the next endpoint from the sequence of
the last event we received.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

import grpc

from cli.errors import RpcFailure
from common import requestid
from proto.v1 import events_pb2

_RECONNECT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED,
              grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.ABORTED)


def watch_events(client, request: events_pb2.WatchEventsRequest, on_event: Callable,
                 stop: threading.Event | None = None, give_up_after: float = 60.0) -> int:
    """Call `on_event(event)` for each event; returns the last sequence seen.

    Without `request.follow` it returns once the retained events are sent. With it,
    it runs until `stop` is set, resuming on another scheduler after a failure;
    RpcFailure when no scheduler answered for `give_up_after` seconds or the cursor
    fell out of the retained window (OUT_OF_RANGE).
    """
    stop = stop or threading.Event()
    cursor = request.after_sequence
    first = events_pb2.WatchEventsRequest()
    first.CopyFrom(request)
    endpoints, index = client.endpoints, 0
    failing_since = None
    metadata = ((requestid.METADATA_KEY, requestid.new()),)
    while not stop.is_set():
        attempt = events_pb2.WatchEventsRequest()
        attempt.CopyFrom(first)
        if cursor:
            attempt.after_sequence, attempt.since_revision, attempt.tail = cursor, 0, 0
        endpoint = endpoints[index % len(endpoints)]
        stream = client.stub(endpoint, "Events").WatchEvents(attempt, metadata=metadata)
        # A stop request cancels the blocked stream from another thread.
        canceller = threading.Thread(target=lambda s=stream: (stop.wait(), s.cancel()), daemon=True)
        canceller.start()
        try:
            for event in stream:
                failing_since = None
                cursor = event.sequence
                on_event(event)
            if not request.follow:
                return cursor
        except grpc.RpcError as err:
            if stop.is_set():
                break
            if err.code() not in _RECONNECT:
                raise RpcFailure.from_rpc_error(err) from None
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since > give_up_after:
                raise RpcFailure(err.code(), f"no scheduler served events for {give_up_after:g}s: "
                                             f"{err.details()}") from None
        finally:
            stream.cancel()
        index += 1
        stop.wait(0.2)
    return cursor
