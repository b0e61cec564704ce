"""The shapes of the records the state machine keeps: plain JSON-able dicts.

Helpers here build and read them; nothing here reads clocks or randomness.
"""
from __future__ import annotations

import copy

HOST_UP, HOST_DOWN = "up", "down"

PENDING, RUNNING, STOPPED, FAILED, DELETING, LOST = (
    "pending", "running", "stopped", "failed", "deleting", "lost")
INSTANCE_STATES = (PENDING, RUNNING, STOPPED, FAILED, DELETING, LOST)

DESIRED_RUNNING, DESIRED_STOPPED = "running", "stopped"
RESTART_POLICIES = ("never", "on-failure", "always")


def resources(vcpus: int = 0, memory_bytes: int = 0, disk_bytes: int = 0) -> dict:
    return {"vcpus": int(vcpus), "memory_bytes": int(memory_bytes), "disk_bytes": int(disk_bytes)}


def add_resources(a: dict, b: dict, sign: int = 1) -> dict:
    return {key: a.get(key, 0) + sign * b.get(key, 0) for key in ("vcpus", "memory_bytes", "disk_bytes")}


def demand(spec: dict) -> dict:
    """What an instance with `spec` takes from its host."""
    return resources(spec.get("vcpus", 0), spec.get("memory_bytes", 0), spec.get("disk_bytes", 0))


def name_key(project: str, name: str) -> str:
    return f"{project}/{name}"


def copied(handler):
    """A command handler whose results never alias the state: callers get a copy."""
    def apply(state, args: dict, ctx: dict) -> dict:
        return copy.deepcopy(handler(state, args, ctx))
    apply.__name__ = handler.__name__
    return apply
