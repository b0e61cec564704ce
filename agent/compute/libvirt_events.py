"""libvirt's lifecycle events for the libvirt driver: its event loop in a thread, and
the events of domains named by the cluster handed to a callback off that thread.

The default event implementation must be registered before the first connection
is opened; a connection's callbacks are registered again after a reconnect.
"""
from __future__ import annotations

import contextlib
import logging
import queue
import threading
from typing import Callable

import libvirt

log = logging.getLogger(__name__)

_loop_lock = threading.Lock()
_loop_running = False
# The events that can mean a domain failed: qemu paused it (emulation, I/O or an
# unknown error), the guest panicked, or qemu itself died.
FAILURE_EVENTS = (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_CRASHED,
                  libvirt.VIR_DOMAIN_EVENT_STOPPED)


def start_event_loop() -> None:
    """Register libvirt's default event implementation and run it (once per process)."""
    global _loop_running
    with _loop_lock:
        if _loop_running:
            return
        libvirt.virEventRegisterDefaultImpl()
        thread = threading.Thread(target=_run_loop, name="libvirt-events", daemon=True)
        thread.start()
        _loop_running = True


def _run_loop() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except libvirt.libvirtError as err:   # noqa: PERF203 - the loop must go on
            log.warning("libvirt event loop: %s", err)


class DomainEvents:
    """Hands `(domain name, event, detail)` of the cloud's domains to `on_event`, in order,
    on a thread of its own (the callback may call libvirt; the event loop must not wait)."""

    def __init__(self, on_event: Callable[[str, int, int], None], prefix: str = "thecloud-"):
        self._on_event = on_event
        self._prefix = prefix
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._callbacks: list[tuple[object, int]] = []
        self._worker = threading.Thread(target=self._deliver, name="libvirt-domain-events",
                                        daemon=True)
        self._worker.start()

    def watch(self, conn) -> None:
        """Receive `conn`'s lifecycle events (call again for a new connection)."""
        try:
            conn.setKeepAlive(5, 3)
            callback_id = conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle, None)
        except libvirt.libvirtError as err:
            log.warning("cannot watch libvirt's domain events: %s", err.get_error_message())
            return
        self._callbacks.append((conn, callback_id))

    def close(self) -> None:
        for conn, callback_id in self._callbacks:
            with contextlib.suppress(libvirt.libvirtError):
                conn.domainEventDeregisterAny(callback_id)
        self._callbacks.clear()
        self._queue.put(None)

    def _lifecycle(self, _conn, dom, event: int, detail: int, _opaque) -> None:
        name = dom.name()
        if name.startswith(self._prefix) and event in FAILURE_EVENTS:
            self._queue.put((name, event, detail))

    def _deliver(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._on_event(*item)
            except Exception:  # noqa: BLE001 - one bad event must not stop the rest
                log.exception("handling libvirt event %s failed", item)
