"""Base ports for throwaway all-in-one clusters (tests, benchmarks).

A cluster listens on BASE+1..8 (API, metrics, enrollment), BASE+101..103 (Raft),
BASE+104..106 (node API)
and BASE+200.. (agents). Picking BASE from a port the kernel just handed out
(bind to port 0) lands inside its ephemeral range, where the cluster's own
outgoing connections — thousands, with the host simulator — may take one of
those ports before a daemon binds it ("Address already in use"). So the base is
drawn below the ephemeral range, and every port the layout uses is checked free.
"""
from __future__ import annotations

import random
import socket
from pathlib import Path

OFFSETS = (*range(1, 9), 101, 102, 103, 104, 105, 106, *range(200, 210))
LOWEST = 10000
EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_start() -> int:
    try:
        return int(EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port(span: int = 300) -> int:
    """A multiple of 10 whose layout ports are free now, below the ephemeral range."""
    top = _ephemeral_start() - span
    if top <= LOWEST:
        raise RuntimeError(f"no room for a cluster's ports below the ephemeral range (starts at {top + span})")
    pick = random.SystemRandom()    # not seeded alike in processes started together
    for _ in range(200):
        base = pick.randrange(LOWEST, top) // 10 * 10
        if all(_free(base + offset) for offset in OFFSETS):
            return base
    raise RuntimeError("no free port range for a cluster")
