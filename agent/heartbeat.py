"""Joining the scheduler cluster and heartbeating to it.

The agent joins through any scheduler it knows (a follower forwards the write to
its leader), keeps the host id it is given in the journal, then heartbeats its
usage, capacity and every instance it observes. Failures are logged and retried
with backoff on the next scheduler; nothing here stops the daemon.
"""
from __future__ import annotations

import logging
import random
import threading
from typing import Callable

import grpc

from agent.journal import Journal
from agent.usage import HostUsage
from common.grpcserve import secure_channel
from common.tls import SCHEDULER_NAME, TlsFiles
from proto.v1 import node_pb2, node_pb2_grpc

log = logging.getLogger(__name__)

RPC_TIMEOUT = 5.0
# Failed heartbeats are retried soon: a few intervals of silence mark the host down.
BACKOFF_INTERVALS = 3


class Latest(threading.Thread):
    """The latest result of a slow engine query, refreshed in the background.

    The heartbeat reports what the engine showed most recently instead of waiting
    on it: an engine that is slow (busy starting containers) must not make a live
    host look dead to the schedulers.
    """

    def __init__(self, query: Callable[[], list], period: float, name: str):
        super().__init__(name=f"latest-{name}", daemon=True)
        self.query, self.period = query, period
        self._value: list | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._value = self.query()
                self._ready.set()
            except Exception as err:  # noqa: BLE001 - keep the last good value; try again
                log.debug("%s failed: %s", self.name, err)
            self._stopping.wait(self.period)

    def __call__(self) -> list:
        if not self.is_alive():      # not refreshing in the background: ask now
            return list(self.query())
        self._ready.wait(timeout=RPC_TIMEOUT)
        return list(self._value or [])

    def stop(self) -> None:
        self._stopping.set()


class SchedulerLink:
    """Stubs for every known scheduler; calls go to the one that last answered, else the next."""

    def __init__(self, addresses: list[str], tls: TlsFiles):
        self.addresses = list(addresses)
        self._tls = tls
        self._stubs: dict[str, node_pb2_grpc.NodeStub] = {}
        self._channels: list[grpc.Channel] = []
        self._current = 0

    def _stub(self, address: str) -> node_pb2_grpc.NodeStub:
        if address not in self._stubs:
            channel = secure_channel(address, self._tls, server_name=SCHEDULER_NAME)
            self._channels.append(channel)
            self._stubs[address] = node_pb2_grpc.NodeStub(channel)
        return self._stubs[address]

    def call(self, method: str, request, timeout: float = RPC_TIMEOUT):
        """Send to the schedulers in turn until one answers; NOT_FOUND and INVALID_ARGUMENT
        are answers, not outages, and are raised at once. Raises the last error."""
        if not self.addresses:
            raise ConnectionError("no scheduler addresses configured")
        last_error: Exception | None = None
        for attempt in range(len(self.addresses)):
            index = (self._current + attempt) % len(self.addresses)
            address = self.addresses[index]
            try:
                response = getattr(self._stub(address), method)(request, timeout=timeout)
            except grpc.RpcError as err:
                if err.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT,
                                  grpc.StatusCode.PERMISSION_DENIED):
                    self._current = index
                    raise
                log.debug("%s to %s failed: %s %s", method, address, err.code().name, err.details())
                last_error = err
                continue
            self._current = index
            return response
        raise last_error  # type: ignore[misc]

    def reset(self) -> None:
        """New channels from now on (the certificate was renewed); calls under way finish."""
        self._stubs = {}

    def close(self) -> None:
        for channel in self._channels:
            channel.close()


class Heartbeat(threading.Thread):
    """The agent's link to the cluster: join, then heartbeat every interval until stopped."""

    def __init__(self, link: SchedulerLink, journal: Journal, usage: HostUsage,
                 observe: Callable[[], list], images: Callable[[], list[str]],
                 join_request: Callable[[], node_pb2.JoinRequest], interval: float,
                 on_trust: Callable[[bytes, bool], None] | None = None, deny=None):
        super().__init__(name="heartbeat", daemon=True)
        # Told the cluster's trust bundle and whether to renew now (a CA rotation).
        self.on_trust = on_trust
        # The schedulers' certificates to refuse (agent/denylist.py), from every response.
        self.deny = deny
        self.link = link
        self.journal = journal
        self.usage = usage
        self.observe = Latest(observe, interval, "observe")
        self.images = Latest(images, max(interval, 5.0), "images")
        self.join_request = join_request
        self.interval = interval
        self._configured_interval = interval
        self._stopping = threading.Event()
        self._joined = False
        self._failures = 0

    def stop(self) -> None:
        self._stopping.set()
        self.observe.stop()
        self.images.stop()

    def _apply_interval(self, interval_ms: int) -> None:
        self.interval = interval_ms / 1000 if interval_ms > 0 else self._configured_interval

    def join_cluster(self) -> None:
        response = self.link.call("Join", self.join_request())
        previous = self.journal.host_id()
        if previous and previous != response.host_id:
            log.warning("the cluster gave this host a new id %s (was %s)", response.host_id, previous)
        if response.host_id != previous:
            self.journal.set_host_id(response.host_id)
        self._apply_interval(response.heartbeat_interval_ms)
        self._joined = True
        log.info("joined the cluster as host %s", response.host_id,
                 extra={"host_id": response.host_id})

    def beat(self) -> None:
        request = node_pb2.HeartbeatRequest(
            host_id=self.journal.host_id(), usage=self.usage.usage(),
            capacity=self.usage.capacity(),
            instances=[item.to_proto() for item in self.observe()], images=self.images())
        try:
            response = self.link.call("Heartbeat", request)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                log.warning("the cluster does not know host %s any more; joining again",
                            request.host_id)
                self._joined = False
            raise
        self._apply_interval(response.heartbeat_interval_ms)
        if self.on_trust is not None and (response.ca_pem or response.renew_certificate):
            self.on_trust(response.ca_pem, response.renew_certificate)
        if self.deny is not None and response.HasField("deny_list"):
            self.deny.update_from(response.deny_list)

    def step(self) -> None:
        """One join or heartbeat; raises on failure."""
        if not self._joined:
            self.join_cluster()
        else:
            self.beat()

    def _backoff(self) -> float:
        delay = self.interval * min(2 ** min(self._failures, 6), BACKOFF_INTERVALS)
        return delay * random.uniform(0.5, 1.0)

    def run(self) -> None:
        if not self.link.addresses:
            log.warning("no schedulers configured: this agent will not join a cluster")
            return
        self.observe.start()
        self.images.start()
        while not self._stopping.is_set():
            try:
                self.step()
            except Exception as err:  # noqa: BLE001 - the heartbeat must outlive every failure
                self._failures += 1
                if isinstance(err, grpc.RpcError):
                    detail = f"{err.code().name}: {err.details()}"
                else:
                    detail = str(err) or type(err).__name__
                level = logging.WARNING if self._failures in (1, 5) or self._failures % 30 == 0 \
                    else logging.DEBUG
                log.log(level, "%s failed (%d in a row): %s",
                        "heartbeat" if self._joined else "join", self._failures, detail)
                self._stopping.wait(self._backoff())
                continue
            if self._failures:
                log.info("the cluster answers again after %d failures", self._failures)
            self._failures = 0
            self._stopping.wait(self.interval)
        self.link.close()
