"""Running a function inside another network namespace without forking.

The agent serves gRPC, and a process that does must not fork (pyroute2's
`IPRoute(netns=...)` forks a helper). setns(2) with CLONE_NEWNET moves only the
calling thread, and a netlink socket stays in the namespace it was opened in, so
a short-lived thread enters the namespace, does its work and ends.
"""
from __future__ import annotations

import ctypes
import os
import threading
from typing import Callable, TypeVar

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

T = TypeVar("T")


def run_in_netns(path: str, work: Callable[[], T]) -> T:
    """`work()`'s result, computed by a thread inside the network namespace at `path`."""
    outcome: dict = {}

    def enter_and_work() -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    errno = ctypes.get_errno()
                    raise OSError(errno, f"setns({path}): {os.strerror(errno)}")
            finally:
                os.close(fd)
            outcome["value"] = work()
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = err

    thread = threading.Thread(target=enter_and_work, name="netns", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
